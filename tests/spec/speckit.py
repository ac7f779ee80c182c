"""Helpers for the storyboard tests in this folder: a storyboard that loads, and the problems one raises."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from seqc.errors import Problem, SpecError
from seqc.spec import Storyboard, load_storyboard

GOOD = """\
version: 1
output: {path: out/video.mp4, size: [64, 48], fps: 12}
model: ./vae
defaults: {duration: 2, easing: ease-out-cubic, method: lerp, fit: contain}
keyframes:
  a: {image: a.png}
  b: {image: b.png, fit: stretch}
  c: {image: c.png}
segments:
  - {from: a, to: b}
  - {from: b, to: c, duration: 1.5, easing: "cubic-bezier(0.10, .7, 1.0, 0.1)"}
  - {from: c, to: c, frames: 5, method: cut}
  - {from: c, to: a, easing: "steps(4, start)", method: slerp}
"""


def story_folder(folder: Path, tiny_vae: Path, keyframe_pngs: dict[str, Path]) -> Path:
    """`folder` with a.png, b.png, c.png and the tiny model as ./vae, as conftest's story_dir has
    (for module-scoped folders, where hypothesis runs many examples in one test)."""
    for name, path in keyframe_pngs.items():
        (folder / f"{name}.png").write_bytes(path.read_bytes())
    (folder / "vae").symlink_to(tiny_vae, target_is_directory=True)
    return folder


def write(folder: Path, text: str, name: str = "s.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def load(folder: Path, text: str) -> Storyboard:
    return load_storyboard(write(folder, text))


def refuse(folder: Path, text: str) -> list[Problem]:
    """The errors (not warnings) loading `text` gives; the test fails if it loads."""
    with pytest.raises(SpecError) as info:
        load(folder, text)
    return [p for p in info.value.problems if p.severity == "error"]


def one(folder: Path, text: str) -> Problem:
    errors = refuse(folder, text)
    assert len(errors) == 1, [p.format() for p in errors]
    return errors[0]


def storyboard(segments: str, *, output: str = "{size: [64, 64], fps: 24}", extra: str = "",
               keyframes: str = "  a: {image: a.png}\n  b: {image: b.png}\n") -> str:
    return (f"version: 1\noutput: {output}\nmodel: ./vae\n{extra}keyframes:\n{keyframes}"
            f"segments:\n{segments}")


def without_rules(node: object) -> object:
    """The schema without its rules between fields (`allOf` of if/then): hypothesis-jsonschema draws
    from the whole schema at about 30 s an instance, from this in well under one."""
    if isinstance(node, dict):
        return {key: without_rules(value) for key, value in node.items() if key != "allOf"}
    if isinstance(node, list):
        return [without_rules(value) for value in node]
    return node
