"""The Cache: one object over the store's folder, made of one mixin per job.

    entries.py  latents, embeds and clips by key, verified on read, published atomically
    memo.py     file hashes and passed image checks, by stat (`files.json`)
    runs.py     what the last render of each storyboard used (`runs/<id>.json`)
    lease.py    the keys a running render uses (`leases/`)
    gc.py       gc and clear
    locks.py    `.publish.lock` and `.gc.lock`

This package imports only the standard library (plus seqc.errors): `seqc plan` must run
without torch or numpy.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from seqc.store.entries import EntryStore
from seqc.store.gc import Collector
from seqc.store.lease import Leases
from seqc.store.locks import Locks
from seqc.store.memo import FileMemo
from seqc.store.runs import RunRecords


def print_warning(message: str) -> None:
    """Default warning sink of a Cache: one line on stderr."""
    print(f"seqc: warning: {message}", file=sys.stderr)


class Cache(EntryStore, FileMemo, RunRecords, Leases, Collector, Locks):
    """A content-addressed store of latents and clips under `root`."""

    def __init__(self, root: Path | str, warn: Callable[[str], None] | None = None):
        self.root = Path(os.path.abspath(root))
        self.warn = warn if warn is not None else print_warning
        self._local = threading.local()  # the publish lock's re-entry depth, per thread
        self._init_memo()
        self._unsynced: list[tuple[Path, str, dict]] = []  # published, not yet synced (EntryStore)
        self._sidecars: dict[str, tuple] = {}  # sidecars parsed by this object, by stat (EntryStore)
