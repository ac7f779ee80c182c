"""The configs seqc ships for single-file checkpoints: one diffusers-layout folder per family.

A checkpoint downloaded as one file holds weights only. diffusers loads it with a folder of the
family's configs (`from_single_file(file, config=folder)`) and would fetch that folder from the
hub; seqc ships it instead, written by tools/make_families.py from the published architectures.
The CLIP tokenizer's vocabulary (1.5 MB) is shipped once, in `clip/`: each family's tokenizer
folders hold only the settings that differ (OpenCLIP pads with "!"). Stdlib only: the planner reads it.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent
CLIP_TOKENIZER = ROOT / "clip"

# The config folders, by the name a storyboard's `model: {file: ..., family: NAME}` may give.
FAMILY_CONFIGS = ("sd1", "sd2", "sd2-base", "sdxl")
# The folder a recognised family (seqc.checkpoints) gets by default: an SD 2.x file is most often
# 2.0-v or 2.1 (768 px, v-prediction), the configs diffusers itself picks for one.
DEFAULT_CONFIGS = {"sd1": "sd1", "sd2": "sd2", "sdxl": "sdxl"}
# Which recognised family each folder fits.
CONFIG_FAMILY = {"sd1": "sd1", "sd2": "sd2", "sd2-base": "sd2", "sdxl": "sdxl"}


def family_folder(name: str) -> Path:
    """The shipped config folder of one of FAMILY_CONFIGS."""
    return ROOT / name


def shipped_tokenizers(folder: Path) -> dict[str, dict]:
    """For a shipped config folder: each tokenizer component and the settings to load the shared CLIP
    vocabulary with (`CLIPTokenizer.from_pretrained(CLIP_TOKENIZER, **settings)`); {} for any other folder."""
    if folder.resolve().parent != ROOT:
        return {}
    index = json.loads((folder / "model_index.json").read_text())
    return {name: json.loads((folder / name / "tokenizer_config.json").read_text())
            for name, value in sorted(index.items()) if name.startswith("tokenizer") and isinstance(value, list)}
