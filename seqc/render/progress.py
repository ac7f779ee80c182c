"""A render's progress as typed events, and the `Reporter` producers call (issue 25 item 4).

The renderer, the executors and the output steps call the Reporter's methods (`begin(plan, todo,
frames)`, `stage`, `segment_begin`, ...); each call becomes ONE frozen event holding plain data
(labels, indices, counts, texts) and goes to `report(event)`. A consumer overrides `report`: the
terminal's bars (seqc.ui.progress), the warm-render socket (seqc.handoff.listener), the preview
page (seqc.page.publish). `to_dict` / `from_dict` are the one serialisation of an event, for the
socket's JSON lines and the page's stream; a replayed event draws what the call drew in-process.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from seqc.plan import Plan, SegmentJob

Index = int | str  # a segment's index on the timeline, or "end" for the final frame's clip


@dataclass(frozen=True)
class Begin:
    """The render starts: `todo` clips to render (`count` says which, in words), `frames` frames."""

    kind: ClassVar[str] = "begin"
    count: str  # "2 of 9 segments and the final frame" (Plan.count)
    todo: int
    frames: int


@dataclass(frozen=True)
class Stage:
    """What the render does now: "loading model 'x'", "rendering segment 3"."""

    kind: ClassVar[str] = "stage"
    text: str


@dataclass(frozen=True)
class SegmentBegin:
    """One clip starts rendering in this process: `frames` frames."""

    kind: ClassVar[str] = "segment_begin"
    label: str
    index: Index
    frames: int


@dataclass(frozen=True)
class Advance:
    """`frames` more frames are made (after each batch)."""

    kind: ClassVar[str] = "advance"
    frames: int


@dataclass(frozen=True)
class SegmentEnd:
    """One clip is rendered and published; it has `frames` frames."""

    kind: ClassVar[str] = "segment_end"
    label: str
    index: Index
    frames: int


@dataclass(frozen=True)
class Worker:
    """Cluster worker `worker` (1..N) started the clip `label` of `frames` frames, or is idle (None)."""

    kind: ClassVar[str] = "worker"
    worker: int
    label: str | None
    frames: int


@dataclass(frozen=True)
class End:
    """The render is over (the output step may still follow)."""

    kind: ClassVar[str] = "end"


@dataclass(frozen=True)
class Warn:
    """A warning to show the user."""

    kind: ClassVar[str] = "warn"
    message: str


@dataclass(frozen=True)
class Working:
    """A step after the render (joining the clips) starts; shown until its `Worked`."""

    kind: ClassVar[str] = "working"
    text: str


@dataclass(frozen=True)
class Worked:
    """The step of the last `Working` is over."""

    kind: ClassVar[str] = "worked"


ProgressEvent = Begin | Stage | SegmentBegin | Advance | SegmentEnd | Worker | End | Warn | Working | Worked
EVENTS: dict[str, type[ProgressEvent]] = {cls.kind: cls for cls in (
    Begin, Stage, SegmentBegin, Advance, SegmentEnd, Worker, End, Warn, Working, Worked)}


def to_dict(event: ProgressEvent) -> dict:
    """The event as JSON-able data: `{"ev": kind, **fields}`."""
    return {"ev": event.kind, **dataclasses.asdict(event)}


def from_dict(data: dict) -> ProgressEvent:
    """The event `to_dict` made; ValueError for anything else (another kind, missing or extra fields)."""
    cls = EVENTS.get(data.get("ev", ""))
    if cls is None:
        raise ValueError(f"not a progress event: {data.get('ev')!r}")
    try:
        return cls(**{k: v for k, v in data.items() if k != "ev"})
    except TypeError as exc:
        raise ValueError(f"a malformed {cls.kind!r} event: {exc}") from None


def index_of(job: SegmentJob) -> Index:
    """A job's place on the timeline: its segment's index, or "end" for the final frame."""
    return "end" if job.end else job.segment.index


class Reporter:
    """Progress of a render: each call becomes one event for `report`. This base shows nothing
    and hands warnings to `warn`; consumers override `report` (and call it here for warnings)."""

    def __init__(self, warn: Callable[[str], None] | None = None):
        self._warn = warn

    def report(self, event: ProgressEvent) -> None:
        """Show (or send) one event. The base passes a warning's message to `warn`."""
        if isinstance(event, Warn) and self._warn is not None:
            self._warn(event.message)

    def begin(self, plan: Plan, todo: list[SegmentJob], frames_to_render: int) -> None:
        self.report(Begin(plan.count(todo), len(todo), frames_to_render))

    def stage(self, text: str) -> None:
        self.report(Stage(text))

    def segment_begin(self, job: SegmentJob, frames: int) -> None:
        self.report(SegmentBegin(job.label, index_of(job), frames))

    def advance(self, frames: int) -> None:
        self.report(Advance(frames))

    def segment_end(self, job: SegmentJob) -> None:
        self.report(SegmentEnd(job.label, index_of(job), job.segment.frames))

    def worker(self, worker: int, job: SegmentJob | None) -> None:
        """Cluster worker `worker` (1..N) started rendering `job`, or is idle (None); seqc.cluster."""
        self.report(Worker(worker, job.label if job is not None else None,
                           job.segment.frames if job is not None else 0))

    def end(self) -> None:
        self.report(End())

    @contextlib.contextmanager
    def working(self, text: str) -> Iterator[None]:
        """Around a step after the render (joining the clips): shown while it runs."""
        self.report(Working(text))
        try:
            yield
        finally:
            self.report(Worked())

    def warn(self, message: str) -> None:
        self.report(Warn(message))


__all__ = ["EVENTS", "Advance", "Begin", "End", "Index", "ProgressEvent", "Reporter", "SegmentBegin", "SegmentEnd",
           "Stage", "Warn", "Worked", "Worker", "Working", "from_dict", "index_of", "to_dict"]
