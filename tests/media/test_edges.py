"""The Canny preprocessor for ControlNet (seqc/media/edges.py): edges where a picture steps, none
where it changes smoothly, OpenCV's thresholds kept in OpenCV's units, and the map's format."""

from __future__ import annotations

import sys

import numpy as np
import pytest

pytest.importorskip("skimage.feature")

from seqc.errors import ModelError  # noqa: E402
from seqc.media.edges import INSTALL_HINT, canny_edges  # noqa: E402


def rgb(gray: np.ndarray) -> np.ndarray:
    """A gray uint8 picture [H, W] as uint8 RGB [H, W, 3]."""
    return np.repeat(np.asarray(gray, dtype=np.uint8)[:, :, None], 3, axis=2)


def square(size: int = 64, lo: int = 16, hi: int = 48, value: int = 255) -> np.ndarray:
    """A square of `value` (rows and columns lo..hi-1) on black."""
    picture = np.zeros((size, size), dtype=np.uint8)
    picture[lo:hi, lo:hi] = value
    return rgb(picture)


def step(height: int, width: int = 48, rows: int = 32) -> np.ndarray:
    """A sharp vertical step from 40 to 40 + height in the middle of the picture."""
    picture = np.full((rows, width), 40, dtype=np.uint8)
    picture[:, width // 2:] = 40 + height
    return rgb(picture)


def test_a_white_square_has_edges_on_its_border_and_none_elsewhere():
    edges = canny_edges(square())[:, :, 0] > 0
    # Every side of the square is traced, within a pixel of the step between 15|16 and 47|48.
    sides = {"top": edges[15:17, 18:46], "bottom": edges[47:49, 18:46],
             "left": edges[18:46, 15:17].T, "right": edges[18:46, 47:49].T}
    for name, band in sides.items():
        assert band.any(axis=0).mean() >= 0.9, name
    # Nothing inside the square or away from it.
    assert not edges[19:45, 19:45].any()
    near = np.zeros_like(edges)
    near[13:51, 13:51] = True
    assert not edges[~near].any()


def test_a_smooth_gradient_has_no_edges():
    ramp = np.tile(np.linspace(0, 255, 64), (48, 1))  # 4 levels a pixel: a Sobel of 16 < 100
    assert not canny_edges(rgb(ramp)).any()
    y, x = np.mgrid[0:64, 0:64]
    bowl = 255 * ((x - 32) ** 2 + (y - 32) ** 2) / (2 * 32**2)
    assert not canny_edges(rgb(bowl)).any()


def test_thresholds_keep_opencv_units_on_a_sharp_step():
    # OpenCV's Sobel reads 4x the height of a sharp step: 45 -> 180, below the strong threshold of
    # 200, so no edge; 55 -> 220, an edge; 45 becomes one once the strong threshold is under 180.
    assert not canny_edges(step(45)).any()
    assert canny_edges(step(55)).any()
    assert canny_edges(step(45), low=100, high=150).any()
    # A weak step (4 x 20 = 80) stays below a low threshold of 100; one of 60 does not.
    assert not canny_edges(step(20), low=100, high=150).any()
    assert canny_edges(step(20), low=60, high=70).any()


def test_a_step_in_one_colour_channel_is_an_edge():
    # Blue on black: dark in gray (luma 29), but OpenCV's Canny on RGB follows the strongest channel.
    picture = np.zeros((64, 64, 3), dtype=np.uint8)
    picture[16:48, 16:48, 2] = 255
    assert (canny_edges(picture) == canny_edges(square())).all()


def test_the_map_is_white_on_black_uint8_rgb_of_the_same_size():
    picture = np.zeros((40, 56, 3), dtype=np.uint8)  # not square, to catch a transposition
    picture[10:30, 8:20] = (200, 120, 30)
    edges = canny_edges(picture)
    assert edges.dtype == np.uint8 and edges.shape == (40, 56, 3)
    assert set(np.unique(edges).tolist()) == {0, 255}
    assert (edges[:, :, 0] == edges[:, :, 1]).all() and (edges[:, :, 0] == edges[:, :, 2]).all()


def test_the_same_picture_gives_the_same_map_and_is_left_as_it_was():
    rng = np.random.default_rng(7)
    picture = rng.integers(0, 256, size=(48, 64, 3), dtype=np.uint8)
    before = picture.copy()
    first, second = canny_edges(picture), canny_edges(picture)
    assert first.any() and (first == second).all()
    assert (picture == before).all()


@pytest.mark.parametrize("bad", [np.zeros((8, 8), np.uint8), np.zeros((8, 8, 4), np.uint8),
                                 np.zeros((8, 8, 3), np.float32)])
def test_other_pictures_are_refused(bad):
    with pytest.raises(ValueError, match=r"uint8 RGB"):
        canny_edges(bad)


def test_a_low_threshold_above_the_high_one_is_refused():
    with pytest.raises(ValueError, match="low <= high"):
        canny_edges(square(), low=200, high=100)


def test_without_scikit_image_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "skimage", None)
    monkeypatch.setitem(sys.modules, "skimage.feature", None)
    with pytest.raises(ModelError) as info:
        canny_edges(square())
    message = str(info.value)
    assert "\n" not in message and INSTALL_HINT in message and INSTALL_HINT == "pip install 'seqc[controlnet]'"
