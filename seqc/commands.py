"""The bodies of `seqc plan`, `seqc render` and `seqc cache`: load, plan, act, report.

Kept apart from cli.py (parsing only) and from render.py (no terminal), and free of torch
imports: a no-op render never loads the model.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from seqc import console
from seqc.cache import Cache, default_cache_dir, format_size, parse_size
from seqc.errors import InputError
from seqc.plan import CACHED, Plan, SegmentJob, compile_plan
from seqc.render import RenderOptions, Reporter, check_output, render
from seqc.spec import load_storyboard

_STATUS_STYLE = {"cached": "green", "missing": "yellow", "invalid": "red"}


def open_cache(args: argparse.Namespace) -> Cache:
    """The cache folder chosen by --cache-dir, $SEQC_CACHE_DIR or ./cache."""
    return Cache(default_cache_dir(getattr(args, "cache_dir", None)), warn=console.warn)


def load_and_plan(file: str, cache: Cache, quiet: bool = False, draft: bool = False) -> Plan:
    """Validate a storyboard (printing its warnings) and compile its plan."""
    story = load_storyboard(file, draft=draft, images=cache)
    if not quiet:
        console.print_problems(list(story.warnings))
    return compile_plan(story, cache)


# ---------------------------------------------------------------------------------------------
# seqc plan


# `seqc plan` folds a longer run of segments with the same status and reason into one row.
COLLAPSE_AFTER = 5


def plan_json(plan: Plan) -> dict:
    """The plan as `seqc plan --json` prints it."""
    return {
        "segments": [
            {"index": j.segment.index, "from": j.segment.source, "to": j.segment.target,
             "frames": j.segment.rendered_frames, "first_frame": j.segment.first_frame,
             "easing": j.segment.easing, "method": j.segment.method, "key": j.key,
             "status": j.status, "reason": j.reason, "changes": list(j.changes)}
            for j in plan.jobs
        ],
        "total_frames": plan.total_frames,
        "to_render": len(plan.missing),
    }


def plan_command(args: argparse.Namespace) -> int:
    """Print the plan as a table (or JSON): every segment's status and the reason."""
    cache = open_cache(args)
    plan = load_and_plan(args.file, cache, quiet=args.json, draft=args.draft)
    if args.json:
        console.print_json(plan_json(plan))
        return 0
    table = Table(title=f"{escape(args.file)}: {plan.total_frames} frames, "
                        f"{plan.storyboard.duration:.2f} s at {plan.storyboard.output.fps:g} fps")
    for column in ("#", "from -> to", "frames", "easing", "method", "status", "reason"):
        table.add_column(column, justify="right" if column in ("#", "frames") else "left")
    for run in _runs(plan.jobs, every=args.all):
        first, last, seg = run[0], run[-1], run[0].segment
        style = _STATUS_STYLE.get(first.status, "")
        if len(run) == 1:
            cells = (str(seg.index), escape(f"{seg.source} -> {seg.target}"), str(seg.rendered_frames),
                     escape(seg.easing), seg.method, escape(first.reason))
        else:
            easings, methods = {j.segment.easing for j in run}, {j.segment.method for j in run}
            cells = (f"{seg.index}-{last.segment.index}", escape(f"{seg.source} -> ... -> {last.segment.target}"),
                     str(sum(j.segment.rendered_frames for j in run)),
                     escape(easings.pop()) if len(easings) == 1 else "(mixed)",
                     methods.pop() if len(methods) == 1 else "(mixed)",
                     escape(f"{first.reason} ({len(run)} segments)"))
        table.add_row(*cells[:5], f"[{style}]{first.status}[/{style}]", cells[5])
    console.out.print(table)
    missing = plan.missing
    console.out.print(f"{len(missing)} of {len(plan.jobs)} segments to render "
                      f"({sum(j.segment.rendered_frames for j in missing)} frames)")
    if args.explain:
        for job in missing:
            console.out.print(f"  segment {job.segment.index}: " + "; ".join(escape(c) for c in job.changes))
    return 0


def _runs(jobs: Sequence[SegmentJob], every: bool) -> list[list[SegmentJob]]:
    """Consecutive segments with the same status and reason, as one table row each when there are
    more than COLLAPSE_AFTER of them (a thousand-segment plan reads as what changed); `every`
    keeps one row per segment."""
    if every:
        return [[job] for job in jobs]
    runs: list[list[SegmentJob]] = []
    for job in jobs:
        if runs and (runs[-1][0].status, runs[-1][0].reason) == (job.status, job.reason):
            runs[-1].append(job)
        else:
            runs.append([job])
    return [part for run in runs for part in ([run] if len(run) > COLLAPSE_AFTER else [[job] for job in run])]


# ---------------------------------------------------------------------------------------------
# seqc render


