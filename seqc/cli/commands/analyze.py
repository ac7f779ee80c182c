"""`seqc analyze FILE`: per segment, latent distance and frame-to-frame change, with a verdict."""

from __future__ import annotations

import math
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from seqc.app.preflight import preflight
from seqc.inspect.analyze import analyze, beat_frames, plot
from seqc.outputs.produce import rendered
from seqc.render.metrics import sparkline
from seqc.render.options import RenderOptions
from seqc.render.progress import Reporter
from seqc.render.session import Session
from seqc.ui import console
from seqc.ui.load import load_and_plan, open_cache
from seqc.ui.progress import ProgressReporter


def run(file: str, cache_dir: str | None, options: RenderOptions, *, plot_path: Path | None = None,
        as_json: bool = False, draft: bool = False, quiet: bool = False) -> int:
    """Fill the cache, read the clips, print the report (or JSON); `plot_path` draws the curves."""
    session = Session()
    try:
        preflight(session, options.remote)
        cache = open_cache(cache_dir, file)
        plan = load_and_plan(file, cache, quiet=quiet, draft=draft,
                             precision=session.models.precision(options.device, options.dtype), audio=session.audio)
        reporter = Reporter(warn=console.warn) if quiet or as_json else ProgressReporter()
        with rendered(plan, cache, options, reporter, session=session) as (plan, result):
            reports = analyze(plan, result.clips, cache)
    finally:
        session.close()
    if plot_path is not None:
        plot(reports, plot_path, title=f"{Path(file).name}: frame-to-frame change by video frame",
             beats=beat_frames(plan.storyboard))
    if as_json:
        console.print_json({"segments": [r.as_dict() for r in reports],
                            "jarring": [r.index for r in reports if r.jarring]})
        return 0
    top = max((r.max for r in reports), default=1.0)
    table = Table(title=f"{escape(file)}: frame-to-frame change (0-255 levels, frames shrunk to 64 px)")
    for column in ("#", "from -> to", "frames", "latent rms", "angle", "median", "max (at)", "cv", "change", "verdict"):
        table.add_column(column, justify="right" if column in ("#", "frames", "latent rms", "angle", "median", "cv")
                         else "left")
    for r in reports:
        style = "red" if r.jarring else "green"
        table.add_row(str(r.index), escape(f"{r.source} -> {r.target}"), str(r.frames),
                      "-" if math.isnan(r.latent_rms) else f"{r.latent_rms:.3f}",
                      "-" if math.isnan(r.latent_angle) else f"{r.latent_angle:.1f}°", f"{r.median:.2f}", f"{r.max:.2f} ({r.argmax})", f"{r.cv:.2f}",
                      sparkline(r.changes, 24, top), f"[{style}]{escape(r.verdict)}[/{style}]")
    console.out.print(table)
    if plot_path is not None:
        console.info(f"plot: {plot_path}")
    return 0
