"""Before/after measurements of the speed-ups, each pair measured in the same run, interleaved.

Each comparison runs "before" and "after" alternately (A B A B ...) on the same latents and
keeps the fastest of each, so a burst of load from other work on the machine hurts both
sides alike. A ratio above 1 means "after" is faster.

- batching: frames/s by batch size; the old fixed default (8) vs the device's default (1 on
  the CPU, 8 on a GPU).
- autograd: decode with gradients recorded vs `torch.no_grad` vs `torch.inference_mode`.
- channels-last: the model's convolutions in NCHW vs NHWC memory layout.
- conversion: the old float -> uint8 frame conversion (five temporaries, then a copy to make
  the NHWC array contiguous) vs the new one (in place, and no copy from a channels-last output).
- the backend before vs after: the old `decode` as it was, vs today's `backend.decode`.
- overlap: render() writing each batch to ffmpeg before decoding the next (as it is) vs a
  writer thread that sends batch k to ffmpeg while batch k+1 decodes (a render.py proposal);
  and finishing each clip (close, check, publish) in a background thread (another proposal).
- BLAS-free norms: whole renders with slerp's norms through `np.linalg.norm` (as it was) vs
  plain numpy sums (as it is).
- short clips: each streamed into an ffmpeg of its own (as it was) vs held and encoded by one
  ffmpeg per batch (as it is); byte-identical clips.
- the no-op: a CLI no-op with the full check (as it was) vs answered by the up-to-date stamp
  (as it is), at production length (run by scenario 8, whose project it needs).
- the planner without numpy: importing the storyboard language and the planner with numpy (as the
  easing and method modules did) vs without.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from bench.inprocess import Breakdown, Loaded, clip_bytes, decode_ceiling, render_segments
from seqc.render.execute import (
    write_clip as original_write_clip,  # before render_segments patches it
)


def fastest(*variants: Callable[[], float], rounds: int = 2) -> list[float]:
    """Run the variants in turn `rounds` times (A B A B); the fastest seconds of each."""
    best = [float("inf")] * len(variants)
    for _ in range(rounds):
        for i, run in enumerate(variants):
            best[i] = min(best[i], run())
    return best


def comparison(name: str, before_label: str, after_label: str, before_s: float, after_s: float,
               frames: int, where: str, extra: dict | None = None) -> dict:
    """One before/after record: seconds, frames/s and the speed-up factor."""
    return {
        "name": name, "where": where, "frames": frames,
        "before": {"label": before_label, "s": round(before_s, 4), "fps": round(frames / before_s, 3)},
        "after": {"label": after_label, "s": round(after_s, 4), "fps": round(frames / after_s, 3)},
        "speedup": round(before_s / after_s, 3),
        **(extra or {}),
    }


# ---------------------------------------------------------------------------------------------
# The decode path, with each change switchable


def legacy_frames(x):
    """The frame conversion as it was: clamp, add, multiply, round, cast (a new tensor each), then NHWC."""
    import torch

    x = ((x.float().clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)
    return np.ascontiguousarray(x.permute(0, 2, 3, 1).cpu().numpy())  # ClipWriter needs C order


def new_frames(backend, x):
    """Today's conversion (the backend's own), plus the C-order check ClipWriter does."""
    return np.ascontiguousarray(backend._to_frames(x))


@contextlib.contextmanager
def memory_format(backend, channels_last: bool) -> Iterator[None]:
    """Put the backend's model in NCHW or NHWC layout for the duration, then back as it was."""
    import torch

    was = bool(getattr(backend, "channels_last", False))
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    backend.model.to(memory_format=fmt)
    backend.channels_last = channels_last
    try:
        yield
    finally:
        backend.model.to(memory_format=torch.channels_last if was else torch.contiguous_format)
        backend.channels_last = was