class ProgressReporter(Reporter):
    """Rich progress bars: the whole render and the current segment, with frames/s and ETA."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn(),
            console=console.err, transient=False,
        )
        self.total = None
        self.current = None
        self.started = time.monotonic()
        self.done = 0

    def begin(self, plan, todo, frames_to_render):
        if not todo:
            return
        self.progress.start()
        self.total = self.progress.add_task(f"render {len(todo)} of {len(plan.jobs)} segments",
                                            total=frames_to_render, rate="")
        self.started = time.monotonic()

    def stage(self, text):
        if self.total is not None:
            self.progress.update(self.total, description=escape(text))

    def segment_begin(self, job, frames):
        if self.current is not None:
            self.progress.remove_task(self.current)
        label = escape(f"  segment {job.segment.index}: {job.segment.source} -> {job.segment.target}")
        self.current = self.progress.add_task(label, total=frames, rate="")
        if self.total is not None:
            self.progress.update(self.total, description=f"rendering segment {job.segment.index}")

    def advance(self, frames):
        self.done += frames
        rate = self.done / max(time.monotonic() - self.started, 1e-6)
        if self.current is not None:
            self.progress.update(self.current, advance=frames, rate=f"{rate:.1f} frames/s")
        if self.total is not None:
            self.progress.update(self.total, advance=frames, rate=f"{rate:.1f} frames/s")

    def end(self):
        if self.total is not None:
            self.progress.stop()

    def warn(self, message):
        console.warn(message)


def render_options(args: argparse.Namespace) -> RenderOptions:
    """RenderOptions from `render`/`watch` arguments (checked before anything loads)."""
    if args.batch_size is not None and args.batch_size < 1:
        raise InputError("--batch-size must be at least 1")
    return RenderOptions(
        output=Path(args.output) if args.output else None,
        frames_dir=Path(args.frames) if args.frames else None,
        device=args.device, dtype=args.dtype, batch_size=args.batch_size, no_cache=args.no_cache,
    )


def render_command(args: argparse.Namespace) -> int:
    """Plan, render what is missing, print a summary (or one JSON line with --json)."""
    # 1. Check the arguments and the storyboard, and refuse a bad output path, before planning
    #    touches the cache.
    options = render_options(args)
    cache = open_cache(args)
    story = load_storyboard(args.file, draft=args.draft, images=cache)
    if options.frames_dir is None:
        check_output(story, (options.output or story.output.path).absolute(), cache)
    # 2. Plan, then render what is missing.
    if not args.quiet:
        console.print_problems(list(story.warnings))
    plan = compile_plan(story, cache)
    quiet = args.quiet or args.json
    reporter = Reporter() if quiet else ProgressReporter()
    if quiet:
        reporter.warn = console.warn  # type: ignore[method-assign]
    result = render(plan, cache, options, reporter)
    if args.json:
        console.print_json(result.as_dict())
    elif not args.quiet:
        where = result.output or options.frames_dir
        console.info(f"{where}: {result.frames} frames; rendered {result.rendered} of {result.segments} "
                     f"segments, {result.cached} cached; {result.seconds:.2f} s")
    return 0


# ---------------------------------------------------------------------------------------------
# seqc cache


def cache_command(args: argparse.Namespace) -> int:
    """ls, verify, gc and clear."""
    cache = open_cache(args)
    action = args.cache_command
    if action == "ls":
        entries = sorted(cache.entries(), key=lambda e: (e.kind, -e.mtime))
        if args.json:
            console.print_json([{"kind": e.kind, "key": e.key, "size": e.size, "mtime": e.mtime,
                                 "status": e.status} for e in entries])
            return 0
        table = Table(title=f"cache {escape(str(cache.root))}")
        for column in ("kind", "key", "size", "last used", "status"):
            table.add_column(column)
        for e in entries:
            style = _STATUS_STYLE.get(e.status, "")
            table.add_row(e.kind, e.key[:16], format_size(e.size),
                          time.strftime("%Y-%m-%d %H:%M", time.localtime(e.mtime)), f"[{style}]{e.status}[/{style}]")
        console.out.print(table)
        console.out.print(f"{len(entries)} entries, {format_size(cache.total_size())}")
        return 0
    if action == "verify":
        bad = cache.verify()
        count = sum(1 for _ in cache.entries())
        for entry, reason in bad:
            console.err.print(f"[red]bad[/red] {entry.kind}/{entry.key}: {escape(reason)}")
        console.out.print(f"{count} entries checked, {len(bad)} bad")
        return 1 if bad else 0
    if action == "gc":
        max_size = None
        if args.max_size is not None:
            try:
                max_size = parse_size(args.max_size)
            except ValueError as exc:
                raise InputError(f"--max-size: {exc}") from None
        keep = set()
        for file in args.keep:
            plan = load_and_plan(file, cache, quiet=True)
            keep |= set(plan.leased_keys())
        report = cache.gc(max_size=max_size, keep=keep)
        for line in report.summary():
            console.out.print(escape(line))
        return 0
    if action == "clear":
        report = cache.clear()
        for line in report.summary():
            console.out.print(escape(line))
        return 0
    raise InputError(f"unknown cache action {action!r}")  # pragma: no cover - argparse restricts it


__all__ = ["CACHED", "cache_command", "plan_command", "render_command"]


# ---------------------------------------------------------------------------------------------
# seqc diff


def diff_command(args: argparse.Namespace) -> int:
    """Which segments differ between two storyboards (or one and its git revision), and why."""
    from seqc.diff import diff_files, storyboard_at_revision

    cache = open_cache(args)
    if args.against:
        if args.new:
            raise InputError("give one storyboard with --against REV, or two storyboards without it")
        with storyboard_at_revision(Path(args.old), args.against) as old:
            result = diff_files(old, Path(args.old), cache)
        old_label, new_label = f"{args.old}@{args.against}", args.old
    else:
        if not args.new:
            raise InputError("give two storyboards (OLD NEW), or one with --against REV")
        result = diff_files(Path(args.old), Path(args.new), cache)
        old_label, new_label = args.old, args.new
    if args.json:
        console.print_json(result.as_dict())
        return 0
    table = Table(title=f"{escape(old_label)} -> {escape(new_label)}")
    for column in ("#", "from -> to", "frames", "", "what changed"):
        table.add_column(column, justify="right" if column in ("#", "frames") else "left")
    for seg in result.segments:
        mark = "[yellow]changed[/yellow]" if seg.changed else "[green]same[/green]"
        detail = "; ".join(seg.changes) if seg.changed else ""
        table.add_row(str(seg.index), escape(f"{seg.source} -> {seg.target}"), str(seg.frames), mark, escape(detail))
    console.out.print(table)
    changed = sum(1 for s in result.segments if s.changed)
    console.out.print(f"{changed} of {len(result.segments)} segments differ; {result.frames_to_render} of "
                      f"{result.total_frames} frames would re-render"
                      + (f"; {result.removed} old segment(s) no longer used" if result.removed else ""))
    return 0


# ---------------------------------------------------------------------------------------------
# seqc preview and seqc analyze: fill the cache, then read the clips


def _render_into_cache(args: argparse.Namespace, cache: Cache) -> Plan:
    """Plan and render only what is missing from the cache (no output file)."""
    plan = load_and_plan(args.file, cache, quiet=args.quiet, draft=args.draft)
    if args.batch_size is not None and args.batch_size < 1:
        raise InputError("--batch-size must be at least 1")
    options = RenderOptions(device=args.device, dtype=args.dtype, batch_size=args.batch_size, write_output=False)
    quiet = args.quiet or getattr(args, "json", False)
    render(plan, cache, options, Reporter() if quiet else ProgressReporter())
    return plan


def preview_command(args: argparse.Namespace) -> int:
    """Write a contact sheet: a row per segment of evenly sampled frames."""
    from seqc.preview import contact_sheet, write_sheet

    if args.columns < 2:
        raise InputError("--columns must be at least 2")
    cache = open_cache(args)
    plan = _render_into_cache(args, cache)
    out = Path(args.output)
    write_sheet(contact_sheet(plan, cache, args.columns), out)
    if not args.quiet:
        console.info(f"{out}: {len(plan.jobs)} segments x {args.columns} frames")
    return 0


def analyze_command(args: argparse.Namespace) -> int:
    """Per-segment latent distance and frame-to-frame change, with a verdict and sparklines."""
    from seqc.analyze import analyze, plot
    from seqc.metrics import sparkline

    cache = open_cache(args)
    plan = _render_into_cache(args, cache)
    reports = analyze(plan, cache)
    if args.plot:
        plot(reports, Path(args.plot), title=f"{Path(args.file).name}: frame-to-frame change by video frame")
    if args.json:
        console.print_json({"segments": [r.as_dict() for r in reports],
                            "jarring": [r.index for r in reports if r.jarring]})
        return 0
    top = max((r.max for r in reports), default=1.0)
    table = Table(title=f"{escape(args.file)}: frame-to-frame change (0-255 levels, frames shrunk to 64 px)")
    for column in ("#", "from -> to", "frames", "latent rms", "angle", "median", "max (at)", "cv", "change", "verdict"):
        table.add_column(column, justify="right" if column in ("#", "frames", "latent rms", "angle", "median", "cv")
                         else "left")
    for r in reports:
        style = "red" if r.jarring else "green"
        table.add_row(str(r.index), escape(f"{r.source} -> {r.target}"), str(r.frames), f"{r.latent_rms:.3f}",
                      f"{r.latent_angle:.1f}°", f"{r.median:.2f}", f"{r.max:.2f} ({r.argmax})", f"{r.cv:.2f}",
                      sparkline(r.changes, 24, top), f"[{style}]{escape(r.verdict)}[/{style}]")
    console.out.print(table)
    if args.plot:
        console.info(f"plot: {args.plot}")
    return 0
