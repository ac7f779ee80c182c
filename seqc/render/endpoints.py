"""The keyframes' side of a render: cached latents and conditionings, or encode them and cache
them; and a morph's ends at step k of the schedule, from the store or traced and stored.

Images to encode are decoded before any model loads, so a broken file fails (exit 2) before the
slow part starts.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext

import numpy as np

from seqc.backends.protocol import Backend, adaptable, generator
from seqc.errors import Problem, SpecError
from seqc.media.encode import has_alpha
from seqc.plan import Plan, SegmentJob
from seqc.render.frames import Endpoint
from seqc.render.pixels import ImageReadError, load_alpha, load_fitted
from seqc.spec.colours import BLACK
from seqc.store import Cache


def _save_arrays(cache: Cache, kind: str, key: str, inputs: dict, arrays: dict[str, np.ndarray]) -> None:
    from safetensors.numpy import save

    data = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in arrays.items()}
    cache.put_bytes(kind, key, save(data), inputs)


def load_arrays(cache: Cache, kind: str, key: str) -> dict[str, np.ndarray] | None:
    """A cached latent or conditioning (safetensors), or None on a miss."""
    from safetensors.numpy import load

    path = cache.get(kind, key)
    if path is None:
        return None
    try:
        return load(path.read_bytes())
    except Exception as exc:  # noqa: BLE001 - a digest-valid file that does not parse is a stale format
        cache.discard(kind, key, f"not a safetensors file: {exc}")
        return None


def _read_keyframe_pixels(plan: Plan, names: list[str]) -> dict[str, np.ndarray]:
    """Decode every keyframe image that must be encoded (bad files: one SpecError listing them)."""
    story = plan.storyboard
    pixels, problems = {}, []
    for name in names:
        kf = story.keyframes[name]
        assert kf.image is not None  # only image keyframes have latents to encode (plan.latents)
        try:
            pixels[name] = load_fitted(kf.image, story.output.size, kf.fit, kf.background or BLACK)
        except ImageReadError as exc:
            problems.append(Problem(str(story.path), kf.line, kf.column, f"keyframes.{name}.image", str(exc),
                                    "the file may be truncated or corrupt"))
    if problems:
        raise SpecError(problems)
    return pixels


def gather_endpoints(plan: Plan, cache: Cache, todo: list[SegmentJob]) -> tuple[dict[str, Endpoint], dict]:
    """The endpoints the missing segments need, from the cache where it has them.

    Returns the endpoints by keyframe name and the fitted pixels of the images still to encode.
    """
    needed: list[str] = []
    for job in todo:
        for name in (job.segment.before, job.segment.source, job.segment.target, job.segment.after):
            if name is not None and name not in needed:
                needed.append(name)
    story = plan.storyboard
    pipeline = story.model_ref is not None and story.model_ref.can_generate
    controlnet = pipeline and story.model_ref is not None and story.model_ref.controlnet is not None
    endpoints = {name: Endpoint(loras={str(lora.path): lora.weight for lora in story.keyframes[name].loras}
                                if pipeline else {}) for name in needed}
    for name in needed if controlnet else []:
        endpoints[name].control = _control_picture(plan, name)
    if any(has_alpha(job.encoding) for job in todo):  # a codec that keeps the keyframes' alpha
        for name in needed:
            endpoints[name].alpha = _alpha(plan, name)
    for name in needed:
        if name in plan.latents:
            cached = load_arrays(cache, "latents", plan.latents[name].key)
            if cached is not None and "latent" not in cached:
                cache.discard("latents", plan.latents[name].key, "no 'latent' array in it")
                cached = None
            endpoints[name].latent = None if cached is None else cached["latent"]
        if name in plan.embeds:
            endpoints[name].cond = load_arrays(cache, "embeds", plan.embeds[name].key)
    to_encode = [n for n in needed if n in plan.latents and endpoints[n].latent is None]
    return endpoints, _read_keyframe_pixels(plan, to_encode)


def _alpha(plan: Plan, name: str) -> np.ndarray | None:
    """A keyframe image's alpha, fitted to the output like its colour; None where it is opaque."""
    story = plan.storyboard
    kf = story.keyframes[name]
    if kf.image is None:
        return None
    try:
        return load_alpha(kf.image, story.output.size, kf.fit)
    except ImageReadError as exc:
        raise SpecError([Problem(str(story.path), kf.line, kf.column, f"keyframes.{name}.image", str(exc),
                                 "the file may be truncated or corrupt")]) from None


