"""Step 5 of a render, the executor seam: turn the missing segments into published clips.

The driver (seqc.render.driver) plans, leases, gathers the keyframe latents and loads the model;
what it hands over is a `Work`: the segments to render and what they need. Who renders them is an
`Executor` the caller passes in: `LocalExecutor` (this process, one segment after another, with
each clip finished and published in the background while the next decodes), or one from a stage
built on this one (seqc.cluster's RayExecutor: model-holding workers on a Ray cluster). A new
executor implements the protocol where it lives; nothing here names it. Either way the result is
the same set of clips in the cache, byte for byte on machines of one kind, because every executor
renders a segment through `render_segment` (and the backends make every CPU frame on one torch
thread, so neither the core count nor the batch size changes a byte).

Imports neither numpy nor the planner at import time: seqc.render.session names `Executor`, and
`seqc render` imports the session before its up-to-date check (seqc.outputs.stamp).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from seqc.media.mp4 import TrackInfo
from seqc.render.stop import Superseded

if TYPE_CHECKING:
    import numpy as np

    from seqc.backends.protocol import Backend
    from seqc.plan import Plan, SegmentJob
    from seqc.render.finish import ClipFinisher, Published
    from seqc.render.frames import Endpoint
    from seqc.render.progress import Reporter
    from seqc.store import Cache


class Advances(Protocol):
    """What write_clip reports each written batch to (a Reporter is one)."""

    def advance(self, frames: int) -> None: ...


@dataclass
class Work:
    """The missing segments of a plan and everything rendering them needs."""

    plan: Plan
    cache: Cache
    todo: list[SegmentJob]  # the missing clips, in timeline order
    endpoints: dict[str, Endpoint]  # keyframe name -> its latent, conditioning and noise
    backend: Backend  # the model loaded in this process (the local executor renders with it)
    batch_size: int
    reporter: Reporter
    should_stop: Callable[[], bool] | None = None


class Executor(Protocol):
    """Who renders a Work's segments. `run` publishes every missing clip into `work.cache` and
    returns them; `close` lets go of what the executor keeps between runs (a pool of workers)."""

    def run(self, work: Work) -> Published: ...
    def close(self) -> None: ...


class LocalExecutor:
    """One segment after another in this process, with the model the driver loaded; each clip is
    finished and published in the background while the next one decodes (seqc.render.finish)."""

    def run(self, work: Work) -> Published:
        from seqc.render.finish import ClipFinisher

        story = work.plan.storyboard
        endpoints, reporter, should_stop = work.endpoints, work.reporter, work.should_stop
        with ClipFinisher(work.cache) as finisher:
            for job in work.todo:
                if should_stop is not None and should_stop():
                    raise Superseded()
                seg = job.segment
                reporter.segment_begin(job, seg.frames)
                render_segment(work.backend, job, endpoints[seg.source], endpoints[seg.target],
                               endpoints.get(seg.before or ""), endpoints.get(seg.after or ""),
                               finisher=finisher, batch_size=work.batch_size, size=story.output.size,
                               fps=story.output.fps, reporter=reporter, should_stop=should_stop)
                reporter.segment_end(job)
            return finisher.wait()

    def close(self) -> None:
        """Nothing is kept between runs."""


def render_segment(backend: Backend, job: SegmentJob, start: Endpoint, end: Endpoint, before: Endpoint | None,
                   after: Endpoint | None, *, finisher: ClipFinisher, batch_size: int, size: tuple[int, int],
                   fps: float, reporter: Advances | None = None, should_stop: Callable[[], bool] | None = None
                   ) -> None:
    """Render one segment into its clip and hand it to `finisher`, which publishes it: the
    segment's scheduler, its frames by method and pacing, the clip's encoder. Every executor
    renders through this, so a clip is the same bytes whoever made it. `reporter.advance(n)` is
    called after every batch of n frames written."""
    from seqc.backends.protocol import schedulable
    from seqc.render.frames import segment_frames

    seg = job.segment
    if seg.scheduler is not None:  # only a pipeline's segments name one (seqc.spec.generation)
        schedulable(backend, f"use the scheduler '{seg.scheduler}'").set_scheduler(seg.scheduler)
    batches = segment_frames(backend, job, start, end, batch_size, should_stop, size, before, after)
    write_clip(finisher, job, batches, size, fps, reporter)


def write_clip(finisher: ClipFinisher, job: SegmentJob, batches: Iterator[np.ndarray], size: tuple[int, int],
               fps: float, reporter: Advances | None) -> None:
    """Stream a segment's frames into its clip's encoder, then hand the clip to the finisher, which
    checks it and publishes it with its stream parameters and frame count (the join reads them)."""
    writer = finisher.start(job, size, fps, job.segment.frames)
    try:
        for batch in batches:
            writer.write(batch)
            if reporter is not None:
                reporter.advance(len(batch))
    except BaseException:
        writer.abort()
        raise
    finisher.finish(job, writer)


def recorded_track(cache: Cache, key: str) -> TrackInfo | None:
    """The stream parameters of clip `key` as recorded in its sidecar when it was published, or
    None when the sidecar has none (or an unreadable one): then the caller reads the clip itself."""
    recorded = cache.read_facts("clips", key).get("track")
    if not isinstance(recorded, dict):
        return None
    with contextlib.suppress(KeyError, TypeError, ValueError, ZeroDivisionError):
        return TrackInfo.from_dict(recorded)
    return None
