"""Fill the cache for a Plan: latents for the keyframes that need them, then a clip per missing segment.

`render()` only fills the cache; writing the video, a PNG sequence or a contact sheet are output
steps that read the cached clips afterwards (seqc.outputs, seqc.inspect). Call it under a lease
on `plan.leased_keys()`, so gc keeps every clip until those steps have read it. The model is
loaded only when something is missing, so a no-op render stays instant and never imports torch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from seqc.media.mp4 import TrackInfo
from seqc.plan import Plan, SegmentJob
from seqc.render.options import RenderOptions
from seqc.render.progress import Reporter
from seqc.render.session import Session
from seqc.store import Cache, atomic
from seqc.store.tier import Entry, RemoteTier

if TYPE_CHECKING:
    from seqc.render.execute import Executor

__all__ = ["PrecisionMismatch", "RenderResult", "endpoint_entries", "render"]


class PrecisionMismatch(Exception):
    """The model loaded in another precision than the plan's keys are for (a wrong guess of what
    `--device auto` finds): nothing was rendered; re-plan for `actual` and render again."""

    def __init__(self, planned: str, actual: str):
        super().__init__(f"planned for {planned}, the model runs in {actual}")
        self.planned, self.actual = planned, actual


@dataclass
class RenderResult:
    """What a render did, as `seqc render --json` prints it, and where the plan's clips are."""

    clips: dict[str, Path]  # clip key -> its content file in the cache, for every segment
    frames: int
    segments: int
    rendered: int
    cached: int
    seconds: float
    rendered_segments: list[int] = field(default_factory=list)
    output: Path | None = None  # set by the output step that wrote a file
    rendered_end: bool = False  # the final frame's clip was rendered (it is not a segment)
    tracks: dict[str, TrackInfo] = field(default_factory=dict)  # clip key -> what it holds, as recorded at publish
    fetched: int = 0  # segments whose clip came from the remote cache (counted in `cached` too)
    pushed: int = 0  # entries this render committed to the remote cache
    fps: float = 0.0  # the video's frame rate and (width, height), as rendered (--draft: the draft's)
    size: tuple[int, int] = (0, 0)

    def as_dict(self) -> dict:
        fps = int(self.fps) if float(self.fps).is_integer() else self.fps
        return {
            "output": str(self.output) if self.output else None, "frames": self.frames,
            "segments": self.segments, "rendered": self.rendered, "cached": self.cached,
            "rendered_final_frame": self.rendered_end, "seconds": round(self.seconds, 3),
            "fetched": self.fetched, "pushed": self.pushed, "fps": fps, "size": list(self.size),
            "duration": round(self.frames / self.fps, 6) if self.fps else 0.0,
        }


