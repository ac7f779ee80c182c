"""`seqc init DIR`: a storyboard with painted keyframes that validates and renders at once.

The keyframes are shipped as package data (`seqc/scaffold/keyframes/*.png`) and copied;
they were painted once by the developer tools in `tools/paint` at 256x256, seed 0
(`tests/test_paint.py` checks that they still match what the painters draw). `seqc init
--prompts DIR` writes a storyboard of prompt keyframes for the built-in text-to-image model
instead (no pictures to copy).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from seqc.errors import InputError
from seqc.spec import schema_text
from seqc.store.atomic import atomic_write_bytes
from seqc.store.location import PROJECT_DIR, TAG_NAME, TAG_TEXT

KEYFRAMES = ("dawn", "noon", "dusk", "night")
# The rendered video's folder (the template's output.path), kept out of git by the project's .gitignore.
IGNORED = "out/"

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


PROMPT_TEMPLATE = """\
# yaml-language-server: $schema=./storyboard.schema.json
# Made by `seqc init --prompts`. The built-in text-to-image model draws emoji at 64x64 pixels;
# `seqc prompts` lists the prompts it knows (`seqc prompts leaf`: those with "leaf").
# `seqc render storyboard.yaml` renders it, `seqc watch storyboard.yaml` re-renders on every save.
version: 1
output: {path: out/video.mp4, size: [64, 64], fps: 24}
model: builtin-emoji
defaults: {duration: 2, easing: ease-in-out, method: slerp}
keyframes:
  spring: {prompt: cherry blossom}
  summer: {prompt: black sun with rays}
  autumn: {prompt: maple leaf}
  winter: {prompt: snowman without snow}
segments:
  - {from: spring, to: summer}
  - {from: summer, to: autumn}
  - {from: autumn, to: winter, duration: 3}
  - {from: winter, to: winter, duration: 1}   # a hold
"""


def keyframe_bytes(name: str) -> bytes:
    """The shipped PNG of keyframe `name` (one of `KEYFRAMES`)."""
    return files(__name__).joinpath("keyframes").joinpath(f"{name}.png").read_bytes()


def scaffold(folder: Path, force: bool = False, prompts: bool = False) -> Path:
    """Write folder/storyboard.yaml, its schema, keyframes, a tagged cache/ folder and a .gitignore
    for the video's out/ folder; refuse to overwrite the storyboard unless forced. With `prompts`,
    the storyboard's keyframes are prompts for `builtin-emoji` and no pictures are written."""
    story = folder / "storyboard.yaml"
    if story.exists() and not force:
        raise InputError(f"{story} already exists (use --force to overwrite it)")
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    for name in () if prompts else KEYFRAMES:
        atomic_write_bytes(folder / "keyframes" / f"{name}.png", keyframe_bytes(name))
    # The project's own cache: seqc finds it from any working folder by its tag (seqc.store.location).
    (folder / PROJECT_DIR).mkdir(exist_ok=True)
    atomic_write_bytes(folder / PROJECT_DIR / TAG_NAME, TAG_TEXT.encode())
    (folder / PROJECT_DIR / ".gitignore").write_text("*\n")
    (folder / "storyboard.schema.json").write_text(schema_text())
    ignore_output(folder / ".gitignore")
    story.write_text(PROMPT_TEMPLATE if prompts else TEMPLATE)
    return story


def ignore_output(gitignore: Path) -> None:
    """Make `gitignore` ignore the video's folder, so a first `git add -A` does not commit the video:
    written if missing, the line appended if absent, left alone if any form of it is there."""
    try:
        text = gitignore.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    lines = {line.strip() for line in text.splitlines()}
    if lines & {"out", "out/", "/out", "/out/"}:
        return
    separator = "\n" if text and not text.endswith("\n") else ""
    with open(gitignore, "a", encoding="utf-8") as fh:
        fh.write(f"{separator}{IGNORED}\n")
