"""Value noise and fBm (fractal sums of value noise) in 1-D and 2-D, plain numpy.

The noise comes from an integer hash of lattice points, so a given point has the same
noise value whatever the canvas size.
"""

from __future__ import annotations

import numpy as np


def _hash01(ix: np.ndarray, iy: np.ndarray, seed: int) -> np.ndarray:
    """A well-mixed 32-bit integer hash of lattice points, scaled to [0, 1)."""
    h = ix.astype(np.uint32) * np.uint32(0x27D4EB2D)
    h ^= iy.astype(np.uint32) * np.uint32(0x165667B1)
    h ^= np.uint32((seed * 0x9E3779B1) & 0xFFFFFFFF)
    h ^= h >> np.uint32(15)
    h *= np.uint32(0x2C1B3C6D)
    h ^= h >> np.uint32(12)
    h *= np.uint32(0x297A2D39)
    h ^= h >> np.uint32(15)
    return h.astype(np.float64) / 4294967296.0


def _noise_1d(x: np.ndarray, cells: float, seed: int) -> np.ndarray:
    """Smooth value noise in [0, 1] at positions `x` (>= 0), `cells` lattice cells per unit."""
    p = np.asarray(x, dtype=np.float64) * cells
    i = np.floor(p).astype(np.int64)
    t = p - i
    t = t * t * (3.0 - 2.0 * t)
    lo, hi = int(i.min()), int(i.max()) + 1
    lattice = _hash01(np.arange(lo, hi + 1), np.zeros(hi - lo + 1, dtype=np.int64), seed)
    j = i - lo
    return lattice[j] * (1.0 - t) + lattice[j + 1] * t


def _noise_2d(
    x: np.ndarray, y: np.ndarray, cells_x: float, cells_y: float, seed: int
) -> np.ndarray:
    """Smooth 2-D value noise in [0, 1] on the grid `y` (rows) x `x` (columns), both >= 0."""
    px = np.asarray(x, dtype=np.float64) * cells_x
    py = np.asarray(y, dtype=np.float64) * cells_y
    ix = np.floor(px).astype(np.int64)
    iy = np.floor(py).astype(np.int64)
    tx = px - ix
    ty = py - iy
    tx = tx * tx * (3.0 - 2.0 * tx)
    ty = ty * ty * (3.0 - 2.0 * ty)
    x0, x1 = int(ix.min()), int(ix.max()) + 1
    y0, y1 = int(iy.min()), int(iy.max()) + 1
    gx, gy = np.meshgrid(np.arange(x0, x1 + 1), np.arange(y0, y1 + 1))
    lattice = _hash01(gx, gy, seed)
    jx = (ix - x0)[None, :]
    jy = (iy - y0)[:, None]
    top = lattice[jy, jx] * (1.0 - tx) + lattice[jy, jx + 1] * tx
    bottom = lattice[jy + 1, jx] * (1.0 - tx) + lattice[jy + 1, jx + 1] * tx
    return top * (1.0 - ty[:, None]) + bottom * ty[:, None]


def _fbm_1d(x: np.ndarray, cells: float, octaves: int, seed: int, gain: float = 0.5) -> np.ndarray:
    """Fractal sum of 1-D value noise (each octave twice the frequency), normalised to [0, 1]."""
    total = np.zeros_like(np.asarray(x, dtype=np.float64))
    amplitude, norm = 1.0, 0.0
    for octave in range(octaves):
        total += amplitude * _noise_1d(x, cells * 2.0**octave, seed + 7919 * octave)
        norm += amplitude
        amplitude *= gain
    return total / norm


def _fbm_2d(
    x: np.ndarray,
    y: np.ndarray,
    cells_x: float,
    cells_y: float,
    octaves: int,
    seed: int,
    gain: float = 0.5,
) -> np.ndarray:
    """Fractal sum of 2-D value noise on the grid `y` x `x`, normalised to [0, 1]."""
    total = np.zeros((len(y), len(x)))
    amplitude, norm = 1.0, 0.0
    for octave in range(octaves):
        scale = 2.0**octave
        total += amplitude * _noise_2d(x, y, cells_x * scale, cells_y * scale, seed + 7919 * octave)
        norm += amplitude
        amplitude *= gain
    return total / norm
