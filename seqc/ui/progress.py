"""The one progress reporter of renders, for `seqc render` and `seqc watch`: rich bars for the
whole render and the current segment, with frames/s, on a terminal; a plain line per segment
where stderr is a log or a CI job's output (rich's live bars there show only their final state)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from seqc.render.progress import (
    Advance,
    Begin,
    End,
    ProgressEvent,
    Reporter,
    SegmentBegin,
    SegmentEnd,
    Stage,
    Worked,
    Worker,
    Working,
)
from seqc.ui import console


def render_bars() -> Progress:
    """The bars `seqc render` shows on stderr: description, bar, count, %, rate, elapsed, ETA."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn(),
        console=console.err, transient=False,
    )


Estimator = Callable[[object, int], "str | None"]  # (plan, frames to render) -> a line (seqc.ui.estimate)


class EstimateReporter(Reporter):
    """No progress (`seqc render --json`), but the estimate of a long render before it starts."""

    def __init__(self, estimate: Estimator | None, warn: Callable[[str], None] = console.warn):
        super().__init__(warn)
        self.estimate = estimate

    def begin(self, plan, todo, frames_to_render):
        """The estimate reads the plan (its size, its model), which no event carries: it is said
        here, by the process that planned (a render replayed from a watch says none)."""
        say_estimate(self.estimate, plan, todo, frames_to_render)
        super().begin(plan, todo, frames_to_render)


def say_estimate(estimate: Estimator | None, plan, todo, frames: int) -> None:
    """Print the estimate line of a render about to start, if it has one (seqc.ui.estimate)."""
    line = estimate(plan, frames) if estimate is not None and todo else None
    if line:
        console.info(line)


