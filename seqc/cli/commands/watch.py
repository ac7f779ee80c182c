"""`seqc watch FILE`: render, then re-render what changed on every save until Ctrl-C (exit 130)."""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

from seqc.app.preflight import preflight
from seqc.app.render import RenderRequest
from seqc.render.session import Session
from seqc.store import Cache
from seqc.ui import console
from seqc.ui.load import open_cache
from seqc.watch.serving import ServeOptions, serving
from seqc.watch.views import LiveView, LogView
from seqc.watch.watcher import Watcher


@dataclass(frozen=True)
class WatchOptions:
    """The command line of `seqc watch`, typed: what each render renders (as `seqc render` would), and
    how the watch runs."""

    render: RenderRequest  # the storyboard, the cache, the output, the render options and the executor
    debounce: float = 0.3  # seconds without a change before a render starts
    poll: bool = False  # poll the files instead of inotify's events
    quiet: bool = False  # the log only, no live panel
    serve: ServeOptions | None = None  # also serve the live preview page (--serve)


def run(watch: WatchOptions, *, debug: bool = False) -> int:
    """Watch until interrupted. The watch owns one session for all its renders (the model stays
    loaded), and its warm-render socket renders `seqc render`'s jobs on this cache with it; a
    --no-cache watch renders into a throwaway cache and takes no jobs."""
    request = watch.render
    live = not watch.quiet and console.err.is_terminal
    session = Session()
    try:
        # 1. The remote cache and the executor, checked before watching (seqc.app.preflight).
        preflight(session, request.options.remote, request)
        scratch_dir = tempfile.TemporaryDirectory(prefix="seqc-nocache-") if request.no_cache else None
        with scratch_dir or contextlib.nullcontext() as scratch:
            cache = Cache(scratch, warn=console.warn) if scratch else open_cache(request.cache_dir, request.file)
            # 2. Watch and render, with the preview page and the warm-render socket beside it.
            watcher = Watcher(Path(request.file), cache, request.options, session=session, executor_settings=request,
                              output=request.output, frames=request.frames, frame_format=request.frame_format,
                              debounce=watch.debounce, poll=watch.poll, draft=request.draft,
                              view=LiveView() if live else LogView(), debug=debug)
            with serving(watcher, cache, watch.serve, handoff=not request.no_cache):  # stopped on Ctrl-C too
                watcher.run()  # returns only after stop(); Ctrl-C propagates as KeyboardInterrupt (exit 130)
    finally:
        session.close()
    return 0
