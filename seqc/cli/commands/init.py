"""`seqc init DIR`: a storyboard with keyframe images that validates and renders at once."""

from __future__ import annotations

from pathlib import Path

from seqc.scaffold import scaffold
from seqc.ui import console


def run(folder: Path, force: bool = False) -> int:
    story = scaffold(folder, force=force)
    console.info(f"created {story}; render it with: seqc render {story}")
    return 0
