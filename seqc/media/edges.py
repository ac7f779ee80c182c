"""Canny edge maps for ControlNet, without model weights: white edges on black, as the canny
preprocessor of the original ControlNet release draws them (OpenCV's `Canny(image, 100, 200)`).

Computed with scikit-image (the optional extra `seqc[controlnet]`), imported on first use. The
thresholds keep OpenCV's meaning, so a storyboard's `low`/`high` read as they do in every ControlNet
tool: OpenCV compares the 3x3 Sobel gradient of the 0..255 picture, unsmoothed, with them. skimage
smooths first (a Gaussian of `sigma`) and compares the Sobel gradient of the smoothed picture, as
float, with its thresholds; `_skimage_thresholds` scales ours so that a sharp straight step of a
given height becomes an edge exactly when OpenCV's Canny makes it one (see there).
"""

from __future__ import annotations

import numpy as np

from seqc.errors import ModelError

INSTALL_HINT = "pip install 'seqc[controlnet]'"
SIGMA = 1.0  # the Gaussian before the gradient: removes pixel noise OpenCV would trace, keeps shapes
TRUNCATE = 4.0  # skimage's Gaussian kernel reaches 4 sigma (scipy.ndimage's default)


def canny_edges(image: np.ndarray, low: float = 100, high: float = 200, *, sigma: float = SIGMA) -> np.ndarray:
    """The Canny edge map of `image` (uint8 RGB [H, W, 3]) as uint8 RGB [H, W, 3], 255 on edges and 0
    elsewhere. `low`/`high` are OpenCV's hysteresis thresholds on the 0..255 scale (100/200 as the
    ControlNet canny models were trained with); `sigma` is the smoothing before the gradient."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"canny_edges expects uint8 RGB [H, W, 3], not {image.dtype} {list(image.shape)}")
    if not 0 <= low <= high:
        raise ValueError(f"canny_edges needs 0 <= low <= high, not low={low}, high={high}")
    canny = _skimage_canny()
    low_f, high_f = _skimage_thresholds(low, high, sigma)
    # OpenCV's Canny on a colour picture follows, per pixel, the channel that changes most, so an
    # edge between two colours of equal brightness is still one: trace each channel, keep the union.
    edges = np.zeros(image.shape[:2], dtype=bool)
    for channel in range(3):
        plane = image[:, :, channel].astype(np.float64) / 255.0
        edges |= canny(plane, sigma=sigma, low_threshold=low_f, high_threshold=high_f, mode="nearest")
    return np.repeat((edges.astype(np.uint8) * 255)[:, :, None], 3, axis=2)


def _skimage_thresholds(low: float, high: float, sigma: float) -> tuple[float, float]:
    """OpenCV-style thresholds (0..255 picture, unsmoothed Sobel) -> skimage's (0..1 picture, Sobel after
    the Gaussian). Across a sharp step of height h, the unsmoothed Sobel reads 4h; after the sampled,
    normalised Gaussian g it reads 4h (g[0] + g[1]) (the central difference of the smoothed step sums
    the two middle taps), and along a straight edge the smoothing changes nothing. So each threshold
    is divided by 255 and multiplied by g[0] + g[1] (1 without smoothing, about 0.64 at sigma 1).
    OpenCV measures |gx| + |gy|, skimage the Euclidean length: the same on horizontal and vertical
    edges, up to sqrt(2) less on diagonal ones, so skimage finds slightly fewer weak diagonal edges."""
    gain = 1.0
    if sigma > 0:
        radius = int(TRUNCATE * sigma + 0.5)
        taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
        taps /= taps.sum()
        gain = float(taps[radius] + taps[radius + 1]) if radius > 0 else 1.0
    scale = gain / 255.0
    return low * scale, high * scale


def _skimage_canny():
    """skimage's Canny, or a ModelError naming the extra that installs it."""
    try:
        from skimage.feature import canny
    except ImportError:
        raise ModelError(f"edge maps for ControlNet need scikit-image, which is not installed: {INSTALL_HINT}") from None
    return canny

