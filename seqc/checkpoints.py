"""Single-file checkpoints without torch: what a `.safetensors` file holds, from its header alone.

Artists download Stable Diffusion checkpoints as one file in the original (LDM) layout, and LoRAs
and ControlNets as files that look alike from the outside. The storyboard checks read the file's
JSON header (a few KB, whatever the file's size) to tell them apart, so a wrong file is one line
naming what it is before any model loads. The families are told by the key names the original
training code gave them (SD 1.x's CLIP text encoder, SD 2.x's OpenCLIP one, SDXL's two embedders
and its added-embedding UNet).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

MAX_HEADER = 100_000_000  # the safetensors format's own limit on its header

# What each family's keys begin with, as the original training code saved them.
UNET = "model.diffusion_model."
FAMILY_MARKERS = (
    ("sdxl", "conditioner.embedders.1.model."),  # CLIP ViT-L and OpenCLIP bigG
    ("sd2", "cond_stage_model.model."),  # OpenCLIP ViT-H
    ("sd1", "cond_stage_model.transformer."),  # CLIP ViT-L
)
FAMILY_NAMES = {"sd1": "Stable Diffusion 1.x", "sd2": "Stable Diffusion 2.x", "sdxl": "Stable Diffusion XL"}
# The diffusers pipeline (model_index.json's `_class_name`) whose configs load each family.
PIPELINE_CLASSES = {"sd1": "StableDiffusionPipeline", "sd2": "StableDiffusionPipeline",
                    "sdxl": "StableDiffusionXLPipeline"}
# One cross-attention projection per family and its shape at the published size: a file of another
# size (a test's tiny model, a pruned one) needs its own configs (seqc.families ships these sizes).
SIZE_PROBES = {
    "sd1": (UNET + "input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight", [320, 768]),
    "sd2": (UNET + "input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight", [320, 1024]),
    "sdxl": (UNET + "input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight", [640, 2048]),
}
CONV_IN = UNET + "input_blocks.0.0.weight"  # [320, in_channels, 3, 3]: 9 channels for inpainting


class CheckpointError(ValueError):
    """A file that is not a readable safetensors file."""


@dataclass(frozen=True)
class Recognised:
    """What a safetensors file holds: `kind` ("checkpoint", "lora", "controlnet", "vae", "embedding",
    "diffusers" or "unknown"), the family of a checkpoint ("sd1", "sd2", "sdxl" or None), and a phrase saying so."""

    kind: str
    family: str | None
    what: str
    published_size: bool = False  # a checkpoint whose tensors have its family's published shapes


def read_header(path: Path) -> dict[str, list[int]]:
    """Each tensor's name and shape from a safetensors file's header (CheckpointError if it is not one)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise CheckpointError("too short to be a safetensors file")
            size = struct.unpack("<Q", head)[0]
            if size > MAX_HEADER:
                raise CheckpointError("not a safetensors file (its header size is impossible)")
            header = json.loads(fh.read(size))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError("not a safetensors file (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise CheckpointError("not a safetensors file (its header is not a table of tensors)")
    return {key: list(entry.get("shape", [])) if isinstance(entry, dict) else []
            for key, entry in header.items() if key != "__metadata__"}


def read_keys(path: Path) -> list[str]:
    """The tensor names in a safetensors file's header (CheckpointError if it is not one)."""
    return list(read_header(path))


def recognise(header: Mapping[str, Sequence[int]]) -> Recognised:
    """Tell a checkpoint (its family, and whether it has the family's published size), a LoRA, a
    ControlNet or a diffusers component, by the names and shapes of its tensors."""
    keys = list(header)
    if any(k.startswith(("lora_unet_", "lora_te")) or ".lora_down." in k or ".lora_A." in k for k in keys):
        return Recognised("lora", None, "a LoRA")
    if any(k.startswith(("control_model.", "controlnet_cond_embedding.")) for k in keys):
        return Recognised("controlnet", None, "a ControlNet")
    if keys and all(len(header[k]) == 2 for k in keys) and (len(keys) == 1 or set(keys) == {"clip_l", "clip_g"}):
        # A1111 saves one `emb_params` [vectors, width], diffusers one `<token>`, SDXL `clip_l` and `clip_g`.
        return Recognised("embedding", "sdxl" if "clip_g" in keys else None, "a textual-inversion embedding")
    if any(k.startswith(UNET) for k in keys):
        if list(header.get(CONV_IN, []))[1:2] == [9]:
            return Recognised("checkpoint", None, "an inpainting checkpoint (its UNet takes 9 channels)")
        for family, marker in FAMILY_MARKERS:
            if any(k.startswith(marker) for k in keys):
                probe, shape = SIZE_PROBES[family]
                return Recognised("checkpoint", family, f"a {FAMILY_NAMES[family]} checkpoint",
                                  list(header.get(probe, [])) == shape)
        if any(k.startswith("conditioner.embedders.0.model.") for k in keys):
            return Recognised("checkpoint", None, "an SDXL refiner checkpoint (it refines, it does not draw alone)")
        return Recognised("checkpoint", None, "a checkpoint whose text encoder is none that seqc knows")
    if {"encoder.conv_in.weight", "decoder.conv_in.weight"} <= set(keys):
        layout = "diffusers" if any(k.startswith("encoder.down_blocks.") for k in keys) else "original"
        return Recognised("vae", None, f"a VAE ({layout} layout)")
    if any(k.startswith(("down_blocks.", "encoder.down_blocks.", "text_model.")) for k in keys):
        return Recognised("diffusers", None, "one part of a diffusers pipeline folder (a UNet, VAE or text encoder)")
    return Recognised("unknown", None, "no model seqc knows")
