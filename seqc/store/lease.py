"""Leases: the keys a running render uses, which gc never deletes while the lease is held.

`leases/<pid>-<token>.lock` is held exclusively (flock) for a lease's whole life and the key
list lives in the separate `<name>.json` (rewritten atomically by `Lease.add`), so rewriting
it never drops the lock. gc calls a lease stale when it can take that lock, and re-reads the
key lists under the publish lock before each deletion, so a key leased before that moment is
never deleted.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from seqc.store import atomic
from seqc.store.files import json_bytes, read_json
from seqc.store.kinds import Key, check_key, check_kind
from seqc.store.locks import Locks


class Lease:
    """Keys a running render uses; gc never deletes them while the lease is held.

    The key list is `leases/<pid>-<token>.json`; liveness is an exclusive flock on the matching
    `.lock` file, held from `acquire()` to `release()`. The kernel drops it when the process
    dies, so gc can tell a stale lease by taking the lock. Use it as a context manager.
    """

    def __init__(self, leases: Leases, keys: Iterable[Key] = ()):
        self.leases = leases
        self.keys: set[Key] = set()
        for kind, key in keys:
            self.keys.add((check_kind(kind), check_key(key)))
        name = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.path = leases.folder / f"{name}.json"
        self.lock_path = self.path.with_suffix(".lock")
        self._fd: int | None = None
        self._mutex = threading.Lock()

    def acquire(self) -> Lease:
        """Take the lock, then write the key list (in that order, so gc never sees an unlocked one)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            # gc may have taken and unlinked the file between our open and flock: retry then.
            try:
                same = os.stat(self.lock_path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        self._fd = fd
        try:
            self._write()
        except BaseException:
            self.release()
            raise
        return self

    def add(self, kind: str, key: str) -> None:
        """Extend the lease by one key (rewrites the key list; the lock stays held)."""
        item = (check_kind(kind), check_key(key))
        with self._mutex:
            if item in self.keys:
                return
            self.keys.add(item)
            if self._fd is not None:
                self._write()

    def release(self) -> None:
        """Remove the key list, then the lock file, then drop the lock."""
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        with contextlib.suppress(FileNotFoundError):
            self.lock_path.unlink()
        os.close(self._fd)
        self._fd = None

    def _write(self) -> None:
        data = {"pid": os.getpid(), "created": time.time(), "keys": sorted(self.keys)}
        # Under the publish lock: gc re-reads leases under it before each deletion.
        with self.leases.locks.publish_lock():
            atomic.atomic_write_bytes(self.path, json_bytes(data), durable=False)  # dies with its process

    def __enter__(self) -> Lease:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


class Leases:
    """The Cache's leases (`leases/`): take one, and list or clean up the lease files (for gc)."""

    def __init__(self, root: Path, locks: Locks):
        self.folder = root / "leases"
        self.locks = locks  # a lease's key list is written under the publish lock

    def lease(self, keys: Iterable[Key] = ()) -> Lease:
        """A lease on `keys` (use with `with`); gc will not delete them while it is held."""
        return Lease(self, keys)

    def leased_keys(self) -> set[Key]:
        """Keys named by any lease file (stale ones included: over-protecting is harmless)."""
        keys: set[Key] = set()
        folder = self.folder
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            for path in folder.glob("*.json"):
                if path.name.startswith("."):
                    continue
                data = read_json(path)
                items = data.get("keys") if isinstance(data, dict) else None
                for item in items if isinstance(items, list) else []:
                    if isinstance(item, list) and len(item) == 2:
                        keys.add((item[0], item[1]))
        return keys

    def remove_stale(self) -> list[Path]:
        """Delete lease files whose lock nobody holds (their process is gone)."""
        folder = self.folder
        removed: list[Path] = []
        try:
            names = {p.stem for p in folder.iterdir() if p.suffix in (".json", ".lock")}
        except (FileNotFoundError, NotADirectoryError):
            return removed
        for name in sorted(n for n in names if not n.startswith(".")):
            json_path = folder / f"{name}.json"
            lock_path = folder / f"{name}.lock"
            try:
                fd: int | None = os.open(lock_path, os.O_RDWR)
            except FileNotFoundError:
                fd = None
            try:
                if fd is not None:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        continue  # a live lease
                # Nobody holds it. Unlink while holding the lock: a creator that opened this
                # file but has not locked it yet notices the unlink and starts over.
                for path in (json_path, lock_path):
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
                        removed.append(path)
            finally:
                if fd is not None:
                    os.close(fd)
        return removed
