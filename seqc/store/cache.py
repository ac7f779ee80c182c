"""The Cache: one object over the store's folder, composed of one part per job.

    locks.py    the root folder, `.publish.lock` and `.gc.lock`            cache.locks
    memo.py     file hashes and passed checks, by stat (`files.json`)      cache.memo
    entries.py  latents, embeds and clips by key, verified on read         cache.entry_store
    runs.py     what the last render of each storyboard used (`runs/`)     cache.runs
    lease.py    the keys a running render uses (`leases/`)                 cache.leases
    gc.py       gc and clear                                               cache.collector

Each part gets what it uses in its constructor; `Cache` builds them in that order and forwards its
public methods to them, so callers keep one object. This package imports only the standard library
(plus seqc.errors): `seqc plan` must run without torch or numpy.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

from seqc.store.entries import Entry, EntryStore
from seqc.store.gc import Collector, GcReport
from seqc.store.kinds import Key
from seqc.store.lease import Lease, Leases
from seqc.store.locks import Locks
from seqc.store.memo import FileMemo
from seqc.store.runs import RunRecords


def print_warning(message: str) -> None:
    """Default warning sink of a Cache: one line on stderr."""
    print(f"seqc: warning: {message}", file=sys.stderr)


class Cache:
    """A content-addressed store of latents and clips under `root` (see the parts for the details)."""

    def __init__(self, root: Path | str, warn: Callable[[str], None] | None = None):
        self.root = Path(os.path.abspath(root))
        self.warn = warn if warn is not None else print_warning
        self.locks = Locks(self.root)
        self.memo = FileMemo(self.root, self.locks)
        self.entry_store = EntryStore(self.root, self.locks, self.memo, self.warn)
        self.runs = RunRecords(self.root, self.locks)
        self.leases = Leases(self.root, self.locks)
        self.collector = Collector(self.root, self.locks, self.entry_store, self.memo, self.runs, self.leases)

    def ensure_root(self) -> None:
        """Make the cache folder (tagged as a cache) if it is not there."""
        self.locks.ensure_root()

    # -- entries (seqc.store.entries) ---------------------------------------------------------

    def path(self, kind: str, key: str) -> Path:
        return self.entry_store.path(kind, key)

    def sidecar(self, kind: str, key: str) -> Path:
        return self.entry_store.sidecar(kind, key)

    def temp_path(self, kind: str, key: str) -> Path:
        return self.entry_store.temp_path(kind, key)

    def status(self, kind: str, key: str) -> str:
        return self.entry_store.status(kind, key)

    def get(self, kind: str, key: str) -> Path | None:
        return self.entry_store.get(kind, key)

    def read_facts(self, kind: str, key: str) -> dict:
        return self.entry_store.read_facts(kind, key)

    def read_inputs(self, kind: str, key: str) -> dict | None:
        return self.entry_store.read_inputs(kind, key)

    def put(self, kind: str, key: str, tmp: Path, inputs: Mapping, facts: Mapping | None = None) -> Path:
        return self.entry_store.put(kind, key, tmp, inputs, facts)

    def put_bytes(self, kind: str, key: str, data: bytes, inputs: Mapping) -> Path:
        return self.entry_store.put_bytes(kind, key, data, inputs)

    def sync_published(self) -> int:
        return self.entry_store.sync_published()

    def discard(self, kind: str, key: str, why: str) -> None:
        self.entry_store.discard(kind, key, why)

    def entries(self) -> Iterator[Entry]:
        return self.entry_store.entries()

    def total_size(self) -> int:
        return self.entry_store.total_size()

    def verify(self, repair: bool = False) -> list[tuple[Entry, str]]:
        return self.entry_store.verify(repair)

    # -- the file memo (seqc.store.memo) ------------------------------------------------------

    @property
    def racy_seconds(self) -> float:
        return self.memo.racy_seconds

    @racy_seconds.setter
    def racy_seconds(self, seconds: float) -> None:
        self.memo.racy_seconds = seconds

    def hash_file(self, path: Path | str) -> str:
        return self.memo.hash_file(path)

    def image_checked(self, path: Path, st: os.stat_result, rules: str) -> bool:
        return self.memo.image_checked(path, st, rules)

    def remember_image_check(self, path: Path, st: os.stat_result, rules: str) -> None:
        self.memo.remember_image_check(path, st, rules)

    def audio_checked(self, path: Path, st: os.stat_result, rules: str) -> int | None:
        return self.memo.audio_checked(path, st, rules)

    def remember_audio_check(self, path: Path, st: os.stat_result, rules: str, samples: int) -> None:
        self.memo.remember_audio_check(path, st, rules, samples)

    def save_memo(self) -> None:
        self.memo.save()

    def vouch(self, path: Path, digest: str) -> None:
        self.memo.vouch(path, digest)

    def vouched_digest(self, path: Path, st: os.stat_result) -> str | None:
        return self.memo.vouched_digest(path, st)

    # -- run records, leases, gc --------------------------------------------------------------

    def read_run(self, run_id: str) -> dict | None:
        return self.runs.read_run(run_id)

    def write_run(self, run_id: str, data: Mapping) -> None:
        self.runs.write_run(run_id, data)

    def recorded_uses(self) -> dict[tuple[str, str], float]:
        return self.runs.recorded_uses()

    def lease(self, keys: Iterable[Key] = ()) -> Lease:
        return self.leases.lease(keys)

    def gc(self, max_size: int | None = None, keep: Iterable[Key] = frozenset(),
           older_than: float | None = None) -> GcReport:
        return self.collector.gc(max_size, keep, older_than)

    def clear(self) -> GcReport:
        return self.collector.clear()
