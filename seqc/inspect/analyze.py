"""The smoothness report (`seqc analyze`): per segment, how far apart its keyframes are, how evenly
the picture changes, and the artifacts it shows (seqc.inspect.artifacts: jumps, ghosting, flicker,
colour drift, with AID's smoothness and consistency).

Reads the cached clips (rendering what is missing first) and the cached latents, so a report on
a rendered storyboard costs a decode of the clips and never loads the model. What the storyboard
asks for is not a defect: the cut of `method: cut` and the jumps of `easing: steps(n)` are not
judged as jumps, and the double exposure of a method that blends pixels (`crossfade`) is reported
with `asked: true`. `analyze_video` reads any video file as one span, with the same figures.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqc.errors import InputError, RenderError
from seqc.inspect import artifacts as detect
from seqc.inspect.artifacts import Artifact, Measures
from seqc.media.reader import read_frames
from seqc.motion.methods import METHODS
from seqc.plan import Plan, SegmentJob
from seqc.render import metrics
from seqc.render.frames import segment_times
from seqc.store import Cache

JARRING_RATIO = detect.JUMP_RATIO  # the largest step is this many times the median step...
JARRING_FLOOR = detect.JUMP_FLOOR  # ...and at least this many levels (0-255): smaller jumps are invisible


@dataclass(frozen=True)
class SegmentReport:
    """The figures for one segment (or one video file: `file` set, no keyframes, method or easing)."""

    index: int
    source: str | None
    target: str | None
    frames: int
    method: str | None
    easing: str | None
    latent_rms: float  # root-mean-square difference of the two keyframe latents
    latent_angle: float  # degrees between them, as slerp sees them
    changes: np.ndarray  # frame-to-frame change for each step of the segment, 0-255 levels
    first_frame: int
    asked: np.ndarray | None = None  # per step: a jump the storyboard asks for (see `asked_jumps`)
    measures: Measures | None = None  # per-frame figures of its frames and the end (None: steps only)
    file: str | None = None  # the video file a report on a file describes

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
    def smoothness(self) -> float:
        """AID's smoothness of the steps, 1 - Gini (seqc.inspect.artifacts.smoothness)."""
        return detect.smoothness(self.changes)

    @property
    def consistency(self) -> float:
        """AID's consistency, the mean step (levels)."""
        return detect.consistency(self.changes)

    @property
    def asked_steps(self) -> list[int]:
        """Frame indices within the segment where a jump the storyboard asks for starts."""
        return [] if self.asked is None else [int(i) for i in np.nonzero(self.asked)[0]]

    @property
    def hold(self) -> bool:
        return self.source is not None and self.source == self.target

    @property
    def label(self) -> str:
        return self.file if self.file is not None else f"{self.source} -> {self.target}"

    @property
    def blends_pixels(self) -> bool:
        """The segment's method crossfades the decoded ends, so a double exposure is what it asks for."""
        method = METHODS.get(self.method or "")
        return method is not None and method.blends_pixels

    @property
    def jarring(self) -> bool:
        """A step not asked for is JARRING_RATIO times the median of those steps, and visible.
        A hold (one keyframe to itself) decodes one picture, so any step in it is the codec's."""
        return not self.hold and bool(detect.jump_steps(self.changes, self.asked).size)

    @property
    def artifacts(self) -> list[Artifact]:
        """Every artifact found, asked for or not (seqc.inspect.artifacts.find)."""
        return detect.find(self.changes, self.measures, asked=self.asked, hold=self.hold,
                              blends_pixels=self.blends_pixels)

    @property
    def defects(self) -> list[Artifact]:
        """The artifacts the storyboard does not ask for."""
        return [a for a in self.artifacts if not a.asked]

    @property
    def verdict(self) -> str:
        """The defects found ("jarring: jump at 46 (20x median); ghosting 80% of frames"), then what
        was asked for ("a cut as asked (frame 11)"); else "a hold", "smooth" or "still"."""
        found = self.artifacts
        defects = detect.describe(found)
        if defects and self.jarring:
            defects[0] = f"jarring: {defects[0]}"
        asked = self.asked_steps
        if asked:
            what = "a cut" if self.method == "cut" else f"{len(asked)} step{'s' if len(asked) > 1 else ''}"
            defects.append(f"{what} as asked (frame{'s' if len(asked) > 1 else ''} {', '.join(map(str, asked))})")
        for a in found:
            if a.asked and a.kind == "ghosting":
                defects.append(f"a double exposure as asked ({self.method}, {a.severity:.0%} of frames)")
        if defects:
            return "; ".join(defects)
        if self.hold:
            return "a hold"
        return "smooth" if self.changes.size else "still"

    def as_dict(self) -> dict:
        out: dict = {
            "index": self.index, "from": self.source, "to": self.target, "frames": self.frames,
            "method": self.method, "easing": self.easing, "latent_rms": _number(self.latent_rms, 6),
            "latent_angle": _number(self.latent_angle, 3), "median_change": round(self.median, 4),
            "max_change": round(self.max, 4), "max_at_frame": self.argmax,
            "max_at_video_frame": self.first_frame + self.argmax, "cv": round(self.cv, 4),
            "smoothness": round(self.smoothness, 4), "consistency": round(self.consistency, 4),
            "verdict": self.verdict, "asked_jumps": self.asked_steps,
            "changes": [round(float(c), 4) for c in self.changes],
        }
        if self.file is not None:
            out["file"] = self.file
        out.update(_measured(self.measures))
        out["artifacts"] = [a.as_dict() for a in self.artifacts]
        return out


