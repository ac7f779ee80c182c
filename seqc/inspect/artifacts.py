"""What can go wrong in a transition, measured without a network: jumps, ghosting, flicker and
colour drift, plus AID's smoothness and consistency. The figures behind `seqc analyze`.

Everything here reads thumbnails (seqc.render.metrics.shrink: float [T, h, w, 3] in 0-255 levels)
of one span of frames whose first and last frames are its two ends: for a storyboard segment its
clip's frames and the next clip's first frame (the end keyframe at t = 1), for a video file all of
its frames. Weight-free on purpose: no LPIPS or CLIP backbone can be fetched where seqc runs, and a
measure a user cannot reproduce offline is no measure. numpy only (no torch).

The distance between two frames is seqc.render.metrics.frame_distance (mean absolute difference of
the thumbnails, in levels), the same one `pacing: even` and the change curves use. Each detector
has a visibility floor, so codec noise and rounding never read as an artifact, and each threshold is
a named constant below with the reason for its value.

Artifacts and their severity (`Artifact.severity`):
- jump: one step (frame i to i + 1, `frames` = [i]) at least JUMP_FLOOR levels and over JUMP_RATIO
  times the median of the steps not asked for. Severity: the step over that median (at least
  JUMP_MEDIAN_FLOOR): 20.0 is twenty times the typical step. One artifact per step.
- ghosting: in-between frames that are a double exposure of the two ends (`crossfade_fit`),
  reported when at least GHOST_SHARE of the middle frames ghost. `frames` = [first, last] ghosting
  frame. Severity: the share of the middle frames that ghost (0-1).
- flicker: brightness (mean luma) or texture (mean absolute Laplacian) that alternates from frame
  to frame (`alternation`). `frames` = [first, last] flickering frame; `signal` says which.
  Severity: the median peak-to-peak size of the alternation, in luma levels for brightness and as a
  fraction of the span's median texture for texture (0.25: fine detail 25% off its neighbours').
- colour_drift: the mean colour leaving the straight line between the ends' mean colours
  (`colour_deviation`). `frames` = [first, last] frame beyond the floor. Severity: the largest
  distance from that line, in levels (Euclidean over R, G, B).
An artifact the storyboard asks for (the cut of `method: cut`, the jumps of `easing: steps(n)`, the
double exposure of a method that blends pixels) carries `asked = True`: it is reported, not judged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seqc.render.metrics import frame_distance

# Jumps. The ratio and floor are the ones `seqc analyze` called jarring before it named artifacts.
JUMP_RATIO = 2.5  # a step this many times the median step stands out of an even motion
JUMP_FLOOR = 2.0  # levels (0-255) of mean change on a thumbnail: below this no step is visible
JUMP_MEDIAN_FLOOR = 0.1  # levels: a median under this (a held picture) counts as this for severity,
#                          about the rounding error of a decoded thumbnail, so the ratio stays finite

# Ghosting.
GHOST_MIN_END_CHANGE = 4.0  # levels of mean change between the ends: closer ends (a hold, a loop)
#                             leave no direction to blend along; a residual relative to their
#                             difference would be mostly codec noise (about 1 level on a thumbnail)
GHOST_ALPHA_MARGIN = 0.1  # a frame within 10% of an end looks like that end whatever it is made of:
#                           only frames with alpha in [0.1, 0.9] can read as a double exposure
GHOST_RESIDUAL = 0.25  # relative residual under which a frame is a crossfade: a pixel crossfade
#                        scores about 0.005 (rounding) and 0.06 through H.264; a hard-edged shape
#                        that grows or moves without blending scores 0.4 or more inside the alpha
#                        range (tests/inspect/test_artifacts.py), a pan of a textured picture 0.85
GHOST_SHARE = 0.2  # a fifth of the in-betweens (0.4 s of a 2 s transition) double-exposed is seen

# Flicker.
FLICKER_LUMA_FLOOR = 2.0  # levels a frame's mean luma sits off its neighbours' mean: whole-frame
#                           alternation at the frame rate is visible from about 1% of the range
FLICKER_TEXTURE_FLOOR = 0.1  # the same for fine detail, relative to the span's median texture:
#                              sharpness pumping by 10% reads as shimmer; codec GOPs stay under it
FLICKER_TEXTURE_MIN = 0.5  # levels of mean |Laplacian|: a flat picture's codec noise never counts
FLICKER_REVERSALS = 3  # alternations in a row (up, down, up, down): one jump gives 1, a one-frame
#                        glitch 2, so 3 is the least that is a rhythm rather than an event

# Colour drift.
COLOUR_DRIFT_FLOOR = 6.0  # levels (RGB distance) off the line between the ends' mean colours: a
#                           cast of ~2.5% of the range over the whole frame is visible on flat
#                           areas, and far above what codec and rounding move a mean colour (<1)

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float64)  # Rec. 601 weights, as ffmpeg's YAVG


# --------------------------------------------------------------------------- AID's figures


def gini(values: np.ndarray) -> float:
    """The Gini coefficient of non-negative values: sum |x_i - x_j| / (2 n^2 mean), 0 when all are
    equal, (n - 1) / n when one holds everything. 0 for no values, one value or all zeros (nothing
    uneven to measure)."""
    x = np.sort(np.abs(np.asarray(values, dtype=np.float64).ravel()))
    n, total = x.size, float(x.sum()) if x.size else 0.0
    if n == 0 or total <= 1e-12:
        return 0.0
    ranks = np.arange(1, n + 1, dtype=np.float64)
    return float(np.clip(2.0 * (ranks * x).sum() / (n * total) - (n + 1) / n, 0.0, 1.0))


def smoothness(distances: np.ndarray) -> float:
    """AID's smoothness, 1 - Gini of the adjacent-frame distances: 1 for even steps, about 1/n when
    one step holds all the change. Over every step, asked for or not (a cut scores low as asked)."""
    return 1.0 - gini(distances)


def consistency(distances: np.ndarray) -> float:
    """AID's consistency, the mean adjacent-frame distance (levels; lower changes less per frame)."""
    distances = np.asarray(distances, dtype=np.float64)
    return float(distances.mean()) if distances.size else 0.0