def _control_picture(plan: Plan, name: str) -> tuple[np.ndarray, float] | None:
    """What the ControlNet follows at a keyframe: its control picture (or its own image) fitted to the
    output size as its image is, traced for edges where asked, and the scale (None without `control:`)."""
    story = plan.storyboard
    kf = story.keyframes[name]
    if kf.control is None:
        return None
    source = kf.control.image if kf.control.image is not None else kf.image
    assert source is not None  # the checks give a prompt keyframe a control picture or no control
    try:
        picture = load_fitted(source, story.output.size, kf.fit, kf.background or BLACK)
    except ImageReadError as exc:
        raise SpecError([Problem(str(story.path), kf.line, kf.column, f"keyframes.{name}.control", str(exc),
                                 "the file may be truncated or corrupt")]) from None
    if kf.control.edges:
        from seqc.media.edges import canny_edges

        picture = canny_edges(picture)
    return picture, kf.control.scale


def encode_missing(plan: Plan, cache: Cache, backend: Backend, endpoints: dict[str, Endpoint],
                   pixels: dict[str, np.ndarray], stage: Callable[[str], None]) -> None:
    """Encode what was not cached (image latents, prompt conditionings) and cache it; make each
    prompt keyframe's noise. `stage(text)` reports each step."""
    story = plan.storyboard
    for name, image in pixels.items():
        stage(f"encoding keyframe '{name}'")
        lat = plan.latents[name]
        endpoints[name].latent = latent = backend.encode(image)
        _save_arrays(cache, "latents", lat.key, lat.inputs, {"latent": latent})
    for name, endpoint in endpoints.items():
        if name not in plan.embeds:
            continue
        model = generator(backend, f"render the prompt of keyframe '{name}'")
        if endpoint.cond is None:
            stage(f"encoding the prompt of keyframe '{name}'")
            embed = plan.embeds[name]
            with _lora_weights(backend, endpoint.loras):  # a LoRA's text-encoder part, at the keyframe's weights
                endpoint.cond = model.encode_prompt(embed.inputs["prompt"], embed.inputs["negative_prompt"])
            _save_arrays(cache, "embeds", embed.key, embed.inputs, endpoint.cond)
        endpoint.noise = model.initial_noise(int(story.keyframes[name].seed or 0), story.output.size)


def _lora_weights(backend: Backend, weights: dict[str, float]) -> AbstractContextManager[None]:
    """The keyframe's LoRAs on the model for a block (nothing to do without any)."""
    if not weights:
        return nullcontext()
    return adaptable(backend, "draw with a keyframe's LoRAs (lora:)").lora_weights(weights)


def trace_missing(plan: Plan, cache: Cache, backend: Backend, endpoints: dict[str, Endpoint], todo: list[SegmentJob],
                  stage: Callable[[str], None]) -> None:
    """Where each missing morph's ends are at its step k (plan.trajectories), into `Endpoint.at_step`:
    from the store, or traced now (a prompt keyframe's noise denoised there, an image keyframe's
    latent inverted there, seqc.backends.morph) and stored, so another frame count, pacing or
    render that shares an end reuses it."""
    for job in todo:
        if job.traces is None:
            continue
        for name, key in zip((job.segment.source, job.segment.target), job.traces, strict=True):
            endpoint = endpoints[name]
            if key in endpoint.at_step:
                continue
            cached = load_arrays(cache, "trajectories", key)
            if cached is not None and "latents" not in cached:
                cache.discard("trajectories", key, "no 'latents' array in it")
                cached = None
            if cached is None:
                inputs = plan.trajectories[key].inputs
                how = "inverting" if inputs["mode"] == "invert" else "tracing"
                stage(f"{how} keyframe '{name}' to step {inputs['stop']} of {inputs['steps']}")
                cached = _trace(backend, job, endpoint, inputs, plan.storyboard.output.size)
                _save_arrays(cache, "trajectories", key, inputs, cached)
            endpoint.at_step[key] = cached


def _trace(backend: Backend, job: SegmentJob, endpoint: Endpoint, inputs: dict,
           size: tuple[int, int]) -> dict[str, np.ndarray]:
    """One end at step `inputs["stop"]` (seqc.render.morph.end_at_step), under the segment's scheduler."""
    from seqc.backends.protocol import morpher, schedulable, set_frame_bits
    from seqc.render.morph import end_at_step

    model = morpher(backend, "draw a morph's in-betweens (method: morph)")
    assert job.segment.scheduler is not None  # a pipeline's morph (plan._traces)
    schedulable(backend, f"use the scheduler '{job.segment.scheduler}'").set_scheduler(job.segment.scheduler)
    # The residual is measured at 8 bits whatever the clip's codec: the stored end is the same for all.
    set_frame_bits(backend, 8)
    return end_at_step(model, endpoint, inputs["steps"], inputs["guidance"], size, inputs["stop"])