def decode_variant(backend, latents: np.ndarray, grad: str = "inference", convert: str = "new") -> np.ndarray:
    """The backend's decode with the autograd mode and the conversion chosen; layout as the model is."""
    import torch

    modes = {"inference": torch.inference_mode, "no_grad": torch.no_grad, "grad": torch.enable_grad}
    with modes[grad]():
        z = torch.from_numpy(np.ascontiguousarray(latents, dtype=np.float32)).to(backend.device)
        z = (z / backend.scaling + backend.shift).to(backend.dtype)
        if getattr(backend, "channels_last", False):
            z = z.contiguous(memory_format=torch.channels_last)
        x = backend.model.decode(z).sample
        if grad == "grad":
            x = x.detach()
        return legacy_frames(x) if convert == "old" else new_frames(backend, x)


def _loop(batches: list[np.ndarray], decode: Callable[[np.ndarray], object]) -> Callable[[], float]:
    def run() -> float:
        t0 = time.perf_counter()
        for z in batches:
            decode(z)
        return time.perf_counter() - t0
    return run


def _rebatch(loaded: Loaded, frames: int, batch_size: int) -> list[np.ndarray]:
    """The first `frames` latents of the render, in batches of `batch_size`."""
    flat = np.concatenate(loaded.batches)[:frames]
    return [flat[i:i + batch_size] for i in range(0, len(flat), batch_size)]


# ---------------------------------------------------------------------------------------------
# The comparisons


def batching(loaded: Loaded, frames: int) -> dict:
    """Frames/s by batch size. The pair is the old fixed default (8) vs render's default for this
    device (1 on the CPU); on a GPU, whose default is 8, it is batch 1 vs 8."""
    default = loaded.batch_size
    before = 8 if default != 8 else 1
    sizes = sorted({1, 2, 4, 8, 16, default})
    runs = [_loop(_rebatch(loaded, frames, b), loaded.backend.decode) for b in sizes]
    best = fastest(*runs)
    by_size = {str(b): round(frames / s, 3) for b, s in zip(sizes, best, strict=True)}
    return comparison("batching", f"batch {before}", f"batch {default}", best[sizes.index(before)],
                      best[sizes.index(default)], frames,
                      "render's default --batch-size (seqc/backends: 1 on the CPU, 8 on a GPU)",
                      {"fps_by_batch_size": by_size})


@contextlib.contextmanager
def trainable(backend) -> Iterator[None]:
    """Weights that require gradients, as `from_pretrained` leaves them (the backend turns that off)."""
    backend.model.requires_grad_(True)
    try:
        yield
    finally:
        backend.model.requires_grad_(False)


def autograd(loaded: Loaded, frames: int) -> dict:
    """Autograd recording (weights requiring grad, no guard) vs no_grad vs inference_mode."""
    batches = _rebatch(loaded, frames, loaded.batch_size)
    backend = loaded.backend

    def recording() -> float:
        with trainable(backend):
            return _loop(batches, lambda z: decode_variant(backend, z, grad="grad"))()

    grad, no_grad, inference = fastest(
        recording,
        _loop(batches, lambda z: decode_variant(backend, z, grad="no_grad")),
        _loop(batches, lambda z: decode_variant(backend, z, grad="inference")),
    )
    return comparison("torch.inference_mode", "autograd on", "inference_mode", grad, inference, frames,
                      "seqc/backends/autoencoder.py (decode, encode)",
                      {"no_grad_fps": round(frames / no_grad, 3)})


def channels_last(loaded: Loaded, frames: int) -> dict:
    """NCHW vs NHWC convolutions, same conversion, inference_mode."""
    batches = _rebatch(loaded, frames, loaded.batch_size)
    backend = loaded.backend

    def layout(nhwc: bool) -> Callable[[], float]:
        def run() -> float:
            with memory_format(backend, nhwc):
                return _loop(batches, lambda z: decode_variant(backend, z))()
        return run

    nchw, nhwc = fastest(layout(False), layout(True))
    return comparison("channels-last", "NCHW model", "NHWC model", nchw, nhwc, frames,
                      "seqc/backends/autoencoder.py (now on CPU too; was CUDA only)")


