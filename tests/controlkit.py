"""A tiny, offline ControlNet for a tiny Stable Diffusion folder (tests/tinysd.py), in both forms users
bring one: a diffusers folder and a single `.safetensors` file in the original layout.

`make_tiny_controlnet(sd_folder, out_folder)` copies the tiny SD UNet's encoder into a
`ControlNetModel` (`from_unet`, as ControlNet training starts) and fills its zero-convolutions and its
hint encoder with seeded random weights: a freshly made ControlNet adds exactly zero to the UNet, and
tests need a control image that changes the pictures. `write_controlnet_single_file(folder, out)` renames that
folder's weights to the original release's names (`control_model.*`: the UNet-like encoder as in LDM,
`zero_convs`, `middle_block_out`, `input_hint_block`), as model sites hand ControlNets out, so that
`ControlNetModel.from_single_file(out, config=folder)` loads every weight back bit-identical.
"""

from __future__ import annotations

import json
from pathlib import Path

from ldmfile import rename, unet_prefixes

PREFIX = "control_model."
# The original hint encoder: 8 convolutions (SiLU between them) of widths 16, 16, 32, 32, 96, 96, 256
# and the zero-convolution out; diffusers' ControlNetConditioningEmbedding with these block widths.
HINT_CHANNELS = [16, 32, 96, 256]
ZERO_CONVS = ("controlnet_down_blocks", "controlnet_mid_block", "controlnet_cond_embedding.conv_out")
HINT = "controlnet_cond_embedding."
WEIGHTS = "diffusion_pytorch_model.safetensors"


def make_tiny_controlnet(sd_folder: Path, out_folder: Path, seed: int = 0) -> Path:
    """Build a `ControlNetModel` from the UNet in `sd_folder` (as tests/tinysd saves it), with seeded
    non-zero zero-convolutions and hint encoder, and save it in `out_folder` (safetensors); return the folder."""
    import torch
    from diffusers import ControlNetModel, UNet2DConditionModel

    unet = UNet2DConditionModel.from_pretrained(Path(sd_folder) / "unet", local_files_only=True)
    with torch.random.fork_rng(devices=[]):  # leave the caller's random stream as it was
        # 1. The encoder copied from the UNet (whatever from_unet draws is drawn from `seed`).
        torch.manual_seed(seed)
        controlnet = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=tuple(HINT_CHANNELS))
        # 2. The zero-convolutions (zero as made) and the hint encoder (whose default initialisation
        #    all but loses the control image in its seven layers): seeded weights that keep a signal's
        #    size (a gain of 3 for the SiLU-activated hint layers, where He's 2 for ReLU still shrinks
        #    it), so the control image weighs about as much as the latents in the ControlNet.
        generator = torch.Generator().manual_seed(seed + 1)
        with torch.no_grad():
            for name, tensor in controlnet.state_dict(keep_vars=True).items():
                if not name.startswith((*ZERO_CONVS, HINT)):
                    continue
                if tensor.ndim == 1:  # biases: small, and not zero
                    tensor.normal_(0.0, 0.02, generator=generator)
                else:
                    gain = 1.0 if name.startswith(ZERO_CONVS) else 3.0
                    tensor.normal_(0.0, (gain / tensor[0].numel()) ** 0.5, generator=generator)
    out_folder = Path(out_folder)
    controlnet.save_pretrained(out_folder, safe_serialization=True)
    return out_folder


def controlnet_prefixes(config: dict) -> dict[str, str]:
    """Diffusers ControlNetModel prefixes -> the original `ControlNet` ones (without `control_model.`)."""
    if list(config["conditioning_embedding_out_channels"]) != HINT_CHANNELS:
        raise ValueError(f"the original layout's hint encoder has widths {HINT_CHANNELS}, "
                         f"not {config['conditioning_embedding_out_channels']}")
    # The encoder is the UNet's: reuse its names (the decoder's are never asked for).
    levels = len(config["block_out_channels"])
    pairs = unet_prefixes({**config, "up_block_types": ["UpBlock2D"] * levels})
    inputs = 1 + levels * (config["layers_per_block"] + 1) - 1  # conv_in + layers + downsamplers but the last
    pairs |= {f"controlnet_down_blocks.{i}": f"zero_convs.{i}.0" for i in range(inputs)}
    pairs["controlnet_mid_block"] = "middle_block_out.0"
    # The hint encoder: conv_in, then the blocks, then conv_out, at every other index (SiLU between).
    blocks = 2 * (len(HINT_CHANNELS) - 1)
    pairs["controlnet_cond_embedding.conv_in"] = "input_hint_block.0"
    pairs |= {f"controlnet_cond_embedding.blocks.{k}": f"input_hint_block.{2 * (k + 1)}" for k in range(blocks)}
    pairs["controlnet_cond_embedding.conv_out"] = f"input_hint_block.{2 * (blocks + 1)}"
    return pairs


def write_controlnet_single_file(folder: Path, out: Path) -> Path:
    """Write the ControlNet in `folder` (diffusers layout, as `make_tiny_controlnet` saves it) as one
    safetensors file in the original layout (`control_model.*` keys) at `out`; return `out`."""
    from safetensors.torch import load_file, save_file

    folder, out = Path(folder), Path(out)
    config = json.loads((folder / "config.json").read_text())
    tensors = rename(load_file(folder / WEIGHTS), controlnet_prefixes(config), PREFIX)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file({key: tensor.contiguous() for key, tensor in tensors.items()}, out)
    return out
