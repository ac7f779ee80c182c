"""Garbage collection: dead temp files, stale leases, invalid entries, then old or least
recently used entries down to a size cap, never an entry a live lease names."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import _GeneratorContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from seqc.store import atomic
from seqc.store.entries import Entry
from seqc.store.kinds import CACHED, INVALID, Key, check_key, check_kind
from seqc.store.sizes import format_size


@dataclasses.dataclass
class GcReport:
    """What `gc()` or `clear()` deleted, and whether it reached the size cap."""

    size_before: int = 0
    size_after: int = 0
    max_size: int | None = None
    removed: list[Entry] = dataclasses.field(default_factory=list)  # valid, old or over the cap
    removed_invalid: list[tuple[Entry, str]] = dataclasses.field(default_factory=list)
    removed_temps: list[Path] = dataclasses.field(default_factory=list)
    removed_leases: list[Path] = dataclasses.field(default_factory=list)
    removed_files: list[Path] = dataclasses.field(default_factory=list)  # runs, memo (clear)
    pruned_memo: int = 0
    kept_in_use: int = 0  # entries gc would have deleted but kept: in `keep`, leased, just used
    over_cap: bool = False  # still over max_size because everything left is in use

    @property
    def freed(self) -> int:
        """Bytes freed (negative if other processes added more meanwhile)."""
        return self.size_before - self.size_after

    def summary(self) -> list[str]:
        """Human-readable lines for the CLI."""
        lines = [
            f"removed {len(self.removed)} entries, {len(self.removed_invalid)} invalid entries, "
            f"{len(self.removed_temps)} temp files, {len(self.removed_leases)} stale leases",
            f"size {format_size(self.size_before)} -> {format_size(self.size_after)}",
        ]
        if self.over_cap and self.max_size is not None:
            lines.append(
                f"still over the cap of {format_size(self.max_size)}: the {self.kept_in_use} "
                "entries left to delete are in use (kept, leased by a running render, or just used)"
            )
        return lines


class Collector:
    """Mixin of the Cache: `gc()` and `clear()` (needs the entry, memo, run, lease and lock mixins)."""

    root: Path
    recorded_uses: Callable[[], dict[tuple[str, str], float]]  # seqc.store.runs.RunRecords
    _memo: dict[str, dict] | None  # seqc.store.memo.FileMemo
    _prune_memo: Callable[[], int]  # seqc.store.memo.FileMemo
    _leased_keys: Callable[[], set[Key]]  # seqc.store.lease.Leases
    _remove_stale_leases: Callable[[], list[Path]]  # seqc.store.lease.Leases
    entries: Callable[[], Iterator[Entry]]  # seqc.store.entries.EntryStore
    total_size: Callable[[], int]  # seqc.store.entries.EntryStore
    sidecar: Callable[[str, str], Path]  # seqc.store.entries.EntryStore
    _inspect: Callable[[str, str], tuple[str, str, dict | None]]  # seqc.store.entries.EntryStore
    _entry: Callable[[str, str], Entry | None]  # seqc.store.entries.EntryStore
    _delete_entry: Callable[[str, str], None]  # seqc.store.entries.EntryStore
    _publish_lock: Callable[[], _GeneratorContextManager[None]]  # seqc.store.locks.Locks
    _gc_lock: Callable[[], _GeneratorContextManager[None]]  # seqc.store.locks.Locks
    if TYPE_CHECKING:
        @property
        def _memo_path(self) -> Path: ...  # seqc.store.memo.FileMemo

    def gc(
        self,
        max_size: int | None = None,
        keep: Iterable[Key] = frozenset(),
        older_than: float | None = None,
    ) -> GcReport:
        """Collect garbage; raise CacheError at once if another gc is running.

        Removes dead processes' temp files, stale leases, invalid entries and stale memo
        records; then valid entries unused for more than `older_than` seconds; then least
        recently used entries until the cache is at most `max_size` bytes. Entries in `keep`
        or in a live lease are never deleted; if only such entries are left above the cap,
        the report says so (`over_cap`).
        """
        if max_size is not None and max_size < 0:
            raise ValueError(f"max_size must be >= 0, got {max_size}")
        if older_than is not None and older_than < 0:
            raise ValueError(f"older_than must be >= 0 seconds, got {older_than}")
        protected = {(check_kind(kind), check_key(key)) for kind, key in keep}
        if not self.root.is_dir():
            return GcReport(max_size=max_size)  # nothing to collect; do not create the folder
        with self._gc_lock():
            return self._collect(max_size, protected, older_than)

    def clear(self) -> GcReport:
        """Delete every entry, run record and the memo, keeping the root and its `.gitignore`.

        Entries leased by a running render are kept (the report counts them in `kept_in_use`).
        """
        with self._gc_lock():
            report = self._collect(0, set(), None)
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                for path in sorted((self.root / "runs").glob("*.json")):
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
                        report.removed_files.append(path)
            with contextlib.suppress(FileNotFoundError):
                self._memo_path.unlink()
                report.removed_files.append(self._memo_path)
            self._memo = None
        return report

    def _collect(self, max_size: int | None, keep: set[Key], older_than: float | None) -> GcReport:
        """The body of gc and clear, run while holding the gc lock."""
        report = GcReport(max_size=max_size)
        # 1. Temp files of dead writers (a live process's temp file is left alone).
        report.removed_temps = atomic.remove_dead_temps(self.root)
        # 2. Leases whose process is gone.
        report.removed_leases = self._remove_stale_leases()
        # 3. Entries that can never be a hit: orphans, unreadable sidecars, wrong sizes.
        entries = list(self.entries())
        report.size_before = sum(entry.disk_size for entry in entries)
        valid = []
        for entry in entries:
            if entry.status == CACHED:
                valid.append(entry)
                continue
            with self._publish_lock():
                status, problem, _ = self._inspect(entry.kind, entry.key)
                if status == INVALID:
                    self._delete_entry(entry.kind, entry.key)
                    report.removed_invalid.append((entry, problem))
                elif status == CACHED:
                    fresh = self._entry(entry.kind, entry.key)
                    if fresh is not None:
                        valid.append(fresh)
        # 4. Memo records of files that are gone or changed.
        report.pruned_memo = self._prune_memo()
        # 5. Old entries, then least recently used ones until at or under the cap. An entry's last
        #    use is its publish or the newest run record that used it (a hit writes nothing).
        uses = self.recorded_uses()

        def last_use(entry: Entry) -> float:
            return max(entry.mtime, uses.get((entry.kind, entry.key), 0.0))

        valid.sort(key=lambda e: (last_use(e), e.kind, e.key))
        total = sum(entry.disk_size for entry in valid)
        cutoff = time.time() - older_than if older_than is not None else None
        for entry in valid:
            too_old = cutoff is not None and last_use(entry) < cutoff
            too_big = max_size is not None and total > max_size
            if not (too_old or too_big):
                break  # sorted oldest first: nothing later is older, and total only shrinks
            if (entry.kind, entry.key) in keep or not self._delete_if_unused(entry):
                report.kept_in_use += 1
                continue
            total -= entry.disk_size
            report.removed.append(entry)
        report.over_cap = max_size is not None and total > max_size
        report.size_after = self.total_size()
        return report

    def _delete_if_unused(self, entry: Entry) -> bool:
        """Delete a valid entry unless a lease names it or it was used since the scan."""
        with self._publish_lock():
            if (entry.kind, entry.key) in self._leased_keys():
                return False
            try:
                mtime = os.stat(self.sidecar(entry.kind, entry.key)).st_mtime
            except FileNotFoundError:
                return False
            if mtime != entry.mtime:
                return False
            self._delete_entry(entry.kind, entry.key)
            return True
