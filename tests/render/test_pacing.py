"""`pacing: even` (seqc/render/pacing.py): frames placed for even change on a path whose change is
not even, with the probes that measured it standing in for the frames they are close to; the
bytes do not depend on the batch size; a stop is honoured."""

from __future__ import annotations

import numpy as np
import pytest

from seqc.plan import PACING_REUSE
from seqc.render.pacing import even_frames, place
from seqc.render.stop import Superseded

UNIT = 8  # frames per model call in these tests


def bright(t: np.ndarray) -> np.ndarray:
    """A path whose picture changes slowly, then fast: brightness 230 t^3 + 10, on a 64-pixel square."""
    level = 230.0 * np.asarray(t, dtype=np.float64) ** 3 + 10.0
    return np.broadcast_to(level[:, None, None, None], (len(level), 64, 64, 3)).copy()


class Drawer:
    """`draw(t)` in calls of UNIT frames counted from what it is given; each call marks its first
    frame one level up, as a model's batched arithmetic can, so a shifted call would show."""

    def __init__(self):
        self.drawn = 0

    def __call__(self, t: np.ndarray) -> np.ndarray:
        self.drawn += len(t)
        frames = bright(t)
        frames[::UNIT] += 1
        return np.clip(np.rint(frames), 0, 255).astype(np.uint8)


def _levels(frames: np.ndarray) -> np.ndarray:
    return frames.reshape(len(frames), -1).astype(np.float64).mean(axis=1)


def test_frames_change_evenly_where_the_path_does_not():
    n = 40
    frames = np.concatenate(list(even_frames(Drawer(), np.arange(n) / n, 32, UNIT)))
    steps = np.diff(np.append(_levels(frames), 240.0))
    linear = np.diff(np.append(_levels(bright(np.arange(n) / n)), 240.0))
    assert len(frames) == n and _levels(frames)[0] == pytest.approx(11.0)  # the start, a call's first frame
    assert linear.max() / linear.mean() > 2.5  # the path itself is far from even
    assert steps.max() / steps.mean() < 1.5 and steps.min() / steps.mean() > 0.5


def test_probes_stand_in_for_the_frames_they_are_close_to():
    n, probes = 40, 32
    drawer = Drawer()
    frames = np.concatenate(list(even_frames(drawer, np.arange(n) / n, probes, UNIT)))
    assert len(frames) == n and drawer.drawn < probes + 1 + n  # some frames were not drawn again
    u = np.linspace(0, 1, probes + 1)
    placement = place(u, bright(u).astype(np.uint8), np.arange(n) / n)
    reused = placement.probe_of >= 0
    assert reused[0] and 0 < reused.sum() < n and drawer.drawn == probes + 1 + (~reused).sum()
    # A reused probe is off its frame's even place by at most PACING_REUSE of a step.
    off = np.abs(placement.times**3 - np.arange(n) / n)[reused] * n  # progress along this path is t^3
    assert off.max() <= PACING_REUSE + 0.05  # (and the levels' rounding)
    # With no reuse (an autoencoder's cheap frames, seqc.plan.pacing_reuse) every frame is drawn at its place.
    exact = place(u, bright(u).astype(np.uint8), np.arange(n) / n, reuse=0.0)
    assert (exact.probe_of < 0).all() and np.abs(exact.times**3 - np.arange(n) / n).max() * n < 0.2


def test_the_bytes_do_not_depend_on_the_batch_size():
    made = {np.concatenate(list(even_frames(Drawer(), np.arange(37) / 37, 16, batch))).tobytes()
            for batch in (UNIT, 2 * UNIT, 5 * UNIT)}
    assert len(made) == 1


def test_a_path_without_change_keeps_the_easing_and_a_stop_is_honoured():
    targets = np.array([0.0, 0.1, 0.5, 0.9])
    flat = place(np.linspace(0, 1, 9), np.zeros((9, 8, 8, 3), np.uint8), targets)
    spacing = np.array([0.1, 0.1, 0.4, 0.1])
    assert np.all(np.abs(flat.times - targets) <= PACING_REUSE * spacing + 1e-12)  # the easing, or a probe at hand
    with pytest.raises(Superseded):
        list(even_frames(Drawer(), np.arange(16) / 16, 8, UNIT, should_stop=lambda: True))