def _measured(measures: Measures | None) -> dict:
    """The per-frame figures as JSON keys (None where a report has none)."""
    if measures is None:
        return {}
    fit = measures.fit
    brightness, texture = measures.brightness_flicker, measures.texture_flicker
    median = fit.median_residual
    return {
        "ghost_share": round(fit.share, 4), "ghost_residual": None if median is None else round(median, 4),
        "end_change": round(fit.end_change, 4), "crossfade_measured": fit.measured,
        "crossfade_alpha": [round(float(v), 4) for v in fit.alpha],
        "crossfade_residual": [round(float(v), 4) for v in fit.residual],
        "brightness_flicker": round(brightness[1], 4), "texture_flicker": round(texture[1], 4),
        "colour_drift": round(measures.colour_drift, 4),
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


def thumbnails(frames) -> np.ndarray:
    """Shrunk float32 frames [T, h, w, 3] (seqc.render.metrics.shrink) of a stream of uint8 frames."""
    small = [metrics.shrink(frame[None])[0] for frame in frames]
    return np.stack(small) if small else np.zeros((0, 1, 1, 3), dtype=np.float32)


def _steps(stack: np.ndarray) -> np.ndarray:
    return (metrics.frame_distance(stack[:-1], stack[1:]) if len(stack) > 1 else np.zeros(0)).astype(np.float64)


def analyze(plan: Plan, clips: Mapping[str, Path], cache: Cache) -> list[SegmentReport]:
    """Reports for every segment, from its clip (`clips`: key -> file) and its keyframes' cached latents.

    Each segment owns its steps up to the next clip's first frame (the next segment's, or the final
    frame's): n frames, n steps; its artifacts are measured on those n frames and that end frame.
    Clips are read one at a time, and a segment is measured as soon as the next clip's first frame
    is known, so at most two clips' thumbnails are held."""
    clip_jobs, jobs = plan.clip_jobs, plan.jobs
    reports: list[SegmentReport] = []
    previous: np.ndarray | None = None
    for i, job in enumerate(clip_jobs):
        stack = thumbnails(read_frames(clips[job.key]))
        if previous is not None:
            reports.append(_segment_report(plan, cache, jobs[i - 1], np.concatenate([previous, stack[:1]])))
        previous = stack if i < len(jobs) else None
    if previous is not None:  # a timeline that loops: its last segment has no next clip
        reports.append(_segment_report(plan, cache, jobs[-1], previous))
    return reports


def _segment_report(plan: Plan, cache: Cache, job: SegmentJob, stack: np.ndarray) -> SegmentReport:
    """One segment's report from the thumbnails of its frames (and the next clip's first, if any)."""
    seg = job.segment
    a = _latent(cache, plan.latents[seg.source].key) if seg.source in plan.latents else None
    b = _latent(cache, plan.latents[seg.target].key) if seg.target in plan.latents else None
    rms, angle = _latent_distance(a, b)
    steps = _steps(stack)
    return SegmentReport(seg.index, seg.source, seg.target, seg.rendered_frames, seg.method, seg.easing, rms, angle,
                         steps, seg.first_frame, asked_jumps(job, len(steps)), detect.measure(stack))


# Read through ffmpeg (seqc.media.reader), so any codec it decodes: H.264, and the ProRes, DNxHR and
# FFV1 of a mezzanine output (.mov, .mkv; .mxf where an editor rewraps one), alpha dropped.
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".mxf", ".webm", ".avi", ".gif", ".apng", ".mpg",
                            ".mpeg", ".ts", ".mts", ".m2ts", ".wmv", ".flv", ".ogv", ".3gp", ".y4m"})
