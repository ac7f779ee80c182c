"""`seqc preview FILE -o SHEET`: fill the cache, then write a contact sheet of the cached clips."""

from __future__ import annotations

from pathlib import Path

from seqc.app.preflight import preflight
from seqc.inspect.sheet import contact_sheet, write_sheet
from seqc.outputs.produce import rendered
from seqc.render.options import RenderOptions
from seqc.render.progress import Reporter
from seqc.render.session import Session
from seqc.ui import console
from seqc.ui.load import load_and_plan, open_cache
from seqc.ui.progress import ProgressReporter


def run(file: str, output: Path, columns: int, cache_dir: str | None, options: RenderOptions, *,
        draft: bool = False, quiet: bool = False) -> int:
    """A row per segment of `columns` evenly sampled frames."""
    session = Session()
    try:
        preflight(session, options.remote)
        cache = open_cache(cache_dir, file)
        plan = load_and_plan(file, cache, quiet=quiet, draft=draft,
                             precision=session.models.precision(options.device, options.dtype), audio=session.audio)
        reporter = Reporter(warn=console.warn) if quiet else ProgressReporter()
        with rendered(plan, cache, options, reporter, session=session) as (plan, result):
            write_sheet(contact_sheet(plan, result.clips, columns), output)
    finally:
        session.close()
    if not quiet:
        console.info(f"{output}: {len(plan.jobs)} segments x {columns} frames")
    return 0
