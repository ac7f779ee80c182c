"""Write a tiny diffusers Stable Diffusion folder as one single-file checkpoint in the original layout.

Model sites hand out Stable Diffusion checkpoints as one `.safetensors` file with the original
(CompVis / Stability) key names: `model.diffusion_model.*` for the UNet, `first_stage_model.*` for
the autoencoder, and the text encoder(s) under `cond_stage_model.transformer.text_model.*` (SD 1.x,
OpenAI CLIP naming), `cond_stage_model.model.*` (SD 2.x, OpenCLIP naming) or
`conditioner.embedders.0.transformer.text_model.*` + `conditioner.embedders.1.model.*` (SDXL).
`write_single_file(folder, out)` renames the weights of a diffusers folder (as `tinysd` saves it) to
that layout, so tests can load a file the way a user's download loads, with
`from_single_file(file, config=folder)`; `ldm_meta_state(folder)` gives the same names and shapes
on the meta device from the config files alone, to test real-size layouts without memory. The
mapping follows the module structure and is parametrised by each model's `config.json`; any key
it does not know raises, so a change in diffusers' or transformers' layout is caught.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

# diffusers ResnetBlock2D names -> LDM ResBlock names (UNet) and LDM ResnetBlock names (VAE).
UNET_RESNET = {"norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1",
               "norm2": "out_layers.0", "conv2": "out_layers.3", "conv_shortcut": "skip_connection"}
VAE_RESNET = {"norm1": "norm1", "conv1": "conv1", "norm2": "norm2", "conv2": "conv2",
              "conv_shortcut": "nin_shortcut"}
VAE_ATTENTION = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}
# transformers CLIPEncoderLayer names -> OpenCLIP ResidualAttentionBlock names (`in_proj` is made
# from q, k and v by `_stack_qkv`, since OpenCLIP uses torch's nn.MultiheadAttention).
OPENCLIP_LAYER = {"layer_norm1": "ln_1", "layer_norm2": "ln_2", "mlp.fc1": "mlp.c_fc", "mlp.fc2": "mlp.c_proj",
                  "self_attn.out_proj": "attn.out_proj", "self_attn.in_proj.weight": "attn.in_proj_weight",
                  "self_attn.in_proj.bias": "attn.in_proj_bias"}
TEXT_LAYOUTS = ("clip", "openclip")
SDXL = "StableDiffusionXLPipeline"


def _resnet(src: str, dst: str, names: dict[str, str]) -> dict[str, str]:
    """Prefix pairs for one resnet's layers, from diffusers' names to the LDM ones."""
    return {f"{src}.{a}": f"{dst}.{b}" for a, b in names.items()}


def unet_prefixes(config: dict) -> dict[str, str]:
    """Diffusers UNet2DConditionModel prefixes -> LDM `UNetModel` prefixes (SD 1.x, 2.x and SDXL)."""
    blocks, per = len(config["block_out_channels"]), config["layers_per_block"]
    pairs = {"time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
             "conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2",
             "mid_block.attentions.0": "middle_block.1"}
    if config.get("addition_embed_type") == "text_time":  # SDXL: pooled text + size ids embedding
        pairs |= {"add_embedding.linear_1": "label_emb.0.0", "add_embedding.linear_2": "label_emb.0.2"}
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


def text_prefixes(config: dict, layout: str) -> dict[str, str]:
    """transformers CLIP text encoder names (without `text_model.`) -> OpenAI CLIP or OpenCLIP names."""
    if layout == "clip":  # the original files keep transformers' own names under `text_model.`
        return {name: "text_model." + name for name in ("embeddings", "encoder", "final_layer_norm")}
    pairs = {"embeddings.token_embedding": "token_embedding", "final_layer_norm": "ln_final",
             "embeddings.position_embedding.weight": "positional_embedding", "text_projection.weight": "text_projection"}
    for i in range(config["num_hidden_layers"]):
        pairs |= {f"encoder.layers.{i}.{a}": f"transformer.resblocks.{i}.{b}" for a, b in OPENCLIP_LAYER.items()}
    return pairs


def _stack_qkv(weights: dict) -> dict:
    """OpenCLIP's tensors from CLIP's: q, k, v stacked into one `in_proj` (rows q|k|v) and the
    projection transposed (OpenCLIP computes `x @ text_projection`, a Linear `x @ weight.T`)."""
    import torch

    out = {}
    for key, tensor in weights.items():
        match = re.fullmatch(r"(.*\.self_attn)\.([qkv])_proj\.(weight|bias)", key)
        if match and match[2] == "q":
            head, leaf = match[1], match[3]
            out[f"{head}.in_proj.{leaf}"] = torch.cat([weights[f"{head}.{p}_proj.{leaf}"] for p in "qkv"])
        elif not match:
            out[key] = tensor.T if key == "text_projection.weight" else tensor
    return out


def rename(weights: dict, pairs: dict[str, str], prefix: str) -> dict:
    """Rename each key by its longest matching prefix in `pairs` (whole key included) and add
    `prefix`; a key that no pair matches raises."""
    out = {}
    for key, tensor in weights.items():
        stem = key
        while stem and stem not in pairs:
            stem = stem.rpartition(".")[0]
        if not stem:
            raise KeyError(f"no LDM name for {key!r}")
        out[prefix + pairs[stem] + key[len(stem):]] = tensor
    return out


def text_encoders(index: dict, text_layout: str | None = None) -> dict[str, tuple[str, str]]:
    """Each text encoder's sub-folder -> (LDM prefix, naming), for the pipeline in `model_index.json`.

    A tiny SD folder cannot tell SD 1.x (CLIP) from SD 2.x (OpenCLIP), so `text_layout` picks;
    SDXL's layout is fixed (CLIP-L, then OpenCLIP bigG)."""
    if text_layout not in (None, *TEXT_LAYOUTS):
        raise ValueError(f"text_layout must be one of {TEXT_LAYOUTS}, not {text_layout!r}")
    if index["_class_name"] == SDXL:
        if text_layout is not None:
            raise ValueError("SDXL's text layout is fixed; leave text_layout out")
        return {"text_encoder": ("conditioner.embedders.0.transformer.", "clip"),
                "text_encoder_2": ("conditioner.embedders.1.model.", "openclip")}
    if index["_class_name"] != "StableDiffusionPipeline":
        raise ValueError(f"no LDM layout for {index['_class_name']}")
    layout = text_layout or "clip"
    prefix = "cond_stage_model.model." if layout == "openclip" else "cond_stage_model.transformer."
    return {"text_encoder": (prefix, layout)}


