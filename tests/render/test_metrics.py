"""How much the picture changes (seqc/render/metrics.py): shrinking by area averaging, the distance
between frames, changes over a stream of batches, the coefficient of variation, and sparklines."""

from __future__ import annotations

import numpy as np
import pytest

from seqc.render import metrics
from seqc.render.metrics import (
    PROBE_SIZE,
    changes,
    coefficient_of_variation,
    frame_distance,
    shrink,
    sparkline,
)


def flat(level: int, height: int = 24, width: int = 32) -> np.ndarray:
    return np.full((height, width, 3), level, np.uint8)


def test_shrink_sizes():
    assert PROBE_SIZE == 64
    small = shrink(np.zeros((1, 48, 64, 3), np.uint8))
    assert small.shape == (1, 48, 64, 3) and small.dtype == np.float32  # already small: kept
    assert shrink(np.zeros((2, 130, 70, 3), np.uint8)).shape == (2, 43, 23, 3)  # by 3; the rest cut
    assert shrink(np.zeros((1, 256, 512, 3), np.uint8)).shape == (1, 32, 64, 3)  # the long side
    assert shrink(np.zeros((1, 200, 200, 3), np.uint8), size=100).shape == (1, 100, 100, 3)


def test_shrink_averages_areas():
    checker = (np.indices((128, 128)).sum(axis=0) % 2 * 255).astype(np.uint8)
    frames = np.repeat(checker[None, :, :, None], 3, axis=-1)
    out = shrink(frames)  # 2x2 blocks of one black and one white pair
    assert out.shape == (1, 64, 64, 3) and np.allclose(out, 127.5)


def test_frame_distance_of_identical_and_different_frames():
    a, b = shrink(flat(40)[None])[0], shrink(flat(50)[None])[0]
    assert frame_distance(a, a) == 0
    assert frame_distance(a, b) == pytest.approx(10)
    quarter = flat(40)
    quarter[:12, :16] = 80  # a quarter of the picture 40 levels brighter
    assert frame_distance(a, shrink(quarter[None])[0]) == pytest.approx(10)
    # Over a leading batch axis.
    assert frame_distance(np.stack([a, b]), b).tolist() == pytest.approx([10, 0])


def test_changes_over_a_stream_of_batches():
    frames = [flat(v) for v in (0, 10, 30, 30, 25)]
    expected = [10, 20, 0, 5]
    assert changes([np.stack(frames)]).tolist() == pytest.approx(expected)
    assert changes(frames).tolist() == pytest.approx(expected)  # single [H,W,3] frames
    mixed = [np.stack(frames[:2]), frames[2], np.stack(frames[3:])]  # across batch joins too
    assert changes(mixed).tolist() == pytest.approx(expected)
    assert changes(mixed).dtype == np.float64
    assert changes([]).size == 0 and changes([frames[0]]).size == 0


def test_coefficient_of_variation():
    assert coefficient_of_variation(np.array([3.0, 3.0, 3.0])) == 0  # perfectly even
    assert coefficient_of_variation(np.array([1.0, 3.0])) == pytest.approx(0.5)  # std 1, mean 2
    assert coefficient_of_variation(np.array([2.0, 6.0])) == pytest.approx(0.5)  # no unit
    assert coefficient_of_variation(np.array([0.0, 0.0])) == 0  # nothing changes
    assert coefficient_of_variation(np.array([])) == 0


def test_sparkline():
    assert sparkline(np.array([])) == ""
    assert sparkline(np.arange(8)) == "▁▂▃▄▅▆▇█"
    assert sparkline(np.zeros(3)) == "▁▁▁"
    line = sparkline(np.arange(48), width=24)  # two values a cell, by their max
    assert len(line) == 24 and line[0] == "▁" and line[-1] == "█"
    assert sparkline(np.array([0.0, 9.0, 0.0, 0.0]), width=2) == "█▁"  # a spike is never averaged away
    assert sparkline(np.array([1.0, 3.0]), top=7) == "▂▄"  # scaled to `top`
    assert sparkline(np.array([7.0, 14.0]), top=7) == "██"  # clipped at the top


def test_a_long_thin_frame_keeps_a_pixel_per_side_and_never_gives_nan():
    """size: [4096, 8] is valid: its thumbnails are 64x1, and distances are finite."""
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (2, 8, 4096, 3)).astype(np.uint8)
    small = metrics.shrink(frames)
    assert small.shape == (2, 1, 64, 3)
    distance = float(metrics.frame_distance(small[0], small[1]))
    assert np.isfinite(distance) and distance > 0
    tall = metrics.shrink(frames.transpose(0, 2, 1, 3))
    assert tall.shape == (2, 64, 1, 3)
    assert np.isfinite(metrics.changes([frames]).sum())
