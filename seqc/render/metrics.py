"""How much the picture changes from frame to frame: the measure behind `analyze` and even pacing.

The distance between two frames is the mean absolute difference of their pixels, in 0-255
levels, after both are shrunk to at most PROBE_SIZE pixels on the long side by area averaging.
Shrinking first makes it cheap and insensitive to codec noise and single-pixel jitter, while a
moving shape or a colour shift still registers. numpy only.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

PROBE_SIZE = 64


def shrink(frames: np.ndarray, size: int = PROBE_SIZE) -> np.ndarray:
    """Area-average frames [B, H, W, 3|4] down so the long side is at most `size` (float32, colour only,
    in 0-255 levels: a uint16 frame is scaled down by 257, so distances mean the same at any depth)."""
    frames = np.asarray(frames)
    wide = frames.dtype == np.uint16
    frames = frames[..., :3].astype(np.float32)
    if wide:
        frames /= 257.0
    _, h, w, _ = frames.shape
    factor = max(1, int(np.ceil(max(h, w) / size)))
    # One factor for both sides keeps the aspect; a side shorter than it (a 4096x8 strip) is
    # averaged whole instead, so no thumbnail has a side of 0 pixels (whose mean is NaN).
    fh, fw = min(factor, h), min(factor, w)
    h2, w2 = h // fh, w // fw
    frames = frames[:, : h2 * fh, : w2 * fw]
    return frames.reshape(frames.shape[0], h2, fh, w2, fw, 3).mean(axis=(2, 4))


def frame_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance between shrunk frames (broadcasting over a leading batch axis), in 0-255 levels."""
    return np.abs(a - b).mean(axis=(-3, -2, -1))


def changes(frames: Iterable[np.ndarray]) -> np.ndarray:
    """Distances between consecutive frames of a stream of frame batches ([H,W,3] or [B,H,W,3])."""
    out: list[float] = []
    previous = None
    for batch in frames:
        batch = np.asarray(batch)
        if batch.ndim == 3:
            batch = batch[None]
        small = shrink(batch)
        if previous is not None:
            out.append(float(frame_distance(previous, small[0])))
        if len(small) > 1:
            out.extend(frame_distance(small[:-1], small[1:]).tolist())
        previous = small[-1]
    return np.asarray(out, dtype=np.float64)


def coefficient_of_variation(values: np.ndarray) -> float:
    """std / mean of frame-to-frame changes: 0 for perfectly even pacing (0 when nothing changes)."""
    values = np.asarray(values, dtype=np.float64)
    mean = float(values.mean()) if values.size else 0.0
    return float(values.std() / mean) if mean > 1e-9 else 0.0


SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: np.ndarray, width: int = 24, top: float | None = None) -> str:
    """A one-line chart of values (resampled to `width` cells by max), scaled to `top` or their max."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return ""
    cells = np.array_split(values, min(width, values.size))
    peaks = np.array([cell.max() for cell in cells])
    top = top if top is not None else float(peaks.max())
    if top <= 0:
        return SPARK[0] * len(peaks)
    idx = np.clip((peaks / top * (len(SPARK) - 1)).round().astype(int), 0, len(SPARK) - 1)
    return "".join(SPARK[i] for i in idx)