def ldm_state(folder: Path, states: dict[str, dict], text_layout: str | None = None) -> dict:
    """One LDM-layout state dict from the diffusers state dicts of the pipeline in `folder`, by
    sub-folder (`unet`, `vae`, `text_encoder`, ...); the tensors may be real or on the meta device."""
    folder = Path(folder)

    def config(part: str) -> dict:
        return json.loads((folder / part / "config.json").read_text())

    index = json.loads((folder / "model_index.json").read_text())
    tensors = rename(states["unet"], unet_prefixes(config("unet")), "model.diffusion_model.")
    for key, tensor in rename(states["vae"], vae_prefixes(config("vae")), "first_stage_model.").items():
        # LDM's VAE attention projects with 1x1 convolutions, diffusers' with linear layers.
        tensors[key] = tensor[:, :, None, None] if ".mid.attn_1." in key and tensor.ndim == 2 else tensor
    for part, (prefix, layout) in text_encoders(index, text_layout).items():
        # transformers 5.x saves CLIPTextModel without `text_model.`, CLIPTextModelWithProjection with it.
        weights = {key.removeprefix("text_model."): tensor for key, tensor in states[part].items()}
        weights = _stack_qkv(weights) if layout == "openclip" else weights
        tensors |= rename(weights, text_prefixes(config(part), layout), prefix)
    return tensors


def _parts(folder: Path, text_layout: str | None) -> dict[str, tuple[str, str]]:
    """The models the LDM file holds: sub-folder -> (library, class name) from `model_index.json`."""
    index = json.loads((folder / "model_index.json").read_text())
    return {part: tuple(index[part]) for part in ("unet", "vae", *text_encoders(index, text_layout))}


def write_single_file(folder: Path, out: Path, text_layout: str | None = None) -> Path:
    """Write the pipeline in `folder` (diffusers layout, as tests/tinysd saves it) as one LDM-layout
    safetensors file at `out`; `text_layout="openclip"` writes an SD 1.x folder's text encoder as SD 2.x's."""
    from safetensors.torch import load_file, save_file

    folder, out = Path(folder), Path(out)
    files = {"diffusers": "diffusion_pytorch_model.safetensors", "transformers": "model.safetensors"}
    states = {part: load_file(folder / part / files[library])
              for part, (library, _) in _parts(folder, text_layout).items()}
    tensors = ldm_state(folder, states, text_layout)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file({key: tensor.contiguous() for key, tensor in tensors.items()}, out)
    return out


def ldm_meta_state(config_folder: Path, text_layout: str | None = None) -> dict[str, torch.Tensor]:
    """The LDM-layout state dict of the pipeline in `config_folder`, built from its `config.json`
    files alone on the meta device (no weights read, no memory), for real-size layout tests."""
    import torch

    folder, states = Path(config_folder), {}
    for part, (library, name) in _parts(folder, text_layout).items():
        cls = getattr(importlib.import_module(library), name)
        with torch.device("meta"):
            if library == "diffusers":
                model = cls.from_config(cls.load_config(folder / part))
            else:
                model = cls(cls.config_class.from_pretrained(folder / part))
        states[part] = model.state_dict()
    return ldm_state(folder, states, text_layout)
