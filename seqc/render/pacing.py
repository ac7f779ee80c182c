"""`pacing: even`: frames placed so that every step changes the picture equally, reusing the
probe frames that placed them.

1. Draw `probes + 1` frames at evenly spaced u along the path (one batch).
2. Measure the change between neighbouring probes (seqc.render.metrics: mean absolute difference
   of 64-pixel thumbnails) and accumulate it: A(u) is the fraction of the whole change done by u.
3. Frame i's target is the easing applied to the even parameter, s = e(i / n); its place on the
   path is t = A^-1(s) (piecewise linear). A(0) = 0 and A(1) = 1, so the ends and the frame count
   are exact.
4. Where frames are costly (a diffusion model's), a probe whose measured progress lies within
   PACING_REUSE of a frame's spacing from that frame's target is that frame: it is drawn already,
   and it is off its even place by at most that much of a step (Latent Blending keeps every frame
   it renders in the same spirit; seqc.plan.pacing_reuse says where). The others are drawn at
   their t, in calls of the model's own size counted over the frames still to draw, so neither
   the batch size nor the core count changes a byte.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from seqc.plan import PACING_REUSE
from seqc.render import metrics
from seqc.render.stop import Superseded


@dataclass(frozen=True)
class Placement:
    """Where each frame of an evenly paced segment goes, and which it takes from the probes."""

    times: np.ndarray  # t along the path of every frame
    probe_of: np.ndarray  # per frame, the probe it reuses, or -1 where it is drawn at its t

    @property
    def to_draw(self) -> np.ndarray:
        """The frames still to draw, in order."""
        return np.flatnonzero(self.probe_of < 0)


def place(u: np.ndarray, probe_thumbs: np.ndarray, targets: np.ndarray, reuse: float = PACING_REUSE) -> Placement:
    """Steps 2-4: each frame's t from the probes at `u` (their thumbnails) and the frames' eased
    targets s = e(i / n), and the probes that stand in for frames."""
    # 2. A(u), the share of the whole change done by each probe.
    thumbs = np.asarray(probe_thumbs, dtype=np.float32)
    steps = metrics.frame_distance(thumbs[:-1], thumbs[1:]).astype(np.float64)
    total = float(steps.sum())
    if total <= 1e-9:
        progress = u.copy()  # nothing changes along the path: any pacing is even
    else:
        # A tiny floor keeps A strictly increasing so its inverse is well defined on flat stretches.
        steps = steps + total * 1e-6
        progress = np.concatenate([[0.0], np.cumsum(steps)])
        progress /= progress[-1]
    # 3. Every frame at its even place.
    times = np.interp(targets, progress, u)
    times[targets <= 0.0] = 0.0
    times[targets >= 1.0] = 1.0
    # 4. A probe within `reuse` of a frame's spacing stands in for it (the spacing to the nearer
    #    neighbour; after the last frame comes the next segment's first, at s = 1). With reuse
    #    below one half no probe can stand in for two different targets. With none, every frame is drawn.
    if reuse <= 0.0:
        return Placement(times, np.full(len(targets), -1))
    after = np.append(targets[1:], 1.0)
    before = np.concatenate([[-np.inf], targets[:-1]])
    spacing = np.minimum(after - targets, targets - before)
    nearest = np.abs(progress[None, :] - targets[:, None]).argmin(axis=1)
    close = np.abs(progress[nearest] - targets) <= reuse * spacing
    probe_of = np.where(close, nearest, -1)
    times = np.where(close, u[nearest], times)
    return Placement(times, probe_of)


def even_frames(draw: Callable[[np.ndarray], np.ndarray], targets: np.ndarray, probes: int, batch_size: int,
                should_stop: Callable[[], bool] | None = None, reuse: float = PACING_REUSE) -> Iterator[np.ndarray]:
    """A segment's evenly paced frames, a batch at a time. `draw(t)` makes uint8 frames at times t
    (a pipeline in calls of its `frames_per_call`, counted from the start of what it is given), and
    `batch_size` is a whole number of such calls (seqc.render.frames.segment_frames rounds it)."""
    # 1. The probes.
    u = np.linspace(0.0, 1.0, probes + 1)
    probe_frames = draw(u)
    # 2-4. Their progress, every frame's place, and the probes that stand in for frames.
    placement = place(u, metrics.shrink(probe_frames), np.asarray(targets, dtype=np.float64), reuse)
    kept = {int(j): probe_frames[j] for j in placement.probe_of if j >= 0}
    del probe_frames
    to_draw = placement.to_draw
    drawn: dict[int, np.ndarray] = {}
    done = 0  # frames of `to_draw` drawn so far: always a whole number of batches, so calls never shift
    for first in range(0, len(targets), batch_size):
        if should_stop is not None and should_stop():
            raise Superseded()
        last = min(first + batch_size, len(targets))
        while done < len(to_draw) and to_draw[done] < last:
            chunk = to_draw[done:done + batch_size]
            drawn.update(zip(chunk.tolist(), draw(placement.times[chunk]), strict=True))
            done += len(chunk)
        yield np.stack([kept[int(placement.probe_of[i])] if placement.probe_of[i] >= 0 else drawn.pop(i)
                        for i in range(first, last)])
