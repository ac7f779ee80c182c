"""The video output: join the cached clips into one file without re-encoding, unless it is current."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from seqc.errors import InputError
from seqc.media.concat import concat
from seqc.media.mp4 import TrackInfo
from seqc.plan import Plan
from seqc.spec import Storyboard
from seqc.spec.paths import output_problem
from seqc.store import Cache, atomic


def check_output(story: Storyboard, output: Path, cache: Cache) -> None:
    """Refuse an output path (`-o`) that is not a video seqc writes, or that would overwrite the
    storyboard, a keyframe or the cache. Needs only the storyboard, so the CLI runs it before
    planning touches the cache."""
    images = {name: kf.image for name, kf in story.keyframes.items() if kf.image is not None}
    problem = output_problem(output, story.path, images, cache.root)
    if problem is not None:
        message, hint = problem
        raise InputError(f"{message} ({hint})" if hint else message)


def _record(output: Path, plan: Plan) -> dict:
    """What says the output is exactly what this plan wrote: its path, clips, size and mtime."""
    try:
        st = output.stat()
    except OSError:
        return {}
    return {"path": str(output), "clips": [j.key for j in plan.clip_jobs], "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _current(plan: Plan, output: Path) -> bool:
    """Whether the output file is exactly what the last render of this plan wrote."""
    previous = plan.previous.get("output")
    return isinstance(previous, dict) and bool(previous) and previous == _record(output, plan)


def write_video(plan: Plan, clips: Mapping[str, Path], output: Path,
                tracks: Mapping[str, TrackInfo] | None = None) -> dict:
    """Concatenate the plan's clips into `output` (checking its frame count) unless it is current;
    return the output's record for the run record. `tracks` are the clips' stream parameters and
    frame counts as recorded at publish (any missing one is read from the clip)."""
    output = output.absolute()
    # A render killed while joining leaves its temp output beside the output: remove it.
    atomic.remove_dead_temps_of(output)
    if not _current(plan, output):
        output.parent.mkdir(parents=True, exist_ok=True)
        known = tracks or {}
        concat([clips[job.key] for job in plan.clip_jobs], output, [known.get(job.key) for job in plan.clip_jobs])
    return _record(output, plan)
