"""`seqc watch`: render once, then re-render what changed on every save of the storyboard or its keyframes.

How it works (DESIGN.md, Watch mode):

- Two threads with one job each. watchdog's observer thread only decides whether an event
  touches a watched file and, if so, records the time and sets a "dirty" flag. Everything
  else (loading, planning, rendering, printing) happens in the main thread, in `Watcher.run`,
  so Ctrl-C (KeyboardInterrupt) always lands where the render can clean up after itself.
- The *parent folders* are watched, never the files: vim, JetBrains and `sed -i` save by
  writing a temp file and renaming it over the original, which kills a watch on the file.
  A moved event counts when its source or its destination is a watched file. Editor temp
  and swap files and seqc's own temp files never count.
- Debounce on the trailing edge: render once no relevant event has arrived for `debounce`
  seconds, so a burst (truncate, write, write, close) is one render of the final content.
- Events only say *that* something changed; every render re-reads the files from disk. A bad
  storyboard (missing, empty, half-written, invalid) prints its problems and the last good one
  is kept; a failed render is shown; nothing a user saves makes the watcher exit.
- An edit during a render supersedes it: render's `should_stop` is the dirty flag, so the
  render stops at the next frame batch (the clips it finished stay cached) and the loop
  re-plans, rendering only what the newest storyboard still needs.
- inotify can refuse (too many watches or instances, errno ENOSPC/EMFILE): the watcher then
  polls, with a warning; `--poll` asks for polling from the start.
"""

from __future__ import annotations

import argparse
import errno
import os
import re
import threading
import time
import traceback
from collections.abc import Iterable
from pathlib import Path

from rich.console import Group
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text
from watchdog.events import (
    EVENT_TYPE_CLOSED,
    EVENT_TYPE_CREATED,
    EVENT_TYPE_DELETED,
    EVENT_TYPE_MODIFIED,
    EVENT_TYPE_MOVED,
    FileSystemEvent,
    FileSystemEventHandler,
)

from seqc import console
from seqc.cache import Cache
from seqc.commands import load_and_plan, open_cache, render_options
from seqc.errors import InputError, Problem, SeqcError, SpecError
from seqc.fsutil import TEMP_MARK
from seqc.plan import Plan, SegmentJob, compile_plan
from seqc.render import RenderOptions, RenderResult, Reporter, Superseded, render
from seqc.spec import Storyboard, read_storyboard_bytes

# How often the idle loop wakes to notice a watched folder that was deleted and recreated
# (its inotify watch died with it) and to let `stop()` end the loop.
TICK_SECONDS = 0.5
# How often the polling observer re-reads the watched folders.
POLL_SECONDS = 0.5
# inotify's "no more watches" and "no more instances": fall back to polling.
_LIMIT_ERRNOS = (errno.ENOSPC, errno.EMFILE)

# Events that can mean a file's content changed. Opened, closed-without-writing and attribute
# changes cannot (and the render itself opens every keyframe, so counting them would loop).
_FILE_EVENTS = frozenset({EVENT_TYPE_CREATED, EVENT_TYPE_MODIFIED, EVENT_TYPE_MOVED, EVENT_TYPE_DELETED,
                          EVENT_TYPE_CLOSED})
# A folder on the way to a watched file appearing, disappearing or moving (never "modified":
# a folder is modified by every change inside it).
_DIR_EVENTS = frozenset({EVENT_TYPE_CREATED, EVENT_TYPE_MOVED, EVENT_TYPE_DELETED})

# Editor temp, swap and backup files: vim (.swp, .swo, ... and .swx, its probe), `file~`
# backups, JetBrains' safe-write pair, Emacs lock (.#file) and autosave (#file#) files,
# Kate's swap files, generic *.tmp, and seqc's own pid-stamped temp files (`.tmp-`).
_EDITOR_SUFFIXES = (".swx", "~", ".___jb_tmp___", ".___jb_old___", ".tmp", ".kate-swp")
_VIM_SWAP_RE = re.compile(r"\.sw[a-p]$")


