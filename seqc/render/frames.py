"""The frames of one segment: eased times, the method's path between the endpoints, the decode.

Frames stream out a batch at a time, so memory does not grow with a segment's length.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from seqc.backends.protocol import CONTROL_SCALES, Backend, adaptable, controllable, generator
from seqc.motion.curves import parse_easing
from seqc.motion.interp import slerp
from seqc.motion.methods import METHODS, Method, PathFn, get_method
from seqc.plan import SegmentJob, pacing_probes, pacing_reuse
from seqc.render.stop import Superseded

PACINGS = ("linear", "even", "audio")  # even: every frame changes the picture equally; audio: by the onsets


@dataclass
class Endpoint:
    """What a segment starts or ends on: an image latent, and for pipelines a conditioning and a noise."""

    latent: np.ndarray | None = None  # the (scaled) latent of an image keyframe
    cond: dict[str, np.ndarray] | None = None  # prompt conditioning (pipelines)
    noise: np.ndarray | None = None  # starting noise from the keyframe's seed (pipelines)
    at_step: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # a morph's end at step k, by trace key
    loras: dict[str, float] = field(default_factory=dict)  # the keyframe's LoRA files (paths) and weights
    control: tuple[np.ndarray, float] | None = None  # what a ControlNet follows here: a picture and its scale
    alpha: np.ndarray | None = None  # a transparent image's fitted alpha, uint8 [H, W] (a codec with alpha)


@dataclass
class Ends:
    """The endpoints of one segment, and for a spline the keyframes before and after it."""

    start: Endpoint
    end: Endpoint
    before: Endpoint | None = None
    after: Endpoint | None = None
    traced: tuple[dict, dict] | None = None  # a morph's ends at its step k (SegmentJob.traces, morph.end_at_step)


def segment_times(job: SegmentJob) -> np.ndarray:
    """The eased t of every frame the segment's clip holds: e(i / n) for i = 0..n-1 (the frame at
    t = 1 is the next segment's first, or the final frame's own clip). With `pacing: audio` the
    easing applies to the soundtrack's progress over the segment instead of i / n
    (seqc.audio.envelope.pacing_progress, from exactly the samples the clip key names)."""
    seg = job.segment
    t = np.arange(seg.frames, dtype=np.float64) / seg.frames
    if seg.pacing == "audio" and job.window is not None:
        from seqc.audio.envelope import as_samples, pacing_progress

        t = pacing_progress(as_samples(job.window.samples()), seg.frames, float(seg.smooth or 0.0))
    return parse_easing(seg.easing)(t)


def _along(path: PathFn, ends: Ends, attr: str, key: str | None, t: np.ndarray) -> np.ndarray:
    """One quantity (a latent, or one conditioning array) along the path at times t."""
    def pick(endpoint: Endpoint) -> np.ndarray:
        value = getattr(endpoint, attr)
        return value if key is None else value[key]

    return path(None if ends.before is None else pick(ends.before), pick(ends.start), pick(ends.end),
                None if ends.after is None else pick(ends.after), t)


def _with_alpha(frames: np.ndarray, ends: Ends, t: np.ndarray) -> np.ndarray:
    """RGBA frames where an end has an alpha mask: the masks eased like the path, (1 - t) of the
    start's and t of the end's (an opaque end counts as full), beside the colour the model drew (a
    model draws no alpha). Frames as they are where neither end has one."""
    if ends.start.alpha is None and ends.end.alpha is None:
        return frames
    top = float(np.iinfo(frames.dtype).max)
    masks = [np.full(frames.shape[1:3], 255.0, np.float32) if end.alpha is None else end.alpha.astype(np.float32)
             for end in (ends.start, ends.end)]
    at = np.asarray(t, np.float32)[:, None, None]
    alpha = np.rint(((1.0 - at) * masks[0] + at * masks[1]) * (top / 255.0)).astype(frames.dtype)
    return np.concatenate([frames, alpha[..., None]], axis=3)


def _frames_at(backend: Backend, method: Method, gen: dict | None, ends: Ends, t: np.ndarray,
               size: tuple[int, int] | None) -> np.ndarray:
    """`_pictures_at` with the ends' alpha eased beside them (`_with_alpha`)."""
    return _with_alpha(_pictures_at(backend, method, gen, ends, t, size), ends, t)


def _pictures_at(backend: Backend, method: Method, gen: dict | None, ends: Ends, t: np.ndarray,
                 size: tuple[int, int] | None) -> np.ndarray:
    """`_with_loras` following the ends' control pictures (a ControlNet's), each at its keyframe's
    scale times its nearness, (1 - t) for the start's and t for the end's: frames in one batch
    can follow them at different scales, so they keep their calls."""
    pictures = [end.control for end in (ends.start, ends.end) if end.control is not None]
    if gen is None or not pictures or not len(t):
        return _with_loras(backend, method, gen, ends, t, size, None)
    nearness = [1.0 - np.asarray(t, np.float64), np.asarray(t, np.float64)]
    scales = np.stack([near * end.control[1] for near, end in zip(nearness, (ends.start, ends.end), strict=True)
                       if end.control is not None], axis=1)
    model = controllable(backend, "follow a keyframe's control picture (controlnet:)")
    with model.control_images([picture for picture, _ in pictures]):
        return _with_loras(backend, method, gen, ends, t, size, scales)


