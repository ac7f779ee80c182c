"""The training data of `model: builtin-emoji`: Noto emoji pictures and their names, from npm.

Fetched once by the training and evaluation tools (`npm install` into a cache folder), never at
render time. Pictures: `emoji-datasource-google` (`img/google/64/`, the Noto emoji, Apache-2.0;
flags public domain); names: `emoji-datasource` (`emoji.json`). The model is trained on a
curated subset of clearly different pictures (CURATED_SUBCATEGORIES plus CURATED_FLAGS); the
evaluation ranks against every picture in the package.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PACKAGES = ("emoji-datasource-google@16.0.0", "emoji-datasource@16.0.0")
PICTURE_DIR = Path("node_modules/emoji-datasource-google/img/google/64")
NAMES_FILE = Path("node_modules/emoji-datasource/emoji.json")

# The subset trained on: whole subcategories of emoji.json whose pictures differ clearly
# (faces, animals, plants, food, sky and weather, vehicles, instruments, sport, events).
CURATED_SUBCATEGORIES = (
    "face-smiling", "face-affection", "face-costume", "cat-face", "monkey-face",
    "animal-mammal", "animal-bird", "animal-marine", "animal-bug", "animal-reptile", "animal-amphibian",
    "plant-flower", "plant-other",
    "food-fruit", "food-vegetable", "food-sweet", "drink",
    "sky & weather", "transport-air", "transport-water",
    "musical-instrument", "sport", "event",
)
# A few flags (short names as in emoji.json).
CURATED_FLAGS = ("flag-us", "flag-gb", "jp", "fr", "de", "it", "flag-br", "flag-ca", "flag-in", "cn")


@dataclass(frozen=True)
class Emoji:
    """One emoji picture: its file, its prompt (the lower-cased name) and its short names."""

    image: str  # file name in PICTURE_DIR
    name: str  # "cat face": the prompt prompts.txt lists
    short_names: tuple[str, ...]  # ("cat",), underscores as spaces
    subcategory: str


def fetch(folder: Path) -> Path:
    """Install the two npm packages into `folder` unless they are there; return `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / NAMES_FILE).is_file() and (folder / PICTURE_DIR).is_dir():
        return folder
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("the emoji data come from npm (emoji-datasource-google, emoji-datasource); install Node.js")
    subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(folder), *PACKAGES], check=True)
    return folder


def clean(text: str) -> str:
    """A name as a prompt: lower case, underscores and dashes as spaces, single spaces."""
    return " ".join(text.lower().replace("_", " ").replace("-", " ").split())


def all_emoji(folder: Path) -> list[Emoji]:
    """Every emoji with a Google picture, skin-tone variants included (3,786 in v16), in file order."""
    entries = json.loads((folder / NAMES_FILE).read_text())
    found: list[Emoji] = []
    for entry in entries:
        short = tuple(clean(s) for s in entry["short_names"])
        if entry.get("has_img_google"):
            found.append(Emoji(entry["image"], clean(entry["name"]), short, entry["subcategory"]))
        for variant in (entry.get("skin_variations") or {}).values():
            if variant.get("has_img_google"):
                found.append(Emoji(variant["image"], clean(entry["name"]), short, entry["subcategory"]))
    return sorted(found, key=lambda e: e.image)


def curated(folder: Path) -> list[Emoji]:
    """The training subset: base emoji (no skin-tone variants) of the curated subcategories and flags."""
    entries = json.loads((folder / NAMES_FILE).read_text())
    chosen: list[Emoji] = []
    seen_names: set[str] = set()
    for entry in sorted(entries, key=lambda e: e["sort_order"]):
        wanted = entry["subcategory"] in CURATED_SUBCATEGORIES or entry["short_name"] in CURATED_FLAGS
        if not wanted or not entry.get("has_img_google") or entry.get("skin_variations"):
            continue
        name = clean(entry["name"])
        if name in seen_names:
            continue
        seen_names.add(name)
        chosen.append(Emoji(entry["image"], name, tuple(clean(s) for s in entry["short_names"]),
                            entry["subcategory"]))
    return chosen


def captions(emoji: Emoji) -> list[str]:
    """The texts an emoji is trained with: its name, each short name that differs, and both together."""
    texts = [emoji.name]
    texts += [s for s in emoji.short_names if s != emoji.name]
    if len(texts) > 1:
        texts.append(" ".join(dict.fromkeys([emoji.name, *emoji.short_names])))
    return texts


def load_picture(folder: Path, image: str) -> np.ndarray:
    """A 64x64 emoji as uint8 RGB [64, 64, 3], composited over white (the PNGs are transparent)."""
    from PIL import Image

    with Image.open(folder / PICTURE_DIR / image) as picture:
        rgba = picture.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"), dtype=np.uint8)
