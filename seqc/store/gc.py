"""Garbage collection: dead temp files, stale leases, invalid entries, then old or least
recently used entries down to a size cap, never an entry a live lease names."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Iterable
from pathlib import Path

from seqc.store import atomic
from seqc.store.entries import Entry, EntryStore
from seqc.store.kinds import CACHED, INVALID, Key, check_key, check_kind
from seqc.store.lease import Leases
from seqc.store.locks import Locks
from seqc.store.memo import FileMemo
from seqc.store.runs import RunRecords
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
    """The Cache's `gc()` and `clear()`, over its entries, file memo, run records and leases, under
    the root's gc lock (a second gc fails at once) and publish lock (each deletion re-checks)."""

    def __init__(self, root: Path, locks: Locks, entries: EntryStore, memo: FileMemo, runs: RunRecords,
                 leases: Leases):
        self.root = root
        self.locks = locks
        self.entries = entries
        self.memo = memo
        self.runs = runs
        self.leases = leases

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
        with self.locks.gc_lock():
            return self._collect(max_size, protected, older_than)

    def clear(self) -> GcReport:
        """Delete every entry, run record and the memo, keeping the root and its `.gitignore`.

        Entries leased by a running render are kept (the report counts them in `kept_in_use`).
        """
        with self.locks.gc_lock():
            report = self._collect(0, set(), None)
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                for path in sorted((self.root / "runs").glob("*.json")):
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
                        report.removed_files.append(path)
            with contextlib.suppress(FileNotFoundError):
                self.memo.path.unlink()
                report.removed_files.append(self.memo.path)
            self.memo.forget()
        return report

    def _collect(self, max_size: int | None, keep: set[Key], older_than: float | None) -> GcReport:
        """The body of gc and clear, run while holding the gc lock."""
        report = GcReport(max_size=max_size)
        # 1. Temp files of dead writers (a live process's temp file is left alone).
        report.removed_temps = atomic.remove_dead_temps(self.root)
        # 2. Leases whose process is gone.
        report.removed_leases = self.leases.remove_stale()
        # 3. Entries that can never be a hit: orphans, unreadable sidecars, wrong sizes.
        entries = list(self.entries.entries())
        report.size_before = sum(entry.disk_size for entry in entries)
        valid = []
        for entry in entries:
            if entry.status == CACHED:
                valid.append(entry)
                continue
            with self.locks.publish_lock():
                status, problem, _ = self.entries.inspect(entry.kind, entry.key)
                if status == INVALID:
                    self.entries.delete_entry(entry.kind, entry.key)
                    report.removed_invalid.append((entry, problem))
                elif status == CACHED:
                    fresh = self.entries.entry(entry.kind, entry.key)
                    if fresh is not None:
                        valid.append(fresh)
        # 4. Memo records of files that are gone or changed.
        report.pruned_memo = self.memo.prune()
        # 5. Old entries, then least recently used ones until at or under the cap. An entry's last
        #    use is its publish or the newest run record that used it (a hit writes nothing).
        uses = self.runs.recorded_uses()

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
        report.size_after = self.entries.total_size()
        return report

    def _delete_if_unused(self, entry: Entry) -> bool:
        """Delete a valid entry unless a lease names it or it was used since the scan."""
        with self.locks.publish_lock():
            if (entry.kind, entry.key) in self.leases.leased_keys():
                return False
            try:
                mtime = os.stat(self.entries.sidecar(entry.kind, entry.key)).st_mtime
            except FileNotFoundError:
                return False
            if mtime != entry.mtime:
                return False
            self.entries.delete_entry(entry.kind, entry.key)
            return True
