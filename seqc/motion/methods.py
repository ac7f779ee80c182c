"""The method registry: each interpolation method's name, how its path is computed, and what it needs.

One entry per method. The renderer takes the path from here, the storyboard checks and the
planner ask whether a method uses its neighbouring keyframes, and `tools/make_schema.py` writes
the schema's enum and help from the same entries, so a new method is one entry plus its test.
An unknown name is an error, never a silent lerp.

A path is `path(before, start, end, after, t) -> [T, *start.shape]` for a 1-D array of eased
times t in [0, 1], exactly `start` at t = 0 and `end` at t = 1. `before` and `after` are the
neighbouring keyframes (or None at an end of the timeline); only methods with
`uses_neighbours` look at them. A latent method's path runs on latents (and, under a pipeline
model, on prompt conditionings). A method that `blends_pixels` runs on the two decoded endpoint
frames instead (float32 [H, W, 3] in 0-255) and returns rounded pixel values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

# The registry is read by the storyboard checks and the planner, which never need numpy: the paths
# import it (and seqc.motion.interp) when they run.
PathFn = Callable[["np.ndarray | None", "np.ndarray", "np.ndarray", "np.ndarray | None", "np.ndarray"], "np.ndarray"]


@dataclass(frozen=True)
class Method:
    """One interpolation method."""

    name: str
    summary: str  # one clause for the schema's help text
    path: PathFn
    blends_pixels: bool = False  # the path blends the decoded endpoint frames, not latents
    uses_neighbours: bool = False  # the keyframes before and after shape the path (so they are in its key)
    morphs: bool = False  # a diffusion model draws the in-betweens from the ends' trajectories (seqc.render.morph)


def _lerp(before, start, end, after, t):
    from seqc.motion.interp import lerp

    return lerp(start, end, t)


def _slerp(before, start, end, after, t):
    from seqc.motion.interp import slerp

    return slerp(start, end, t)


def _spline(before, start, end, after, t):
    from seqc.motion.interp import catmull_rom

    return catmull_rom(start if before is None else before, start, end, end if after is None else after, t)


def _crossfade(before, start, end, after, t):
    import numpy as np

    w = np.asarray(t).astype(np.float32)[:, None, None, None]
    return start[None] * (1.0 - w) + end[None] * w  # rounded and clipped at the frames' depth by the caller


def _cut(before, start, end, after, t):
    import numpy as np

    return _crossfade(before, start, end, after, (np.asarray(t) >= 1.0).astype(np.float32))


METHODS: dict[str, Method] = {m.name: m for m in (
    Method("lerp", "a straight line through the model's latent space", _lerp),
    Method("slerp", "the great circle through the latent space (keeps the latents' norm)", _slerp),
    Method("spline", "a smooth Catmull-Rom curve through the neighbouring keyframes' latents", _spline,
           uses_neighbours=True),
    Method("crossfade", "blends the two decoded pictures", _crossfade, blends_pixels=True),
    Method("cut", "holds the start keyframe, then cuts to the end one", _cut, blends_pixels=True),
    Method("morph", "a text-to-image model draws each in-between from the two ends' denoising trajectories, "
           "placed for even change (prompt or image keyframes on a pipeline model; images by inversion)", _lerp,
           morphs=True),
)}

# `method: morph`'s settings (seqc.render.morph; in the clip key through Segment.generation).
MORPH_START = 0.4  # in-betweens start at this fraction of the steps, from the slerp of the ends' latents there
MORPH_DAMPING = 0.6  # guidance is lowered by this fraction at the middle of the transition (1 - d * 4t(1 - t))
MORPH_PROBES = 32  # frames rendered to place the in-betweens for even change (pacing: even), plus one
# 2: each end's latents at step k are computed alone (one call of one frame) and stored by content;
#    image keyframes reach step k by inversion.
MORPH_REVISION = 2


def inject_step(steps: int, start: float = MORPH_START) -> int:
    """The step a morph's in-betweens start at (`start` of the way): at least one step in, one step left.
    The planner keys the ends' stored latents by it (seqc.plan), the renderer runs from it."""
    return max(1, min(steps - 1, round(steps * start)))


def get_method(name: str) -> Method:
    """The registry entry for a method name; ValueError naming the known ones otherwise."""
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown interpolation method {name!r}; expected one of {', '.join(METHODS)}") from None
