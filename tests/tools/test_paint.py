"""Tests for tools.paint: sizes, determinism, variety, stable PNG bytes, the example keyframes
and the keyframes `seqc init` ships (seqc/scaffold/keyframes)."""

from __future__ import annotations

import ast
import importlib.util
import itertools
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from seqc.scaffold import KEYFRAMES
from tools.paint import PAINTERS, paint, png_bytes, save_set

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SHIPPED = ROOT / "seqc" / "scaffold" / "keyframes"

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
def test_bad_arguments_raise_value_error(kwargs):
    with pytest.raises(ValueError):
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
    code = (
        "import sys, tools.paint; tools.paint.paint('summer', (64, 48)); "
        "print('torch' in sys.modules, any(m.split('.')[0] == 'seqc' for m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False False"  # no torch, and no seqc: dev tools stand alone


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
                f"{path} differs from what tools.paint draws: run python examples/paint_examples.py"
            )


def test_shipped_init_keyframes_match_the_painters():
    """seqc/scaffold/keyframes/*.png (what `seqc init` copies) are the painters' 256x256, seed 0.

    Same tolerance as the example keyframes. To repaint them:
    `python -c "from tools.paint import save_set; save_set('seqc/scaffold/keyframes',
    ['dawn', 'noon', 'dusk', 'night'], (256, 256), 0)"` from the repository root.
    """
    assert sorted(p.name for p in SHIPPED.glob("*.png")) == sorted(f"{n}.png" for n in KEYFRAMES)
    for name in KEYFRAMES:
        path = SHIPPED / f"{name}.png"
        assert path.stat().st_size < 150 * 1024, f"{path} is too big"
        with Image.open(path) as shipped:
            assert shipped.mode == "RGB"
            stored = pixels(shipped)
        fresh = pixels(paint(name, (256, 256), 0))
        assert stored.shape == fresh.shape, f"{path}: wrong size"
        diff = np.abs(stored - fresh)
        assert (diff > 2).mean() < 0.002 and diff.mean() < 0.1, (
            f"{path} differs from what tools.paint draws: repaint it (see this test's docstring)"
        )


def test_scaffold_does_not_import_the_painters():
    code = "import sys, seqc.scaffold; print(any(m.split('.')[0] == 'tools' for m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
    tree = ast.parse((ROOT / "seqc" / "scaffold" / "__init__.py").read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {m for m in imported if m and m.split(".")[0] in {"numpy", "PIL", "tools"}}


def test_init_writes_the_shipped_keyframes_and_validates(tmp_path):
    """`seqc init DIR` copies the shipped PNGs byte for byte and its storyboard validates.

    (tests/cli/test_cli_validate.py covers `init`'s overwrite refusal and schema file.)
    """
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("SEQC_DEBUG", None)

    def seqc(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "seqc", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)

    run = seqc("init", "demo")
    assert run.returncode == 0, run.stderr
    written = tmp_path / "demo" / "keyframes"
    assert sorted(p.name for p in written.iterdir()) == sorted(f"{n}.png" for n in KEYFRAMES)
    for name in KEYFRAMES:
        assert (written / f"{name}.png").read_bytes() == (SHIPPED / f"{name}.png").read_bytes()
    run = seqc("validate", "demo/storyboard.yaml")
    assert run.returncode == 0, run.stderr


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
