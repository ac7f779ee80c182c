"""Tests for seqc.paint: sizes, determinism, variety, stable PNG bytes, and the example keyframes."""

from __future__ import annotations

import importlib.util
import itertools
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from seqc.errors import InputError
from seqc.paint import PAINTERS, paint, png_bytes, save_set

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

SIZES = [(256, 256), (64, 48)]


def pixels(image: Image.Image) -> np.ndarray:
    """An image's pixels as a float array, for differences."""
    return np.asarray(image, dtype=np.float64)


def png_chunks(data: bytes) -> list[str]:
    """The chunk types of a PNG file, in order."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunks.append(data[pos + 4 : pos + 8].decode("ascii"))
        pos += 12 + length
    return chunks


def load_example_script():
    """Import examples/paint_examples.py (not a package) as a module."""
    spec = importlib.util.spec_from_file_location("paint_examples", EXAMPLES / "paint_examples.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", sorted(PAINTERS))
def test_painter_returns_rgb_image_of_requested_size(name, size):
    image = paint(name, size, seed=0)
    assert isinstance(image, Image.Image)
    assert image.mode == "RGB"
    assert image.size == size
    direct = PAINTERS[name](size[0], size[1], 0)
    assert direct.tobytes() == image.tobytes()


@pytest.mark.parametrize("name", sorted(PAINTERS))
def test_same_seed_same_pixels_other_seed_other_pixels(name):
    first = paint(name, (64, 48), seed=3)
    again = paint(name, (64, 48), seed=3)
    other = paint(name, (64, 48), seed=4)
    assert first.tobytes() == again.tobytes()
    assert np.abs(pixels(first) - pixels(other)).mean() > 1.0


def test_painters_are_clearly_different():
    images = {name: pixels(paint(name)) for name in PAINTERS}
    for a, b in itertools.combinations(sorted(images), 2):
        diff = np.abs(images[a] - images[b]).mean()
        assert diff > 20.0, f"{a} and {b} differ by only {diff:.1f} levels on average"


def test_the_expected_painters_exist():
    assert {"summer", "autumn", "winter", "spring"} <= set(PAINTERS)
    assert {"dawn", "noon", "dusk", "night"} <= set(PAINTERS)


def test_default_size_is_256_square():
    assert paint("night").size == (256, 256)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "summr"},
        {"name": "summer", "size": (60, 48)},
        {"name": "summer", "size": (0, 64)},
        {"name": "summer", "size": (64,)},
        {"name": "summer", "seed": -1},
    ],
)
def test_bad_arguments_raise_input_error(kwargs):
    with pytest.raises(InputError):
        paint(**kwargs)


def test_save_set_writes_byte_identical_pngs(tmp_path):
    names = sorted(PAINTERS)
    first = save_set(tmp_path / "a", names, (64, 48), seed=1)
    second = save_set(tmp_path / "b", names, (64, 48), seed=1)
    assert [p.name for p in first] == [f"{n}.png" for n in names]
    for a, b in zip(first, second, strict=True):
        data = a.read_bytes()
        assert data == b.read_bytes()
        assert png_chunks(data) == ["IHDR", "IDAT", "IEND"]  # no time stamps or text
        with Image.open(a) as image:
            assert image.size == (64, 48) and image.mode == "RGB"
    # Writing over an existing set gives the same bytes and leaves no temp files behind.
    again = save_set(tmp_path / "a", names, (64, 48), seed=1)
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in second]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [f"{n}.png" for n in names]


def test_png_bytes_ignores_image_metadata():
    image = paint("dawn", (64, 48))
    tagged = image.copy()
    tagged.info["dpi"] = (300, 300)
    tagged.info["comment"] = "hello"
    assert png_bytes(tagged) == png_bytes(image)


def test_paint_does_not_import_torch():
    code = "import sys, seqc.paint; seqc.paint.paint('summer', (64, 48)); print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_committed_example_keyframes_match_the_painters():
    """The committed PNGs are what `examples/paint_examples.py` paints now.

    On this machine they are byte-identical; the pixel comparison tolerates the last-bit
    float differences another CPU's numpy could make at a few anti-aliased edge pixels.
    """
    script = load_example_script()
    for example, names in script.EXAMPLES.items():
        for name in names:
            path = EXAMPLES / example / "keyframes" / f"{name}.png"
            assert path.is_file(), f"{path} is missing: run python examples/paint_examples.py"
            assert path.stat().st_size < 150 * 1024, f"{path} is too big"
            with Image.open(path) as committed:
                assert committed.mode == "RGB"
                stored = pixels(committed)
            fresh = pixels(paint(name, script.SIZE, script.SEED))
            assert stored.shape == fresh.shape, f"{path}: wrong size"
            diff = np.abs(stored - fresh)
            assert (diff > 2).mean() < 0.002 and diff.mean() < 0.1, (
                f"{path} differs from what seqc.paint draws: run python examples/paint_examples.py"
            )


@pytest.mark.parametrize("example", ["seasons", "sky"])
def test_example_storyboards_name_existing_keyframes(example):
    yaml = pytest.importorskip("yaml")
    path = EXAMPLES / example / "storyboard.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../../schemas/storyboard.schema.json\n")
    board = yaml.safe_load(text)
    assert board["version"] == 1
    assert board["output"]["path"].startswith("out/")
    for name, keyframe in board["keyframes"].items():
        assert (path.parent / keyframe["image"]).is_file(), f"{example}: keyframe {name}"
    for segment in board["segments"]:
        assert segment["from"] in board["keyframes"] and segment["to"] in board["keyframes"]
