"""`seqc render FILE`: the CLI's part of a render (seqc.app.render does the render): hand the job to a
warm `seqc watch` if one runs on this cache, else render here with a session of its own; print the
storyboard's warnings, the progress and the summary line (or `--json`)."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING

from seqc.app.render import RenderOutcome, RenderRequest, StoryboardRender
from seqc.errors import Problem
from seqc.ui import console

if TYPE_CHECKING:
    from seqc.render.progress import Reporter


def run(request: RenderRequest, *, quiet: bool = False, as_json: bool = False, no_server: bool = False) -> int:
    """Render the request's storyboard and print what it did; `no_server` never hands it to a watch."""
    from seqc.render.session import Session

    session = Session()
    try:
        with StoryboardRender(request, session) as steps:
            # 1. Nothing to do if the last render of this very command stands as it was.
            outcome = steps.up_to_date()
            if outcome is not None:
                _report(outcome.result, outcome.warnings, request.frames, quiet, as_json)
                return 0
            # 2. The pre-flights, then a running `seqc watch` on this cache, which has the model loaded.
            steps.preflight()
            if not no_server and not request.no_cache:
                outcome = _handed_over(request, steps, quiet, as_json)
                if outcome is not None:
                    _report(outcome.result, outcome.warnings, request.frames, quiet, as_json)
                    return 0
            # 3. Render here: the storyboard's warnings first, then the progress, then the summary.
            warnings = steps.read()
            if not quiet:
                console.print_problems(warnings)
            outcome = steps.produce(_reporter(request, quiet, as_json))
    finally:
        session.close()
    _report(outcome.result, [], request.frames, quiet, as_json)
    return 0


def _handed_over(request: RenderRequest, steps: StoryboardRender, quiet: bool, as_json: bool) -> RenderOutcome | None:
    """The outcome of the job handed to the watch process of this cache (seqc.handoff), timed and named
    as this command saw it; None when there is none and the render is this process's."""
    from seqc.handoff.client import try_render

    handed = try_render(steps.cache.root, request, quiet=quiet, as_json=as_json)
    if handed is None:
        return None
    cache = str(steps.cache.root)
    result = {**handed.result, "seconds": round(time.monotonic() - steps.started, 3), "cache": cache}
    return RenderOutcome(result, handed.warnings, cache)


def _reporter(request: RenderRequest, quiet: bool, as_json: bool) -> Reporter:
    """The progress display: none (-q), the estimate line only (--json), else the bars. A long render
    says how long before it starts (seqc.ui.estimate; not on a cluster: its speed is the workers')."""
    from seqc.render.progress import Reporter
    from seqc.ui.estimate import for_render
    from seqc.ui.progress import EstimateReporter, ProgressReporter

    estimate = for_render(request.options.device) if not quiet and request.executor == "local" else None
    if quiet:
        return Reporter(warn=console.warn)
    return EstimateReporter(estimate) if as_json else ProgressReporter(estimate=estimate)


def _report(result: dict, warnings: list[Problem], frames: Path | None, quiet: bool, as_json: bool) -> None:
    """The result as one JSON line (--json), or one summary line naming the output and the cache."""
    if not quiet:
        console.print_problems(warnings)
    if as_json:
        console.print_json(result)
    elif not quiet:
        where = result["output"] or frames
        video = f"{console.plural(result['frames'], 'frame')}"
        if result.get("fps"):
            width, height = result["size"]
            video += f" ({result['duration']:.2f} s at {result['fps']:g} fps, {width}x{height})"
        remote = f" ({result['fetched']} fetched from the remote)" if result.get("fetched") else ""
        if result.get("pushed"):
            remote += f"; pushed {console.plural(result['pushed'], 'entry', 'entries')} to the remote"
        console.info(f"{where}: {video}; rendered {result['rendered']} of "
                     f"{console.plural(result['segments'], 'segment')}, {result['cached']} cached{remote}; "
                     f"{result['seconds']:.2f} s; cache: {_cache_name(result.get('cache'))}")


def _cache_name(root: str | None) -> str:
    """The cache folder as the summary names it: ~ for the home folder, and the per-user cache said
    to be one (a project without its own tagged cache/ renders into it)."""
    if root is None:
        return "none (--no-cache)"
    from seqc.store.location import user_cache_dir

    path = Path(root)
    shown = str(path)
    with contextlib.suppress(ValueError, RuntimeError):
        shown = "~/" + str(path.relative_to(Path.home()))
    return f"{shown} (the per-user cache)" if path == user_cache_dir() else shown
