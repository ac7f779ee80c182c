"""Scenario 1's in-process measurements: seqc's render against the model's own decode loop.

Both run in this process with the model already loaded and the keyframe latents already in
the cache, so the only difference between them is what seqc adds around the model:
interpolation, the uint8 conversion, ffmpeg, hashing and publishing clips, the concat.

- `decode_ceiling`: `backend.decode` on exactly the latent batches the render decodes (same
  count, same batch size, computed beforehand), nothing else.
- `render_segments`: `seqc.outputs.produce.produce()` (render into the cache, then the concat) on the same plan with an empty clip folder, the
  loaded backend handed in for `load_backend`, timed from call to return. An instrumented
  copy of the work records where the time went (decode, interpolation, ffmpeg writes, ...).
"""

from __future__ import annotations

import contextlib
import shutil
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.measure import Timing, timed
from bench.workload import Project
from seqc import media
from seqc.backends.loaded import LoadedModels
from seqc.motion import interp as interp_mod
from seqc.motion import methods as methods_mod
from seqc.outputs import video as video_output
from seqc.outputs.produce import VideoOutput, produce
from seqc.plan import Plan, compile_plan
from seqc.render import endpoints as endpoints_mod
from seqc.render import execute as execute_mod
from seqc.render import finish as finish_mod
from seqc.render.frames import segment_times
from seqc.render.options import RenderOptions
from seqc.render.progress import Reporter
from seqc.render.session import Session
from seqc.spec import load_storyboard
from seqc.store import Cache
from seqc.store.entries import EntryStore


@dataclass
class Loaded:
    """A project with its model loaded and its keyframe latents encoded and cached."""

    project: Project
    backend: object
    load_seconds: float
    latents: dict[str, np.ndarray]
    batches: list[np.ndarray]  # every latent batch the render decodes, in order
    frames: int
    device: str
    batch_size: int

    def plan(self) -> tuple[Plan, Cache]:
        cache = Cache(self.project.cache)
        precision = self.backend.precision  # what the loaded model runs in, as render() checks
        return compile_plan(load_storyboard(self.project.story), cache, precision=precision), cache


def load(project: Project, device: str, dtype: str, batch_size: int | None, backend=None) -> Loaded:
    """Load the model, encode and cache every keyframe latent, precompute the decode batches.

    1. Load the storyboard and plan it; load the model (timed: reported, never in a ratio),
       unless `backend` is one already loaded.
    2. Encode each keyframe and publish its latent, as render() step 4 would.
    3. Interpolate every segment's latents in render()'s batches (not timed).
    4. Warm the model up with one batch (first calls allocate and pick kernels).
    """
    from seqc.backends import default_batch_size, load_backend

    # 1. Plan and model.
    story = load_storyboard(project.story)
    cache = Cache(project.cache)
    if backend is None:
        load_timing, backend = timed(lambda: load_backend(story.model_ref, device, dtype))
    else:  # reuse a model already loaded for another project with the same model
        load_timing = Timing(0.0, 0.0)
    plan = compile_plan(story, cache, precision=backend.precision)
    batch_size = batch_size or default_batch_size(backend)  # as render() picks it

    # 2. Keyframe latents into the cache.
    pixels = endpoints_mod._read_keyframe_pixels(plan, list(plan.latents))
    latents = {}
    for name, image in pixels.items():
        latent = backend.encode(image)
        job = plan.latents[name]
        endpoints_mod._save_arrays(cache, "latents", job.key, job.inputs, {"latent": latent})
        latents[name] = latent
    cache.save_memo()

    # 3. The batches render() will decode (the segments', then the final frame's).
    batches = []
    for job in plan.clip_jobs:
        times = segment_times(job)
        start, end = latents[job.segment.source], latents[job.segment.target]
        for i in range(0, len(times), batch_size):
            path = methods_mod.get_method(job.segment.method).path
            batches.append(path(None, start, end, None, times[i:i + batch_size]))

    # 4. Warm-up.
    backend.decode(batches[0])
    return Loaded(project, backend, load_timing.wall, latents, batches, sum(len(b) for b in batches),
                  str(getattr(backend, "device", device)), batch_size)


def decode_ceiling(loaded: Loaded, batches: list[np.ndarray] | None = None) -> Timing:
    """The model's own limit: decode the render's latent batches back to back, nothing else."""
    decode = loaded.backend.decode

    def loop() -> None:
        for z in batches if batches is not None else loaded.batches:
            decode(z)

    return timed(loop)[0]


