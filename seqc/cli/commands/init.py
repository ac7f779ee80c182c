"""`seqc init DIR`: a storyboard (keyframe images, or prompts with --prompts) that validates and renders at once."""

from __future__ import annotations

from pathlib import Path

from seqc.scaffold import scaffold
from seqc.ui import console


def run(folder: Path, force: bool = False, prompts: bool = False) -> int:
    story = scaffold(folder, force=force, prompts=prompts)
    console.info(f"created {story}; render it with: seqc render {story}")
    return 0
