"""Procedural keyframe painters: landscapes and skies drawn with numpy and Pillow.

Developer tools, not part of the installed `seqc` package: the tests, the bench and
`examples/paint_examples.py` paint their keyframes here, and the four keyframes `seqc init`
ships (`seqc/scaffold/keyframes/*.png`) were painted here once. Every pixel the project
ships as an example keyframe is made from this code, so the examples carry no third-party
images. Import it from the repository root (`import tools.paint`); it never imports `seqc`.

Modules, by job:

- `tools.paint.noise`: value noise and fBm in 1-D and 2-D, from an integer hash;
- `tools.paint.scene`: colour helpers, supersampled Pillow shapes (`_Shapes`) and the
  float RGB canvas (`_Scene`) with gradients, discs, glows and hills;
- `tools.paint.props`: clouds, trees, birds and scattered dots;
- `tools.paint.painters`: the eight painters and `PAINTERS`.

Public API (kept stable):

- `PAINTERS`: name -> painter `f(width, height, seed) -> Image`
- `paint(name, size=(256, 256), seed=0) -> Image`
- `png_bytes(image) -> bytes`: the deterministic PNG encoding used for files
- `save_set(folder, names, size=(256, 256), seed=0) -> list[Path]`: writes `<name>.png`
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path

from PIL import Image

from .painters import PAINTERS, Painter

__all__ = ["DEFAULT_SIZE", "PAINTERS", "Painter", "paint", "png_bytes", "save_set"]

DEFAULT_SIZE = (256, 256)
SIZE_MULTIPLE = 8  # painters accept any width and height that are multiples of this
MAX_SIDE = 4096


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    """Validate (width, height): positive multiples of `SIZE_MULTIPLE`, at most `MAX_SIDE`."""
    try:
        width, height = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"size must be (width, height), got {size!r}") from None
    for value in (width, height):
        if value <= 0 or value % SIZE_MULTIPLE or value > MAX_SIDE:
            raise ValueError(
                f"size {width}x{height}: width and height must be multiples of "
                f"{SIZE_MULTIPLE} between {SIZE_MULTIPLE} and {MAX_SIDE}"
            )
    return width, height


def paint(name: str, size: tuple[int, int] = DEFAULT_SIZE, seed: int = 0) -> Image.Image:
    """Paint the picture `name` (a key of `PAINTERS`) at `size` = (width, height).

    The same name, size and seed give the same pixels on every run. Raises `ValueError`
    for an unknown name, a size that is not a multiple of 8, or a negative seed.
    """
    painter = PAINTERS.get(name)
    if painter is None:
        known = ", ".join(sorted(PAINTERS))
        raise ValueError(f"unknown painter {name!r} (known: {known})")
    width, height = _check_size(size)
    if int(seed) < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    image = painter(width, height, int(seed))
    assert image.mode == "RGB" and image.size == (width, height)
    return image


def png_bytes(image: Image.Image) -> bytes:
    """Encode `image` as an optimised PNG with no metadata: same pixels give the same bytes."""
    buffer = io.BytesIO()
    clean = Image.frombytes(image.mode, image.size, image.tobytes())  # drops any .info
    clean.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temp file beside it and `os.replace`: whole file or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_set(
    folder: str | Path,
    names: Iterable[str],
    size: tuple[int, int] = DEFAULT_SIZE,
    seed: int = 0,
) -> list[Path]:
    """Paint each of `names` and write it to `folder/<name>.png` atomically; return the paths.

    The files are byte-identical for the same inputs on every run (see `png_bytes`).
    """
    folder = Path(folder)
    paths = []
    for name in names:
        path = folder / f"{name}.png"
        _write_atomic(path, png_bytes(paint(name, size, seed)))
        paths.append(path)
    return paths
