"""Execute a Plan: latents for the keyframes that need them, a clip per missing segment, the output.

Main routine `render()` reads as numbered steps. The model is loaded only when something is
missing, so a no-op render stays instant and never imports torch. Frames stream from the
decoder into ffmpeg a batch at a time, so memory does not grow with the video's length.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqc import fsutil, metrics, video
from seqc.cache import Cache
from seqc.curves import parse_easing
from seqc.errors import InputError, Problem, SpecError
from seqc.images import ImageReadError, load_fitted
from seqc.interp import catmull_rom, interpolate
from seqc.plan import PACING_PROBES, Plan, SegmentJob
from seqc.spec import Storyboard


class Superseded(Exception):
    """Raised inside a render when `should_stop()` says a newer storyboard has arrived (watch mode)."""


class Reporter:
    """Progress callbacks; the base class ignores everything (used with --quiet and in tests)."""

    def begin(self, plan: Plan, todo: list[SegmentJob], frames_to_render: int) -> None: ...
    def stage(self, text: str) -> None: ...
    def segment_begin(self, job: SegmentJob, frames: int) -> None: ...
    def advance(self, frames: int) -> None: ...
    def segment_end(self, job: SegmentJob) -> None: ...
    def end(self) -> None: ...
    def warn(self, message: str) -> None: ...


@dataclass
class RenderOptions:
    """How to render: where to, on which device, with which batch size; --no-cache and --frames."""

    output: Path | None = None
    frames_dir: Path | None = None
    device: str = "auto"
    dtype: str = "auto"
    batch_size: int | None = None  # None: the backend's default (8 on a GPU, 1 on the CPU)
    no_cache: bool = False
    write_output: bool = True  # False: only fill the cache (previews and analysis read the clips)


@dataclass
class RenderResult:
    """What a render did, as `seqc render --json` prints it."""

    output: Path | None
    frames: int
    segments: int
    rendered: int
    cached: int
    seconds: float
    rendered_segments: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "output": str(self.output) if self.output else None, "frames": self.frames,
            "segments": self.segments, "rendered": self.rendered, "cached": self.cached,
            "seconds": round(self.seconds, 3),
        }


# ---------------------------------------------------------------------------------------------
# Frames of one segment


def segment_times(job: SegmentJob) -> np.ndarray:
    """The eased t of every frame the segment's clip holds: e(i / n) for i = 0..n-1 (and n if it ends the video)."""
    seg = job.segment
    count = seg.rendered_frames
    t = np.arange(count, dtype=np.float64) / seg.frames
    return parse_easing(seg.easing)(t)


@dataclass
class Endpoint:
    """What a segment starts or ends on: an image latent, and for pipelines a conditioning and a noise."""

    latent: np.ndarray | None = None  # the (scaled) latent of an image keyframe
    cond: dict[str, np.ndarray] | None = None  # prompt conditioning (pipelines)
    noise: np.ndarray | None = None  # starting noise from the keyframe's seed (pipelines)


@dataclass
class Ends:
    """The endpoints of one segment, and for a spline the keyframes before and after it."""

    start: Endpoint
    end: Endpoint
    before: Endpoint | None = None
    after: Endpoint | None = None


def _path(job: SegmentJob, ends: Ends, attr: str, key: str | None, t: np.ndarray) -> np.ndarray:
    """Interpolate one quantity (a latent, or one conditioning array) along the segment's path."""
    def pick(endpoint: Endpoint | None, fallback: np.ndarray) -> np.ndarray:
        if endpoint is None:
            return fallback
        value = getattr(endpoint, attr)
        return value if key is None else value[key]

    a = pick(ends.start, None)
    b = pick(ends.end, None)
    method = job.segment.method
    if method == "spline":
        return catmull_rom(pick(ends.before, a), a, b, pick(ends.after, b), t)
    return interpolate(method if method in ("lerp", "slerp") else "lerp", a, b, t)


