"""LoRA files for the tiny pipelines of tests/tinysd.py, in the two namings artists' files come in.

`write_lora(folder, out, naming="peft")` writes diffusers/peft keys
(`unet.<module>.lora_A.weight` / `lora_B.weight`, `text_encoder.<module>...`) with the adapter
config as diffusers' own `save_lora_weights` stores it (`lora_adapter_metadata`);
`naming="kohya"` writes the same matrices as kohya sd-scripts does (`lora_unet_<module_with_
underscores>.lora_down.weight` = A, `.lora_up.weight` = B, `.alpha`, `lora_te_`/`lora_te1_`/
`lora_te2_` for text encoders, and for SDXL the UNet's original LDM block names such as
`input_blocks_4_1_...`), with `ss_*` metadata. Both scale by alpha / rank (alpha defaults to the
rank, scale 1), so the two files of one seed load to the same effective weights.

Module names and shapes come from the folder's safetensors headers, so nothing is built; only
`unet_probe` and `encode` need a loaded pipeline (diffusers and peft are imported there).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

UNET_PROJECTIONS = ("to_q", "to_k", "to_v", "to_out.0")  # every attention block, self and cross
TEXT_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "out_proj")  # CLIP's self-attention
WEIGHT_FILES = {"unet": "unet/diffusion_pytorch_model.safetensors",
                "text_encoder": "text_encoder/model.safetensors",
                "text_encoder_2": "text_encoder_2/model.safetensors"}


def is_sdxl(folder: Path) -> bool:
    """An SDXL folder has a second text encoder."""
    return (Path(folder) / "text_encoder_2").is_dir()


def lora_targets(folder: Path, text_encoder: bool = True) -> list[tuple[str, str, int, int]]:
    """(component, module, out_features, in_features) of every projection a kit LoRA adapts, in a
    fixed order (the order the seeded matrices are drawn in), read from the weight files' headers."""
    from safetensors import safe_open

    components = ["unet"]
    if text_encoder:
        components += ["text_encoder", "text_encoder_2"] if is_sdxl(folder) else ["text_encoder"]
    targets = []
    for component in components:
        ends = UNET_PROJECTIONS if component == "unet" else TEXT_PROJECTIONS
        with safe_open(Path(folder) / WEIGHT_FILES[component], framework="pt") as handle:
            for key in sorted(handle.keys()):
                module = key.removesuffix(".weight")
                if key.endswith(".weight") and module.endswith(tuple("." + end for end in ends)):
                    out_features, in_features = handle.get_slice(key).get_shape()
                    if component != "unet" and not module.startswith("text_model."):
                        module = "text_model." + module  # flat CLIPTextModel (transformers 5); files keep the prefix
                    targets.append((component, module, out_features, in_features))
    return targets


def _ldm_unet_name(module: str, layers_per_block: int) -> str:
    """A diffusers UNet attention module under the LDM/sgm block name kohya trains SDXL with:
    down_blocks.b.attentions.l -> input_blocks.(1 + b(L+1) + l).1, mid_block.attentions.0 ->
    middle_block.1, up_blocks.b.attentions.l -> output_blocks.(b(L+1) + l).1 (L layers per block);
    the inverse of diffusers' `_maybe_map_sgm_blocks_to_diffusers`."""
    per_block = layers_per_block + 1
    found = re.match(r"(down_blocks|mid_block|up_blocks)\.(?:(\d+)\.)?attentions\.(\d+)\.(.*)", module)
    if found is None:
        raise ValueError(f"not an attention module of a UNet block: {module}")
    kind, block, layer, rest = found.groups()
    if kind == "mid_block":
        return f"middle_block.1.{rest}"
    if kind == "down_blocks":
        return f"input_blocks.{1 + int(block) * per_block + int(layer)}.1.{rest}"
    return f"output_blocks.{int(block) * per_block + int(layer)}.1.{rest}"


def kohya_name(folder: Path, component: str, module: str) -> str:
    """The kohya sd-scripts LoRA name of one module: prefix plus the dotted name with underscores."""
    sdxl = is_sdxl(folder)
    if component == "unet":
        if sdxl:
            config = json.loads((Path(folder) / "unet" / "config.json").read_text())
            module = _ldm_unet_name(module, int(config["layers_per_block"]))
        prefix = "lora_unet_"
    else:
        prefix = {"text_encoder": "lora_te1_" if sdxl else "lora_te_", "text_encoder_2": "lora_te2_"}[component]
    return prefix + module.replace(".", "_")


