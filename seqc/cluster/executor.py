"""The driver's side of `--executor ray`: a pool of model-holding workers, the longest job first.

1. Join the cluster (seqc.cluster.connect) and size the pool: one worker per GPU (`num_gpus=1`)
   when the cluster has GPUs and the device allows, else one per CPU (`num_cpus=1`, one torch
   thread each); `--workers N` asks for N, capped at what the cluster has free.
2. The pool is created only when something is missing and kept for the process (`seqc watch`
   renders many times): the model loads once per worker.
3. Jobs go out longest first (frames x denoising steps), one per idle worker; each worker publishes
   its clip into the cache and answers with the key and the digest.
4. A worker that dies mid-segment is replaced and its segment rendered again (keys are content
   addresses, so a retry is safe; a partial clip is a dead process's temp file, never an entry).
5. The driver finds each clip in its own cache (a shared folder), or fetches it from `--remote`;
   if neither has it, the worker ran on a machine that shares neither, which is a clear error.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from dataclasses import dataclass, field

from seqc.cluster.connect import connect
from seqc.cluster.worker import SegmentWorker, Task, WorkerRefused
from seqc.errors import RenderError, SeqcError
from seqc.media.mp4 import TrackInfo
from seqc.models import ModelRef
from seqc.render.execute import Work
from seqc.render.finish import Published
from seqc.render.stop import Superseded

MAX_ATTEMPTS = 3  # a segment whose worker dies this many times fails the render
POLL_SECONDS = 0.2  # how often the driver checks should_stop while workers render
ROOM_WAIT_SECONDS = 5.0  # how long a new pool waits for the CPUs (GPUs) it asks for to be free
CRASH_HOOK = "SEQC_TEST_CRASH_WORKER"  # test hook: a marker path; the first worker to create it dies mid-segment


@dataclass(frozen=True)
class PoolSpec:
    """What a pool of workers is for: another model, device or count means new workers."""

    model: ModelRef
    fingerprint: str
    device: str
    dtype: str
    workers: int | None
    cache_root: str = field(compare=False)  # where the workers hash the model's files (its file memo)


class Pool:
    """The Ray actors of one spec, by slot (worker 1..N in the progress display)."""

    def __init__(self, ray, spec: PoolSpec, reporter):
        self.ray, self.spec = ray, spec
        self.job_id = ray.get_runtime_context().get_job_id()
        # 1. Size: GPU workers where the cluster has GPUs (unless --device cpu), else CPU workers.
        total, free = ray.cluster_resources(), ray.available_resources()
        self.gpu = spec.device in ("auto", "cuda") and total.get("GPU", 0) >= 1
        unit = "GPU" if self.gpu else "CPU"
        want = spec.workers or max(1, int(total.get(unit, 1)))
        room = int(free.get(unit, 0))
        deadline = time.monotonic() + ROOM_WAIT_SECONDS  # workers just stopped free their CPUs a moment later
        while room < want and time.monotonic() < deadline:
            time.sleep(0.2)
            room = int(ray.available_resources().get(unit, 0))
        if room < 1:
            raise RenderError(f"the Ray cluster has no free {unit} for a worker (all {int(total.get(unit, 0))} "
                              "are in use by other jobs); try again when they finish")
        if room < want:
            reporter.warn(f"the Ray cluster has room for {room} of the {want} workers asked for (free {unit}s); "
                          f"rendering with {room}")
        self.size = min(want, room)
        options = dict(num_cpus=1, max_restarts=0, max_concurrency=1)
        if self.gpu:
            options["num_gpus"] = 1
        self.actor_class = ray.remote(SegmentWorker).options(**options)
        self.threads = None if self.gpu else 1
        self.actors: list = [None] * self.size
        self.info: list[dict] = [{} for _ in range(self.size)]
        # 2. Start every worker and load the model on each, in parallel.
        reporter.stage(f"starting {self.size} Ray worker{'s' if self.size != 1 else ''} "
                       f"({'one GPU' if self.gpu else 'one CPU thread'} each; each loads the model)")
        try:
            loads = {slot: self._spawn(slot) for slot in range(self.size)}
            for slot, ref in loads.items():
                self.info[slot] = self._loaded(slot, ref)
        except BaseException:  # one worker could not load the model: stop the others too
            self.shutdown()
            raise

    def _spawn(self, slot: int):
        spec = self.spec
        actor = self.actor_class.remote(self.threads, os.environ.get(CRASH_HOOK) or None)
        self.actors[slot] = actor
        return actor.load.remote(spec.model, spec.device, spec.dtype, spec.fingerprint, spec.cache_root)

    def _loaded(self, slot: int, ref) -> dict:
        try:
            return self.ray.get(ref)
        except self.ray.exceptions.RayTaskError as exc:
            raise worker_error(exc, slot, "could not load the model") from None
        except self.ray.exceptions.RayActorError as exc:
            raise RenderError(f"Ray worker {slot + 1} could not start ({first_line(exc)}); is the same seqc "
                              "version installed on every node?") from None

    def restart(self, slot: int) -> None:
        """Replace the worker in `slot` (it died) with a new one that has loaded the model."""
        with contextlib.suppress(Exception):
            self.ray.kill(self.actors[slot])
        self.info[slot] = self._loaded(slot, self._spawn(slot))

    def alive_in(self, ray) -> bool:
        """Whether this pool's actors belong to the Ray session this process is joined to now."""
        return ray.is_initialized() and ray.get_runtime_context().get_job_id() == self.job_id

    def shutdown(self) -> None:
        for actor in self.actors:
            with contextlib.suppress(Exception):
                self.ray.kill(actor)
        self.actors = [None] * self.size


