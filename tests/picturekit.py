"""Synthetic pictures for the analyzer's tests (tests/inspect, tests/cli): no file, no model."""

from __future__ import annotations

import numpy as np


def picture(seed: int, size: int = 64) -> np.ndarray:
    """A textured picture (blurred noise that wraps around, so it can be panned), levels 0-255."""
    pixels = np.random.default_rng(seed).uniform(0, 255, (size, size, 3))
    for _ in range(2):
        pixels = (pixels + np.roll(pixels, 1, 0) + np.roll(pixels, -1, 0) + np.roll(pixels, 1, 1)
                  + np.roll(pixels, -1, 1)) / 5
    return np.clip((pixels - pixels.mean()) / pixels.std() * 50 + 128, 0, 255)