STORYBOARD_SUFFIXES = frozenset({".yaml", ".yml"})


def is_video(path: str | Path) -> bool:
    """Whether `seqc analyze` reads `path` as a video file rather than a storyboard: a video
    suffix, or (another suffix or none) a file whose first bytes are not text. A storyboard is
    YAML, always text; anything binary is left to ffmpeg to read or refuse."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in STORYBOARD_SUFFIXES:
        return False
    if suffix in VIDEO_SUFFIXES:
        return True
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False  # missing or unreadable: the storyboard loader says which, in its words
    if b"\0" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(head) - 4  # a multi-byte character cut by the 4096 is still text
    return False


VIDEO_HINT = "seqc analyze reads a storyboard (.yaml) or a video file that ffmpeg can decode"


def _unreadable(path: Path, exc: RenderError) -> InputError:
    """The one-line error for a file ffmpeg could not decode: no video stream in it (asked of
    ffmpeg again, as its decode log may have lost that line), or ffmpeg's last word on it."""
    from seqc.media.ffmpeg import capture, ff_path

    log = capture(["-i", ff_path(path)]).stderr.decode(errors="replace")
    if "Input #0" in log and "Video:" not in log:
        return InputError(f"{path} has no video stream ({VIDEO_HINT})")
    reason = str(exc).splitlines()[0].rsplit(" | ", 1)[-1]
    return InputError(f"cannot read {path} as a video: {reason} ({VIDEO_HINT})")


def analyze_video(path: str | Path) -> SegmentReport:
    """The report on one video file as a single span: its first and last frames are the ends,
    every step is judged (nothing is asked for), and there are no keyframes, method or latents.
    Bad input (missing, not a video ffmpeg can read, no frames) is an InputError (exit 2)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such file: {path} ({'a folder, not a file' if path.is_dir() else 'check the path'})")
    if path.stat().st_size == 0:
        raise InputError(f"{path} is empty: 0 bytes ({VIDEO_HINT})")
    try:
        stack = thumbnails(read_frames(path))
    except RenderError as exc:
        raise _unreadable(path, exc) from None
    if not len(stack):
        raise InputError(f"{path} has no video frames ({VIDEO_HINT})")
    return SegmentReport(0, None, None, len(stack), None, None, float("nan"), float("nan"), _steps(stack), 0,
                         None, detect.measure(stack), file=path.name)


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
        label = f"{report.index}: {report.label}" + (" (jarring)" if report.jarring else "")
        draw.text((lx + 14, ly), label[:30], fill=(0, 0, 0), font=font)
    with atomic_path(Path(path)) as tmp:
        image.save(tmp, format="PNG")
