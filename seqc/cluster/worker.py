"""The worker of `--executor ray`: holds the model and renders one segment at a time.

A plain class (seqc.cluster.executor makes it a Ray actor), so it can be tested without Ray.
Each segment's clip is published straight into a Cache opened on the same cache folder path on
the worker's machine (shared with the driver, or pushed to `--remote`), through the same code the
local executor uses, so its bytes are the same (on the CPU whatever the thread count: each frame is
made on one torch thread, seqc.backends.threads); only the key and the digest go back to the driver.
Clips never travel through Ray's object store.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from seqc.errors import RenderError
from seqc.media.ffmpeg import encoder_build
from seqc.models import ModelRef, fingerprint_inputs
from seqc.plan import SegmentJob, keys
from seqc.render.frames import Endpoint
from seqc.store import Cache

if TYPE_CHECKING:
    from seqc.store.remote import Remote


class WorkerRefused(RenderError):
    """A worker that cannot render the driver's plan (another model, another precision): exit 1."""


@dataclass(frozen=True)
class Task:
    """One segment to render: the job and the small inputs it needs (the endpoints' latents)."""

    job: SegmentJob
    model: str  # the model fingerprint the driver planned with (plan.model)
    precision: str  # the precision the keys are for (plan.precision)
    start: Endpoint
    end: Endpoint
    before: Endpoint | None
    after: Endpoint | None
    size: tuple[int, int]
    fps: float
    batch_size: int | None  # None: the worker's device default
    cache_root: str  # the driver's cache folder: the same path on every machine (or a local one, with a remote)
    remote: str | None = None  # push the clip there too (seqc.store.remote)


class SegmentWorker:
    """Load the model once (`load`), then render segments (`render`) into the cache each task names.

    `threads` sets torch's thread count (a CPU worker: one each, so workers do not fight for
    cores). `crash_marker` is a test hook only ($SEQC_TEST_CRASH_WORKER, seqc.cluster.executor):
    the first worker to create that file exits after its first batch of frames, mid-segment, as a
    crash would; the others carry on.
    """

    def __init__(self, threads: int | None = None, crash_marker: str | None = None):
        self.threads = threads
        self.crash_marker = crash_marker
        self.backend: Any = None  # seqc.backends.load_backend's, once loaded
        self.fingerprint = ""
        self.warnings: list[str] = []
        self.caches: dict[str, Cache] = {}
        self.remotes: dict[str, Remote] = {}
        self.push_failed: set[str] = set()

    def cache(self, root: str) -> Cache:
        """The cache at `root` on this machine (one object per folder, kept)."""
        if root not in self.caches:
            self.caches[root] = Cache(root, warn=self._warn)
        return self.caches[root]

    def _warn(self, message: str) -> None:
        self.warnings.append(message)

    def load(self, ref: ModelRef, device: str, dtype: str, fingerprint: str, cache_root: str) -> dict:
        """Load the model the driver planned with; refuse if this machine's copy is another model.
        (The model's files are hashed through the file memo of the cache at `cache_root`.)"""
        started = time.monotonic()
        if self.threads:
            import torch

            torch.set_num_threads(self.threads)
        mine = keys.model_fingerprint(fingerprint_inputs(ref, self.cache(cache_root).hash_file))
        if mine != fingerprint:
            raise WorkerRefused(
                f"the worker on {socket.gethostname()} has another model at {ref.path} (fingerprint {mine[:12]}, "
                f"the driver planned with {fingerprint[:12]}); every worker needs the same model folder at the "
                "same path, and the same seqc version")
        from seqc.backends import load_backend

        self.backend = load_backend(ref, device, dtype, fingerprint=fingerprint)
        self.fingerprint = mine
        return {"host": socket.gethostname(), "pid": os.getpid(), "precision": self.backend.precision,
                "device": str(getattr(self.backend, "device", "cpu")), "seconds": time.monotonic() - started}

    def render(self, task: Task) -> dict:
        """Render the task's segment into the cache (unless it is there already); return its digest."""
        from seqc.backends import default_batch_size
        from seqc.render.execute import write_clip
        from seqc.render.finish import ClipFinisher
        from seqc.render.frames import segment_frames

        started = time.monotonic()
        job, backend, cache = task.job, self.backend, self.cache(task.cache_root)
        # 1. The same model and precision as the driver's plan, or the clip would not match its key.
        if backend is None or task.model != self.fingerprint:
            raise WorkerRefused(
                f"the worker on {socket.gethostname()} holds model {self.fingerprint[:12] or '(none)'}, but "
                f"{job.label} was planned with {task.model[:12]}; every worker needs the same model folder "
                "at the same path")
        encoder = (job.inputs.get("encoder") or {}).get("ffmpeg")
        if encoder is not None and encoder != encoder_build():
            raise WorkerRefused(
                f"the worker on {socket.gethostname()} writes clips with {encoder_build()}, the plan's keys are for "
                f"{encoder}; install the same imageio-ffmpeg release (and seqc version) on every worker")
        if backend.precision != task.precision:
            raise WorkerRefused(
                f"the worker on {socket.gethostname()} runs the model in {backend.precision}, the plan is for "
                f"{task.precision}; pass --device and --dtype explicitly so the driver plans for the workers")
        # 2. Render and publish, unless the clip is already there (a retry, or a shared cache).
        rendered = cache.get("clips", job.key) is None
        if rendered:
            seg = job.segment
            if seg.scheduler is not None and hasattr(backend, "set_scheduler"):
                backend.set_scheduler(seg.scheduler)
            batches = segment_frames(backend, job, task.start, task.end,
                                     task.batch_size or default_batch_size(backend), None, task.size,
                                     task.before, task.after)
            with ClipFinisher(cache) as finisher:
                write_clip(finisher, job, batches, task.size, task.fps, self)  # self.advance: the test hook
                finisher.wait()
            cache.sync_published()
        # 3. Push it to the shared remote cache, if there is one (opened once per worker).
        #    A remote that fails warns (once per worker) and the render goes on, as in a local render.
        if task.remote and task.remote not in self.push_failed:
            try:
                if task.remote not in self.remotes:
                    from seqc.store.remote import open_remote

                    self.remotes[task.remote] = open_remote(task.remote)
                self.remotes[task.remote].push(cache, "clips", job.key)
            except Exception as exc:  # noqa: BLE001 - the clip is in the cache; the push is a bonus
                self.push_failed.add(task.remote)
                self._warn(f"the worker on {socket.gethostname()} could not push clips to {task.remote} ({exc}); "
                           "they stay in its cache")
        meta = json.loads(cache.sidecar("clips", job.key).read_text())
        warnings, self.warnings = self.warnings, []
        return {"key": job.key, "sha256": meta["sha256"], "size": meta["size"], "rendered": rendered,
                "host": socket.gethostname(), "pid": os.getpid(), "seconds": time.monotonic() - started,
                "warnings": warnings}

    def advance(self, frames: int) -> None:
        """Called after every batch of frames written; only the test hook acts on it."""
        if self.crash_marker is None:
            return
        marker, self.crash_marker = self.crash_marker, None
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return  # another worker crashed already: this one carries on
        os._exit(70)
