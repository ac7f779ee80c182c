"""`seqc plan FILE`: what a render would do, and why, as a table or JSON."""

from __future__ import annotations

from collections.abc import Sequence

from rich.markup import escape
from rich.table import Table

from seqc.plan import Plan, SegmentJob
from seqc.ui import console
from seqc.ui.load import load_and_plan, open_cache

STATUS_STYLE = {"cached": "green", "missing": "yellow", "invalid": "red"}
# A longer run of segments with the same status and reason is one row.
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


def run(file: str, cache_dir: str | None, draft: bool = False, as_json: bool = False, explain: bool = False,
        every: bool = False) -> int:
    """Print every segment's status and reason; `every` keeps one row per segment."""
    plan = load_and_plan(file, open_cache(cache_dir, file), quiet=as_json, draft=draft)
    if as_json:
        console.print_json(plan_json(plan))
        return 0
    table = Table(title=f"{escape(file)}: {plan.total_frames} frames, "
                        f"{plan.storyboard.duration:.2f} s at {plan.storyboard.output.fps:g} fps")
    for column in ("#", "from -> to", "frames", "easing", "method", "status", "reason"):
        table.add_column(column, justify="right" if column in ("#", "frames") else "left")
    for group in runs(plan.jobs, every=every):
        first, last, seg = group[0], group[-1], group[0].segment
        style = STATUS_STYLE.get(first.status, "")
        if len(group) == 1:
            cells = (str(seg.index), escape(f"{seg.source} -> {seg.target}"), str(seg.rendered_frames),
                     escape(seg.easing), seg.method, escape(first.reason))
        else:
            easings, methods = {j.segment.easing for j in group}, {j.segment.method for j in group}
            cells = (f"{seg.index}-{last.segment.index}", escape(f"{seg.source} -> ... -> {last.segment.target}"),
                     str(sum(j.segment.rendered_frames for j in group)),
                     escape(easings.pop()) if len(easings) == 1 else "(mixed)",
                     methods.pop() if len(methods) == 1 else "(mixed)",
                     escape(f"{first.reason} ({len(group)} segments)"))
        table.add_row(*cells[:5], f"[{style}]{first.status}[/{style}]", cells[5])
    console.out.print(table)
    missing = plan.missing
    console.out.print(f"{len(missing)} of {len(plan.jobs)} segments to render "
                      f"({sum(j.segment.rendered_frames for j in missing)} frames)")
    if explain:
        for job in missing:
            console.out.print(f"  segment {job.segment.index}: " + "; ".join(escape(c) for c in job.changes))
    return 0


def runs(jobs: Sequence[SegmentJob], every: bool) -> list[list[SegmentJob]]:
    """Consecutive segments with the same status and reason, as one table row each when there are
    more than COLLAPSE_AFTER of them (a thousand-segment plan reads as what changed); `every`
    keeps one row per segment."""
    if every:
        return [[job] for job in jobs]
    groups: list[list[SegmentJob]] = []
    for job in jobs:
        if groups and (groups[-1][0].status, groups[-1][0].reason) == (job.status, job.reason):
            groups[-1].append(job)
        else:
            groups.append([job])
    return [part for group in groups
            for part in ([group] if len(group) > COLLAPSE_AFTER else [[job] for job in group])]
