"""`seqc plan FILE`: what a render would do, and why, as a table or JSON."""

from __future__ import annotations

from collections.abc import Sequence

from rich.markup import escape
from rich.table import Table

from seqc.plan import Plan, SegmentJob
from seqc.spec.timeline import format_time
from seqc.ui import console
from seqc.ui.load import load_and_plan, open_cache

STATUS_STYLE = {"cached": "green", "missing": "yellow", "invalid": "red"}
# A longer run of segments alike (status, reason, easing and method) is one row.
COLLAPSE_AFTER = 5


def _start_seconds(plan: Plan, job: SegmentJob) -> float:
    """Where a segment starts on the video's timeline: its exact boundary time (it lands on
    `first_frame` = round(start_seconds x fps))."""
    seg = job.segment
    return seg.start_time if seg.start_time is not None else seg.first_frame / plan.storyboard.output.fps


def _job_json(job: SegmentJob, plan: Plan) -> dict:
    seg = job.segment
    out = {"index": seg.index, "from": seg.source, "to": seg.target, "frames": seg.frames,
           "first_frame": seg.first_frame, "start_frame": seg.first_frame,
           "start_seconds": round(_start_seconds(plan, job), 6), "easing": seg.easing, "method": seg.method,
           "key": job.key, "status": job.status, "reason": job.reason, "changes": list(job.changes)}
    audio = plan.storyboard.audio
    beat = audio.beat_at(_start_seconds(plan, job)) if audio is not None else None
    if beat is not None:
        out["start_beat"] = round(beat, 4)
    if seg.pacing == "audio":
        out["pacing"] = "audio"
    return out


def plan_json(plan: Plan) -> dict:
    """The plan as `seqc plan --json` prints it: the segments' clips, then the final frame's."""
    end = None
    if plan.end is not None:
        end = {k: v for k, v in _job_json(plan.end, plan).items() if k not in ("index", "from", "easing", "method")}
        end["keyframe"] = end.pop("to")
    return {
        "segments": [_job_json(j, plan) for j in plan.jobs],
        "final_frame": end,
        "total_frames": plan.total_frames,
        "precision": plan.precision,
        "to_render": len(plan.missing),
    }


def run(file: str, cache_dir: str | None, draft: bool = False, as_json: bool = False, explain: bool = False,
        every: bool = False, device: str = "auto", dtype: str = "auto") -> int:
    """Print every segment's status and reason, then the final frame's; `every` keeps one row per segment.
    The plan is for the precision a model on `device` in `dtype` would run in."""
    from seqc.render.session import Session

    session = Session()
    try:
        plan = load_and_plan(file, open_cache(cache_dir, file), quiet=as_json, draft=draft,
                             precision=session.models.precision(device, dtype), audio=session.audio)
    finally:
        session.close()
    if as_json:
        console.print_json(plan_json(plan))
        return 0
    table = Table(title=f"{escape(file)}: {console.plural(plan.total_frames, 'frame')}, "
                        f"{plan.storyboard.duration:.2f} s at {plan.storyboard.output.fps:g} fps, {plan.precision}")
    audio = plan.storyboard.audio
    beats = audio is not None and audio.bpm is not None
    columns = ("#", "start", *(("beat",) if beats else ()), "from -> to", "frames", "easing", "method", "status",
               "reason")
    for column in columns:
        table.add_column(column, justify="right" if column in ("#", "start", "beat", "frames") else "left",
                         no_wrap=column in ("start", "beat"))
    for group in runs(plan.jobs, every=every):
        first, last, seg = group[0], group[-1], group[0].segment
        start = _start_seconds(plan, first)
        when = (format_time(start), *((f"{audio.beat_at(start):.2f}",) if beats and audio is not None else ()))
        style = STATUS_STYLE.get(first.status, "")
        if len(group) == 1:
            cells = (str(seg.index), escape(f"{seg.source} -> {seg.target}"), str(seg.frames),
                     escape(seg.easing), seg.method, escape(first.reason))
        else:  # a run of alike segments (`runs`): one easing, one method
            cells = (f"{seg.index}-{last.segment.index}", escape(f"{seg.source} -> ... -> {last.segment.target}"),
                     str(sum(j.segment.frames for j in group)), escape(seg.easing), seg.method,
                     escape(f"{first.reason} ({len(group)} segments)"))
        table.add_row(cells[0], *when, *cells[1:5], f"[{style}]{first.status}[/{style}]", cells[5])
    if plan.end is not None:
        style = STATUS_STYLE.get(plan.end.status, "")
        start = _start_seconds(plan, plan.end)
        when = (format_time(start), *((f"{audio.beat_at(start):.2f}",) if beats and audio is not None else ()))
        table.add_row("end", *when, escape(f"final frame: {plan.end.segment.target}"), "1", "", "",
                      f"[{style}]{plan.end.status}[/{style}]", escape(plan.end.reason))
    console.out.print(table)
    missing = plan.missing
    console.out.print(f"{plan.count(missing)} to render ({console.plural(sum(j.segment.frames for j in missing), 'frame')})")
    if explain:
        for job in missing:
            console.out.print(f"  {job.label.split(':')[0]}: " + "; ".join(escape(c) for c in job.changes))
    return 0


def _alike(job: SegmentJob) -> tuple:
    """What a folded row shows once for all its segments."""
    return job.status, job.reason, job.segment.easing, job.segment.method


def runs(jobs: Sequence[SegmentJob], every: bool) -> list[list[SegmentJob]]:
    """Consecutive segments with the same status, reason, easing and method, as one table row each
    when there are more than COLLAPSE_AFTER of them (a thousand-segment plan reads as what
    changed, and every row shows its segments' true easing and method); `every` keeps one row per
    segment."""
    if every:
        return [[job] for job in jobs]
    groups: list[list[SegmentJob]] = []
    for job in jobs:
        if groups and _alike(groups[-1][0]) == _alike(job):
            groups[-1].append(job)
        else:
            groups.append([job])
    return [part for group in groups
            for part in ([group] if len(group) > COLLAPSE_AFTER else [[job] for job in group])]
