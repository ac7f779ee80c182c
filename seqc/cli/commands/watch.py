"""`seqc watch FILE`: render, then re-render what changed on every save until Ctrl-C (exit 130)."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from seqc.render.render import RenderOptions
from seqc.serve.session import ServeOptions, serving
from seqc.store import Cache
from seqc.ui import console
from seqc.ui.load import open_cache
from seqc.watch.views import LiveView, LogView
from seqc.watch.watcher import Watcher


def run(file: str, cache_dir: str | None, options: RenderOptions, *, debounce: float = 0.3, poll: bool = False,
        draft: bool = False, output: Path | None = None, frames: Path | None = None, no_cache: bool = False,
        quiet: bool = False, debug: bool = False, serve: ServeOptions | None = None) -> int:
    """Watch until interrupted; `no_cache` renders the session into a throwaway cache; `serve` also
    serves the live preview. A watch on a real cache takes `seqc render`'s jobs on it (seqc.serve)."""
    live = not quiet and console.err.is_terminal
    if options.executor == "ray":  # Ray installed and reachable, before watching (seqc.cluster.connect)
        from seqc.cluster.connect import check

        check(options)
    with tempfile.TemporaryDirectory(prefix="seqc-nocache-") if no_cache else contextlib.nullcontext() as scratch:
        cache = Cache(scratch, warn=console.warn) if scratch else open_cache(cache_dir, file)
        watcher = Watcher(Path(file), cache, options, output=output, frames=frames, debounce=debounce, poll=poll,
                          draft=draft, view=LiveView() if live else LogView(), debug=debug)
        with serving(watcher, cache, serve, handoff=not no_cache):  # stopped (socket removed) on Ctrl-C too
            watcher.run()  # returns only after stop(); Ctrl-C propagates as KeyboardInterrupt (exit 130)
    return 0