def _frames_at(backend, job: SegmentJob, ends: Ends, t: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """Frames at the eased times t: decode interpolated latents, or denoise interpolated noise and prompts."""
    gen = job.segment.generation
    if gen is None or not getattr(backend, "can_generate", False):
        return backend.decode(_path(job, ends, "latent", None, t))
    # A diffusion model: the noise is always slerped (lerp would shrink it), prompts follow the path.
    noise = interpolate("slerp", ends.start.noise, ends.end.noise, t)
    cond = {k: _path(job, ends, "cond", k, t) for k in ends.start.cond}
    if ends.start.latent is not None and ends.end.latent is not None:
        latents = _path(job, ends, "latent", None, t)
        if gen["strength"] <= 0:
            return backend.decode(latents)
        return backend.generate(noise, cond, gen["steps"], gen["guidance"], size, image_latents=latents,
                                strength=gen["strength"])
    return backend.generate(noise, cond, gen["steps"], gen["guidance"], size)


def even_times(backend, job: SegmentJob, ends: Ends, size: tuple[int, int] | None,
               probes: int = PACING_PROBES) -> np.ndarray:
    """Eased times re-parameterised so that every frame changes the picture by the same amount.

    1. Render `probes + 1` frames at evenly spaced u along the path (one batch).
    2. Measure the change between neighbouring probes (seqc.metrics: mean absolute difference of
       64-pixel thumbnails) and accumulate it: A(u) is the fraction of the whole change done by u.
    3. Frame i gets the easing applied to the even parameter: s = e(i / n), then t = A^-1(s)
       (piecewise linear). A(0) = 0 and A(1) = 1, so the endpoints and the frame count are exact.
    """
    times = segment_times(job)  # e(i / n), what the even parameter should be
    u = np.linspace(0.0, 1.0, probes + 1)
    probe_frames = metrics.shrink(_frames_at(backend, job, ends, u, size))
    steps = metrics.frame_distance(probe_frames[:-1], probe_frames[1:]).astype(np.float64)
    total = float(steps.sum())
    if total <= 1e-9:
        return times  # nothing changes along the path: any pacing is even
    # A tiny floor keeps A strictly increasing so its inverse is well defined on flat stretches.
    steps = steps + total * 1e-6
    progress = np.concatenate([[0.0], np.cumsum(steps)])
    progress /= progress[-1]
    t = np.interp(times, progress, u)
    t[times <= 0.0] = 0.0
    t[times >= 1.0] = 1.0
    return t


def segment_frames(backend, job: SegmentJob, start: Endpoint | np.ndarray, end: Endpoint | np.ndarray,
                   batch_size: int, should_stop: Callable[[], bool] | None = None,
                   size: tuple[int, int] | None = None, before: Endpoint | None = None,
                   after: Endpoint | None = None) -> Iterator[np.ndarray]:
    """Yield uint8 frame batches [B, H, W, 3] for one segment, by its method and pacing."""
    ends = Ends(start if isinstance(start, Endpoint) else Endpoint(latent=start),
                end if isinstance(end, Endpoint) else Endpoint(latent=end), before, after)
    method = job.segment.method
    if method in ("lerp", "slerp", "spline"):
        times = even_times(backend, job, ends, size) if job.segment.pacing == "even" else segment_times(job)
        for i in range(0, len(times), batch_size):
            if should_stop is not None and should_stop():
                raise Superseded()
            yield _frames_at(backend, job, ends, times[i:i + batch_size], size)
        return
    # crossfade and cut work on the two endpoint frames (a pixel blend is evenly paced already).
    times = segment_times(job)
    first, last = (frame.astype(np.float32) for frame in _frames_at(backend, job, ends, np.array([0.0, 1.0]), size))
    for i in range(0, len(times), batch_size):
        if should_stop is not None and should_stop():
            raise Superseded()
        t = times[i:i + batch_size]
        if method == "cut":
            t = (t >= 1.0).astype(np.float32)
        w = t.astype(np.float32)[:, None, None, None]
        yield np.clip(np.rint(first[None] * (1.0 - w) + last[None] * w), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# Latents


def _save_arrays(cache: Cache, kind: str, key: str, inputs: dict, arrays: dict[str, np.ndarray]) -> None:
    from safetensors.numpy import save

    data = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in arrays.items()}
    cache.put_bytes(kind, key, save(data), inputs)


def _load_arrays(cache: Cache, kind: str, key: str) -> dict[str, np.ndarray] | None:
    from safetensors.numpy import load

    path = cache.get(kind, key)
    if path is None:
        return None
    try:
        return load(path.read_bytes())
    except Exception:  # noqa: BLE001 - a digest-valid file that does not parse is a stale format
        return None


def _read_keyframe_pixels(plan: Plan, names: list[str]) -> dict[str, np.ndarray]:
    """Decode every keyframe image that must be encoded, before any model loads (bad files: exit 2)."""
    story = plan.storyboard
    pixels, problems = {}, []
    for name in names:
        kf = story.keyframes[name]
        try:
            pixels[name] = load_fitted(kf.image, story.output.size, kf.fit)
        except ImageReadError as exc:
            problems.append(Problem(str(story.path), kf.line, kf.column, f"keyframes.{name}.image", str(exc),
                                    "the file may be truncated or corrupt"))
    if problems:
        raise SpecError(problems)
    return pixels


# ---------------------------------------------------------------------------------------------
# The render


def check_output(story: Storyboard, output: Path, cache: Cache) -> None:
    """The output may not be the storyboard, a keyframe, or inside the cache.

    Needs only the storyboard, so the CLI runs it before planning writes anything to the cache.
    """
    target = output.resolve()
    problem = ""
    if target == story.path.resolve():
        problem = "the output would overwrite the storyboard"
    elif any(kf.image is not None and kf.image.resolve() == target for kf in story.keyframes.values()):
        problem = "the output would overwrite a keyframe image"
    elif target.is_relative_to(cache.root.resolve()):
        problem = f"the output may not be inside the cache folder ({cache.root})"
    elif target.is_dir():
        problem = f"the output {output} is a folder"
    elif target.suffix.lower() not in video.OUTPUT_FORMATS:
        problem = f"unsupported output type '{target.suffix}' (use {', '.join(video.OUTPUT_FORMATS)})"
    if problem:
        raise InputError(problem)


def render(plan: Plan, cache: Cache, options: RenderOptions, reporter: Reporter | None = None,
           should_stop: Callable[[], bool] | None = None) -> RenderResult:
    """Render what the plan says is missing, then concatenate the output (or write PNG frames)."""
    reporter = reporter or Reporter()
    started = time.monotonic()
    story = plan.storyboard
    output = (options.output or story.output.path).absolute()
    if options.frames_dir is None and options.write_output:
        check_output(story, output, cache)
        # A render killed while joining leaves its temp output beside the output: remove it.
        fsutil.remove_dead_temps_of(output)
    if not options.no_cache:
        # Temp files of killed renders (their pid is gone); a live process's are left alone.
        fsutil.remove_dead_temps(cache.root)

    with cache.lease(plan.leased_keys()), contextlib.ExitStack() as stack:
        # With --no-cache nothing is read from or written to the real cache: a throwaway one is used.
        store = cache
        if options.no_cache:
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="seqc-nocache-")))
            store = Cache(scratch, warn=reporter.warn)

        # 1. Which clips are really there: verify each cached clip's digest on read.
        clip_paths: dict[str, Path] = {}
        todo: list[SegmentJob] = []
        for job in plan.jobs:
            if job.key in clip_paths or any(t.key == job.key for t in todo):
                continue
            path = store.get("clips", job.key) if not options.no_cache else None
            if path is None:
                todo.append(job)
            else:
                clip_paths[job.key] = path
        if options.frames_dir is not None:
            todo = list(plan.jobs)  # every frame is written, repeated segments included
        frames_to_render = sum(job.segment.rendered_frames for job in todo)
        reporter.begin(plan, todo, frames_to_render)

        # 2. What the missing segments' keyframes need: cached latents and prompt conditionings,
        #    or images to encode (decoded now: a broken file fails before any model loads).
        needed = []
        for job in todo:
            for name in (job.segment.before, job.segment.source, job.segment.target, job.segment.after):
                if name is not None and name not in needed:
                    needed.append(name)
        endpoints = {name: Endpoint() for name in needed}
        for name in needed:
            if name in plan.latents:
                cached = _load_arrays(store, "latents", plan.latents[name].key)
                endpoints[name].latent = None if cached is None else cached["latent"]
            if name in plan.embeds:
                endpoints[name].cond = _load_arrays(store, "embeds", plan.embeds[name].key)
        pixels = _read_keyframe_pixels(plan, [n for n in needed if n in plan.latents and endpoints[n].latent is None])

        # 3. The model, only if something must be rendered.
        backend = None
        batch_size = max(1, options.batch_size or 1)
        if todo:
            from seqc.backends import default_batch_size, load_backend

            reporter.stage(f"loading model '{story.model}'")
            backend = load_backend(story.model_ref, options.device, options.dtype, fingerprint=plan.model)
            batch_size = max(1, options.batch_size or default_batch_size(backend))

        # 4. Encode what was not cached: image latents, prompt conditionings; make each keyframe's noise.
        for name, image in pixels.items():
            reporter.stage(f"encoding keyframe '{name}'")
            lat = plan.latents[name]
            endpoints[name].latent = backend.encode(image)
            _save_arrays(store, "latents", lat.key, lat.inputs, {"latent": endpoints[name].latent})
        for name in needed:
            if name in plan.embeds and endpoints[name].cond is None:
                reporter.stage(f"encoding the prompt of keyframe '{name}'")
                embed = plan.embeds[name]
                endpoints[name].cond = backend.encode_prompt(embed.inputs["prompt"], embed.inputs["negative_prompt"])
                _save_arrays(store, "embeds", embed.key, embed.inputs, endpoints[name].cond)
            if name in plan.embeds:
                endpoints[name].noise = backend.initial_noise(int(story.keyframes[name].seed or 0), story.output.size)

        # 5. Render each missing segment into a clip and publish it (or PNG frames with --frames).
        for job in todo:
            if should_stop is not None and should_stop():
                raise Superseded()
            seg = job.segment
            reporter.segment_begin(job, seg.rendered_frames)
            if seg.scheduler is not None and hasattr(backend, "set_scheduler"):
                backend.set_scheduler(seg.scheduler)
            batches = segment_frames(backend, job, endpoints[seg.source], endpoints[seg.target],
                                     batch_size, should_stop, story.output.size,
                                     endpoints.get(seg.before or ""), endpoints.get(seg.after or ""))
            if options.frames_dir is not None:
                _write_pngs(batches, options.frames_dir, seg.first_frame, reporter)
            else:
                clip_paths[job.key] = _write_clip(store, job, batches, story.output.size, story.output.fps, reporter)
            reporter.segment_end(job)

        # 6. The output: concatenate the clips without re-encoding; check its frame count.
        if options.frames_dir is None and options.write_output:
            reporter.stage(f"writing {output.name}")
            _publish_output(plan, clip_paths, output, store, options.no_cache)

        # 7. Remember what this render used, so the next plan can say why a segment changed.
        if not options.no_cache:
            previous = cache.read_run(plan.run_id) or {}
            output_record = _output_record(output, plan) if options.write_output else previous.get("output", {})
            record = {**plan.record(), "output": output_record}
            if previous != record:  # a no-op render writes nothing
                cache.write_run(plan.run_id, record)
            cache.save_memo()
        reporter.end()

    rendered_keys = {job.key for job in todo}
    indices = [job.segment.index for job in plan.jobs if job.key in rendered_keys]
    return RenderResult(
        output=None if options.frames_dir is not None else output, frames=plan.total_frames,
        segments=len(plan.jobs), rendered=len(indices), cached=len(plan.jobs) - len(indices),
        seconds=time.monotonic() - started, rendered_segments=indices,
    )


