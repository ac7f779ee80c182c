"""`seqc watch FILE`: render, then re-render what changed on every save until Ctrl-C (exit 130)."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from seqc.render.render import RenderOptions
from seqc.store import Cache
from seqc.ui import console
from seqc.ui.load import open_cache
from seqc.watch.views import LiveView, LogView
from seqc.watch.watcher import Watcher


def run(file: str, cache_dir: str | None, options: RenderOptions, *, debounce: float = 0.3, poll: bool = False,
        draft: bool = False, output: Path | None = None, frames: Path | None = None, no_cache: bool = False,
        quiet: bool = False, debug: bool = False) -> int:
    """Watch until interrupted; `no_cache` renders the session into a throwaway cache."""
    live = not quiet and console.err.is_terminal
    with tempfile.TemporaryDirectory(prefix="seqc-nocache-") if no_cache else contextlib.nullcontext() as scratch:
        cache = Cache(scratch, warn=console.warn) if scratch else open_cache(cache_dir, file)
        watcher = Watcher(Path(file), cache, options, output=output, frames=frames, debounce=debounce, poll=poll,
                          draft=draft, view=LiveView() if live else LogView(), debug=debug)
        watcher.run()  # returns only after stop(); Ctrl-C propagates as KeyboardInterrupt (exit 130)
    return 0
