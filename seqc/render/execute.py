"""Step 5 of a render, the executor seam: turn the missing segments into published clips.

The driver (seqc.render.driver) plans, leases, gathers the keyframe latents and loads the model;
what it hands over is a `Work`: the segments to render and what they need. Who renders them is an
`Executor` the caller passes in: `LocalExecutor` (this process, one segment after another, with
each clip finished and published in the background while the next decodes, and a pipeline's short
jobs denoised on a side thread meanwhile), or one from a stage
built on this one (seqc.cluster's RayExecutor: model-holding workers on a Ray cluster). A new
executor implements the protocol where it lives; nothing here names it. Either way the result is
the same set of clips in the cache, byte for byte on machines of one kind, because every executor
renders a segment through `render_segment` or its two halves (and the backends make every CPU
frame on one torch thread, so neither the core count nor the batch size changes a byte).

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
    finished and published in the background while the next one decodes (seqc.render.finish).

    On the CPU a pipeline's segment that fits one denoising call (the final frame, a hold) would
    run on one core while the others wait, so such jobs denoise on a side thread beside the long
    ones and are written in their turn: the clips, their order and their bytes are the same."""

    def run(self, work: Work) -> Published:
        from concurrent.futures import ThreadPoolExecutor

        from seqc.render.finish import ClipFinisher

        story = work.plan.storyboard
        reporter, should_stop = work.reporter, work.should_stop
        side = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seqc-side")
        try:
            with ClipFinisher(work.cache) as finisher:
                # 1. The short jobs start beside the long ones (their frames are held, a call's worth each).
                ahead = {job.key: side.submit(_held_frames, work, job) for job in _beside(work)}
                # 2. Every job in timeline order: a short one's frames as computed, a long one's as they come.
                for job in work.todo:
                    if should_stop is not None and should_stop():
                        raise Superseded()
                    seg = job.segment
                    reporter.segment_begin(job, seg.frames)
                    held = ahead.get(job.key)
                    batches = iter(held.result()) if held is not None else _frames(work, job)
                    write_clip(finisher, job, batches, story.output.size, story.output.fps, reporter)
                    reporter.segment_end(job)
                return finisher.wait()
        finally:
            # A stop or a failure drops the short jobs not started; one in flight finishes its call.
            side.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        """Nothing is kept between runs."""


def _beside(work: Work) -> list[SegmentJob]:
    """The jobs worth denoising on a side thread: on the CPU, pipeline segments of at most one call's
    frames, when longer ones keep the cores busy meanwhile and every job uses one scheduler (the
    backend's scheduler is set per segment, so two at once must agree on it)."""
    from seqc.backends.protocol import Capability, generator

    backend = work.backend
    if backend.device.type != "cpu" or Capability.GENERATE not in backend.capabilities:
        return []
    if any(endpoint.loras or endpoint.control is not None for endpoint in work.endpoints.values()):
        return []  # LoRA weights and control pictures live on the shared model: one job at a time
    unit = generator(backend, "denoise frames").frames_per_call
    short = [job for job in work.todo if job.segment.generation is not None and job.segment.frames <= unit]
    if len(short) == len(work.todo) or len({job.segment.scheduler for job in work.todo}) > 1:
        return []
    return short


def _held_frames(work: Work, job: SegmentJob) -> list[np.ndarray]:
    """A short job's frame batches, all computed (on the side thread)."""
    return list(_frames(work, job))


def _frames(work: Work, job: SegmentJob) -> Iterator[np.ndarray]:
    """A job's frame batches, rendered here with the work's model (see `segment_batches`)."""
    seg = job.segment
    endpoints = work.endpoints
    return segment_batches(work.backend, job, endpoints[seg.source], endpoints[seg.target],
                           endpoints.get(seg.before or ""), endpoints.get(seg.after or ""),
                           batch_size=work.batch_size, size=work.plan.storyboard.output.size,
                           should_stop=work.should_stop)


def render_segment(backend: Backend, job: SegmentJob, start: Endpoint, end: Endpoint, before: Endpoint | None,
                   after: Endpoint | None, *, finisher: ClipFinisher, batch_size: int, size: tuple[int, int],
                   fps: float, reporter: Advances | None = None, should_stop: Callable[[], bool] | None = None
                   ) -> None:
    """Render one segment into its clip and hand it to `finisher`, which publishes it. Every
    executor renders through this (or, locally, the same two halves: `segment_batches` and
    `write_clip`), so a clip is the same bytes whoever made it. `reporter.advance(n)` is called
    after every batch of n frames written."""
    batches = segment_batches(backend, job, start, end, before, after, batch_size=batch_size, size=size,
                              should_stop=should_stop)
    write_clip(finisher, job, batches, size, fps, reporter)


def segment_batches(backend: Backend, job: SegmentJob, start: Endpoint, end: Endpoint, before: Endpoint | None,
                    after: Endpoint | None, *, batch_size: int, size: tuple[int, int],
                    should_stop: Callable[[], bool] | None = None) -> Iterator[np.ndarray]:
    """A segment's frames, a batch at a time: the segment's scheduler and the depth its clip's codec
    takes, then its frames by method and pacing (seqc.render.frames)."""
    from seqc.backends.protocol import schedulable, set_frame_bits
    from seqc.media.encode import depth
    from seqc.render.frames import segment_frames

    set_frame_bits(backend, depth(job.encoding))
    seg = job.segment
    if seg.scheduler is not None:  # only a pipeline's segments name one (seqc.spec.generation)
        schedulable(backend, f"use the scheduler '{seg.scheduler}'").set_scheduler(seg.scheduler)
    return segment_frames(backend, job, start, end, batch_size, should_stop, size, before, after)


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
