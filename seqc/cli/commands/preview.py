"""`seqc preview FILE -o SHEET`: fill the cache, then write a contact sheet of the cached clips."""

from __future__ import annotations

from pathlib import Path

from seqc.inspect.preview import contact_sheet, write_sheet
from seqc.outputs.produce import rendered
from seqc.render.render import RenderOptions, Reporter
from seqc.ui import console
from seqc.ui.load import load_and_plan, open_cache
from seqc.ui.progress import ProgressReporter


def run(file: str, output: Path, columns: int, cache_dir: str | None, options: RenderOptions, *,
        draft: bool = False, quiet: bool = False) -> int:
    """A row per segment of `columns` evenly sampled frames."""
    cache = open_cache(cache_dir, file)
    plan = load_and_plan(file, cache, quiet=quiet, draft=draft, precision=options.precision)
    with rendered(plan, cache, options, Reporter(warn=console.warn) if quiet else ProgressReporter()) as (plan, result):
        write_sheet(contact_sheet(plan, result.clips, columns), output)
    if not quiet:
        console.info(f"{output}: {len(plan.jobs)} segments x {columns} frames")
    return 0
