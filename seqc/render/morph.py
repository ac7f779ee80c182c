"""The frames of a `method: morph` segment (seqc.backends.morph does the model's part).

Each frame at time t starts at step k = `morph_start` x steps from the slerp of the two end
keyframes' latents at step k (a prompt keyframe's noise denoised there, an image keyframe's
latent inverted there; stored by content, seqc.render.endpoints.trace_missing), with the
prompts' conditionings lerped (as Latent Blending does) and the guidance damped toward the middle
(1 - `morph_damping` x 4t(1 - t)): the in-betweens keep the ends' layout and cannot snap to a
third picture, and a high guidance does not push the middle frames to either end. A frame at
t = 0 or 1 is the keyframe's own picture: a prompt's denoised whole as any method draws it, an
image decoded as it is. Inversion loses some of a picture's detail (the model draws back a
little less than it was given), so an image end's residual, the picture less the model's redraw
of it, is added back to the frames near it, fading out toward the other end. The frames are
placed for even change by `pacing: even`, a morph's default (seqc.render.pacing, MORPH_PROBES
probes).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from seqc.backends.protocol import (
    CONTROL_SCALES,
    Backend,
    Morpher,
    adaptable,
    controllable,
    morpher,
)
from seqc.motion.interp import lerp, slerp
from seqc.motion.methods import MORPH_DAMPING, MORPH_START, inject_step
from seqc.render.frames import Endpoint


def damped_guidance(guidance: float, t: np.ndarray, damping: float = MORPH_DAMPING) -> np.ndarray:
    """Each frame's guidance scale: the segment's at the ends, lowered by `damping` at the middle."""
    return guidance * (1.0 - damping * 4.0 * t * (1.0 - t))


def end_at_step(model: Morpher, end: Endpoint, steps: int, guidance: float, size: tuple[int, int],
                stop: int) -> dict[str, np.ndarray]:
    """One end at step `stop`: {"latents": [C, h, w] entering it}, a prompt keyframe's denoised
    there. An image keyframe's are inverted there, and its "residual" [H, W, 3] is the picture less
    what the model draws back from them (float pixels): the detail inversion cannot keep."""
    assert end.cond is not None  # a pipeline's plan embeds every keyframe (plan.embeds)
    if end.loras:  # the keyframe's LoRAs at its own weights shape where it is at step `stop`
        with adaptable(model, "draw with a keyframe's LoRAs (lora:)").lora_weights(end.loras):
            return end_at_step(model, replace(end, loras={}), steps, guidance, size, stop)
    cond = end.cond
    if end.control is not None:  # and what its ControlNet follows, at its scale
        picture, scale = end.control
        with controllable(model, "follow a keyframe's control picture (controlnet:)").control_images([picture]):
            return end_at_step(model, replace(end, control=None, cond={**cond, CONTROL_SCALES: np.array([scale])}),
                               steps, guidance, size, stop)
    if end.latent is None:
        assert end.noise is not None  # encode_missing made every prompt keyframe's noise
        return {"latents": model.trajectory(end.noise, cond, steps, guidance, size, stop=stop)}
    latents = model.invert(end.latent, cond, steps, size, stop=stop)
    redrawn = model.generate_from(latents[None], {key: v[None] for key, v in cond.items()}, steps, guidance,
                                  size, start=stop)[0]
    picture = model.decode(end.latent[None])[0]
    return {"latents": latents, "residual": _levels(picture) - _levels(redrawn)}


def _levels(frame: np.ndarray) -> np.ndarray:
    """A frame as float32 in 0-255 levels at any depth (a residual is stored in these)."""
    return frame.astype(np.float32) / (257.0 if frame.dtype == np.uint16 else 1.0)


def both_ends(backend: Backend, gen: dict, start: Endpoint, end: Endpoint, size: tuple[int, int]) -> tuple[dict, dict]:
    """Both ends at the morph's step k, made here (a render reads them from the store instead)."""
    model = morpher(backend, "draw a morph's in-betweens (method: morph)")
    steps, guidance = int(gen["steps"]), float(gen["guidance"])
    k = inject_step(steps, float(gen.get("morph_start", MORPH_START)))
    return end_at_step(model, start, steps, guidance, size, k), end_at_step(model, end, steps, guidance, size, k)


def morph_frames(backend: Backend, gen: dict, start: Endpoint, end: Endpoint, t: np.ndarray, size: tuple[int, int],
                 traced: tuple[dict, dict] | None = None, scales: np.ndarray | None = None) -> np.ndarray:
    """uint8 frames [T, H, W, 3] of a morph at times t between two end keyframes. `traced`: both
    ends at the morph's step k, as `end_at_step` makes them and the store keeps them (None: made
    here); `scales`: the frames' control scales [T, pictures] (seqc.render.frames), or None."""
    model = morpher(backend, "draw a morph's in-betweens (method: morph)")
    steps, guidance = int(gen["steps"]), float(gen["guidance"])
    k = inject_step(steps, float(gen.get("morph_start", MORPH_START)))
    damping = float(gen.get("morph_damping", MORPH_DAMPING))
    assert start.cond is not None and end.cond is not None  # a pipeline's plan embeds every keyframe
    # 1. Where both ends are at step k.
    if traced is None:
        traced = both_ends(model, gen, start, end, size)
    # 2. Every frame from their slerp at step k, the prompts lerped, the guidance damped.
    t = np.asarray(t, dtype=np.float64)
    cond = {key: lerp(start.cond[key], end.cond[key], t) for key in start.cond}
    if scales is not None:
        cond[CONTROL_SCALES] = scales
    frames = model.generate_from(slerp(traced[0]["latents"], traced[1]["latents"], t), cond, steps,
                                 damped_guidance(guidance, t, damping), size, start=k)
    # 3. An image end's residual, fading as (1 - t)^2 from the start and t^2 toward the end: the
    #    frames next to the user's picture carry the detail the model could not draw back, so the
    #    first in-between does not jump away from it.
    frames = _with_residuals(frames, t, traced[0].get("residual"), traced[1].get("residual"))
    # 4. A frame at an end is that keyframe's own picture, replaced in place so every other frame
    #    keeps its call (a frame's bytes do not depend on the batch size). A prompt's is denoised
    #    whole (a multistep scheduler restarted at step k would draw it a little otherwise); an
    #    image's is its latent decoded, as `strength: 0` shows it.
    for at, keyframe in ((t <= 0.0, start), (t >= 1.0, end)):
        where = np.flatnonzero(at)
        if not where.size:
            continue
        if keyframe.latent is not None:
            frames[where] = model.decode(keyframe.latent[None])[0]
            continue
        assert keyframe.noise is not None and keyframe.cond is not None
        own = {key: v[None] for key, v in keyframe.cond.items()}
        if scales is not None:
            own[CONTROL_SCALES] = scales[where[:1]]
        frames[where] = model.generate(keyframe.noise[None], own, steps, guidance, size)[0]
    return frames


def _with_residuals(frames: np.ndarray, t: np.ndarray, start: np.ndarray | None, end: np.ndarray | None) -> np.ndarray:
    """`frames` plus each image end's residual (0-255 levels) weighted by its nearness, rounded back
    to the frames' depth."""
    if start is None and end is None:
        return frames
    top = np.iinfo(frames.dtype).max
    out = frames.astype(np.float32)
    for residual, weight in ((start, (1.0 - t) ** 2), (end, t**2)):
        if residual is not None:
            out += weight.astype(np.float32)[:, None, None, None] * residual[None] * np.float32(top / 255)
    return np.clip(np.rint(out), 0, top).astype(frames.dtype)