def conversion(loaded: Loaded, frames: int) -> dict:
    """The float -> uint8 frame conversion alone, on the model's real output tensors."""
    import torch

    backend = loaded.backend
    with torch.inference_mode():
        outputs = []
        t0 = time.perf_counter()
        for z in _rebatch(loaded, frames, loaded.batch_size):
            zz = torch.from_numpy(np.ascontiguousarray(z)).to(backend.device)
            zz = (zz / backend.scaling + backend.shift).to(backend.dtype)
            if getattr(backend, "channels_last", False):
                zz = zz.contiguous(memory_format=torch.channels_last)
            outputs.append(backend.model.decode(zz).sample)
        decode_s = time.perf_counter() - t0
        same = all(np.array_equal(legacy_frames(x), new_frames(backend, x.clone())) for x in outputs)

        def run(convert: Callable) -> Callable[[], float]:
            def go() -> float:
                copies = [x.clone() for x in outputs]  # the new conversion works in place
                t0 = time.perf_counter()
                for x in copies:
                    convert(x)
                return time.perf_counter() - t0
            return go

        old, new = fastest(run(legacy_frames), run(lambda x: new_frames(backend, x)), rounds=3)
    return comparison("frame conversion (fewer copies)", "5 temporaries + NHWC copy",
                      "in place, NHWC view", old, new, frames, "seqc/backends/autoencoder.py (_to_frames)",
                      {"identical_frames": same, "share_of_decode": round(old / decode_s, 4)})


def backend_before_after(loaded: Loaded, frames: int) -> dict:
    """The whole decode as it was (NCHW on CPU, old conversion) vs today's backend.decode."""
    batches = _rebatch(loaded, frames, loaded.batch_size)
    backend = loaded.backend
    cpu = backend.device.type == "cpu"

    def before() -> float:
        # Before: channels-last only on CUDA, the old conversion.
        with memory_format(backend, not cpu and backend.device.type == "cuda"):
            return _loop(batches, lambda z: decode_variant(backend, z, convert="old"))()

    old, new = fastest(before, _loop(batches, backend.decode))
    return comparison("backend decode, all changes", "as it was", "as it is", old, new, frames,
                      "seqc/backends/autoencoder.py")


# ---------------------------------------------------------------------------------------------
# Overlapping decode with ffmpeg's writes (render.py; measured here, proposed in the README)


def threaded_write_clip(finisher, job, batches, size, fps, reporter):
    """execute.write_clip with a writer thread: batch k goes to ffmpeg while batch k+1 decodes.

    The generator `batches` decodes lazily, so the main thread computes the next batch while
    the thread blocks on the pipe; at most one batch waits. Errors surface at the next hand-over.
    """
    writer = finisher.start(job, size, fps, job.segment.frames)
    try:
        with ThreadPoolExecutor(1) as pool:
            pending = None
            for batch in batches:
                if pending is not None:
                    pending.result()
                pending = pool.submit(writer.write, batch)
                reporter.advance(len(batch))
            if pending is not None:
                pending.result()
    except BaseException:
        writer.abort()
        raise
    finisher.finish(job, writer)