def write_lora(folder: Path, out: Path, naming: str = "peft", rank: int = 4, seed: int = 0,
               scale: float = 1.0, text_encoder: bool = True, alpha: float | None = None) -> Path:
    """Write a LoRA for the tiny pipeline in `folder` to the .safetensors file `out`; return `out`.

    A (rank x in) and B (out x rank) are seeded normal matrices such that B @ A has entries of
    standard deviation `scale / sqrt(in)`, the size of a fresh Linear layer's own weights, so
    scale 1 visibly changes the pictures. Effective delta: (alpha / rank) * B @ A in both namings;
    alpha=None means alpha = rank (delta B @ A, as in a peft file without alpha).
    """
    import torch
    from safetensors.torch import save_file

    if naming not in ("peft", "kohya"):
        raise ValueError(f"naming must be 'peft' or 'kohya', not {naming!r}")
    alpha = float(rank if alpha is None else alpha)
    generator = torch.Generator().manual_seed(seed)
    tensors: dict[str, torch.Tensor] = {}
    for component, module, out_features, in_features in lora_targets(folder, text_encoder):
        down = torch.randn(rank, in_features, generator=generator) / in_features**0.5
        up = torch.randn(out_features, rank, generator=generator) * (scale / rank**0.5)
        if naming == "peft":
            tensors[f"{component}.{module}.lora_A.weight"] = down
            tensors[f"{component}.{module}.lora_B.weight"] = up
        else:
            name = kohya_name(folder, component, module)
            tensors[f"{name}.lora_down.weight"] = down
            tensors[f"{name}.lora_up.weight"] = up
            tensors[f"{name}.alpha"] = torch.tensor(alpha)  # 0-d, as kohya's registered buffer
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, out, metadata=_metadata(folder, naming, rank, alpha, text_encoder))
    return out


def _metadata(folder: Path, naming: str, rank: int, alpha: float, text_encoder: bool) -> dict[str, str]:
    """The file header a real trainer writes: diffusers' packed peft `LoraConfig` fields, or kohya's `ss_*`."""
    sdxl = is_sdxl(folder)
    if naming == "kohya":
        return {"ss_network_module": "networks.lora", "ss_network_dim": str(rank),
                "ss_network_alpha": str(alpha), "ss_network_train_unet_only": str(not text_encoder),
                "ss_base_model_version": "sdxl_base_v1-0" if sdxl else "sd_v1",
                "modelspec.architecture": ("stable-diffusion-xl-v1-base" if sdxl else "stable-diffusion-v1") + "/lora"}
    config = {"unet.r": rank, "unet.lora_alpha": alpha, "unet.target_modules": list(UNET_PROJECTIONS)}
    if text_encoder:
        for component in ("text_encoder", "text_encoder_2") if sdxl else ("text_encoder",):
            config |= {f"{component}.r": rank, f"{component}.lora_alpha": alpha,
                       f"{component}.target_modules": list(TEXT_PROJECTIONS)}
    return {"format": "pt", "lora_adapter_metadata": json.dumps(config, indent=2, sort_keys=True)}


def lora_keys(path: Path) -> list[str]:
    """The sorted tensor names of a LoRA file."""
    from safetensors import safe_open

    with safe_open(Path(path), framework="pt") as handle:
        return sorted(handle.keys())


def lora_metadata(path: Path) -> dict[str, str]:
    """The string metadata in a LoRA file's safetensors header."""
    from safetensors import safe_open

    with safe_open(Path(path), framework="pt") as handle:
        return dict(handle.metadata() or {})


def unet_probe(pipe, seed: int = 0, timestep: int = 500):
    """The UNet's output (float32 tensor) for one fixed, seeded input: latent, timestep and text
    states (plus SDXL's pooled text and size ids), so LoRA states can be compared bit for bit."""
    import torch

    unet = pipe.unet
    generator = torch.Generator().manual_seed(seed)
    size = unet.config.sample_size
    sample = torch.randn(1, unet.config.in_channels, size, size, generator=generator)
    states = torch.randn(1, 77, unet.config.cross_attention_dim, generator=generator)
    extra = {}
    if unet.config.addition_embed_type == "text_time":
        pooled = unet.config.projection_class_embeddings_input_dim - 6 * unet.config.addition_time_embed_dim
        extra["added_cond_kwargs"] = {"text_embeds": torch.randn(1, pooled, generator=generator),
                                      "time_ids": torch.tensor([[64.0, 64.0, 0.0, 0.0, 64.0, 64.0]])}
    with torch.no_grad():
        return unet(sample, timestep, states, **extra).sample


def encode(pipe, prompt: str = "a cat"):
    """`pipe.encode_prompt`'s conditional embeddings for one prompt (SDXL: with the pooled ones)."""
    import torch

    with torch.no_grad():
        if is_sdxl_pipe(pipe):
            embeds, _, pooled, _ = pipe.encode_prompt(prompt, device="cpu", do_classifier_free_guidance=False)
            return torch.cat([embeds.flatten(), pooled.flatten()])
        embeds, _ = pipe.encode_prompt(prompt, "cpu", 1, False)
        return embeds


def is_sdxl_pipe(pipe) -> bool:
    """Whether a loaded pipeline has SDXL's second text encoder."""
    return getattr(pipe, "text_encoder_2", None) is not None
