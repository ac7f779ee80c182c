"""`seqc init DIR`: a storyboard with painted keyframes that validates and renders at once."""

from __future__ import annotations

from pathlib import Path

from seqc.errors import InputError
from seqc.paint import save_set
from seqc.spec import schema_text

KEYFRAMES = ("dawn", "noon", "dusk", "night")

TEMPLATE = """\
# yaml-language-server: $schema=./storyboard.schema.json
# Made by `seqc init`. Edit freely; `seqc validate storyboard.yaml` checks it,
# `seqc render storyboard.yaml` renders it, `seqc watch storyboard.yaml` re-renders on every save.
version: 1
output: {path: out/video.mp4, size: [256, 256], fps: 24}
model: builtin            # or a local diffusers autoencoder folder, e.g. ./my-vae
defaults: {duration: 2, easing: ease-in-out, method: slerp}
keyframes:
  dawn:  {image: keyframes/dawn.png}
  noon:  {image: keyframes/noon.png}
  dusk:  {image: keyframes/dusk.png}
  night: {image: keyframes/night.png}
segments:
  - {from: dawn, to: noon}
  - {from: noon, to: dusk, easing: ease-in-out-cubic}
  - {from: dusk, to: night, duration: 3}
  - {from: night, to: night, duration: 1}   # a hold
"""


def scaffold(folder: Path, force: bool = False) -> Path:
    """Write folder/storyboard.yaml, its schema and keyframes; refuse to overwrite unless forced."""
    story = folder / "storyboard.yaml"
    if story.exists() and not force:
        raise InputError(f"{story} already exists (use --force to overwrite it)")
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    save_set(folder / "keyframes", list(KEYFRAMES), (256, 256), 0)
    (folder / "storyboard.schema.json").write_text(schema_text())
    story.write_text(TEMPLATE)
    return story