def _with_loras(backend: Backend, method: Method, gen: dict | None, ends: Ends, t: np.ndarray,
                size: tuple[int, int] | None, scales: np.ndarray | None) -> np.ndarray:
    """`_draw` with each LoRA file's weight eased from the start keyframe's to the end's (0 where one
    does not list it). Where the weights differ every frame is drawn in a call of its own, so a
    frame's bytes do not depend on the batch it falls in; where they agree, as any segment does.
    `scales`: each frame's control scales [T, pictures] (None without a ControlNet)."""
    if gen is None or not (ends.start.loras or ends.end.loras) or not len(t):
        return _draw(backend, method, gen, ends, t, size, scales)
    model = adaptable(backend, "draw with a keyframe's LoRAs (lora:)")
    files = sorted({*ends.start.loras, *ends.end.loras})
    first = np.array([ends.start.loras.get(f, 0.0) for f in files])
    last = np.array([ends.end.loras.get(f, 0.0) for f in files])
    if np.array_equal(first, last):
        with model.lora_weights(dict(zip(files, first.tolist(), strict=True))):
            return _draw(backend, method, gen, ends, t, size, scales)
    frames = []
    for i, at in enumerate(np.asarray(t, dtype=np.float64)):
        with model.lora_weights(dict(zip(files, (first + (last - first) * at).tolist(), strict=True))):
            frames.append(_draw(backend, method, gen, ends, np.array([at]), size,
                                None if scales is None else scales[i:i + 1]))
    return np.concatenate(frames)


def _draw(backend: Backend, method: Method, gen: dict | None, ends: Ends, t: np.ndarray,
          size: tuple[int, int] | None, scales: np.ndarray | None = None) -> np.ndarray:
    """Frames at the eased times t: decode latents along the path, or denoise noise and prompts along
    it, or (a morph) draw them from the ends' trajectories; `scales`, the frames' control scales."""
    path = method.path
    if gen is None:  # an autoencoder's segment (seqc.spec.model.Segment.generation)
        return backend.decode(_along(path, ends, "latent", None, t))
    model = generator(backend, "denoise a segment's frames (it has generation settings)")
    # A diffusion model: the noise is always slerped (lerp would shrink it), prompts follow the path.
    assert ends.start.noise is not None and ends.end.noise is not None  # encode_missing made every noise
    assert ends.start.cond is not None  # a pipeline's plan embeds every keyframe (plan.embeds)
    assert size is not None  # the renderers always pass the output size
    if method.morphs:
        from seqc.render.morph import morph_frames

        return morph_frames(model, gen, ends.start, ends.end, t, size, ends.traced, scales)
    noise = slerp(ends.start.noise, ends.end.noise, t)
    cond = {k: _along(path, ends, "cond", k, t) for k in ends.start.cond}
    if scales is not None:
        cond[CONTROL_SCALES] = scales
    if ends.start.latent is not None and ends.end.latent is not None:
        latents = _along(path, ends, "latent", None, t)
        if gen["strength"] <= 0:
            return model.decode(latents)
        return model.generate(noise, cond, gen["steps"], gen["guidance"], size, image_latents=latents,
                              strength=gen["strength"])
    return model.generate(noise, cond, gen["steps"], gen["guidance"], size)


def segment_frames(backend: Backend, job: SegmentJob, start: Endpoint | np.ndarray, end: Endpoint | np.ndarray,
                   batch_size: int, should_stop: Callable[[], bool] | None = None,
                   size: tuple[int, int] | None = None, before: Endpoint | None = None,
                   after: Endpoint | None = None) -> Iterator[np.ndarray]:
    """Yield frame batches [B, H, W, 3] for one segment, by its method and pacing: uint8, or uint16 from
    a backend asked for 16 bits; RGBA [B, H, W, 4] where an end has an alpha mask."""
    ends = Ends(start if isinstance(start, Endpoint) else Endpoint(latent=start),
                end if isinstance(end, Endpoint) else Endpoint(latent=end), before, after)
    if job.traces is not None and job.traces[0] in ends.start.at_step and job.traces[1] in ends.end.at_step:
        ends.traced = (ends.start.at_step[job.traces[0]], ends.end.at_step[job.traces[1]])
    seg = job.segment
    method = get_method(seg.method)
    if method.morphs and ends.traced is None and seg.generation is not None and size is not None:
        # Not read from the store (a caller other than a render): made once here for every batch.
        from seqc.render.morph import both_ends

        ends.traced = both_ends(backend, seg.generation, ends.start, ends.end, size)
    if seg.generation is not None:  # whole denoising calls per batch, so no frame depends on the batch size
        unit = generator(backend, "denoise a segment's frames (it has generation settings)").frames_per_call
        batch_size = -(-batch_size // unit) * unit
    if not method.blends_pixels and seg.pacing == "even":  # seqc.render.pacing
        from seqc.render.pacing import even_frames

        yield from even_frames(lambda t: _frames_at(backend, method, seg.generation, ends, t, size),
                               segment_times(job), pacing_probes(seg), batch_size, should_stop, pacing_reuse(seg))
        return
    if not method.blends_pixels:
        times = segment_times(job)
        for i in range(0, len(times), batch_size):
            if should_stop is not None and should_stop():
                raise Superseded()
            yield _frames_at(backend, method, seg.generation, ends, times[i:i + batch_size], size)
        return
    # A pixel blend works on the two endpoint frames (and is evenly paced already). At t = 0 and 1
    # every path is exactly its endpoints, so they come from the lerp path at those two times.
    endpoints = _frames_at(backend, METHODS["lerp"], seg.generation, ends, np.array([0.0, 1.0]), size)
    first, last = (frame.astype(np.float32) for frame in endpoints)
    times = segment_times(job)
    for i in range(0, len(times), batch_size):
        if should_stop is not None and should_stop():
            raise Superseded()
        blend = method.path(None, first, last, None, times[i:i + batch_size])
        yield np.clip(np.rint(blend), 0, np.iinfo(endpoints.dtype).max).astype(endpoints.dtype)