def is_editor_temp(name: str) -> bool:
    """Whether a file name is an editor's temp/swap/backup file or a seqc temp file (never a save)."""
    return (
        name.endswith(_EDITOR_SUFFIXES)
        or _VIM_SWAP_RE.search(name) is not None
        or name.isdigit()  # vim probes whether it may write a folder with a file named 4913 (5036, ...)
        or name.startswith(".#")
        or (name.startswith("#") and name.endswith("#"))
        or TEMP_MARK in name
    )


def nearest_folder(path: Path) -> Path:
    """`path` if it is a folder, else its nearest ancestor that is (a folder that does not exist yet
    is watched through its parent, whose "created" event then says it appeared)."""
    while not path.is_dir() and path.parent != path:
        path = path.parent
    return path


def referenced_images(story_file: Path) -> set[Path]:
    """Best effort: the keyframe image paths a storyboard names, even when it is invalid.

    So that a keyframe added to the storyboard before its image exists is watched, and the
    render happens when the image is saved. Anything unreadable gives an empty set.
    """
    import yaml

    try:
        # Refuses FIFOs, devices and oversized files before reading, as loading does.
        doc = yaml.safe_load(read_storyboard_bytes(story_file, str(story_file)))
    except (SpecError, OSError, yaml.YAMLError, ValueError):
        return set()
    keyframes = doc.get("keyframes") if isinstance(doc, dict) else None
    if not isinstance(keyframes, dict):
        return set()
    base = story_file.absolute().parent
    found = set()
    for kf in keyframes.values():
        image = kf.get("image") if isinstance(kf, dict) else None
        if isinstance(image, str) and image and "\0" not in image:
            found.add((base / Path(image).expanduser()).absolute())
    return found


def _identity(folder: Path) -> tuple[int, int] | None:
    """(device, inode) of a folder, or None if it is gone: a new identity means a new folder."""
    try:
        st = os.stat(folder)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _observer_name(observer) -> str:
    """A short name for the observer's mechanism: inotify, fsevents, kqueue, winapi or polling."""
    name = type(observer).__name__.replace("Observer", "").lower()
    return {"windowsapi": "winapi", "": "native"}.get(name, name)


def _indices(indices: Iterable[int]) -> str:
    return "[" + ", ".join(str(i) for i in indices) + "]"


# ---------------------------------------------------------------------------------------------
# What the user sees: plain log lines (--quiet, or stderr not a terminal) or a live view.


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
        todo = [job.segment.index for job in plan.missing]
        self.line(f"rendering: {reason}; {len(todo)} of {len(plan.jobs)} segments to render {_indices(todo)}")

    def rendered(self, result: RenderResult) -> None:
        where = result.output if result.output is not None else "PNG frames"
        self.line(f"rendered: {result.rendered} of {result.segments} segments {_indices(result.rendered_segments)}, "
                  f"{result.cached} cached, {result.frames} frames in {result.seconds:.2f} s -> {where}", "green")

    def superseded(self, reason: str) -> None:
        self.line(f"superseded: {reason} during the render; re-planning", "yellow")

    def loaded(self) -> None:
        """The storyboard loaded without errors (the live view clears the last problems)."""

    def invalid(self, story: Path, problems: list[Problem], kept: bool) -> None:
        keep = "keeping the last good storyboard" if kept else "waiting for a valid save"
        self.line(f"error: {story.name} is invalid; {keep}", "red")
        console.print_problems(problems)

    def failed(self, message: str) -> None:
        self.line(f"error: {message}", "red")

    def warn(self, message: str) -> None:
        console.warn(message)

    def reporter(self) -> Reporter:
        """Render callbacks: only warnings, printed as they come."""
        reporter = Reporter()
        reporter.warn = self.warn  # type: ignore[method-assign]
        return reporter


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
        todo = [job.segment.index for job in plan.missing]
        self.state, self.detail = "rendering", [f"{reason}; {len(todo)} of {len(plan.jobs)} segments to render"]

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

    def failed(self, message: str) -> None:
        super().failed(message)
        self.state, self.detail = "error", [message]

    def reporter(self) -> Reporter:
        return _LiveReporter(self)