# --------------------------------------------------------------------------- jumps


def judged_median(changes: np.ndarray, asked: np.ndarray | None = None) -> float:
    """The median of the steps the storyboard does not ask for (0 when none)."""
    judged = changes if asked is None else changes[~asked]
    return float(np.median(judged)) if judged.size else 0.0


def jump_steps(changes: np.ndarray, asked: np.ndarray | None = None) -> np.ndarray:
    """Indices of the steps not asked for that are jumps: at least JUMP_FLOOR levels and over
    JUMP_RATIO times the median of those steps."""
    changes = np.asarray(changes, dtype=np.float64)
    free = np.ones(changes.size, dtype=bool) if asked is None else ~np.asarray(asked, dtype=bool)
    if not free.any():
        return np.zeros(0, dtype=int)
    median = judged_median(changes, None if asked is None else ~free)
    hits = free & (changes >= JUMP_FLOOR) & (changes > JUMP_RATIO * max(median, 1e-9))
    return np.nonzero(hits)[0]


# --------------------------------------------------------------------------- ghosting


@dataclass(frozen=True)
class CrossfadeFit:
    """Each middle frame F of a span fitted as the crossfade a*A + (1 - a)*B of its ends.

    Every frame's mean colour is taken out first: a picture that brightens or changes its cast is
    exactly a crossfade of its darker and brighter versions, but one picture, not a double exposure
    (flicker and colour drift judge the mean colour). What is fitted is the structure.
    a is the least-squares weight <F - B, A - B> / |A - B|^2 clipped to [0, 1] (1 reads as A, the
    first end); the residual is |F - fit| / |A - B|, both Euclidean norms over every thumbnail pixel
    and channel (the root-mean-square error of the fit over that of the ends' difference). 0 is a
    perfect crossfade; a frame unrelated to both ends scores about 0.7-0.9. A frame ghosts when its
    residual is under GHOST_RESIDUAL while a is inside [GHOST_ALPHA_MARGIN, 1 - GHOST_ALPHA_MARGIN].
    Ends closer than GHOST_MIN_END_CHANGE (a hold) are not measured: `measured` is False, no frame
    ghosts, and alpha and residual are empty.
    """

    alpha: np.ndarray  # per middle frame (frames 1..T-2)
    residual: np.ndarray
    end_change: float  # mean absolute difference of the two ends (less their mean colours), levels
    measured: bool

    @property
    def inside(self) -> np.ndarray:
        """Per middle frame: a is far enough from both ends for a blend to show."""
        return (self.alpha >= GHOST_ALPHA_MARGIN) & (self.alpha <= 1.0 - GHOST_ALPHA_MARGIN)

    @property
    def ghosting(self) -> np.ndarray:
        return self.inside & (self.residual < GHOST_RESIDUAL)

    @property
    def share(self) -> float:
        """The share of middle frames that ghost (0 when unmeasured or there are none)."""
        return float(self.ghosting.mean()) if self.alpha.size else 0.0

    @property
    def median_residual(self) -> float | None:
        """The median residual of the in-between frames (a inside the margin); None when there are
        none: a span that holds its ends and snaps has no in-betweens to judge."""
        inside = self.residual[self.inside]
        return float(np.median(inside)) if inside.size else None

    @property
    def frames(self) -> list[int]:
        """The span's frame indices that ghost (middle frame k is frame k + 1)."""
        return [int(i) + 1 for i in np.nonzero(self.ghosting)[0]]