_pool: Pool | None = None  # kept for the process: `seqc watch` renders many times with one pool


def shutdown_pool() -> None:
    """Stop this process's workers (tests; another model or worker count replaces them by itself)."""
    global _pool
    if _pool is not None:
        _pool.shutdown()
        _pool = None


def pool_for(ray, spec: PoolSpec, reporter) -> Pool:
    """The process's pool for `spec`: the one kept from the last render, or a new one."""
    global _pool
    if _pool is not None and (_pool.spec != spec or not _pool.alive_in(ray)):
        shutdown_pool()
    if _pool is None:
        _pool = Pool(ray, spec, reporter)
    return _pool


def render_on_ray(work: Work, options) -> Published:
    """Render `work`'s missing segments on Ray workers; return the published clips, as the local
    executor does."""
    ray = connect(options)
    plan, cache, reporter = work.plan, work.cache, work.reporter
    story = plan.storyboard
    assert story.model_ref is not None
    remote = getattr(options, "remote", None)
    spec = PoolSpec(story.model_ref, plan.model, options.device, options.dtype, options.workers, str(cache.root))
    pool = pool_for(ray, spec, reporter)
    # 1. The jobs, longest first, each with the endpoints its segment needs (small arrays).
    ends = work.endpoints

    def task(job) -> Task:
        seg = job.segment
        return Task(job, plan.model, plan.precision, ends[seg.source], ends[seg.target], ends.get(seg.before or ""),
                    ends.get(seg.after or ""), story.output.size, story.output.fps, options.batch_size,
                    str(cache.root), remote)

    queue = deque((task(job), 0) for job in sorted(work.todo, key=cost, reverse=True))
    reporter.stage(f"rendering on {pool.size} Ray worker{'s' if pool.size != 1 else ''}")
    # 2. One job per idle worker; collect answers as they come; replace a worker that died.
    published: Published = {}
    idle = list(range(pool.size))
    running: dict = {}  # object ref -> (slot, task, attempt)
    try:
        while queue or running:
            if work.should_stop is not None and work.should_stop():
                raise Superseded()
            while queue and idle:
                slot, (item, attempt) = idle.pop(0), queue.popleft()
                running[pool.actors[slot].render.remote(item)] = (slot, item, attempt)
                reporter.worker(slot + 1, item.job)
            ready, _ = ray.wait(list(running), num_returns=1, timeout=POLL_SECONDS)
            for ref in ready:
                slot, item, attempt = running.pop(ref)
                try:
                    answer = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:
                    raise worker_error(exc, slot, f"failed on {item.job.label}") from None
                except ray.exceptions.RayActorError as exc:
                    if attempt + 1 >= MAX_ATTEMPTS:
                        raise RenderError(f"{item.job.label}: its Ray worker died {MAX_ATTEMPTS} times "
                                          f"({first_line(exc)})") from None
                    reporter.warn(f"Ray worker {slot + 1} died while rendering {item.job.label}; rendering it "
                                  "again on a new worker")
                    reporter.worker(slot + 1, None)
                    pool.restart(slot)
                    queue.appendleft((item, attempt + 1))
                    idle.append(slot)
                    continue
                for message in answer["warnings"]:
                    reporter.warn(message)
                published[item.job.key] = locate(cache, item.job, answer, remote)
                reporter.worker(slot + 1, None)
                reporter.advance(item.job.segment.frames)
                reporter.segment_end(item.job)
                idle.append(slot)
    finally:
        for slot in range(pool.size):
            reporter.worker(slot + 1, None)
    return published


def cost(job) -> int:
    """How long a job takes, roughly: its frames, times the denoising steps of a pipeline."""
    return job.segment.frames * (job.segment.steps or 1)


def locate(cache, job, answer: dict, remote: str | None):
    """The clip a worker published, in this machine's cache (shared, or fetched from the remote)."""
    path = cache.get("clips", job.key)
    why = ""
    if path is None and remote:
        from seqc.render.remote_tier import connect as open_remote  # opened once per process

        try:
            opened = open_remote(remote)
            assert opened is not None  # connect() opens every non-empty URL
            path = opened.fetch(cache, "clips", job.key)
        except Exception as exc:  # noqa: BLE001 - said in the error below
            why = f" (the remote failed: {exc})"
    if path is None:
        raise RenderError(
            f"{job.label} was rendered by a Ray worker on {answer['host']}, but its clip is not in this machine's "
            f"cache ({cache.root}){' nor on the remote' + why if remote else ''}: share the cache folder with every "
            "worker (the same path on each machine) or pass --remote URL")
    track = None
    recorded = cache.read_facts("clips", job.key).get("track")
    if isinstance(recorded, dict):
        with contextlib.suppress(KeyError, TypeError, ValueError, ZeroDivisionError):
            track = TrackInfo.from_dict(recorded)
    if track is None:
        from seqc.media.mp4 import read_track

        track = read_track(path)
    return path, track


def worker_error(exc, slot: int, what: str) -> SeqcError:
    """A worker's own error (its model differs, ffmpeg failed) as one line for the user."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, WorkerRefused):
        return WorkerRefused(str(cause))
    message = str(cause) if isinstance(cause, SeqcError) else (
        f"{type(cause).__name__}: {cause}" if cause is not None else first_line(exc))
    return RenderError(f"Ray worker {slot + 1} {what}: {message}")


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
