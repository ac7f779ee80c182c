"""What `seqc watch` watches: the parent folders of the storyboard and its keyframe images, on
watchdog's native observer (inotify on Linux) or, when that runs out of watches, by polling.

A folder deleted and recreated takes its inotify watch with it: `_refresh_watches` notices (by
the folder's identity, or its own deletion event) and watches it again.
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from seqc.spec import Storyboard
from seqc.watch.events import identity, nearest_folder, referenced_images, story_inputs

if TYPE_CHECKING:
    from watchdog.events import FileSystemEventHandler

    from seqc.watch.views import View

# How often the polling observer re-reads the watched folders.
POLL_SECONDS = 0.5
# inotify's "no more watches" and "no more instances": fall back to polling.
_LIMIT_ERRNOS = (errno.ENOSPC, errno.EMFILE)


def _observer_name(observer) -> str:
    """A short name for the observer's mechanism: inotify, fsevents, kqueue, winapi or polling."""
    name = type(observer).__name__.replace("Observer", "").lower()
    return {"windowsapi": "winapi", "": "native"}.get(name, name)


class FolderWatches:
    """Mixin of the Watcher: the set of watched files and the observer's folder watches."""

    story: Path
    polling: bool
    mark_dirty: Callable[[str], None]  # the Watcher's
    _fresh: list[Path]
    last_good: Storyboard | None
    _lock: threading.Lock
    view: View  # the Watcher's
    _handler: FileSystemEventHandler  # the Watcher's, made in its __init__
    _watches: dict[Path, tuple[object, tuple[int, int] | None]]  # folder -> (watch, its identity then)
    _dead: set[Path]
    _watch_summary: tuple | None
    _warned: set[Path]

    def _watch_for(self, story: Storyboard | None) -> None:
        """Watch the storyboard, its keyframe images and soundtrack: the valid storyboard's, else every
        one the file names plus the last good storyboard's (so fixing either one triggers a render)."""
        files = {self.story.absolute()}
        if story is not None:
            files |= story_inputs(story)
        else:
            files |= referenced_images(self.story)
            if self.last_good is not None:
                files |= story_inputs(self.last_good)
        if files != self._files:
            self.set_files(files)
        self._refresh_watches()
        if story is None:
            # A folder first watched now, while the storyboard waits for a missing image, may
            # already hold it (made between the failed load and the new watch, so no event came):
            # look again instead of waiting for one.
            story_forms = {os.path.abspath(self.story), os.path.realpath(self.story)}
            for folder in self._fresh:
                if any(os.path.dirname(p) == str(folder) and os.path.exists(p)
                       for p in self._wanted - story_forms):
                    self.mark_dirty(str(folder))

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
        self._fresh = []  # folders watched for the first time by this call
        # 1. Drop watches no longer needed, or whose folder was replaced by another of the same name.
        with self._lock:
            dead, self._dead = self._dead, set()
        for folder, (watch, ident) in list(self._watches.items()):
            now = identity(folder)
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
            ident = identity(folder)
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
            self._fresh.append(folder)
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
