"""The watcher of `seqc watch`: render once, then re-render what changed on every save of the storyboard or its keyframes.

How it works:

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

import os
import queue
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from watchdog.events import EVENT_TYPE_DELETED, FileSystemEvent, FileSystemEventHandler

from seqc import interrupts
from seqc.errors import SeqcError, SpecError
from seqc.outputs.produce import FramesOutput, Output, VideoOutput, produce
from seqc.outputs.video import check_output
from seqc.plan import Plan, compile_plan
from seqc.render.options import RenderOptions
from seqc.render.session import Session
from seqc.render.stop import Superseded
from seqc.spec import Storyboard
from seqc.store import Cache
from seqc.ui.load import load_and_plan
from seqc.watch.events import (
    DIR_EVENTS,
    FILE_EVENTS,
    is_editor_temp,
    referenced_images,
)
from seqc.watch.observer import FolderWatches
from seqc.watch.views import LogView, View

if TYPE_CHECKING:
    from seqc.app.executors import ExecutorSettings
    from seqc.render.execute import Executor

# How often the idle loop wakes to notice a watched folder that was deleted and recreated
# (its inotify watch died with it) and to let `stop()` end the loop.
TICK_SECONDS = 0.5


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


class Watcher(FolderWatches):
    """Render a storyboard, then re-render on every relevant save until Ctrl-C (or `stop()`).

    `run()` is the main loop and must run in the main thread when Ctrl-C should stop it
    (KeyboardInterrupt propagates after cleanup; the CLI maps it to exit code 130).
    Every render uses `session` (its model stays loaded between renders; None: the watcher's own,
    closed when `run()` returns) and the executor `executor_settings` names (None: this process).
    """

    def __init__(self, story: Path, cache: Cache, options: RenderOptions | None = None, *,
                 session: Session | None = None, executor_settings: ExecutorSettings | None = None,
                 output: Path | None = None, frames: Path | None = None, frame_format: str = "png",
                 debounce: float = 0.3, poll: bool = False, view: View | None = None, debug: bool = False,
                 draft: bool = False):
        self.story = Path(story)
        self.draft = draft
        self.cache = cache
        self.options = options or RenderOptions()
        self._owns_session = session is None
        self.session = session or Session()
        self.executor_settings = executor_settings
        self.output = output  # -o: the video file, instead of the storyboard's output.path
        self.frames = frames  # --frames DIR: image frames instead of a video
        self.frame_format = frame_format  # --frame-format: png, png16, exr or tiff16
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
        self._fresh: list[Path] = []
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
        # Work other threads hand to the main thread, run between renders (seqc.handoff: a
        # `seqc render` on this cache); `_wake` ends the idle wait for a task as for a change.
        self._tasks: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._wake = threading.Event()
        self.rendering = False  # read by other threads: whether a task would wait for a render

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
                    #    (one deleted and recreated took its watch with it: watch it again), and
                    #    run the tasks handed over meanwhile.
                    self._run_tasks()
                    if not self._wait(TICK_SECONDS):
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
                    self.rendering = True
                    try:
                        self._render(plan, reason)
                    finally:
                        self.rendering = False
        finally:
            # 8. Stop watchdog's thread and wait for it (the render cleaned up after itself).
            self._stop_observer()
            if self._owns_session:
                self.session.close()

    def stop(self) -> None:
        """Ask `run()` to return (from another thread; used when running in-process)."""
        self._stopping.set()
        self._dirty.set()
        self._wake.set()

    def post(self, task: Callable[[], None]) -> None:
        """Run `task` in the main thread between renders (from another thread)."""
        self._tasks.put(task)
        self._wake.set()

    def _run_tasks(self) -> None:
        while not self._stopping.is_set():
            try:
                task = self._tasks.get_nowait()
            except queue.Empty:
                return
            task()

    def _wait(self, timeout: float) -> bool:
        """Wait for a change or a task; True if a change is pending."""
        if self._dirty.is_set():
            return True
        self._wake.wait(timeout)
        self._wake.clear()
        return self._dirty.is_set()

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
                if event.event_type in DIR_EVENTS and path in self._ancestors:
                    return path
            elif (event.event_type in FILE_EVENTS and path in self._wanted
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
            self._wake.set()

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
            plan = load_and_plan(str(self.story), self.cache, draft=self.draft, precision=self.precision(),
                                 audio=self.session.audio)
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
            return compile_plan(self.last_good, self.cache, precision=self.precision(), audio=self.session.audio)
        except (SeqcError, OSError) as exc:
            self._unfinished = False
            self._show_failure("cannot plan", exc)
        return None

    def _render(self, plan: Plan, reason: str) -> None:
        """Render the plan, reporting the result; a superseded or failed render is shown, never raised."""
        self.view.rendering(reason, plan)
        try:
            result = produce(plan, self.cache, self.options, self._output_for(plan.storyboard), self.view.reporter(),
                             should_stop=self._dirty.is_set, session=self.session, executor=self._executor())
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
            interrupts.raise_if_interrupted(exc)  # unless it is a Ctrl-C a library wrapped
            self._unfinished = False
            self._show_failure("render failed", exc)
            return
        self._unfinished = False
        self.view.rendered(result)

    def precision(self) -> str:
        """The precision to plan for: the one the session's model showed, else the guess."""
        return self.session.models.precision(self.options.device, self.options.dtype)

    def _executor(self) -> Executor | None:
        """Who renders the missing segments (seqc.app.executors); None: this process."""
        if self.executor_settings is None:
            return None
        from seqc.app.executors import executor_for

        return executor_for(self.executor_settings, self.session)

    def _output_for(self, story: Storyboard) -> Output:
        """The output step for this version of the storyboard (its output.path may have changed)."""
        if self.frames is not None:
            return FramesOutput(self.frames, self.frame_format)
        target = VideoOutput((self.output or story.output.path).absolute())
        check_output(story, target.path, self.cache)
        return target

    def _show_failure(self, what: str, exc: BaseException) -> None:
        message = str(exc) if isinstance(exc, SeqcError) else f"{type(exc).__name__}: {exc}"
        self.view.failed(f"{what}: {message}")
        if self.debug:
            traceback.print_exc()
