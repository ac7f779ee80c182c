"""Write a tiny diffusers Stable Diffusion 1.x folder as one single-file checkpoint in the LDM layout.

Model sites hand out Stable Diffusion 1.x checkpoints as one `.safetensors` file with the original
CompVis (latent diffusion) key names: `model.diffusion_model.*` for the UNet, `first_stage_model.*`
for the autoencoder and `cond_stage_model.transformer.text_model.*` for the CLIP text encoder.
`write_single_file(folder, out)` reads the weights of a diffusers folder (as `tinysd.make_tiny_sd`
saves it) and renames every tensor to that layout, so tests can load a file the way a user's
download loads, with `from_single_file(file, config=folder)`. The mapping follows the module
structure and is parametrised by each model's `layers_per_block` and block count (from its
`config.json`); any key it does not know raises, so a change in diffusers' layout is caught.
"""

from __future__ import annotations

import json
from pathlib import Path

# diffusers ResnetBlock2D names -> LDM ResBlock names (UNet) and LDM ResnetBlock names (VAE).
UNET_RESNET = {"norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1",
               "norm2": "out_layers.0", "conv2": "out_layers.3", "conv_shortcut": "skip_connection"}
VAE_RESNET = {"norm1": "norm1", "conv1": "conv1", "norm2": "norm2", "conv2": "conv2",
              "conv_shortcut": "nin_shortcut"}
VAE_ATTENTION = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}


def _resnet(src: str, dst: str, names: dict[str, str]) -> dict[str, str]:
    """Prefix pairs for one resnet's layers, from diffusers' names to the LDM ones."""
    return {f"{src}.{a}": f"{dst}.{b}" for a, b in names.items()}


def unet_prefixes(config: dict) -> dict[str, str]:
    """Diffusers UNet2DConditionModel prefixes -> LDM `UNetModel` prefixes."""
    blocks, per = len(config["block_out_channels"]), config["layers_per_block"]
    pairs = {"time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
             "conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2",
             "mid_block.attentions.0": "middle_block.1"}
    pairs |= _resnet("mid_block.resnets.0", "middle_block.0", UNET_RESNET)
    pairs |= _resnet("mid_block.resnets.1", "middle_block.2", UNET_RESNET)
    for i in range(blocks):
        for j in range(per):  # input_blocks.0 is conv_in; each level has `per` layers + 1 downsampler
            n = 1 + i * (per + 1) + j
            pairs |= _resnet(f"down_blocks.{i}.resnets.{j}", f"input_blocks.{n}.0", UNET_RESNET)
            pairs[f"down_blocks.{i}.attentions.{j}"] = f"input_blocks.{n}.1"
        pairs[f"down_blocks.{i}.downsamplers.0.conv"] = f"input_blocks.{1 + i * (per + 1) + per}.0.op"
        attention = "CrossAttn" in config["up_block_types"][i]
        for j in range(per + 1):  # each up level has one more layer than a down level
            n = i * (per + 1) + j
            pairs |= _resnet(f"up_blocks.{i}.resnets.{j}", f"output_blocks.{n}.0", UNET_RESNET)
            pairs[f"up_blocks.{i}.attentions.{j}"] = f"output_blocks.{n}.1"
        pairs[f"up_blocks.{i}.upsamplers.0.conv"] = f"output_blocks.{n}.{2 if attention else 1}.conv"
    return pairs


def vae_prefixes(config: dict) -> dict[str, str]:
    """Diffusers AutoencoderKL prefixes -> LDM `AutoencoderKL` prefixes (decoder levels reversed)."""
    blocks, per = len(config["block_out_channels"]), config["layers_per_block"]
    pairs = {name: name for name in ("quant_conv", "post_quant_conv")}
    for part in ("encoder", "decoder"):
        pairs |= {f"{part}.conv_in": f"{part}.conv_in", f"{part}.conv_out": f"{part}.conv_out",
                  f"{part}.conv_norm_out": f"{part}.norm_out"}
        pairs |= _resnet(f"{part}.mid_block.resnets.0", f"{part}.mid.block_1", VAE_RESNET)
        pairs |= _resnet(f"{part}.mid_block.resnets.1", f"{part}.mid.block_2", VAE_RESNET)
        pairs |= _resnet(f"{part}.mid_block.attentions.0", f"{part}.mid.attn_1", VAE_ATTENTION)
    for i in range(blocks):
        for j in range(per + 1):  # the encoder has `per` resnets a level, the decoder `per + 1`
            pairs |= _resnet(f"encoder.down_blocks.{i}.resnets.{j}", f"encoder.down.{i}.block.{j}", VAE_RESNET)
            pairs |= _resnet(f"decoder.up_blocks.{i}.resnets.{j}", f"decoder.up.{blocks - 1 - i}.block.{j}",
                             VAE_RESNET)
        pairs[f"encoder.down_blocks.{i}.downsamplers.0.conv"] = f"encoder.down.{i}.downsample.conv"
        pairs[f"decoder.up_blocks.{i}.upsamplers.0.conv"] = f"decoder.up.{blocks - 1 - i}.upsample.conv"
    return pairs


def rename(weights: dict, pairs: dict[str, str], prefix: str) -> dict:
    """Rename each key by its longest matching prefix in `pairs` and add `prefix`; unknown keys raise."""
    out = {}
    for key, tensor in weights.items():
        stem, _, leaf = key.rpartition(".")  # every key is `<module path>.weight|bias`
        while stem and stem not in pairs:
            stem = stem.rpartition(".")[0]
        if not stem:
            raise KeyError(f"no LDM name for {key!r}")
        out[prefix + pairs[stem] + key[len(stem):]] = tensor
    return out


def write_single_file(folder: Path, out: Path) -> Path:
    """Write the pipeline in `folder` (diffusers layout, as tests/tinysd.make_tiny_sd saves it) as one LDM-layout safetensors file at `out`."""
    from safetensors.torch import load_file, save_file

    folder, out = Path(folder), Path(out)
    config = {part: json.loads((folder / part / "config.json").read_text()) for part in ("unet", "vae")}
    unet = load_file(folder / "unet" / "diffusion_pytorch_model.safetensors")
    vae = load_file(folder / "vae" / "diffusion_pytorch_model.safetensors")
    text = load_file(folder / "text_encoder" / "model.safetensors")
    tensors = rename(unet, unet_prefixes(config["unet"]), "model.diffusion_model.")
    for key, tensor in rename(vae, vae_prefixes(config["vae"]), "first_stage_model.").items():
        # LDM's VAE attention projects with 1x1 convolutions, diffusers' with linear layers.
        tensors[key] = tensor[:, :, None, None] if ".mid.attn_1." in key and tensor.ndim == 2 else tensor
    for key, tensor in text.items():  # transformers 5.x saves CLIPTextModel without `text_model.`
        tensors["cond_stage_model.transformer." + ("" if key.startswith("text_model.") else "text_model.")
                + key] = tensor
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file({key: tensor.contiguous() for key, tensor in tensors.items()}, out)
    return out
