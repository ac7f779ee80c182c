"""The render math is pinned: the frames of tests/data/golden_pixels/ (the built-in model, four
methods, even pacing, CSS easings) must match frames.npz, pinned at the current KEY_VERSION.

A change to how frames are computed changes what a cached clip should hold, so it must bump
`KEY_VERSION` and re-pin (`python tools/pin_golden_pixels.py`). The frames are compared before
x264, with a tolerance for floating-point noise between CPUs (a few values one level apart),
far below what a change of easing, path or normalisation does.
"""

from __future__ import annotations

import numpy as np
import pytest

from seqc.plan.keys import KEY_VERSION
from tools.pin_golden_pixels import PINNED, golden_frames

pytestmark = pytest.mark.slow  # loads the built-in model


def test_the_golden_frames_are_pinned_at_this_key_version():
    pinned = np.load(PINNED)
    assert int(pinned["key_version"]) == KEY_VERSION, (
        "KEY_VERSION changed: if the render math changed too, re-pin with python tools/pin_golden_pixels.py")
    frames = golden_frames()
    expected = pinned["frames"]
    assert frames.shape == expected.shape
    diff = np.abs(frames.astype(np.int16) - expected.astype(np.int16))
    assert diff.max() <= 3 and diff.mean() <= 0.05, (
        f"the rendered frames moved (max {diff.max()} levels, mean {diff.mean():.3f}) without a "
        "KEY_VERSION bump: bump it in seqc/plan/keys.py, then re-pin with python tools/pin_golden_pixels.py")