def crossfade_fit(frames: np.ndarray) -> CrossfadeFit:
    """Fit every middle frame of `frames` [T, h, w, 3] as a crossfade of frames[0] and frames[-1]."""
    frames = np.asarray(frames, dtype=np.float64)
    frames = frames - frames.mean(axis=(1, 2), keepdims=True)  # structure only: see CrossfadeFit
    empty = np.zeros(0)
    if len(frames) < 3:
        change = float(frame_distance(frames[0], frames[-1])) if len(frames) else 0.0
        return CrossfadeFit(empty, empty, change, len(frames) > 1 and change >= GHOST_MIN_END_CHANGE)
    a_end, b_end = frames[0], frames[-1]
    change = float(frame_distance(a_end, b_end))
    if change < GHOST_MIN_END_CHANGE:
        return CrossfadeFit(empty, empty, change, False)
    span = (a_end - b_end).reshape(-1)
    scale = float(span @ span)
    middle = frames[1:-1].reshape(len(frames) - 2, -1) - b_end.reshape(-1)
    alpha = np.clip(middle @ span / scale, 0.0, 1.0)
    residual = np.linalg.norm(middle - alpha[:, None] * span[None], axis=1) / np.sqrt(scale)
    return CrossfadeFit(alpha, residual, change, True)


# --------------------------------------------------------------------------- flicker


def brightness(frames: np.ndarray) -> np.ndarray:
    """Mean luma (Rec. 601) of each frame, in levels."""
    return np.asarray(frames, dtype=np.float64).mean(axis=(1, 2)) @ LUMA


def texture(frames: np.ndarray) -> np.ndarray:
    """Fine detail of each frame: the mean absolute 4-neighbour Laplacian of its luma, in levels.
    Unchanged by a brightness offset, so a sharpness pump and a brightness flicker read apart."""
    luma = np.asarray(frames, dtype=np.float64) @ LUMA
    if luma.shape[1] < 3 or luma.shape[2] < 3:
        return np.zeros(len(luma))
    lap = (4 * luma[:, 1:-1, 1:-1] - luma[:, :-2, 1:-1] - luma[:, 2:, 1:-1]
           - luma[:, 1:-1, :-2] - luma[:, 1:-1, 2:])
    return np.abs(lap).mean(axis=(1, 2))


