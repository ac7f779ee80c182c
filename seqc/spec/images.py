"""Checks that a keyframe image file is safe to open: a regular file, an image, not a bomb.

Runs before any model or ffmpeg starts. FIFOs and devices are refused by `stat` before any
read (opening a FIFO would block); Pillow's decompression-bomb guard is replaced by an
explicit pixel limit checked from the header, before the pixels are decoded.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_IMAGE_BYTES = 256 * 1024 * 1024
MAX_IMAGE_PIXELS = 64_000_000  # 8000 x 8000

_memo: dict[tuple, tuple[str, str]] = {}


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_image(path: Path) -> tuple[str, str]:
    """Return ('', '') if `path` is a readable image within limits, else (message, hint).

    Results are memoised by (path, size, mtime, inode), so watch mode and large plans
    do not re-read unchanged files.
    """
    # 1. The file itself: exists, regular, not huge. stat follows symlinks; a loop raises ELOOP.
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return f"image file not found: {path}", "paths are relative to the storyboard"
    except OSError as exc:
        return f"cannot open image {path}: {exc.strerror or exc}", ""
    if not stat.S_ISREG(st.st_mode):
        return f"{path} is {_file_kind(st.st_mode)}, not an image file", ""
    if st.st_size > MAX_IMAGE_BYTES:
        return f"{path} is {st.st_size:,} bytes, over the {MAX_IMAGE_BYTES:,}-byte limit", ""
    key = (str(path), st.st_size, st.st_mtime_ns, st.st_ino)
    if key in _memo:
        return _memo[key]

    # 2. The header: an image Pillow knows, with a sane pixel count. 3. verify() the structure.
    result = _check_pixels(path)
    _memo[key] = result
    return result


def _check_pixels(path: Path) -> tuple[str, str]:
    from PIL import Image

    try:
        with Image.open(path) as im:
            width, height = im.size
            if width * height > MAX_IMAGE_PIXELS:
                return (f"image is {width}x{height} = {width * height / 1e6:.0f} megapixels, over the "
                        f"{MAX_IMAGE_PIXELS / 1e6:.0f}-megapixel limit", "scale it down first")
            im.verify()
    except Image.DecompressionBombError as exc:
        return f"image refused as a decompression bomb: {exc}", "scale it down first"
    except Image.UnidentifiedImageError:
        return f"{path} is not an image Pillow can read", "use PNG, JPEG or WebP"
    except Exception as exc:  # noqa: BLE001 - any decoder failure means a broken file
        return f"cannot read image {path}: {exc}", "the file may be truncated or corrupt"
    return "", ""
