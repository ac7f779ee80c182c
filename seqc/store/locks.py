"""The store's two flock locks (`fcntl.flock`, so the kernel drops a lock when its process dies).

- `.publish.lock`, blocking, held only for short critical sections: publishing an entry
  (re-check, sidecar out, content in, sidecar in), deleting one, writing a lease's key list,
  merging the file-hash memo. Whoever finds a bad entry re-checks it under this lock before
  deleting it, so a reader never deletes an entry that another process is halfway through
  publishing. Re-entrant within a thread.
- `.gc.lock`, non-blocking, held for a whole `gc()` or `clear()`: a second one fails at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from seqc.errors import CacheError
from seqc.store.atomic import atomic_write_bytes
from seqc.store.location import TAG_NAME, TAG_TEXT


class Locks:
    """The cache's root folder (made on first write, tagged as a cache) and its publish and gc locks."""

    def __init__(self, root: Path):
        self.root = root
        self._local = threading.local()  # the publish lock's re-entry depth, per thread

    def ensure_root(self) -> None:
        """Make the root folder, with the CACHEDIR.TAG that marks it as seqc's cache (seqc.store.location).
        Checked on every write (a `cache clear` or a user may remove the folder meanwhile): one stat."""
        if (self.root / TAG_NAME).is_file():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        if not (self.root / TAG_NAME).is_file():
            atomic_write_bytes(self.root / TAG_NAME, TAG_TEXT.encode())

    @contextlib.contextmanager
    def publish_lock(self) -> Iterator[None]:
        """Hold `.publish.lock` (blocking, re-entrant within a thread) for a short critical section."""
        if getattr(self._local, "depth", 0):
            self._local.depth += 1
            try:
                yield
            finally:
                self._local.depth -= 1
            return
        self.ensure_root()
        fd = os.open(self.root / ".publish.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._local.depth = 1
            try:
                yield
            finally:
                self._local.depth = 0
        finally:
            os.close(fd)  # closing drops the flock

    @contextlib.contextmanager
    def gc_lock(self) -> Iterator[None]:
        """Hold `.gc.lock` without waiting: a second gc fails at once with CacheError."""
        self.ensure_root()
        path = self.root / ".gc.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise CacheError(
                    f"another `seqc cache gc` is running (lock: {path}); try again when it finishes"
                ) from None
            yield
        finally:
            os.close(fd)