def alternation(signal: np.ndarray, floor: float) -> tuple[list[int], float]:
    """Where a per-frame signal flickers: ([first, last] flickering frame, or [], and the median
    peak-to-peak size there).

    Each inner frame's offset from the mean of its two neighbours, r_t = s_t - (s_{t-1} + s_{t+1}) / 2,
    is 0 all along a steady ramp and changes sign once at a single jump; a signal that alternates by
    P from frame to frame gives |r| = P with a sign that flips every frame. A frame flickers in a
    run of at least FLICKER_REVERSALS sign flips in a row between offsets of at least `floor`.
    """
    s = np.asarray(signal, dtype=np.float64)
    if s.size < 3:
        return [], 0.0
    r = s[1:-1] - 0.5 * (s[:-2] + s[2:])
    visible = np.abs(r) >= floor
    flips = visible[:-1] & visible[1:] & (np.sign(r[:-1]) != np.sign(r[1:]))
    hot = np.zeros(r.size, dtype=bool)
    start = None
    for k, flip in enumerate(np.append(flips, False)):
        if flip and start is None:
            start = k
        elif not flip and start is not None:
            if k - start >= FLICKER_REVERSALS:
                hot[start:k + 1] = True  # the flips start..k-1 join offsets start..k
            start = None
    where = np.nonzero(hot)[0]
    if not where.size:
        return [], 0.0
    return [int(where[0]) + 1, int(where[-1]) + 1], float(np.median(np.abs(r[hot])))


# --------------------------------------------------------------------------- colour drift


def mean_colours(frames: np.ndarray) -> np.ndarray:
    """The mean R, G, B of each frame [T, 3], in levels."""
    return np.asarray(frames, dtype=np.float64).mean(axis=(1, 2))


def colour_deviation(colours: np.ndarray) -> np.ndarray:
    """Per frame, the distance (levels, Euclidean over R, G, B) of its mean colour from the segment
    between the first and last frames' mean colours. A straight ramp of colour, a cut, easing or
    steps stay on it (the line is a path, not a schedule); a cast that comes and goes leaves it."""
    p = np.asarray(colours, dtype=np.float64)
    if not len(p):
        return np.zeros(0)
    start, direction = p[0], p[-1] - p[0]
    length = float(direction @ direction)
    t = np.clip((p - start) @ direction / length, 0.0, 1.0) if length > 1e-12 else np.zeros(len(p))
    return np.linalg.norm(p - (start + t[:, None] * direction), axis=1)


# --------------------------------------------------------------------------- per span


@dataclass(frozen=True)
class Measures:
    """The per-frame figures of one span that the detectors read (a few numbers per frame, so a
    report keeps no frames)."""

    fit: CrossfadeFit
    brightness: np.ndarray  # per frame, levels
    texture: np.ndarray  # per frame, levels
    colours: np.ndarray  # per frame [T, 3], levels

    @property
    def brightness_flicker(self) -> tuple[list[int], float]:
        return alternation(self.brightness, FLICKER_LUMA_FLOOR)

    @property
    def texture_flicker(self) -> tuple[list[int], float]:
        """As brightness_flicker, on the texture; the size relative to the span's median texture."""
        typical = float(np.median(self.texture)) if self.texture.size else 0.0
        where, size = alternation(self.texture, max(FLICKER_TEXTURE_FLOOR * typical, FLICKER_TEXTURE_MIN))
        return where, (size / typical if where and typical > 0 else 0.0)

    @property
    def colour_deviation(self) -> np.ndarray:
        return colour_deviation(self.colours)

    @property
    def colour_drift(self) -> float:
        """The largest distance of a frame's mean colour from the ends' line, levels."""
        deviation = self.colour_deviation
        return float(deviation.max()) if deviation.size else 0.0


def measure(frames: np.ndarray) -> Measures:
    """The figures of one span from its thumbnails [T, h, w, 3] (ends first and last)."""
    frames = np.asarray(frames, dtype=np.float32)
    return Measures(crossfade_fit(frames), brightness(frames), texture(frames), mean_colours(frames))


# --------------------------------------------------------------------------- the findings


