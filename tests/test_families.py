"""The configs seqc ships for single-file checkpoints (seqc/families): each family's models have the
published parameter counts, the real key layout reads as that family to seqc and to diffusers, and
the shipped CLIP vocabulary tokenizes as CLIP does. Real-size models are built on the meta device."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from ldmfile import ldm_meta_state

from seqc.checkpoints import PIPELINE_CLASSES, recognise
from seqc.families import (
    CLIP_TOKENIZER,
    CONFIG_FAMILY,
    FAMILY_CONFIGS,
    ROOT,
    family_folder,
    shipped_tokenizers,
)

REPO = Path(__file__).resolve().parent.parent
# Parameter counts as the model cards and papers state them (UNet, VAE, text encoders).
PUBLISHED = {
    "sd1": {"unet": 859_520_964, "vae": 83_653_863, "text_encoder": 123_060_480},
    "sd2": {"unet": 865_910_724, "vae": 83_653_863, "text_encoder": 340_387_840},
    "sd2-base": {"unet": 865_910_724, "vae": 83_653_863, "text_encoder": 340_387_840},
    "sdxl": {"unet": 2_567_463_684, "vae": 83_653_863, "text_encoder": 123_060_480, "text_encoder_2": 694_659_840},
}
DIFFUSERS_TYPES = {"sd1": "v1", "sd2": "v2", "sd2-base": "v2", "sdxl": "xl_base"}
TEXT_LAYOUT = {"sd1": "clip", "sd2": "openclip", "sd2-base": "openclip", "sdxl": None}


def meta_counts(folder: Path) -> dict[str, int]:
    """Each model's parameter count, built from the folder's configs on the meta device."""
    import torch

    index = json.loads((folder / "model_index.json").read_text())
    counts = {}
    for part in PUBLISHED["sdxl"]:
        if part not in index:
            continue
        library, name = index[part]
        cls = getattr(importlib.import_module(library), name)
        with torch.device("meta"):
            model = cls.from_config(cls.load_config(folder / part)) if library == "diffusers" else \
                cls(cls.config_class.from_pretrained(folder / part))
        counts[part] = sum(p.numel() for p in model.parameters())
    return counts


@pytest.mark.parametrize("family", FAMILY_CONFIGS)
def test_each_family_has_the_published_parameter_counts(family):
    assert meta_counts(family_folder(family)) == PUBLISHED[family]


@pytest.mark.parametrize("family", FAMILY_CONFIGS)
def test_the_real_layout_reads_as_its_family_to_seqc_and_to_diffusers(family):
    from diffusers.loaders.single_file_utils import infer_diffusers_model_type

    state = ldm_meta_state(family_folder(family), TEXT_LAYOUT[family])
    found = recognise({key: list(tensor.shape) for key, tensor in state.items()})
    assert (found.kind, found.family, found.published_size) == ("checkpoint", CONFIG_FAMILY[family], True)
    assert infer_diffusers_model_type(state) == DIFFUSERS_TYPES[family]
    index = json.loads((family_folder(family) / "model_index.json").read_text())
    assert index["_class_name"] == PIPELINE_CLASSES[CONFIG_FAMILY[family]]


def test_the_shipped_vocabulary_tokenizes_as_clip_and_openclip_pad_with_token_0():
    from transformers import CLIPTokenizer

    settings = shipped_tokenizers(family_folder("sdxl"))
    assert list(settings) == ["tokenizer", "tokenizer_2"]
    clip = CLIPTokenizer.from_pretrained(CLIP_TOKENIZER, **settings["tokenizer"])
    openclip = CLIPTokenizer.from_pretrained(CLIP_TOKENIZER, **settings["tokenizer_2"])
    # CLIP's own ids for this prompt (its vocabulary of 49,408: start 49406, end 49407).
    assert clip("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]
    assert (len(clip), clip.model_max_length, clip.pad_token_id, openclip.pad_token_id) == (49408, 77, 49407, 0)
    assert shipped_tokenizers(family_folder("sd2")) == {"tokenizer": {"pad_token": "!"}}
    assert shipped_tokenizers(REPO / "seqc" / "backends" / "builtin_emoji") == {}  # a folder with its own


def test_the_shipped_files_are_what_the_tool_writes(monkeypatch, tmp_path):
    sys.path.insert(0, str(REPO / "tools"))
    try:
        import make_families
    finally:
        sys.path.remove(str(REPO / "tools"))
    monkeypatch.setattr(make_families, "ROOT", tmp_path)
    monkeypatch.setattr(sys, "argv", ["make_families.py"])
    make_families.main()
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.json"))
    shipped = sorted(p.relative_to(ROOT) for p in ROOT.rglob("*.json") if p.parent.name != "clip")
    assert written == shipped
    assert all((tmp_path / rel).read_text() == (ROOT / rel).read_text() for rel in written)
