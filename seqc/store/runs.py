"""Run records (`runs/<id>.json`): what the last render of a storyboard used.

The next plan compares each segment's key inputs with the record to say why it re-renders
(as Ninja's log does), and the record of the output lets a no-op render skip the concat.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

from seqc.store import atomic
from seqc.store.files import json_bytes, read_json

_RUN_ID_RE = re.compile(r"[0-9a-f]{1,128}")


class RunRecords:
    """Mixin of the Cache: read and write run records by run id."""

    root: Path
    _ensure_root: Callable[[], None]  # seqc.store.locks.Locks

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
        self._ensure_root()
        atomic.atomic_write_bytes(self._run_path(run_id), json_bytes(dict(data)))
