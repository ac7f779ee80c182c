"""Run records (`runs/<id>.json`): what the last render of a storyboard used.

The next plan compares each segment's key inputs with the record to say why it re-renders
(as Ninja's log does), and the record of the output lets a no-op render skip the concat. A
record's `uses` (the entries the render used) with the record's mtime is gc's "last use" of
those entries, so a cache hit never has to write anything.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from pathlib import Path

from seqc.store import atomic
from seqc.store.files import json_bytes, read_json
from seqc.store.locks import Locks

_RUN_ID_RE = re.compile(r"[0-9a-f]{1,128}")


class RunRecords:
    """The Cache's run records: read and write them by run id, and what they say was used (for gc)."""

    def __init__(self, root: Path, locks: Locks):
        self.root = root
        self.locks = locks

    def _run_path(self, run_id: str) -> Path:
        if not isinstance(run_id, str) or not _RUN_ID_RE.fullmatch(run_id):
            raise ValueError(f"invalid run id {run_id!r}: expected 1 to 128 lowercase hex characters")
        return self.root / "runs" / f"{run_id}.json"

    def read_run(self, run_id: str) -> dict | None:
        """What the last render of a storyboard used (for "why" reasons), or None if unknown."""
        data = read_json(self._run_path(run_id))
        return data if isinstance(data, dict) else None

    def write_run(self, run_id: str, data: Mapping) -> None:
        """Record what a render of a storyboard used, atomically."""
        self.locks.ensure_root()
        atomic.atomic_write_bytes(self._run_path(run_id), json_bytes(dict(data)), durable=False)  # reasons only

    def recorded_uses(self) -> dict[tuple[str, str], float]:
        """(kind, key) -> the mtime of the newest run record that lists it in `uses`."""
        last: dict[tuple[str, str], float] = {}
        folder = self.root / "runs"
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(folder):
                if not entry.name.endswith(".json"):
                    continue
                data = read_json(Path(entry.path))
                uses = data.get("uses") if isinstance(data, dict) else None
                if not isinstance(uses, list):
                    continue
                with contextlib.suppress(OSError):
                    mtime = entry.stat().st_mtime
                    for item in uses:
                        if isinstance(item, str) and "/" in item:
                            kind, _, key = item.partition("/")
                            last[(kind, key)] = max(last.get((kind, key), 0.0), mtime)
        return last
