"""The smoothness report (`seqc analyze`): per segment, how far apart its keyframes are and how evenly the picture changes.

Reads the cached clips (rendering what is missing first) and the cached latents, so a report on
a rendered storyboard costs a decode of the clips and never loads the model. A jump the storyboard
asks for (the cut of `method: cut`, the jumps of `easing: steps(n)`) is not judged: only the other
steps of the segment are.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqc.media.reader import read_frames
from seqc.plan import Plan, SegmentJob
from seqc.render import metrics
from seqc.render.frames import segment_times
from seqc.store import Cache

JARRING_RATIO = 2.5  # the largest step is this many times the median step...
JARRING_FLOOR = 2.0  # ...and at least this many levels (0-255): smaller jumps are invisible


@dataclass(frozen=True)
class SegmentReport:
    """The figures for one segment."""

    index: int
    source: str
    target: str
    frames: int
    method: str
    easing: str
    latent_rms: float  # root-mean-square difference of the two keyframe latents
    latent_angle: float  # degrees between them, as slerp sees them
    changes: np.ndarray  # frame-to-frame change for each step of the segment, 0-255 levels
    first_frame: int
    asked: np.ndarray | None = None  # per step: a jump the storyboard asks for (see `asked_jumps`)

    @property
    def median(self) -> float:
        return float(np.median(self.changes)) if self.changes.size else 0.0

    @property
    def max(self) -> float:
        return float(self.changes.max()) if self.changes.size else 0.0

    @property
    def argmax(self) -> int:
        """Frame index within the segment where the largest step starts."""
        return int(self.changes.argmax()) if self.changes.size else 0

    @property
    def cv(self) -> float:
        return metrics.coefficient_of_variation(self.changes)

    @property
    def asked_steps(self) -> list[int]:
        """Frame indices within the segment where a jump the storyboard asks for starts."""
        return [] if self.asked is None else [int(i) for i in np.nonzero(self.asked)[0]]

    @property
    def hold(self) -> bool:
        return self.source == self.target

    @property
    def jarring(self) -> bool:
        """The largest step not asked for is JARRING_RATIO times the median of those steps, and visible.
        A hold (one keyframe to itself) decodes one picture, so any step in it is the codec's."""
        if self.hold:
            return False
        judged = self.changes if self.asked is None else self.changes[~self.asked]
        if not judged.size:
            return False
        top, median = float(judged.max()), float(np.median(judged))
        return top >= JARRING_FLOOR and top > JARRING_RATIO * max(median, 1e-9)

    @property
    def verdict(self) -> str:
        if self.jarring:
            return ("jarring: consider more frames, slerp, pacing: even or an intermediate keyframe")
        asked = self.asked_steps
        if asked:
            what = "a cut" if self.method == "cut" else f"{len(asked)} step{'s' if len(asked) > 1 else ''}"
            return f"{what} as asked (frame{'s' if len(asked) > 1 else ''} {', '.join(map(str, asked))})"
        if self.hold:
            return "a hold"
        return "smooth" if self.changes.size else "still"

    def as_dict(self) -> dict:
        return {
            "index": self.index, "from": self.source, "to": self.target, "frames": self.frames,
            "method": self.method, "easing": self.easing, "latent_rms": _number(self.latent_rms, 6),
            "latent_angle": _number(self.latent_angle, 3), "median_change": round(self.median, 4),
            "max_change": round(self.max, 4), "max_at_frame": self.argmax,
            "max_at_video_frame": self.first_frame + self.argmax, "cv": round(self.cv, 4),
            "verdict": self.verdict, "asked_jumps": self.asked_steps,
            "changes": [round(float(c), 4) for c in self.changes],
        }


def asked_jumps(job: SegmentJob, steps: int) -> np.ndarray:
    """Per step of a segment (frame i to i + 1, the last to the next clip's first frame at t = 1): a
    jump its storyboard asks for. `method: cut` asks for the step where eased t reaches 1;
    `easing: steps(n)` for every step where the step function moves, when it holds between them
    (steps finer than the frames are just motion). The eased times are the renderer's own
    (seqc.render.frames.segment_times; `pacing: even` keeps where they move and hold)."""
    seg = job.segment
    eased = np.append(segment_times(job), 1.0)[: steps + 1]
    before, after = eased[:-1], eased[1:]
    if seg.method == "cut":
        return (before < 1.0) & (after >= 1.0)
    if seg.easing.startswith("steps("):
        moves = np.abs(after - before) > 1e-12
        return moves if not moves.all() else np.zeros(len(moves), dtype=bool)
    return np.zeros(len(before), dtype=bool)


def _latent(cache: Cache, key: str) -> np.ndarray | None:
    from safetensors.numpy import load

    path = cache.get("latents", key)
    return None if path is None else load(path.read_bytes())["latent"]


def _number(value: float, digits: int) -> float | None:
    """`value` rounded, or None (JSON null) where it is not a number: two prompt keyframes have no latents."""
    return None if math.isnan(value) else round(value, digits)


def _latent_distance(a: np.ndarray | None, b: np.ndarray | None) -> tuple[float, float]:
    if a is None or b is None:
        return float("nan"), float("nan")
    a64, b64 = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    rms = float(np.sqrt(np.mean((a64 - b64) ** 2)))
    norms = np.linalg.norm(a64) * np.linalg.norm(b64)
    cos = float(np.clip(a64 @ b64 / norms, -1.0, 1.0)) if norms > 0 else 1.0
    return rms, float(np.degrees(np.arccos(cos)))


