"""Step 5 of a render, the executor seam: turn the missing segments into published clips.

The driver (seqc.render.render) plans, leases, gathers the keyframe latents and loads the model;
what it hands over is a `Work`: the segments to render and what they need. `execute` chooses who
renders them: `local` (this process, one segment after another, with each clip finished and
published in the background while the next decodes) or `ray` (seqc.cluster: model-holding
workers on a Ray cluster, imported only when asked for). Either way the result is the same set
of clips in the cache, byte for byte on machines of one kind (the backends make every CPU frame on
one torch thread, so neither the core count nor the batch size changes a byte).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from seqc.plan import Plan, SegmentJob
from seqc.render.finish import ClipFinisher, Published
from seqc.render.frames import Endpoint, segment_frames
from seqc.render.stop import Superseded
from seqc.store import Cache

if TYPE_CHECKING:
    import numpy as np

    from seqc.render.options import RenderOptions
    from seqc.render.render import Reporter


class Advances(Protocol):
    """What write_clip reports to: a Reporter, or a cluster worker (seqc.cluster.worker)."""

    def advance(self, frames: int) -> None: ...


@dataclass
class Work:
    """The missing segments of a plan and everything rendering them needs."""

    plan: Plan
    cache: Cache
    todo: list[SegmentJob]  # the missing clips, in timeline order
    endpoints: dict[str, Endpoint]  # keyframe name -> its latent, conditioning and noise
    backend: object  # the model loaded in this process (the local executor renders with it)
    batch_size: int
    reporter: Reporter
    should_stop: Callable[[], bool] | None = None


def execute(work: Work, options: RenderOptions) -> Published:
    """Render every missing segment of `work` into the cache; return the published clips."""
    if options.executor == "ray":
        from seqc.cluster.executor import render_on_ray

        return render_on_ray(work, options)
    return render_locally(work)


def render_locally(work: Work) -> Published:
    """Today's render: one segment after another in this process; each clip is finished and
    published in the background while the next one decodes (seqc.render.finish)."""
    story = work.plan.storyboard
    backend, endpoints, reporter, should_stop = work.backend, work.endpoints, work.reporter, work.should_stop
    with ClipFinisher(work.cache) as finisher:
        for job in work.todo:
            if should_stop is not None and should_stop():
                raise Superseded()
            seg = job.segment
            reporter.segment_begin(job, seg.frames)
            if seg.scheduler is not None and hasattr(backend, "set_scheduler"):
                backend.set_scheduler(seg.scheduler)
            batches = segment_frames(backend, job, endpoints[seg.source], endpoints[seg.target],
                                     work.batch_size, should_stop, story.output.size,
                                     endpoints.get(seg.before or ""), endpoints.get(seg.after or ""))
            write_clip(finisher, job, batches, story.output.size, story.output.fps, reporter)
            reporter.segment_end(job)
        return finisher.wait()


def write_clip(finisher: ClipFinisher, job: SegmentJob, batches: Iterator[np.ndarray], size: tuple[int, int],
               fps: float, reporter: Advances) -> None:
    """Stream a segment's frames into its clip's encoder, then hand the clip to the finisher, which
    checks it and publishes it with its stream parameters and frame count (the join reads them).
    `reporter.advance(n)` is called after every batch of n frames."""
    writer = finisher.start(job, size, fps, job.segment.frames)
    try:
        for batch in batches:
            writer.write(batch)
            reporter.advance(len(batch))
    except BaseException:
        writer.abort()
        raise
    finisher.finish(job, writer)