def overlap(loaded: Loaded, rounds: int = 1) -> dict:
    """render() as it is vs with the writer thread; clips must be byte-identical.

    The most a writer thread can save is the time render() spends blocked in pipe writes
    (ffmpeg is a separate process and already encodes while the next batch decodes), so that
    share is measured too: it is the figure to read when the A/B difference is within noise.
    """
    serial = threaded = float("inf")
    blocked = []
    same = True
    for _ in range(rounds):
        breakdown = Breakdown()
        t = render_segments(loaded, breakdown).wall
        blocked.append(breakdown.seconds.get("frames into ffmpeg (pipe writes)", 0.0) / t)
        serial = min(serial, t)
        serial_clips = clip_bytes(loaded.project)
        threaded = min(threaded, render_segments(loaded, write_clip=threaded_write_clip).wall)
        same = same and clip_bytes(loaded.project) == serial_clips
    ceiling = decode_ceiling(loaded).wall
    return comparison("overlap decode with ffmpeg writes", "write, then decode next",
                      "writer thread", serial, threaded, loaded.frames,
                      "seqc/render/execute.py write_clip (proposal, not applied)",
                      {"identical_clips": same, "ceiling_s": round(ceiling, 4),
                       "blocked_in_writes_share": round(min(blocked), 4),
                       "before_over_ceiling": round(serial / ceiling, 3),
                       "after_over_ceiling": round(threaded / ceiling, 3)})


def inline_write_clip(finisher, job, batches, size, fps, reporter):
    """execute.write_clip as it was before the background finisher: the clip is closed, checked and
    published before the next segment starts decoding."""
    original_write_clip(finisher, job, batches, size, fps, reporter)
    finisher.wait()


def background_finish(loaded: Loaded, rounds: int = 1) -> dict:
    """Finishing each clip inline (before) vs in the background thread (render() now); clips must be
    byte-identical. The most it can save is the render's time in clip finish + publish."""
    serial = background = float("inf")
    bound = []
    same = True
    for _ in range(rounds):
        breakdown = Breakdown()
        t = render_segments(loaded, breakdown, write_clip=inline_write_clip).wall
        tail = sum(breakdown.seconds.get(k, 0.0) for k in
                   ("clip finish + frame-count check", "cache publish (sha256, fsync, rename)"))
        bound.append(tail / t)
        serial = min(serial, t)
        serial_clips = clip_bytes(loaded.project)
        background = min(background, render_segments(loaded).wall)
        same = same and clip_bytes(loaded.project) == serial_clips
    return comparison("finish clips in the background", "close + check + publish, then next segment",
                      "finished by a thread", serial, background, loaded.frames,
                      "seqc/render/finish.py (applied)",
                      {"identical_clips": same, "finish_share": round(min(bound), 4)})


# ---------------------------------------------------------------------------------------------
# The slerp norms without BLAS (seqc/motion/interp.py)


def blas_free_norms(loaded: Loaded, rounds: int = 2) -> dict:
    """Whole renders with slerp's norms through BLAS (`np.linalg.norm`, as before) vs without.

    A flat latent's norm was a BLAS dot. OpenBLAS's worker threads keep spinning for a while after
    each call, on the cores the model's decode needs next: the interpolation itself was as fast
    either way, but every decode after it ran slower. So this compares whole renders.
    """
    import seqc.motion.interp as interp

    def render_with(norm: Callable[[np.ndarray], float]) -> Callable[[], float]:
        def run() -> float:
            original = interp._norm
            interp._norm = norm
            try:
                return render_segments(loaded).wall
            finally:
                interp._norm = original
        return run

    before, after = fastest(render_with(lambda v: float(np.linalg.norm(v))), render_with(interp._norm),
                            rounds=rounds)
    return comparison("slerp norms without BLAS", "np.linalg.norm (BLAS dot)", "sum of squares", before, after,
                      loaded.frames, "seqc/motion/interp.py _norm (OpenBLAS threads spun after each dot and slowed "
                      "the decode that followed)")


# ---------------------------------------------------------------------------------------------
# Short clips encoded by one ffmpeg (seqc/media/batch.py, seqc/render/finish.py)


