"""The compiled storyboard: frozen dataclasses with defaults resolved and frame counts computed.

Frame rule (DESIGN.md, Frames): a segment of n frames renders t = e(i / n) for i = 0..n-1;
its end keyframe is the first frame of the next segment. The last segment of the timeline
also renders its end frame (t = 1), so total frames = sum(n) + 1 and joins never repeat a
frame. n is `frames:` when given, else round(duration x fps) (halves round up), at least 1.
The product is taken on the decimal numbers as written (8.7 s at 25 fps is 217.5 -> 218),
not on binary floats (where 8.7 * 25 = 217.49999999999997 would round down).
With a soundtrack (`audio:`) or a time on the timeline (`beats`, `until`, `until_beat`), the
boundaries are exact times instead and each lands on round(T x fps): seqc.spec.timeline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from seqc.errors import Problem
from seqc.models import ModelRef

DEFAULT_SIZE = (256, 256)
DEFAULT_FPS = 24.0
DEFAULT_DURATION = 2.0
DEFAULT_EASING = "ease-in-out"
DEFAULT_METHOD = "slerp"
DEFAULT_FIT = "cover"
DEFAULT_MODEL = "builtin"


@dataclass(frozen=True)
class Output:
    """Where the video goes, its size as (width, height), its frame rate, and the codec of its clips."""

    path: Path
    size: tuple[int, int]
    fps: float
    codec: str = "h264"  # or a mezzanine codec (seqc.media.encode.MEZZANINE): ProRes, DNxHR, FFV1


@dataclass(frozen=True)
class Audio:
    """The soundtrack: a file (hashed by its bytes), the point of it at video time 0, the beat grid."""

    path: Path
    start: float  # seconds into the file that play at video time 0
    bpm: float | None  # enables beat units
    first_beat: float  # video time (seconds after `start`) of beat 0
    mux: bool  # False: the video stays silent (the audio still times and paces it)
    seconds: float  # the file's decoded length
    line: int
    column: int

    def beat_at(self, seconds: float) -> float | None:
        """The beat number at a video time (beat 0 at `first_beat`), or None without a bpm."""
        return None if self.bpm is None else (seconds - self.first_beat) * self.bpm / 60.0


@dataclass(frozen=True)
class Lora:
    """A LoRA file and its weight at one keyframe (seqc.spec.keyframe_models)."""

    path: Path
    weight: float


@dataclass(frozen=True)
class Control:
    """What a ControlNet follows at one keyframe: a control picture (or the keyframe's own picture,
    `image` None), traced for edges or taken as it is, at a scale (seqc.spec.keyframe_models)."""

    image: Path | None
    scale: float
    edges: bool


@dataclass(frozen=True)
class Keyframe:
    """A picture the video passes through: an image file or a prompt."""

    name: str
    image: Path | None
    prompt: str | None  # for an image keyframe under a pipeline: the img2img prompt ("" if none)
    seed: int | None  # the starting noise's seed (pipelines only; defaulted from the prompt text)
    fit: str
    line: int
    column: int
    negative_prompt: str = ""
    # The colour behind a transparent image and around a `contain` fit ("#rrggbb"); None when it is
    # black (the default) or cannot show, so it is in the latent's key only where it changes pixels.
    background: str | None = None
    loras: tuple[Lora, ...] = ()  # pipelines: the LoRAs at this keyframe; weights ease between keyframes
    control: Control | None = None  # with `controlnet:`: what the ControlNet follows at this keyframe


@dataclass(frozen=True)
class Segment:
    """One transition of the timeline, with its frame count and place in it."""

    index: int
    source: str  # the `from` keyframe's name
    target: str  # the `to` keyframe's name
    frames: int  # frames rendered from the source up to (not including) the target
    include_end: bool  # True for the last segment of a timeline that does not loop: the video ends on its target
    first_frame: int  # index of this segment's first frame in the whole video
    easing: str  # canonical easing text, e.g. "ease-in-out" or "cubic-bezier(0.1, 0.7, 1, 0.1)"
    method: str
    line: int
    column: int
    # Generation settings, resolved for pipeline models (None for autoencoders).
    steps: int | None = None
    guidance: float | None = None
    scheduler: str | None = None
    strength: float | None = None  # img2img strength between two image keyframes
    morph_start: float | None = None  # method: morph: the fraction of the steps the in-betweens skip
    morph_damping: float | None = None  # method: morph: how much the guidance is lowered at the middle
    pacing: str = "linear"  # "even": every frame changes the picture equally; "audio": follows the onsets
    before: str | None = None  # spline: the keyframe before `source` on the timeline (its neighbour)
    after: str | None = None  # spline: the keyframe after `target`
    start_time: float | None = None  # the boundary's exact time on the timeline (first_frame = round(it x fps))
    smooth: float | None = None  # pacing: audio: 0 follows the onsets alone, 1 is linear

    @property
    def generation(self) -> dict | None:
        """The segment's generation settings for cache keys, or None for an autoencoder model (with
        how the CPU groups frames into denoising calls: a frame's bytes depend on its call's size,
        seqc.backends.pipeline; since calls hold what remains rather than padding, `unpadded`)."""
        if self.steps is None:
            return None
        from seqc.backends.pipeline_info import (  # JSON-only: no torch
            CPU_FRAMES_PER_CALL,
            SCHEDULER_REVISIONS,
        )

        generation: dict[str, object] = {"steps": self.steps, "guidance": float(self.guidance or 0.0),
                                         "scheduler": self.scheduler,
                                         "strength": float(self.strength or 0.0),
                                         "cpu_frames_per_call": CPU_FRAMES_PER_CALL, "cpu_last_call": "unpadded"}
        if self.scheduler in SCHEDULER_REVISIONS:
            generation["scheduler_revision"] = SCHEDULER_REVISIONS[self.scheduler]
        if self.method == "morph":  # its settings shape every frame (seqc.render.morph); only a morph's key has them
            from seqc.motion.methods import MORPH_DAMPING, MORPH_REVISION, MORPH_START

            generation["morph_start"] = MORPH_START if self.morph_start is None else float(self.morph_start)
            generation["morph_damping"] = MORPH_DAMPING if self.morph_damping is None else float(self.morph_damping)
            generation["morph_revision"] = MORPH_REVISION
        return generation

    @property
    def rendered_frames(self) -> int:
        """Frames of the video this segment spans: its clip's, plus the final frame (a clip of its
        own, seqc.plan) when the video ends on its target."""
        return self.frames + (1 if self.include_end else 0)


@dataclass(frozen=True)
class Storyboard:
    """A validated storyboard, ready for the planner."""

    path: Path  # absolute path of the storyboard file
    version: int
    output: Output
    model: str  # as written (`builtin`, a folder, a hub id)
    model_ref: ModelRef | None  # the resolved model (None only while a storyboard is invalid)
    keyframes: dict[str, Keyframe]
    segments: tuple[Segment, ...]
    warnings: tuple[Problem, ...] = field(default=())
    draft: bool = False  # compiled with --draft (half size and fps)
    audio: Audio | None = None  # the soundtrack, if any

    @property
    def total_frames(self) -> int:
        """Frames in the whole video."""
        return sum(segment.rendered_frames for segment in self.segments)

    @property
    def duration(self) -> float:
        """Length of the video in seconds."""
        return self.total_frames / self.output.fps

    @property
    def base_dir(self) -> Path:
        """The folder paths in the storyboard are relative to."""
        return self.path.parent


def _exact(value: float) -> Fraction:
    """A number as its shortest decimal text means it: 0.1 -> 1/10, not the nearest binary float."""
    if isinstance(value, int):
        return Fraction(value)
    return Fraction(repr(float(value)))


def frames_for(duration: float, fps: float) -> int:
    """The frame count of a duration: round(duration x fps), halves up (the documented rule)."""
    return math.floor(_exact(duration) * _exact(fps) + Fraction(1, 2))