class _LiveReporter(Reporter):
    """Feeds the live view's progress bars: the whole render and the current segment."""

    def __init__(self, view: LiveView):
        self.view = view
        self.progress = view.progress
        self.total = None
        self.current = None

    def begin(self, plan, todo, frames_to_render):
        for task in list(self.progress.task_ids):
            self.progress.remove_task(task)
        self.total = self.progress.add_task(f"{len(todo)} of {len(plan.jobs)} segments", total=frames_to_render)

    def stage(self, text):
        self.view.detail = [text]

    def segment_begin(self, job: SegmentJob, frames: int):
        if self.current is not None:
            self.progress.remove_task(self.current)
        seg = job.segment
        self.current = self.progress.add_task(escape(f"segment {seg.index}: {seg.source} -> {seg.target}"),
                                              total=frames)
        self.view.detail = [f"rendering segment {seg.index}"]

    def advance(self, frames):
        for task in (self.total, self.current):
            if task is not None:
                self.progress.update(task, advance=frames)

    def warn(self, message):
        self.view.warn(message)


# ---------------------------------------------------------------------------------------------
# The watcher


class _EventHandler(FileSystemEventHandler):
    """Runs in watchdog's thread: forwards every event to `Watcher.on_event`, never raising."""

    def __init__(self, watcher: Watcher):
        super().__init__()
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            self.watcher.on_event(event)
        except Exception:  # noqa: BLE001 - an exception here would kill the observer thread
            self.watcher.mark_dirty(str(self.watcher.story))  # when in doubt, render: cheap if nothing changed