def render(plan: Plan, cache: Cache, options: RenderOptions | None = None, reporter: Reporter | None = None,
           should_stop: Callable[[], bool] | None = None, *, session: Session | None = None,
           executor: Executor | None = None) -> RenderResult:
    """Render what the plan says is missing into the cache; return where every clip of the plan is.
    `session` keeps the open remotes (and the model) between renders (None: a fresh one, nothing
    kept); `executor` renders the missing segments (None: this process, seqc.render.execute)."""
    options = options or RenderOptions()
    reporter = reporter or Reporter()
    session = session or Session()
    started = time.monotonic()
    story = plan.storyboard
    # Temp files of killed renders (their pid is gone); a live process's are left alone.
    atomic.remove_dead_temps(cache.root)
    # 0. A remote cache (--remote) first fills in what the local one lacks (seqc.store.tier).
    remote = RemoteTier(session.remotes.open(options.remote), cache, reporter)
    remote.fetch_missing((job.key for job in plan.clip_jobs), lambda: endpoint_entries(plan, plan.clip_jobs))

    # 1. Which clips are really there: verify each cached clip (its digest, or its stat where the
    #    file memo vouches for it), with the stream parameters recorded when it was published.
    clips, tracks, todo = _cached_clips(plan, cache)
    reporter.begin(plan, todo, sum(job.segment.frames for job in todo))

    if not todo:  # everything is cached: no numpy, no model, nothing written
        reporter.end()
        return _finish(remote, plan, _result(plan, clips, tracks, [], started))
    from seqc.render.endpoints import encode_missing, gather_endpoints, trace_missing
    from seqc.render.execute import LocalExecutor, Work

    # 2. What the missing segments' keyframes need: cached latents and prompt conditionings,
    #    or images to encode (decoded now: a broken file fails before any model loads).
    endpoints, pixels = gather_endpoints(plan, cache, todo)

    # 3. The model (something must be rendered).
    from seqc.backends import default_batch_size

    reporter.stage(f"loading model '{story.model}'")
    assert story.model_ref is not None  # None only while a storyboard is invalid
    backend = session.models.load(story.model_ref, options.device, options.dtype, fingerprint=plan.model)
    if backend.precision != plan.precision:
        raise PrecisionMismatch(plan.precision, backend.precision)
    batch_size = options.batch_size or default_batch_size(backend)

    # 4. Encode what was not cached: image latents, prompt conditionings; make each keyframe's noise;
    #    the latents a morph starts its in-betweens from.
    encode_missing(plan, cache, backend, endpoints, pixels, reporter.stage)
    trace_missing(plan, cache, backend, endpoints, todo, reporter.stage)  # a morph's ends at its step k

    # 5. Render each missing segment into a clip, through the executor the caller chose
    #    (seqc.render.execute): by default here, each clip finished and published in the background
    #    while the next one decodes; or elsewhere (a Ray cluster's workers publish into the cache).
    work = Work(plan, cache, todo, endpoints, backend, batch_size, reporter, should_stop)
    for key, (path, track) in (executor or LocalExecutor()).run(work).items():
        clips[key], tracks[key] = path, track
    # 6. One sync for everything published above; then the file memo vouches for those entries
    #    (saved with the run record), so the next run trusts them by stat instead of hashing.
    cache.sync_published()
    # 7. Share what this render made (--remote).
    remote.push(lambda: [("clips", key) for key in dict.fromkeys(job.key for job in todo)]
                + endpoint_entries(plan, todo))
    reporter.end()

    return _finish(remote, plan, _result(plan, clips, tracks, todo, started))


def _cached_clips(plan: Plan, cache: Cache) -> tuple[dict[str, Path], dict[str, TrackInfo], list[SegmentJob]]:
    """(clip key -> its verified cache path, clip key -> its recorded track, the jobs whose clip is
    missing, in timeline order). A repeated segment is one clip."""
    from seqc.render.execute import recorded_track

    clips: dict[str, Path] = {}
    tracks: dict[str, TrackInfo] = {}
    todo: list[SegmentJob] = []
    missing: set[str] = set()
    for job in plan.clip_jobs:
        if job.key in clips or job.key in missing:
            continue
        path = cache.get("clips", job.key)
        if path is None:
            todo.append(job)
            missing.add(job.key)
            continue
        clips[job.key] = path
        track = recorded_track(cache, job.key)
        if track is not None:
            tracks[job.key] = track
    return clips, tracks, todo


def endpoint_entries(plan: Plan, jobs: Iterable[SegmentJob]) -> list[Entry]:
    """The keyframe latents, prompt conditionings and a morph's ends at step k that rendering `jobs`
    needs, as cache entries."""
    entries: list[Entry] = []
    for job in jobs:
        seg = job.segment
        for key in job.traces or ():
            if ("trajectories", key) not in entries:
                entries.append(("trajectories", key))
        for name in (seg.before, seg.source, seg.target, seg.after):
            for kind, table in (("latents", plan.latents), ("embeds", plan.embeds)):
                if name is not None and name in table and (kind, table[name].key) not in entries:
                    entries.append((kind, table[name].key))
    return entries


def _finish(remote: RemoteTier, plan: Plan, result: RenderResult) -> RenderResult:
    """Count the segments whose clip came from the remote (`cached` includes them) and what was
    pushed; let the file memo vouch for the fetched entries."""
    remote.settle()
    result.fetched = sum(1 for job in plan.jobs if job.key in remote.fetched_keys)
    result.pushed = remote.pushed
    return result


def _result(plan: Plan, clips: dict[str, Path], tracks: dict[str, TrackInfo], todo: list[SegmentJob],
            started: float) -> RenderResult:
    rendered_keys = {job.key for job in todo}
    indices = [job.segment.index for job in plan.jobs if job.key in rendered_keys]
    return RenderResult(
        clips=clips, frames=plan.total_frames, segments=len(plan.jobs), rendered=len(indices),
        cached=len(plan.jobs) - len(indices), seconds=time.monotonic() - started, rendered_segments=indices,
        rendered_end=plan.end is not None and plan.end.key in rendered_keys, tracks=tracks,
        fps=plan.storyboard.output.fps, size=plan.storyboard.output.size,
    )
