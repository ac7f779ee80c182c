"""The driver's side of `--executor ray`: `RayExecutor`, a seqc.render.execute.Executor that
renders on a pool of model-holding workers, the longest job first.

1. Join the cluster (seqc.cluster.connect) and size the pool: one worker per GPU (`num_gpus=1`)
   when the cluster has GPUs and the device allows, else one per CPU (`num_cpus=1`, one torch
   thread each); `--workers N` asks for N, capped at what the cluster has free.
2. The pool is created only when something is missing and kept by the executor (a session keeps
   the executor: `seqc watch` renders many times, and the model loads once per worker) until
   `close()` stops the workers.
3. Jobs go out longest first (frames x denoising steps), one per idle worker; each worker publishes
   its clip into the cache and answers with the key and the digest.
4. A worker that dies mid-segment is replaced and its segment rendered again (keys are content
   addresses, so a retry is safe; a partial clip is a dead process's temp file, never an entry).
5. The driver finds each clip in its own cache (a shared folder), or fetches it from `--remote`;
   if neither has it, the worker ran on a machine that shares neither, which is a clear error.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from seqc.cluster.connect import connect
from seqc.cluster.worker import SegmentWorker, Task, WorkerRefused
from seqc.errors import RenderError, SeqcError
from seqc.media.mp4 import TrackInfo
from seqc.models import ModelRef
from seqc.plan import SegmentJob
from seqc.render.execute import Work, recorded_track
from seqc.render.finish import Published
from seqc.render.stop import Superseded
from seqc.store import Cache
from seqc.store.tier import Remotes

MAX_ATTEMPTS = 3  # a segment whose worker dies this many times fails the render
POLL_SECONDS = 0.2  # how often the driver checks should_stop while workers render
ROOM_WAIT_SECONDS = 5.0  # how long a new pool waits for the CPUs (GPUs) it asks for to be free


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
    """The Ray actors of one spec, by slot (worker 1..N in the progress display), each an instance
    of `worker_class` (SegmentWorker, or a test's subclass)."""

    def __init__(self, ray, spec: PoolSpec, reporter, worker_class: type[SegmentWorker] = SegmentWorker):
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
        self.actor_class = ray.remote(worker_class).options(**options)
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
        actor = self.actor_class.remote(self.threads)
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


class RayExecutor:
    """Render a Work's segments on Ray workers (seqc.render.execute.Executor). It keeps its pool
    between runs, so keep the executor (a session's `executors`) to keep the loaded models; another
    model or device replaces the workers by itself, and `close()` stops them.

    `ray_address`: "auto", HOST:PORT, or None (join the cluster this process joined, else start a
    local Ray). `workers`: how many (None: one per GPU, else one per CPU). `device`, `dtype` and
    `batch_size` are the render's (a worker's batch defaults to its own device's). `remote`: the
    URL each worker pushes its clips to; the driver fetches a clip from it through `remotes` (the
    session's opened remotes) when its own cache does not share the workers'."""

    def __init__(self, ray_address: str | None = None, workers: int | None = None, *, device: str = "auto",
                 dtype: str = "auto", batch_size: int | None = None, remote: str | None = None,
                 remotes: Remotes | None = None, worker_class: type[SegmentWorker] = SegmentWorker):
        self.configure(ray_address, workers, device=device, dtype=dtype, batch_size=batch_size, remote=remote)
        self.remotes = remotes or Remotes()
        self.worker_class = worker_class
        self.pool: Pool | None = None  # started by the first run that has something to render

    def configure(self, ray_address: str | None, workers: int | None, *, device: str, dtype: str,
                  batch_size: int | None, remote: str | None) -> None:
        """The settings of the next runs. The pool stays while what its workers hold is the same
        (model, device, dtype, worker count: PoolSpec); the batch size and the remote are per run."""
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.ray_address, self.workers = ray_address, workers
        self.device, self.dtype, self.batch_size, self.remote = device, dtype, batch_size, remote

    def close(self) -> None:
        """Stop this executor's workers (a later run starts new ones)."""
        if self.pool is not None:
            self.pool.shutdown()
            self.pool = None

    def pool_for(self, ray, spec: PoolSpec, reporter) -> Pool:
        """The pool for `spec`: the one kept from the last run, or a new one."""
        if self.pool is not None and (self.pool.spec != spec or not self.pool.alive_in(ray)):
            self.close()
        if self.pool is None:
            self.pool = Pool(ray, spec, reporter, self.worker_class)
        return self.pool

    def run(self, work: Work) -> Published:
        """Render `work`'s missing segments on Ray workers; return the published clips, as the
        local executor does."""
        ray = connect(self.ray_address, self.workers)
        plan, cache, reporter = work.plan, work.cache, work.reporter
        story = plan.storyboard
        assert story.model_ref is not None
        spec = PoolSpec(story.model_ref, plan.model, self.device, self.dtype, self.workers, str(cache.root))
        pool = self.pool_for(ray, spec, reporter)
        # 1. The jobs, longest first, each with the endpoints its segment needs (small arrays).
        ends = work.endpoints

        def task(job: SegmentJob) -> Task:
            seg = job.segment
            return Task(job, plan.model, plan.precision, ends[seg.source], ends[seg.target],
                        ends.get(seg.before or ""), ends.get(seg.after or ""), story.output.size,
                        story.output.fps, self.batch_size, str(cache.root), self.remote)

        queue = deque((task(job), 0) for job in sorted(work.todo, key=cost, reverse=True))
        reporter.stage(f"rendering on {pool.size} Ray worker{'s' if pool.size != 1 else ''}")
        try:
            return self._dispatch(ray, pool, queue, work)
        finally:
            for slot in range(pool.size):
                reporter.worker(slot + 1, None)

    def _dispatch(self, ray, pool: Pool, queue: deque, work: Work) -> Published:
        """2. One job per idle worker; collect answers as they come; replace a worker that died."""
        reporter, cache = work.reporter, work.cache
        published: Published = {}
        idle = list(range(pool.size))
        running: dict = {}  # object ref -> (slot, task, attempt)
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
                published[item.job.key] = locate(cache, item.job, answer, self.remote, self.remotes)
                reporter.worker(slot + 1, None)
                reporter.advance(item.job.segment.frames)
                reporter.segment_end(item.job)
                idle.append(slot)
        return published


def cost(job: SegmentJob) -> int:
    """How long a job takes, roughly: its frames, times the denoising steps of a pipeline."""
    return job.segment.frames * (job.segment.steps or 1)


def locate(cache: Cache, job: SegmentJob, answer: dict, remote: str | None,
           remotes: Remotes | None = None) -> tuple[Path, TrackInfo]:
    """The clip a worker published, in this machine's cache (shared, or fetched from the remote,
    opened through `remotes`: once per session)."""
    path = cache.get("clips", job.key)
    why = ""
    if path is None and remote:
        try:
            opened = (remotes or Remotes()).open(remote)
            assert opened is not None  # open() opens every non-empty URL
            path = opened.fetch(cache, "clips", job.key)
        except Exception as exc:  # noqa: BLE001 - said in the error below
            why = f" (the remote failed: {exc})"
    if path is None:
        raise RenderError(
            f"{job.label} was rendered by a Ray worker on {answer['host']}, but its clip is not in this machine's "
            f"cache ({cache.root}){' nor on the remote' + why if remote else ''}: share the cache folder with every "
            "worker (the same path on each machine) or pass --remote URL")
    track = recorded_track(cache, job.key)
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
