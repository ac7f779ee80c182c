"""The worker of `--executor ray`: holds the model and renders one segment at a time.

A plain class (seqc.cluster.executor makes it a Ray actor), so it can be tested without Ray.
Each segment's clip is published straight into a Cache opened on the same cache folder path on
the worker's machine (shared with the driver, or pushed to `--remote`), through the same code the
local executor uses, so its bytes are the same (on the CPU whatever the thread count: each frame is
made on one torch thread, seqc.backends.threads); only the key and the digest go back to the driver.
Clips never travel through Ray's object store.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from seqc.audio.memo import AudioCache
from seqc.errors import RenderError
from seqc.media.ffmpeg import encoder_build
from seqc.models import ModelRef, fingerprint_inputs
from seqc.plan import SegmentJob, keys
from seqc.render.frames import Endpoint
from seqc.store import Cache
from seqc.store.tier import Remotes

if TYPE_CHECKING:
    from seqc.backends.protocol import Backend


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
    cores). The worker process is its own session: it keeps its model, its caches, the remotes it
    opened and the last soundtrack it decoded for its lifetime.
    """

    def __init__(self, threads: int | None = None):
        self.threads = threads
        self.backend: Backend | None = None  # seqc.backends.load_backend's, once loaded
        self.fingerprint = ""
        self.warnings: list[str] = []
        self.caches: dict[str, Cache] = {}
        self.remotes = Remotes()
        self.audio = AudioCache()  # the soundtrack decoded once per worker, not once per segment
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

        self.backend = load_backend(ref, device, dtype)
        self.fingerprint = mine
        return {"host": socket.gethostname(), "pid": os.getpid(), "precision": self.backend.precision,
                "device": str(self.backend.device), "seconds": time.monotonic() - started}

    def render(self, task: Task) -> dict:
        """Render the task's segment into the cache (unless it is there already); return its digest."""
        from seqc.backends import default_batch_size
        from seqc.render.execute import render_segment
        from seqc.render.finish import ClipFinisher

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
        # 2. Render and publish, unless the clip is already there (a retry, or a shared cache). A
        #    `pacing: audio` window arrives without the driver's decoded soundtrack: it reads this
        #    worker's (seqc.audio.pcm.AudioWindow).
        if job.window is not None:
            job = dataclasses.replace(job, window=dataclasses.replace(job.window, audio=self.audio))
        rendered = cache.get("clips", job.key) is None
        if rendered:
            with ClipFinisher(cache) as finisher:
                render_segment(backend, job, task.start, task.end, task.before, task.after, finisher=finisher,
                               batch_size=task.batch_size or default_batch_size(backend), size=task.size,
                               fps=task.fps)
                finisher.wait()
            cache.sync_published()
        # 3. Push it to the shared remote cache, if there is one (opened once per worker).
        #    A remote that fails warns (once per worker) and the render goes on, as in a local render.
        if task.remote and task.remote not in self.push_failed:
            try:
                remote = self.remotes.open(task.remote)
                assert remote is not None  # open() opens every non-empty URL
                remote.push(cache, "clips", job.key)
            except Exception as exc:  # noqa: BLE001 - the clip is in the cache; the push is a bonus
                self.push_failed.add(task.remote)
                self._warn(f"the worker on {socket.gethostname()} could not push clips to {task.remote} ({exc}); "
                           "they stay in its cache")
        meta = json.loads(cache.sidecar("clips", job.key).read_text())
        warnings, self.warnings = self.warnings, []
        return {"key": job.key, "sha256": meta["sha256"], "size": meta["size"], "rendered": rendered,
                "host": socket.gethostname(), "pid": os.getpid(), "seconds": time.monotonic() - started,
                "warnings": warnings}
