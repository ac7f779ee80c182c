"""What the user sees while `seqc watch` runs: plain log lines, or a live panel on a terminal."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Protocol

from rich.console import Group
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from seqc.errors import Problem
from seqc.plan import Plan
from seqc.render.driver import RenderResult
from seqc.render.progress import Reporter
from seqc.ui import console
from seqc.ui.progress import ProgressReporter


def _indices(indices: Iterable[int]) -> str:
    return "[" + ", ".join(str(i) for i in indices) + "]"


# ---------------------------------------------------------------------------------------------
# What the user sees: plain log lines (--quiet, or stderr not a terminal) or a live view.


class View(Protocol):
    """What the watcher calls on its view (LogView, LiveView, or seqc.page's PublishingView around one)."""

    def __enter__(self) -> View: ...
    def __exit__(self, *exc: object) -> None: ...
    def line(self, text: str, style: str = "") -> None: ...
    def watching(self, story: Path, images: int, folders: int, mechanism: str) -> None: ...
    def rendering(self, reason: str, plan: Plan) -> None: ...
    def rendered(self, result: RenderResult) -> None: ...
    def superseded(self, reason: str) -> None: ...
    def loaded(self) -> None: ...
    def invalid(self, story: Path, problems: list[Problem], kept: bool) -> None: ...
    def failed(self, message: str) -> None: ...
    def warn(self, message: str) -> None: ...
    def reporter(self) -> Reporter: ...
    def after_first_render(self, callback: Callable[[], None]) -> None: ...


class LogView:
    """One plain line per event on stderr, for --quiet, logs and tests.

    Lines (each after an HH:MM:SS stamp):
        watching: story.yaml and 3 keyframe files in 2 folders (inotify)
        rendering: story.yaml changed; 2 of 3 segments to render [0, 2]
        rendered: 2 of 3 segments [0, 2], 1 cached, 25 frames in 0.84 s -> out/v.mp4
        superseded: story.yaml changed during the render; re-planning
        error: story.yaml is invalid; keeping the last good storyboard   (then FILE:LINE:COL lines)
        error: render failed: ...
    """

    _after_first: Callable[[], None] | None = None

    def __enter__(self) -> LogView:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def line(self, text: str, style: str = "") -> None:
        """Print one line, stamped with the time."""
        stamp = time.strftime("%H:%M:%S")
        body = f"[{style}]{escape(text)}[/{style}]" if style else escape(text)
        console.err.print(f"{stamp} {body}")

    def watching(self, story: Path, images: int, folders: int, mechanism: str) -> None:
        self.line(f"watching: {story.name} and {images} keyframe file{'s' if images != 1 else ''} in "
                  f"{folders} folder{'s' if folders != 1 else ''} ({mechanism})")

    def rendering(self, reason: str, plan: Plan) -> None:
        todo = [job.segment.index for job in plan.missing if not job.end]
        self.line(f"rendering: {reason}; {plan.count(plan.missing)} to render {_indices(todo)}")

    def rendered(self, result: RenderResult) -> None:
        where = result.output if result.output is not None else "image frames"
        self.line(f"rendered: {result.rendered} of {result.segments} segments {_indices(result.rendered_segments)}, "
                  f"{result.cached} cached, {result.frames} frames in {result.seconds:.2f} s -> {where}", "green")
        self._first_done()

    def superseded(self, reason: str) -> None:
        self.line(f"superseded: {reason} during the render; re-planning", "yellow")

    def loaded(self) -> None:
        """The storyboard loaded without errors (the live view clears the last problems)."""

    def invalid(self, story: Path, problems: list[Problem], kept: bool) -> None:
        keep = "keeping the last good storyboard" if kept else "waiting for a valid save"
        self.line(f"error: {story.name} is invalid; {keep}", "red")
        console.print_problems(problems)
        self._first_done()

    def failed(self, message: str) -> None:
        self.line(f"error: {message}", "red")
        self._first_done()

    def warn(self, message: str) -> None:
        console.warn(message)

    def reporter(self) -> Reporter:
        """Render callbacks: only warnings, printed as they come."""
        return Reporter(warn=self.warn)

    def after_first_render(self, callback: Callable[[], None]) -> None:
        """Call `callback` once, after the next render ends (rendered, refused or failed); the warm
        renders' prewarm (seqc.watch.serving)."""
        self._after_first = callback

    def _first_done(self) -> None:
        if self._after_first is not None:
            callback, self._after_first = self._after_first, None
            callback()


class LiveView(LogView):
    """A live panel on stderr (rich.live.Live): what is watched, the state, the last render.

    The state is idle, rendering (with a progress bar) or error (with the message). The
    storyboard's problems stay on screen until it loads again, even while the last good
    storyboard renders. Renders and errors are also logged as one line each above the panel,
    so the history stays on screen.
    """

    def __init__(self) -> None:
        self.watched = "starting"
        self.state = "idle"
        self.detail: list[str] = []
        self.problems: list[str] = []
        self.last = "no render yet"
        self.progress = Progress(TextColumn("  {task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console.err)
        self.live = Live(self, console=console.err, refresh_per_second=8, transient=True)

    def __enter__(self) -> LiveView:
        self.live.start()
        return self

    def __exit__(self, *exc) -> None:
        self.live.stop()

    def __rich__(self) -> Group:
        state = "error" if self.state == "idle" and self.problems else self.state
        style = {"idle": "green", "rendering": "cyan", "error": "red"}[state]
        lines: list = [Text.from_markup(f"[bold]seqc watch[/bold] {escape(self.watched)}")]
        lines.append(Text.from_markup(f"[{style}]{state}[/{style}]"
                                      + (" — waiting for changes (Ctrl-C to stop)" if state != "rendering" else "")))
        lines.extend(Text(f"  {d}", style=style) for d in self.detail)
        lines.extend(Text(f"  {p}", style="red") for p in self.problems)
        if self.state == "rendering":
            lines.append(self.progress)
        lines.append(Text(f"last render: {self.last}", style="dim"))
        return Group(*lines)

    def watching(self, story: Path, images: int, folders: int, mechanism: str) -> None:
        self.watched = (f"{story.name} and {images} keyframe file{'s' if images != 1 else ''} in "
                        f"{folders} folder{'s' if folders != 1 else ''} ({mechanism})")

    def rendering(self, reason: str, plan: Plan) -> None:
        self.state, self.detail = "rendering", [f"{reason}; {plan.count(plan.missing)} to render"]

    def rendered(self, result: RenderResult) -> None:
        super().rendered(result)
        self.state, self.detail = "idle", []
        self.last = (f"{time.strftime('%H:%M:%S')}: {result.rendered} of {result.segments} segments re-rendered, "
                     f"{result.cached} cached, {result.seconds:.2f} s")

    def superseded(self, reason: str) -> None:
        self.detail = [f"{reason}; re-planning"]

    def loaded(self) -> None:
        self.problems = []

    def invalid(self, story: Path, problems: list[Problem], kept: bool) -> None:
        self.line(f"error: {story.name} is invalid ({len(problems)} problem{'s' if len(problems) != 1 else ''})",
                  "red")
        self.state, self.detail = "error", []
        self.problems = [p.format() for p in problems]
        self._first_done()

    def failed(self, message: str) -> None:
        super().failed(message)
        self.state, self.detail = "error", [message]

    def reporter(self) -> Reporter:
        """The panel's progress bars; each stage also becomes the panel's detail line."""
        return ProgressReporter(self.progress, warn=self.warn, status=self._status)

    def _status(self, text: str) -> None:
        self.detail = [text]