@dataclass(frozen=True)
class Artifact:
    """One finding: its kind, where (see the module's docstring for `frames` and `severity` per
    kind), whether the storyboard asks for it, and for flicker which signal."""

    kind: str  # "jump", "ghosting", "flicker" or "colour_drift"
    frames: list[int]
    severity: float
    asked: bool = False
    signal: str | None = None  # flicker: "brightness" or "texture"

    def as_dict(self) -> dict:
        out = {"kind": self.kind, "frames": list(self.frames), "severity": round(float(self.severity), 4),
               "asked": self.asked}
        if self.signal is not None:
            out["signal"] = self.signal
        return out


def find(changes: np.ndarray, measures: Measures | None = None, *, asked: np.ndarray | None = None,
         hold: bool = False, blends_pixels: bool = False) -> list[Artifact]:
    """Every artifact of one span, from its steps (`changes`, n steps) and, when given, its
    per-frame measures. `asked`: per step, a jump the storyboard asks for; `hold`: one keyframe to
    itself (no jumps, no ghosting: its steps are the codec's); `blends_pixels`: the method is a
    crossfade of the ends, so its double exposure is asked for."""
    changes = np.asarray(changes, dtype=np.float64)
    found: list[Artifact] = []
    if not hold:
        median = max(judged_median(changes, asked), JUMP_MEDIAN_FLOOR)
        found += [Artifact("jump", [int(i)], changes[i] / median) for i in jump_steps(changes, asked)]
        if asked is not None:
            found += [Artifact("jump", [int(i)], changes[i] / median, asked=True)
                      for i in np.nonzero(asked & (changes >= JUMP_FLOOR))[0]]
    if measures is None:
        return sorted(found, key=lambda a: (a.asked, a.frames))
    fit = measures.fit
    if not hold and fit.share >= GHOST_SHARE:
        ghosts = fit.frames
        found.append(Artifact("ghosting", [ghosts[0], ghosts[-1]], fit.share, asked=blends_pixels))
    for signal, (where, size) in (("brightness", measures.brightness_flicker),
                                  ("texture", measures.texture_flicker)):
        if where:
            found.append(Artifact("flicker", where, size, signal=signal))
    deviation = measures.colour_deviation
    off = np.nonzero(deviation >= COLOUR_DRIFT_FLOOR)[0]
    if off.size:
        found.append(Artifact("colour_drift", [int(off[0]), int(off[-1])], float(deviation.max())))
    return sorted(found, key=lambda a: (a.asked, a.kind != "jump", a.frames))


def describe(artifacts: list[Artifact]) -> list[str]:
    """Short phrases for the artifacts not asked for, for a verdict: "jump at 46 (20x median)",
    "jumps at 8-11 (up to 16x median)", "ghosting 80% of frames", "brightness flicker 16 levels",
    "texture flicker 60%", "colour drift 12 levels" (where each is: the artifact's `frames`)."""
    phrases = []
    jumps = [a for a in artifacts if a.kind == "jump" and not a.asked]
    if jumps:
        top = max(a.severity for a in jumps)
        phrases.append(f"jump at {jumps[0].frames[0]} ({top:.0f}x median)" if len(jumps) == 1
                       else f"jumps at {_runs([a.frames[0] for a in jumps])} (up to {top:.0f}x median)")
    for a in artifacts:
        if a.asked or a.kind == "jump":
            continue
        if a.kind == "ghosting":
            phrases.append(f"ghosting {a.severity:.0%} of frames")
        elif a.kind == "flicker":
            phrases.append(f"{a.signal} flicker " + (f"{a.severity:.0f} levels" if a.signal == "brightness"
                                                      else f"{a.severity:.0%}"))
        else:
            phrases.append(f"colour drift {a.severity:.0f} levels")
    return phrases


def _runs(indices: list[int]) -> str:
    """"3, 8-11" for [3, 8, 9, 10, 11]; after 4 runs, how many more frames."""
    runs: list[list[int]] = []
    for i in indices:
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    text = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs[:4])
    return text + (f", ... ({len(indices)} in all)" if len(runs) > 4 else "")