class Watcher:
    """Render a storyboard, then re-render on every relevant save until Ctrl-C (or `stop()`).

    `run()` is the main loop and must run in the main thread when Ctrl-C should stop it
    (KeyboardInterrupt propagates after cleanup; the CLI maps it to exit code 130).
    """

    def __init__(self, story: Path, cache: Cache, options: RenderOptions, *, debounce: float = 0.3,
                 poll: bool = False, view: LogView | None = None, debug: bool = False, draft: bool = False):
        self.story = Path(story)
        self.draft = draft
        self.cache = cache
        self.options = options
        self.debounce = max(0.0, float(debounce))
        self.view = view or LogView()
        self.debug = debug
        self.polling = poll

        # Shared with watchdog's thread: the last relevant event's time and what changed.
        self._lock = threading.Lock()
        self._dirty = threading.Event()
        self._stopping = threading.Event()
        self._last_change = 0.0
        self._changed: list[str] = []
        # What to watch. `_wanted` (absolute and resolved paths of the watched files) and
        # `_ancestors` (their folders, up to /) are replaced whole, so the other thread
        # always sees a consistent set.
        self._files: set[Path] = set()
        self._wanted: frozenset[str] = frozenset()
        self._ancestors: frozenset[str] = frozenset()
        # The observer and its watches: folder -> (watch, the folder's identity when scheduled).
        self._handler = _EventHandler(self)
        self._observer = None
        self._watches: dict[Path, tuple[object, tuple[int, int] | None]] = {}
        # Watched folders whose own watch reported them deleted (inotify's watch dies with its
        # folder; a folder recreated at once may even get the same inode, so identity alone
        # cannot tell). Written by watchdog's thread under `_lock`.
        self._dead: set[Path] = set()
        self._watch_summary: tuple | None = None
        self._warned: set[Path] = set()
        # The last storyboard that loaded without errors, and whether a newer edit interrupted its
        # render (then a bad edit does not leave the output behind: the good one is finished).
        self.last_good: Storyboard | None = None
        self._unfinished = False

    # -- the main loop ---------------------------------------------------------------------------

    def run(self) -> None:
        """Render now, then after every settled burst of changes, until interrupted or stopped."""
        try:
            with self.view:
                # 1. Start watching the storyboard's folder, and render at once.
                self.set_files({self.story.absolute()} | referenced_images(self.story))
                self._start_observer()
                self._refresh_watches()
                self.mark_dirty("", at=time.monotonic() - self.debounce)
                while not self._stopping.is_set():
                    # 2. Wait for a change, waking now and then to re-check the watched folders
                    #    (one deleted and recreated took its watch with it: watch it again).
                    if not self._dirty.wait(TICK_SECONDS):
                        for folder in self._refresh_watches():
                            self.mark_dirty(str(folder))
                        continue
                    # 3. Debounce on the trailing edge: go on once no event has come for `debounce` s.
                    with self._lock:
                        remaining = self._last_change + self.debounce - time.monotonic()
                    if remaining > 0:
                        self._stopping.wait(remaining)
                        continue
                    # 4. Take the change. The flag is cleared *before* the files are read, so an
                    #    edit from here on sets it again and supersedes (or follows) this render.
                    reason = self._take_change()
                    # 5. Load and plan; on a bad storyboard show why and keep the last good one.
                    plan = self._load()
                    # 6. Watch what the storyboard references now (the set follows its edits).
                    self._watch_for(plan.storyboard if plan is not None else None)
                    if plan is None:
                        # A bad edit that interrupted a render: finish the last good storyboard.
                        plan = self._replan_unfinished()
                        reason = f"{self.story.name} is invalid; finishing the last good storyboard"
                    if plan is None:
                        continue
                    # 7. Render what the plan needs; a newer edit stops it at the next frame batch.
                    self._render(plan, reason)
        finally:
            # 8. Stop watchdog's thread and wait for it (the render cleaned up after itself).
            self._stop_observer()

    def stop(self) -> None:
        """Ask `run()` to return (from another thread; used when running in-process)."""
        self._stopping.set()
        self._dirty.set()

    # -- called from watchdog's thread -----------------------------------------------------------

    def on_event(self, event: FileSystemEvent) -> None:
        """Mark the watcher dirty if the event touches a watched file (or a folder on the way to one)."""
        if event.is_directory and event.event_type == EVENT_TYPE_DELETED:
            folder = Path(os.path.normpath(os.fsdecode(event.src_path)))
            if folder in self._watches:
                with self._lock:
                    self._dead.add(folder)
        path = self.relevant_path(event)
        if path is not None:
            self.mark_dirty(path)

    def relevant_path(self, event: FileSystemEvent) -> str | None:
        """The watched path an event touches (its source or, for a move, its destination), or None."""
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if not raw:
                continue
            path = os.path.normpath(os.fsdecode(raw))
            if event.is_directory:
                if event.event_type in _DIR_EVENTS and path in self._ancestors:
                    return path
            elif (event.event_type in _FILE_EVENTS and path in self._wanted
                  and not is_editor_temp(os.path.basename(path))):
                return path
        return None

    def mark_dirty(self, path: str, at: float | None = None) -> None:
        """Record a change (the debounce restarts) and wake the main loop."""
        with self._lock:
            self._last_change = time.monotonic() if at is None else at
            if path and path not in self._changed:
                self._changed.append(path)
            self._dirty.set()

    # -- the steps -------------------------------------------------------------------------------

    def _take_change(self) -> str:
        """Clear the dirty flag and say what changed, for the log."""
        with self._lock:
            self._dirty.clear()
            changed, self._changed = self._changed, []
        if not changed:
            return f"{self.story.name}: first render"
        names = sorted({self._display(p) for p in changed})
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        return f"{shown} changed"

    def _display(self, path: str) -> str:
        """A path as the user thinks of it: relative to the storyboard's folder when inside it."""
        try:
            return os.path.relpath(path, self.story.absolute().parent)
        except ValueError:
            return path

    def _load(self) -> Plan | None:
        """Validate the storyboard and compile its plan; None (with the problems shown) if it cannot be."""
        try:
            plan = load_and_plan(str(self.story), self.cache, draft=self.draft)
        except SpecError as exc:
            self.view.invalid(self.story, exc.problems, kept=self.last_good is not None)
        except (SeqcError, OSError) as exc:
            self._show_failure("cannot plan", exc)
        else:
            self.last_good = plan.storyboard
            self.view.loaded()
            return plan
        return None

    def _replan_unfinished(self) -> Plan | None:
        """A fresh plan of the last good storyboard if a newer (now invalid) edit interrupted its render."""
        if not self._unfinished or self.last_good is None:
            return None
        try:
            return compile_plan(self.last_good, self.cache)
        except (SeqcError, OSError) as exc:
            self._unfinished = False
            self._show_failure("cannot plan", exc)
        return None

    def _render(self, plan: Plan, reason: str) -> None:
        """Render the plan, reporting the result; a superseded or failed render is shown, never raised."""
        self.view.rendering(reason, plan)
        try:
            result = render(plan, self.cache, self.options, self.view.reporter(), should_stop=self._dirty.is_set)
        except Superseded:
            self._unfinished = True
            with self._lock:
                changed = list(self._changed)
            self.view.superseded(", ".join(sorted({self._display(p) for p in changed})) + " changed"
                                 if changed else "stopped")
            return
        except SpecError as exc:  # a keyframe that cannot be decoded, found at render time
            self._unfinished = False
            self.view.invalid(self.story, exc.problems, kept=self.last_good is not None)
            return
        except Exception as exc:  # noqa: BLE001 - a failed render is shown; the watcher goes on
            self._unfinished = False
            self._show_failure("render failed", exc)
            return
        self._unfinished = False
        self.view.rendered(result)

    def _show_failure(self, what: str, exc: BaseException) -> None:
        message = str(exc) if isinstance(exc, SeqcError) else f"{type(exc).__name__}: {exc}"
        self.view.failed(f"{what}: {message}")
        if self.debug:
            traceback.print_exc()

    # -- what to watch ---------------------------------------------------------------------------

    def _watch_for(self, story: Storyboard | None) -> None:
        """Watch the storyboard and its keyframe images: the valid storyboard's, else every image the
        file names plus the last good storyboard's (so fixing either one triggers a render)."""
        files = {self.story.absolute()}
        if story is not None:
            files |= {kf.image for kf in story.keyframes.values() if kf.image is not None}
        else:
            files |= referenced_images(self.story)
            if self.last_good is not None:
                files |= {kf.image for kf in self.last_good.keyframes.values() if kf.image is not None}
        if files != self._files:
            self.set_files(files)
        self._refresh_watches()

    def set_files(self, files: set[Path]) -> None:
        """Replace the watched files (the event thread reads `_wanted`/`_ancestors`, so swap them whole)."""
        wanted, ancestors = set(), set()
        for file in files:
            for form in {os.path.abspath(file), os.path.realpath(file)}:
                wanted.add(form)
                parent = os.path.dirname(form)
                while parent not in ancestors:
                    ancestors.add(parent)
                    if os.path.dirname(parent) == parent:
                        break
                    parent = os.path.dirname(parent)
        self._files = set(files)
        self._wanted, self._ancestors = frozenset(wanted), frozenset(ancestors)

    # -- the observer ----------------------------------------------------------------------------

    def _new_observer(self, polling: bool):
        """A watchdog observer: the native one (inotify on Linux), or the polling one."""
        if polling:
            from watchdog.observers.polling import PollingObserver

            return PollingObserver(timeout=POLL_SECONDS)
        from watchdog.observers import Observer

        return Observer()

    def _start_observer(self) -> None:
        """Start the observer (native, or polling with --poll or when inotify refuses to start)."""
        observer = self._new_observer(self.polling)
        try:
            observer.start()
        except OSError as exc:
            if self.polling or exc.errno not in _LIMIT_ERRNOS:
                raise
            self._fall_back_to_polling(exc, observer)
            return
        self._observer = observer

    def _fall_back_to_polling(self, exc: OSError, observer) -> None:
        """inotify ran out of watches or instances: stop it and poll instead (slower, but it works).
        The caller schedules the folders again on the new observer."""
        self.view.warn(f"cannot watch with {_observer_name(observer)} ({exc.strerror or exc}); polling instead "
                       "(raise fs.inotify.max_user_watches / max_user_instances to avoid this)")
        self._stop(observer)
        self._watches.clear()
        self.polling = True
        self._observer = self._new_observer(True)
        self._observer.start()

    def _refresh_watches(self) -> list[Path]:
        """Watch exactly the folders the watched files need; return those that were replaced
        (deleted and recreated: their files may have changed with no event seen)."""
        while True:
            try:
                return self._reschedule()
            except OSError as exc:  # only inotify's limits reach here
                self._fall_back_to_polling(exc, self._observer)

    def _reschedule(self) -> list[Path]:
        assert self._observer is not None
        # Folders of the files as named and, for symlinks, of what they point to.
        needed = {nearest_folder(Path(path).parent) for path in self._wanted}
        replaced = []
        # 1. Drop watches no longer needed, or whose folder was replaced by another of the same name.
        with self._lock:
            dead, self._dead = self._dead, set()
        for folder, (watch, ident) in list(self._watches.items()):
            now = _identity(folder)
            if folder in needed and now == ident and folder not in dead:
                continue
            if folder in needed and ident is not None:
                replaced.append(folder)
            del self._watches[folder]
            try:
                self._observer.unschedule(watch)
            except (KeyError, OSError):
                pass  # the folder's watch already died with the folder
        # 2. Watch the needed folders not yet watched (an OSError for a limit goes to the caller).
        for folder in sorted(needed - set(self._watches)):
            ident = _identity(folder)
            try:
                watch = self._observer.schedule(self._handler, str(folder), recursive=False)
            except OSError as exc:
                if exc.errno in _LIMIT_ERRNOS and not self.polling:
                    raise
                if folder not in self._warned:
                    self._warned.add(folder)
                    self.view.warn(f"cannot watch {folder}: {exc.strerror or exc}")
                continue
            self._warned.discard(folder)
            self._watches[folder] = (watch, ident)
        # 3. Say what is watched when that changes.
        summary = (len(self._files) - 1, len(self._watches), _observer_name(self._observer))
        if summary != self._watch_summary:
            self._watch_summary = summary
            self.view.watching(self.story, *summary)
        return replaced

    def _stop_observer(self) -> None:
        if self._observer is not None:
            self._stop(self._observer)
            self._observer = None
        self._watches.clear()

    @staticmethod
    def _stop(observer) -> None:
        """Stop an observer thread and wait for it (it is a daemon thread: a stuck one cannot block exit)."""
        try:
            observer.stop()
            if observer.is_alive():
                observer.join(timeout=5)
        except (OSError, RuntimeError):
            pass


# ---------------------------------------------------------------------------------------------
# seqc watch


def watch_command(args: argparse.Namespace) -> int:
    """`seqc watch FILE`: render, then re-render on every save until Ctrl-C (exit 130)."""
    if args.debounce < 0:
        raise InputError("--debounce must be 0 or more seconds")
    options = render_options(args)
    live = not args.quiet and console.err.is_terminal
    watcher = Watcher(Path(args.file), open_cache(args), options, debounce=args.debounce, poll=args.poll,
                      draft=args.draft,
                      view=LiveView() if live else LogView(),
                      debug=getattr(args, "debug", False) or os.environ.get("SEQC_DEBUG") == "1")
    watcher.run()  # returns only after stop(); Ctrl-C propagates as KeyboardInterrupt (exit 130)
    return 0


__all__ = ["LiveView", "LogView", "Watcher", "is_editor_temp", "nearest_folder", "referenced_images",
           "watch_command"]
