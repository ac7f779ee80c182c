"""Checks that a keyframe image file is safe to open: a regular file, an image, not a bomb.

Runs before any model or ffmpeg starts. FIFOs and devices are refused by `stat` before any
read (opening a FIFO would block). Only the formats in IMAGE_FORMATS are opened. An explicit
pixel limit is checked from the header before any pixel is decoded (a header claiming
20000x20000 is refused at once); then the whole image is decoded once, as the render will,
so a truncated or corrupt file fails here and not halfway through a render.
"""

from __future__ import annotations

import os
import re
import stat
import warnings
from pathlib import Path
from typing import Protocol

from seqc.store.files import file_kind

MAX_IMAGE_BYTES = 256 * 1024 * 1024
MAX_IMAGE_PIXELS = 64_000_000  # 8000 x 8000
# Formats Pillow may open: common raster formats only. EPS (which runs Ghostscript), PDF-like
# and exotic formats are refused before any of their code runs.
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF")

# What a pass means: a memo entry made under other limits or formats does not count.
CHECK_RULES = f"v1 {MAX_IMAGE_BYTES} {MAX_IMAGE_PIXELS} {','.join(IMAGE_FORMATS)}"


def is_transparent(im) -> bool:
    """Whether the renderer composites this (PIL) image onto the background: it has an alpha
    channel or a transparent palette entry. One rule for the renderer and the cache key."""
    return im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)


def background_shows(path: Path, fit: str) -> bool:
    """Whether a keyframe's background colour can reach its pixels: `contain` pads with it, and a
    transparent image shows it. Reads the header only; False for a file that cannot be opened
    (its check reports it)."""
    return fit == "contain" or transparent_file(path)


def transparent_file(path: Path) -> bool:
    """Whether an image file is transparent (`is_transparent`), from its header; False for a file
    that cannot be opened (its check reports it)."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path, formats=IMAGE_FORMATS) as im:
                return is_transparent(im)
    except Exception:  # noqa: BLE001 - a broken file is check_image's to report
        return False


class ImageMemo(Protocol):
    """A record of images already checked, kept across processes (the cache implements it),
    so a plan of a thousand keyframes does not decode a thousand unchanged files each run."""

    def image_checked(self, path: Path, st: os.stat_result, rules: str) -> bool:
        """True if this file, with exactly this stat signature, passed the checks `rules` names."""

    def remember_image_check(self, path: Path, st: os.stat_result, rules: str) -> None:
        """Note that the file with this stat signature passed the checks `rules` names."""


def check_image(path: Path, memo: ImageMemo | None = None) -> tuple[str, str]:
    """Return ('', '') if `path` is a readable image within limits, else (message, hint).

    Passes are remembered in `memo` when given (the cache's file memo: in this process and
    across runs, by stat), so an unchanged file is decoded once.
    """
    # 1. The file itself: exists, regular, not huge. stat follows symlinks; a loop raises ELOOP.
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return f"image file not found: {path}", "paths are relative to the storyboard"
    except OSError as exc:
        return f"cannot open image {path}: {exc.strerror or exc}", ""
    if not stat.S_ISREG(st.st_mode):
        return f"{path} is {file_kind(st.st_mode)}, not an image file", ""
    if st.st_size > MAX_IMAGE_BYTES:
        return f"{path} is {st.st_size:,} bytes, over the {MAX_IMAGE_BYTES:,}-byte limit", ""
    if memo is not None and memo.image_checked(path, st, CHECK_RULES):
        return "", ""
    # 2. The header: an image Pillow knows, with a sane pixel count. 3. Every pixel decoded.
    result = _check_pixels(path)
    if memo is not None and result == ("", ""):
        memo.remember_image_check(path, st, CHECK_RULES)
    return result


def _bomb_message(exc: Exception) -> tuple[str, str]:
    match = re.search(r"\((\d+) pixels\)", str(exc))
    claimed = f" (its header claims {int(match.group(1)) / 1e6:.0f} megapixels)" if match else ""
    return (f"image is over the {MAX_IMAGE_PIXELS / 1e6:.0f}-megapixel limit{claimed}",
            "scale it down first; a huge header is how decompression bombs start")


def _check_pixels(path: Path) -> tuple[str, str]:
    from PIL import Image

    with warnings.catch_warnings():
        # Pillow warns about big images itself; the limit below is ours and says so.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            # 2. The header: a format we accept, with a sane pixel count, and a sound structure.
            with Image.open(path, formats=IMAGE_FORMATS) as im:
                width, height = im.size
                if width * height > MAX_IMAGE_PIXELS:
                    return (f"image is {width}x{height} = {width * height / 1e6:.0f} megapixels, over the "
                            f"{MAX_IMAGE_PIXELS / 1e6:.0f}-megapixel limit", "scale it down first")
                im.verify()
            # 3. The pixels: decode them all, as the render will (verify() does not inflate them).
            with Image.open(path, formats=IMAGE_FORMATS) as im:
                im.load()
        except Image.DecompressionBombError as exc:
            return _bomb_message(exc)
        except Image.UnidentifiedImageError:
            return (f"{path} is not an image seqc reads",
                    f"use one of {', '.join(IMAGE_FORMATS)}")
        except Exception as exc:  # noqa: BLE001 - any decoder failure means a broken file
            return f"cannot decode image {path}: {' '.join(str(exc).split())}", "the file may be truncated or corrupt"
    return "", ""
