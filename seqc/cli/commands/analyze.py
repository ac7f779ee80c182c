"""`seqc analyze FILE`: per segment of a storyboard, or for a whole video file, latent distance (a
storyboard's), frame-to-frame change, AID's smoothness and consistency, and a verdict naming the
artifacts found (seqc.inspect.artifacts)."""

from __future__ import annotations

import math
from pathlib import Path

from rich import box
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from seqc.inspect.analyze import SegmentReport, analyze, analyze_video, beat_frames, is_video, plot
from seqc.render.metrics import sparkline
from seqc.render.options import RenderOptions
from seqc.ui import console

# Two-line headers and a short sparkline keep the table readable in 120 columns, with room for the verdict.
COLUMNS = ("#", "from -> to", "frames", "latent\nrms", "angle", "median", "max\n(at)", "cv", "smooth-\nness",
           "consis-\ntency", "change", "verdict")
RIGHT = {"#", "frames", "latent\nrms", "angle", "median", "cv", "smooth-\nness", "consis-\ntency"}
SPARK_WIDTH = 12  # cells of the change sparkline
HINTS = {  # what a storyboard can change, by the kind of artifact found (printed once under the table)
    "jump": "to soften a jump: more frames, slerp, pacing: even or an intermediate keyframe",
    "ghosting": "against ghosting: an intermediate keyframe shortens the blend; a diffusion model draws new "
                "in-betweens where an autoencoder's latent path is close to a dissolve",
    "colour_drift": "against colour drift: an intermediate keyframe pins the colour on the way",
}


def run(file: str, cache_dir: str | None, options: RenderOptions, *, plot_path: Path | None = None,
        as_json: bool = False, draft: bool = False, quiet: bool = False) -> int:
    """Report on a storyboard (filling the cache, reading its clips) or on any video file as one
    span; print the table (or JSON); `plot_path` draws the curves."""
    video = is_video(file)
    beats: list[tuple[float, int]] = []
    if video:
        reports = [analyze_video(file)]
    else:
        reports, beats = _storyboard(file, cache_dir, options, draft=draft, quiet=quiet, bars=not (quiet or as_json))
    if plot_path is not None:
        plot(reports, plot_path, title=f"{Path(file).name}: frame-to-frame change by video frame", beats=beats)
    if as_json:
        head = {"file": file} if video else {}
        console.print_json({**head, "segments": [r.as_dict() for r in reports],
                            "jarring": [r.index for r in reports if r.jarring],
                            "defects": [r.index for r in reports if r.defects]})
        return 0
    _print_table(file, reports)
    kinds = {a.kind for r in reports for a in r.defects}
    for kind, hint in HINTS.items():
        if kind in kinds and not video:
            console.info(f"hint: {hint}")
    if plot_path is not None:
        console.info(f"plot: {plot_path}")
    return 0


def _storyboard(file: str, cache_dir: str | None, options: RenderOptions, *, draft: bool, quiet: bool,
                bars: bool) -> tuple[list[SegmentReport], list[tuple[float, int]]]:
    """The storyboard's reports (rendering what is missing first, with progress bars if `bars`) and its
    beats; `quiet`: no storyboard warnings."""
    from seqc.app.preflight import preflight
    from seqc.outputs.produce import rendered
    from seqc.render.progress import Reporter
    from seqc.render.session import Session
    from seqc.ui.load import load_and_plan, open_cache
    from seqc.ui.progress import ProgressReporter

    session = Session()
    try:
        preflight(session, options.remote)
        cache = open_cache(cache_dir, file)
        plan = load_and_plan(file, cache, quiet=quiet, draft=draft,
                             precision=session.models.precision(options.device, options.dtype), audio=session.audio)
        reporter = ProgressReporter() if bars else Reporter(warn=console.warn)
        with rendered(plan, cache, options, reporter, session=session) as (plan, result):
            reports = analyze(plan, result.clips, cache)
    finally:
        session.close()
    return reports, beat_frames(plan.storyboard)


def _print_table(file: str, reports: list[SegmentReport]) -> None:
    top = max((r.max for r in reports), default=1.0)
    # The title is its own line (a long path wraps there; a table's title would not).
    console.out.print(Text(f"{file}: frame-to-frame change (0-255 levels, frames shrunk to 64 px)",
                           style="italic", justify="center"), soft_wrap=False)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 0))
    for column in COLUMNS:
        table.add_column(column, justify="right" if column in RIGHT else "left",
                         min_width={"change": SPARK_WIDTH, "verdict": 24}.get(column),
                         max_width=18 if column == "from -> to" else None,
                         overflow="fold" if column == "verdict" else "ellipsis")
    for r in reports:
        style = "red" if r.defects else "green"
        table.add_row(str(r.index), escape(r.label), str(r.frames),
                      "-" if math.isnan(r.latent_rms) else f"{r.latent_rms:.3f}",
                      "-" if math.isnan(r.latent_angle) else f"{r.latent_angle:.1f}°", f"{r.median:.2f}",
                      f"{r.max:.2f} ({r.argmax})", f"{r.cv:.2f}", f"{r.smoothness:.2f}", f"{r.consistency:.2f}",
                      sparkline(r.changes, SPARK_WIDTH, top), f"[{style}]{escape(r.verdict)}[/{style}]")
    console.out.print(table)
