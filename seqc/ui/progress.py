"""The one progress reporter of renders, for `seqc render` and `seqc watch`: rich bars for the
whole render and the current segment, with frames/s."""

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

from seqc.render.render import Reporter
from seqc.ui import console


def render_bars() -> Progress:
    """The bars `seqc render` shows on stderr: description, bar, count, %, rate, elapsed, ETA."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn(),
        console=console.err, transient=False,
    )


class ProgressReporter(Reporter):
    """Bars for the whole render and the current segment.

    With no `progress` given it draws its own bars (started and stopped with the render); the
    watch view passes the Progress it shows inside its live panel instead. Each stage ("loading
    model", "rendering segment 3") names the whole-render bar, or goes to `status(text)` if given.
    """

    def __init__(self, progress: Progress | None = None, warn: Callable[[str], None] = console.warn,
                 status: Callable[[str], None] | None = None):
        super().__init__(warn)
        self.own = progress is None
        self.progress = progress if progress is not None else render_bars()
        self.status = status
        self.total: TaskID | None = None
        self.current: TaskID | None = None
        self.started = time.monotonic()
        self.done = 0
        self.workers: dict[int, TaskID] = {}  # cluster worker -> its line (seqc.cluster)
        self.worker_frames: dict[int, int] = {}

    def begin(self, plan, todo, frames_to_render):
        for task in list(self.progress.task_ids):
            self.progress.remove_task(task)
        self.total = self.current = None
        self.workers, self.worker_frames = {}, {}
        if not todo:
            return
        if self.own:
            self.progress.start()
        self.total = self.progress.add_task(f"render {plan.count(todo)}", total=frames_to_render, rate="")
        self.started, self.done = time.monotonic(), 0

    def stage(self, text):
        if self.status is not None:  # the panel shows it on its own line
            self.status(text)
        elif self.total is not None:
            self.progress.update(self.total, description=escape(text))

    def segment_begin(self, job, frames):
        if self.current is not None:
            self.progress.remove_task(self.current)
        self.current = self.progress.add_task(escape(f"  {job.label}"), total=frames, rate="")
        self.stage(f"rendering {job.label.split(':')[0]}")

    def worker(self, worker, job):
        """One line per cluster worker: the segment it renders now, filled when it is done."""
        task = self.workers.get(worker)
        if job is None:
            if task is not None:
                self.progress.update(task, completed=self.worker_frames[worker],
                                     description=escape(f"  worker {worker}: idle"))
            return
        text = escape(f"  worker {worker}: {job.label}")
        self.worker_frames[worker] = job.segment.frames
        if task is None:
            self.workers[worker] = self.progress.add_task(text, total=job.segment.frames, rate="")
        else:
            self.progress.reset(task, total=job.segment.frames, description=text)

    def advance(self, frames):
        self.done += frames
        rate = f"{self.done / max(time.monotonic() - self.started, 1e-6):.1f} frames/s"
        for task in (self.total, self.current):
            if task is not None:
                self.progress.update(task, advance=frames, rate=rate)

    def working(self, text):
        if self.status is not None:
            self.status(text)
            return contextlib.nullcontext()
        return console.err.status(escape(text)) if self.own else contextlib.nullcontext()

    def end(self):
        if self.own and self.total is not None:
            self.progress.stop()