class ProgressReporter(Reporter):
    """Bars for the whole render and the current segment; plain lines where stderr is no terminal.

    With no `progress` given it draws its own bars (started and stopped with the render); the
    watch view passes the Progress it shows inside its live panel instead. Each stage ("loading
    model", "rendering segment 3") names the whole-render bar, or goes to `status(text)` if given.
    `estimate` says how long a long render will take before it starts (seqc.ui.estimate). It draws
    events (seqc.render.progress), so a render replayed from a watch process draws the same.
    """

    def __init__(self, progress: Progress | None = None, warn: Callable[[str], None] = console.warn,
                 status: Callable[[str], None] | None = None, estimate: Estimator | None = None):
        super().__init__(warn)
        self.own = progress is None
        self.progress = progress if progress is not None else render_bars()
        self.status = status
        self.estimate = estimate
        # Drawing our own bars into a log or a pipe: a plain line per segment instead (PlainLines).
        self.plain = PlainLines() if self.own and not console.err.is_terminal else None
        self.total: TaskID | None = None
        self.current: TaskID | None = None
        self.started = time.monotonic()
        self.done = 0
        self.workers: dict[int, TaskID] = {}  # cluster worker -> its line (seqc.cluster)
        self.worker_frames: dict[int, int] = {}
        self.shown = contextlib.ExitStack()  # the spinner of a Working step, until its Worked

    def begin(self, plan, todo, frames_to_render):
        """The estimate first (it reads the plan; see EstimateReporter.begin), then the event."""
        say_estimate(self.estimate, plan, todo, frames_to_render)
        super().begin(plan, todo, frames_to_render)

    def report(self, event: ProgressEvent) -> None:
        match event:
            case Begin():
                self._begin(event)
            case Stage(text=text):
                self._stage(text)
            case SegmentBegin():
                self._segment_begin(event)
            case Advance(frames=frames):
                self._advance(frames)
            case SegmentEnd(label=label, frames=frames) if self.plain is not None:
                self.plain.segment_end(label, frames)
            case Worker():
                self._worker(event)
            case Working(text=text):
                self._working(text)
            case Worked():
                self.shown.close()
            case End() if self.own and self.total is not None:
                self.progress.stop()
            case _:
                super().report(event)  # a warning

    def _begin(self, event: Begin) -> None:
        if self.plain is not None:
            self.plain.begin(event.count if event.todo else "", event.todo, event.frames)
            return
        for task in list(self.progress.task_ids):
            self.progress.remove_task(task)
        self.total = self.current = None
        self.workers, self.worker_frames = {}, {}
        if not event.todo:
            return
        if self.own:
            self.progress.start()
        self.total = self.progress.add_task(f"render {event.count}", total=event.frames, rate="")
        self.started, self.done = time.monotonic(), 0

    def _stage(self, text: str) -> None:
        if self.plain is not None:
            self.plain.stage(text)
        elif self.status is not None:  # the panel shows it on its own line
            self.status(text)
        elif self.total is not None:
            self.progress.update(self.total, description=escape(text))

    def _segment_begin(self, event: SegmentBegin) -> None:
        if self.plain is not None:
            self.plain.segment_begin(event.label, event.frames)
            return
        if self.current is not None:
            self.progress.remove_task(self.current)
        self.current = self.progress.add_task(escape(f"  {event.label}"), total=event.frames, rate="")
        self._stage(f"rendering {event.label.split(':')[0]}")

    def _worker(self, event: Worker) -> None:
        """One line per cluster worker: the segment it renders now, filled when it is done."""
        worker, label, frames = event.worker, event.label, event.frames
        if self.plain is not None:  # its segment's line comes when it is done
            if label is not None:
                self.plain.segment_begin(label, frames)
            return
        task = self.workers.get(worker)
        if label is None:
            if task is not None:
                self.progress.update(task, completed=self.worker_frames[worker],
                                     description=escape(f"  worker {worker}: idle"))
            return
        text = escape(f"  worker {worker}: {label}")
        self.worker_frames[worker] = frames
        if task is None:
            self.workers[worker] = self.progress.add_task(text, total=frames, rate="")
        else:
            self.progress.reset(task, total=frames, description=text)

    def _advance(self, frames: int) -> None:
        if self.plain is not None:
            self.plain.advance(frames)
            return
        self.done += frames
        rate = f"{self.done / max(time.monotonic() - self.started, 1e-6):.1f} frames/s"
        for task in (self.total, self.current):
            if task is not None:
                self.progress.update(task, advance=frames, rate=rate)

    def _working(self, text: str) -> None:
        self.shown.close()
        if self.plain is not None:
            self.plain.stage(text)
        elif self.status is not None:
            self.status(text)
        elif self.own:
            self.shown.enter_context(console.err.status(escape(text)))


class PlainLines:
    """Progress as plain lines on stderr, for logs and CI: each stage once, and a line per segment
    when it is done: 'segment 3: dusk -> night: 24 frames in 1.20 s (20.0 frames/s); 3 of 8 done,
    72 of 200 frames'."""

    def __init__(self) -> None:
        self.todo = self.frames = self.finished = self.done = 0
        self.running: dict[str, tuple[int, float]] = {}  # label -> (its frames, when it started)
        self.last_stage = ""

    def begin(self, what: str, todo: int, frames: int) -> None:
        self.todo, self.frames, self.finished, self.done = todo, frames, 0, 0
        self.running, self.last_stage = {}, ""
        if todo:
            console.info(f"render {what} ({console.plural(frames, 'frame')})")

    def stage(self, text: str) -> None:
        if text != self.last_stage:
            console.info(text)
        self.last_stage = text

    def segment_begin(self, label: str, frames: int) -> None:
        self.running[label] = (frames, time.monotonic())

    def advance(self, frames: int) -> None:
        self.done += frames

    def segment_end(self, label: str, frames: int | None) -> None:
        self.finished += 1
        known, started = self.running.pop(label, (frames, None))
        took = console.plural(known, "frame") if known is not None else ""
        if started is not None:
            seconds = max(time.monotonic() - started, 1e-6)
            took += f" in {seconds:.2f} s" + (f" ({known / seconds:.1f} frames/s)" if known else "")
        console.info(f"{label}: {took}; {self.finished} of {self.todo} done, {self.done} of {self.frames} frames")