def analyze(plan: Plan, clips: Mapping[str, Path], cache: Cache) -> list[SegmentReport]:
    """Reports for every segment, from its clip (`clips`: key -> file) and its keyframes' cached latents."""
    # 1. Shrunk frames of each clip, one clip at a time (memory stays small).
    series: list[np.ndarray] = []
    firsts: list[np.ndarray] = []
    lasts: list[np.ndarray] = []
    clip_jobs = plan.clip_jobs
    for job in clip_jobs:
        small = [metrics.shrink(frame[None])[0] for frame in read_frames(clips[job.key])]
        stack = np.stack(small)
        series.append(metrics.frame_distance(stack[:-1], stack[1:]) if len(stack) > 1 else np.zeros(0))
        firsts.append(stack[0])
        lasts.append(stack[-1])

    # 2. Each segment owns its steps up to the next clip's first frame (the next segment's, or the
    #    final frame's): n frames, n steps.
    reports = []
    for i, job in enumerate(plan.jobs):
        steps = series[i]
        if i + 1 < len(clip_jobs):
            steps = np.append(steps, metrics.frame_distance(lasts[i], firsts[i + 1]))
        seg = job.segment
        a = _latent(cache, plan.latents[seg.source].key) if seg.source in plan.latents else None
        b = _latent(cache, plan.latents[seg.target].key) if seg.target in plan.latents else None
        rms, angle = _latent_distance(a, b)
        reports.append(SegmentReport(seg.index, seg.source, seg.target, seg.rendered_frames, seg.method,
                                     seg.easing, rms, angle, np.asarray(steps, dtype=np.float64), seg.first_frame,
                                     asked_jumps(job, len(steps))))
    return reports


PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


def beat_frames(story) -> list[tuple[float, int]]:
    """(video frame, beat number) of every beat inside the video, for a storyboard with `audio.bpm`."""
    audio = story.audio
    if audio is None or audio.bpm is None:
        return []
    period, fps = 60.0 / audio.bpm, story.output.fps
    end = (story.total_frames - 1) / fps
    k = int(np.ceil(-audio.first_beat / period - 1e-9))
    beats = []
    while audio.first_beat + k * period <= end + 1e-9:
        beats.append(((audio.first_beat + k * period) * fps, k))
        k += 1
    return beats


def plot(reports: list[SegmentReport], path: Path, title: str = "",
         beats: list[tuple[float, int]] | None = None) -> None:
    """Draw frame-to-frame change against video frame, one coloured line per segment, as a PNG; with
    `beats` (seqc.inspect.analyze.beat_frames), a light line at every beat and a darker one every 4th."""
    from PIL import Image, ImageDraw, ImageFont

    from seqc.store.atomic import atomic_path

    width, height, left, right, top, bottom = 900, 420, 60, 20, 40, 90
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    total = max((r.first_frame + len(r.changes) for r in reports), default=1)
    peak = max((r.max for r in reports), default=1.0) or 1.0
    ymax = float(np.ceil(peak * 1.1 * 2) / 2) or 1.0

    def xy(frame: float, value: float) -> tuple[float, float]:
        x = left + (width - left - right) * frame / max(total, 1)
        y = height - bottom - (height - top - bottom) * value / ymax
        return x, y

    # Axes, grid and labels.
    draw.rectangle([left, top, width - right, height - bottom], outline=(0, 0, 0))
    for k in range(5):
        value = ymax * k / 4
        _, y = xy(0, value)
        draw.line([left, y, width - right, y], fill=(225, 225, 225))
        draw.text((8, y - 6), f"{value:.1f}", fill=(0, 0, 0), font=font)
    draw.text((left, 12), title or "frame-to-frame change (0-255 levels) by video frame", fill=(0, 0, 0), font=font)
    for frame, number in beats or []:
        x, _ = xy(frame, 0)
        bar = number % 4 == 0
        draw.line([x, top + 1, x, height - bottom - 1], fill=(170, 170, 210) if bar else (228, 228, 240))
        if bar:
            draw.text((x + 2, top + 2), str(number), fill=(120, 120, 170), font=font)
    # One line per segment, with its start marked.
    for i, report in enumerate(reports):
        colour = PALETTE[i % len(PALETTE)]
        points = [xy(report.first_frame + j + 0.5, float(v)) for j, v in enumerate(report.changes)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        elif points:
            draw.ellipse([points[0][0] - 2, points[0][1] - 2, points[0][0] + 2, points[0][1] + 2], fill=colour)
        x0, _ = xy(report.first_frame, 0)
        draw.line([x0, height - bottom, x0, height - bottom + 5], fill=(0, 0, 0))
        row, col = divmod(i, 4)
        lx, ly = left + col * 210, height - bottom + 20 + row * 14
        draw.rectangle([lx, ly + 3, lx + 10, ly + 9], fill=colour)
        label = f"{report.index}: {report.source} -> {report.target}" + (" (jarring)" if report.jarring else "")
        draw.text((lx + 14, ly), label[:30], fill=(0, 0, 0), font=font)
    with atomic_path(Path(path)) as tmp:
        image.save(tmp, format="PNG")