def preloaded(backend) -> Session:
    """A session whose model loader hands render() this already loaded backend."""
    return Session(models=LoadedModels(loader=lambda *args: backend))


@dataclass
class Breakdown:
    """Seconds spent inside the named calls during one render (instrumentation, microseconds each)."""

    seconds: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        self.calls[name] = self.calls.get(name, 0) + 1

    def as_dict(self) -> dict:
        return {name: {"s": round(s, 4), "calls": self.calls[name]} for name, s in self.seconds.items()}


@contextlib.contextmanager
def instrumented(backend, breakdown: Breakdown) -> Iterator[None]:
    """Time the calls a render spends its time in, by wrapping them for the duration."""
    targets = [
        (backend, "decode", "model decode"),
        (interp_mod, "lerp", "interpolation"),  # the methods import them from here when they run
        (interp_mod, "slerp", "interpolation"),
        (interp_mod, "catmull_rom", "interpolation"),
        (media.ClipWriter, "start", "ffmpeg start (encoder)"),
        (media.ClipWriter, "write", "frames into ffmpeg (pipe writes)"),
        (media.ClipWriter, "close", "clip finish + frame-count check"),
        (finish_mod, "encode_batch", "clip finish + frame-count check"),  # short clips, one ffmpeg per batch
        (EntryStore, "put", "cache publish (sha256, fsync, rename)"),
        (video_output, "concat", "concat (reads every clip, joins, checks)"),
    ]
    restore = []
    for owner, attr, label in targets:
        original = getattr(owner, attr)
        if isinstance(owner, (type, types.ModuleType)):
            raw = vars(owner)[attr]
            restore.append(lambda owner=owner, attr=attr, raw=raw: setattr(owner, attr, raw))
        else:  # an instance: the wrapper shadows the class's method until deleted
            restore.append(lambda owner=owner, attr=attr: delattr(owner, attr))

        def wrapper(*args, _original=original, _label=label, **kwargs):
            t0 = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                breakdown.add(_label, time.perf_counter() - t0)

        setattr(owner, attr, wrapper)
    try:
        yield
    finally:
        for undo in reversed(restore):
            undo()


def clear_clips(project: Project) -> None:
    """Forget every rendered clip and the output (the latents stay): the next render does it all."""
    shutil.rmtree(project.cache / "clips", ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        project.output.unlink()


def render_segments(loaded: Loaded, breakdown: Breakdown | None = None, write_clip=None) -> Timing:
    """Render every segment of the plan with the loaded model; check it rendered them all.

    `write_clip` replaces `seqc.render.execute.write_clip` for the call (to measure a variant of it).
    """
    clear_clips(loaded.project)
    plan, cache = loaded.plan()
    options = RenderOptions(device=loaded.device, batch_size=loaded.batch_size)
    with contextlib.ExitStack() as stack:
        session = preloaded(loaded.backend)
        if breakdown is not None:
            stack.enter_context(instrumented(loaded.backend, breakdown))
        if write_clip is not None:
            original = execute_mod.write_clip
            execute_mod.write_clip = write_clip
            stack.callback(setattr, execute_mod, "write_clip", original)
        timing, result = timed(lambda: produce(plan, cache, options, VideoOutput(loaded.project.output), Reporter(),
                                               session=session))
    if result.rendered != len(plan.jobs) or result.frames != loaded.frames:
        raise RuntimeError(f"expected {len(plan.jobs)} segments and {loaded.frames} frames rendered, "
                           f"got {result.as_dict()}")
    return timing


def render_edit(loaded: Loaded, name: str, png: bytes) -> tuple[Timing, dict]:
    """Replace one keyframe's image and render() again with the model still loaded (as `seqc watch`)."""
    loaded.project.set_image(name, png)
    plan, cache = loaded.plan()
    options = RenderOptions(device=loaded.device, batch_size=loaded.batch_size)
    session = preloaded(loaded.backend)
    timing, result = timed(lambda: produce(plan, cache, options, VideoOutput(loaded.project.output), Reporter(),
                                           session=session))
    return timing, result.as_dict()


def clip_bytes(project: Project) -> list[bytes]:
    """The bytes of every clip in a project's cache, sorted by file name (to compare two renders)."""
    return [p.read_bytes() for p in sorted(Path(project.cache / "clips").rglob("*.mp4"))]
