"""`seqc diff OLD NEW` or `seqc diff FILE --against REV`: which segments differ, and why."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from rich.table import Table

from seqc.errors import InputError
from seqc.inspect.diff import diff_files, storyboard_at_revision
from seqc.ui import console
from seqc.ui.load import open_cache


def run(old: str, new: str | None, against: str | None, cache_dir: str | None, as_json: bool = False) -> int:
    """Compare two storyboards (or one with itself at a git revision) by the planner's key inputs."""
    cache = open_cache(cache_dir, new or old)
    if against:
        if new:
            raise InputError("give one storyboard with --against REV, or two storyboards without it")
        with storyboard_at_revision(Path(old), against) as old_copy:
            result = diff_files(old_copy, Path(old), cache)
        old_label, new_label = f"{old}@{against}", old
    else:
        if not new:
            raise InputError("give two storyboards (OLD NEW), or one with --against REV")
        result = diff_files(Path(old), Path(new), cache)
        old_label, new_label = old, new
    if as_json:
        console.print_json(result.as_dict())
        return 0
    table = Table(title=f"{escape(old_label)} -> {escape(new_label)}")
    for column in ("#", "from -> to", "frames", "", "what changed"):
        table.add_column(column, justify="right" if column in ("#", "frames") else "left")
    for seg in result.segments:
        mark = "[yellow]changed[/yellow]" if seg.changed else "[green]same[/green]"
        detail = "; ".join(seg.changes) if seg.changed else ""
        table.add_row(str(seg.index), escape(f"{seg.source} -> {seg.target}"), str(seg.frames), mark, escape(detail))
    if result.end is not None:
        end = result.end
        mark = "[yellow]changed[/yellow]" if end.changed else "[green]same[/green]"
        table.add_row("end", escape(f"final frame: {end.target}"), str(end.frames), mark,
                      escape("; ".join(end.changes) if end.changed else ""))
    console.out.print(table)
    changed = sum(1 for s in result.segments if s.changed)
    console.out.print(f"{changed} of {len(result.segments)} segments differ; {result.frames_to_render} of "
                      f"{result.total_frames} frames would re-render"
                      + (f"; {result.removed} old segment(s) no longer used" if result.removed else ""))
    return 0
