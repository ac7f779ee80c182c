"""Keyframe pixels: decode an image file fully and fit it to the output size (no torch).

Fit modes: `cover` scales to fill and crops the centre, `contain` scales to fit and pads
with the background colour, `stretch` ignores the aspect ratio. EXIF orientation is applied and
transparency is composited onto the background colour (black unless the storyboard sets
`background`), so what the user sees in a viewer is what gets encoded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from seqc.spec.colours import BLACK, rgb
from seqc.spec.images import IMAGE_FORMATS, MAX_IMAGE_PIXELS, is_transparent

RESAMPLE = Image.Resampling.LANCZOS
FITS = ("cover", "contain", "stretch")  # how an image is fitted to the output size


class ImageReadError(Exception):
    """An image that passed the header check but cannot be decoded (e.g. truncated)."""


def fit_image(im: Image.Image, size: tuple[int, int], fit: str, background: str = BLACK) -> Image.Image:
    """Resize an RGB image to `size` (width, height) by the fit mode; `contain` pads with `background`
    ("#rrggbb")."""
    return _fit(im, size, fit, rgb(background))


def _fit(im: Image.Image, size: tuple[int, int], fit: str, fill: tuple[int, int, int] | int) -> Image.Image:
    """`fit_image` for any mode: `contain` pads with `fill` (a colour, or 0 for a transparent alpha)."""
    if im.size == tuple(size):
        return im
    if fit == "cover":
        return ImageOps.fit(im, size, method=RESAMPLE, centering=(0.5, 0.5))
    if fit == "contain":
        return ImageOps.pad(im, size, method=RESAMPLE, color=fill, centering=(0.5, 0.5))
    if fit == "stretch":
        return im.resize(size, RESAMPLE)
    raise ValueError(f"unknown fit '{fit}'")


def _decoded(path: Path) -> Image.Image:
    """The whole image, decoded and turned upright by its EXIF orientation (ImageReadError if it is
    over the pixel limit or cannot be decoded)."""
    try:
        with Image.open(path, formats=IMAGE_FORMATS) as im:
            if im.width * im.height > MAX_IMAGE_PIXELS:
                raise ImageReadError(f"image is {im.width}x{im.height}, over the pixel limit")
            im.load()
            return ImageOps.exif_transpose(im)
    except ImageReadError:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a broken keyframe file
        raise ImageReadError(f"cannot decode image {path}: {exc}") from None


def load_fitted(path: Path, size: tuple[int, int], fit: str, background: str = BLACK) -> np.ndarray:
    """Decode `path` completely and return uint8 [height, width, 3] pixels fitted to `size`, with
    transparency composited onto `background` ("#rrggbb")."""
    im = _decoded(path)
    if is_transparent(im):
        rgba = im.convert("RGBA")
        behind = Image.new("RGBA", rgba.size, (*rgb(background), 255))
        im = Image.alpha_composite(behind, rgba)
    return np.asarray(fit_image(im.convert("RGB"), size, fit, background), dtype=np.uint8).copy()


def load_alpha(path: Path, size: tuple[int, int], fit: str) -> np.ndarray | None:
    """A transparent image's alpha as uint8 [height, width], fitted to `size` as its colour is (what
    `contain` pads is transparent); None for an opaque image. For a codec that keeps alpha."""
    im = _decoded(path)
    if not is_transparent(im):
        return None
    return np.asarray(_fit(im.convert("RGBA").getchannel("A"), size, fit, 0), dtype=np.uint8).copy()
