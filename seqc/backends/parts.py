"""The parts a storyboard adds to a pipeline beyond its checkpoint: the tokenizers of a config
folder seqc ships, a replacement VAE (`vae:`), a ControlNet (`controlnet:`) and textual-inversion
embeddings (`embeddings:`), loaded offline with the pipeline's own configs (a single file never
makes diffusers look its config up)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import torch

from seqc.families import CLIP_TOKENIZER, shipped_tokenizers
from seqc.models import ModelRef


def tokenizers(folder: Path) -> dict:
    """The tokenizers of a config folder seqc ships, on the CLIP vocabulary shipped once (seqc.families)."""
    from transformers import CLIPTokenizer

    return {name: CLIPTokenizer.from_pretrained(CLIP_TOKENIZER, local_files_only=True, **settings)
            for name, settings in shipped_tokenizers(folder).items()}


def replacement_vae(ref: ModelRef, dtype: torch.dtype) -> dict:
    """The storyboard's `vae:` as a loaded component ({} without one): a folder by its own class, a
    file (either layout) with the pipeline's VAE config."""
    import diffusers

    if ref.vae is None:
        return {}
    if ref.vae.is_dir():
        cls = getattr(diffusers, json.loads((ref.vae / "config.json").read_text())["_class_name"])
        return {"vae": cls.from_pretrained(ref.vae, use_safetensors=True, local_files_only=True, torch_dtype=dtype)}
    return {"vae": diffusers.AutoencoderKL.from_single_file(
        str(ref.vae), config=str(ref.path), subfolder="vae", local_files_only=True, torch_dtype=dtype)}


def controlnet(ref: ModelRef, unet, dtype: torch.dtype):
    """The storyboard's `controlnet:` (None without one): a diffusers folder, or a single file in the
    original or diffusers layout with the configs of a ControlNet made for this pipeline's UNet
    (`ControlNetModel.from_unet`'s config, written to a temporary folder for from_single_file)."""
    from diffusers import ControlNetModel

    if ref.controlnet is None:
        return None
    if ref.controlnet.is_dir():
        return ControlNetModel.from_pretrained(ref.controlnet, use_safetensors=True, local_files_only=True,
                                               torch_dtype=dtype)
    with torch.device("meta"):
        shape = ControlNetModel.from_unet(unet, load_weights_from_unet=False)
    with tempfile.TemporaryDirectory(prefix="seqc-controlnet-") as folder:
        shape.save_config(folder)
        return ControlNetModel.from_single_file(str(ref.controlnet), config=folder, local_files_only=True,
                                                torch_dtype=dtype)


def load_embeddings(pipe, ref: ModelRef) -> None:
    """The storyboard's textual-inversion embeddings, each under its token: a one-tensor file (A1111's
    `emb_params`, diffusers' `<token>`) into the text encoder, an SDXL file's `clip_l` and `clip_g`
    into the first and second. A token already in the vocabulary is a ValueError from diffusers."""
    from safetensors.torch import load_file

    for token, path in ref.embeddings:
        tensors = load_file(path)
        if "clip_g" in tensors:
            pipe.load_textual_inversion(tensors["clip_l"], token=token, text_encoder=pipe.text_encoder,
                                        tokenizer=pipe.tokenizer)
            pipe.load_textual_inversion(tensors["clip_g"], token=token, text_encoder=pipe.text_encoder_2,
                                        tokenizer=pipe.tokenizer_2)
        else:
            pipe.load_textual_inversion(next(iter(tensors.values())), token=token)