def _write_clip(store: Cache, job: SegmentJob, batches: Iterator[np.ndarray], size: tuple[int, int],
                fps: float, reporter: Reporter) -> Path:
    """Stream a segment's frames into a temp clip beside its cache entry, then publish it atomically."""
    tmp = store.temp_path("clips", job.key)
    try:
        with video.ClipWriter(tmp, size, fps) as writer:
            for batch in batches:
                writer.write(batch)
                reporter.advance(len(batch))
        return store.put("clips", job.key, tmp, job.inputs)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _write_pngs(batches: Iterator[np.ndarray], folder: Path, start: int, reporter: Reporter) -> None:
    index = start
    for batch in batches:
        video.write_png_sequence(batch, folder, start=index)
        index += len(batch)
        reporter.advance(len(batch))


def _output_record(output: Path, plan: Plan) -> dict:
    try:
        st = output.stat()
    except OSError:
        return {}
    return {"path": str(output), "clips": [j.key for j in plan.jobs], "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _output_current(plan: Plan, output: Path, previous: dict | None) -> bool:
    """Whether the output file is exactly what the last render of this plan wrote."""
    if not previous or not isinstance(previous.get("output"), dict):
        return False
    rec = previous["output"]
    try:
        st = output.stat()
    except OSError:
        return False
    return (rec.get("path") == str(output) and rec.get("clips") == [j.key for j in plan.jobs]
            and rec.get("size") == st.st_size and rec.get("mtime_ns") == st.st_mtime_ns)


def _publish_output(plan: Plan, clip_paths: dict[str, Path], output: Path, store: Cache, no_cache: bool) -> None:
    if not no_cache and _output_current(plan, output, store.read_run(plan.run_id)):
        return
    clips = [clip_paths[job.key] for job in plan.jobs]
    output.parent.mkdir(parents=True, exist_ok=True)
    video.concat(clips, output)  # checks the frame count before publishing