def batched_clips(folder, clips: int = 64, frames: int = 2, size: int = 32, rounds: int = 2) -> dict:
    """`clips` short clips through the ClipFinisher: each streamed into an ffmpeg of its own (before)
    vs held and encoded by one ffmpeg per batch (after); the cache entries must be byte-identical."""
    import shutil
    from pathlib import Path
    from types import SimpleNamespace

    from seqc.media.encode import encoding
    from seqc.render.finish import ClipFinisher
    from seqc.store import Cache

    rng = np.random.default_rng(0)
    pictures = [rng.integers(0, 256, (frames, size, size, 3), dtype=np.uint8) for _ in range(clips)]
    # The finisher encodes each clip with its job's recipe (SegmentJob.encoding): H.264's, as a render's.
    jobs = [SimpleNamespace(key=f"{i:064x}", inputs={"bench": i}, encoding=encoding("h264")) for i in range(clips)]
    made: dict[bool, list[bytes]] = {}

    def encode(batch: bool) -> Callable[[], float]:
        def run() -> float:
            root = Path(folder) / f"cache-{batch}"
            shutil.rmtree(root, ignore_errors=True)
            cache = Cache(root)
            started = time.perf_counter()
            with ClipFinisher(cache, batch=batch) as finisher:
                for job, picture in zip(jobs, pictures, strict=True):
                    writer = finisher.start(job, (size, size), 24, frames)
                    writer.write(picture)
                    finisher.finish(job, writer)
                done = finisher.wait()
            seconds = time.perf_counter() - started
            made[batch] = [done[job.key][0].read_bytes() for job in jobs]
            return seconds
        return run

    before, after = fastest(encode(False), encode(True), rounds=rounds)
    return comparison("short clips share an ffmpeg", "one ffmpeg per clip", "one ffmpeg per batch", before, after,
                      clips * frames, "seqc/media/batch.py, seqc/render/finish.py (applied)",
                      {"identical_clips": made[False] == made[True], "clips": clips,
                       "ms_per_clip_before": round(1000 * before / clips, 2),
                       "ms_per_clip_after": round(1000 * after / clips, 2)})


# ---------------------------------------------------------------------------------------------
# The up-to-date stamp (seqc/outputs/stamp.py) and the planner without numpy (seqc/motion)


def stamp_noop(story, cache, cwd, runs: int = 3) -> dict:
    """A no-op `seqc render` as a user runs it: the full check (its stamp removed first, as before
    stamps existed) vs answered by the stamp; both must print the same result."""
    from bench.measure import run_seqc

    args = ["render", str(story), "--cache-dir", str(cache), "--json", "--quiet"]
    stamps = sorted((cache / "runs").glob("*.stamp.json"))
    printed: dict[str, dict] = {}

    def full() -> float:
        for path in (cache / "runs").glob("*.stamp.json"):
            path.unlink()
        run = run_seqc(args, cwd)
        printed["full"] = {k: v for k, v in run.json().items() if k != "seconds"}
        return run.timing.wall

    def stamped() -> float:
        run = run_seqc(args, cwd)
        printed["stamp"] = {k: v for k, v in run.json().items() if k != "seconds"}
        return run.timing.wall

    before, after = fastest(full, stamped, rounds=runs)  # each full run writes the stamp the next one reads
    return comparison("no-op answered by the stamp", "full check", "stamp", before, after, 1,
                      "seqc/outputs/stamp.py (applied)",
                      {"same_result": printed.get("full") == printed.get("stamp"), "had_stamp": bool(stamps)})


def numpy_free_planner(cwd, runs: int = 5) -> dict:
    """Importing the storyboard language (what `seqc plan` and a full no-op check import): with numpy
    loaded as well, as the easing and method modules did before (before), vs as it is (after)."""
    from bench.measure import run_python

    def importing(code: str) -> Callable[[], float]:
        return lambda: run_python(["-c", code], cwd).timing.wall

    before, after = fastest(importing("import numpy, seqc.spec, seqc.plan"), importing("import seqc.spec, seqc.plan"),
                            rounds=runs)
    return comparison("planner without numpy", "numpy imported", "numpy not imported", before, after, 1,
                      "seqc/motion/curves.py, seqc/motion/methods.py (applied)")
