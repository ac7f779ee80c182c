"""A pipeline's part of `method: morph` (Capability.MORPH): where an end keyframe is at step k of
the schedule, and in-between frames that start at step k.

Latent Blending's observation: two pictures' denoising trajectories decide the layout early and
the detail late, so an in-between frame that starts at step k from the slerp of the two ends'
latents at step k shares the ends' layout and only draws the rest anew; it cannot snap to a
third layout the way a frame denoised from slerped noise can. It is also cheaper: an in-between
runs steps - k steps. A prompt keyframe gets to step k by denoising its noise (`trajectory`); an
image keyframe by DDIM inversion of its latent (`inversion`, seqc.backends.loop.invert), so the
model draws the user's own picture back from there instead of noising it at random.

Each end is computed alone, in one call of one frame, so its latents depend on nothing but the
end: the renderer stores them by content (seqc.render.trajectories) and every segment, probe and
frame count that shares an end reuses them. `generate_from` follows the CPU rules of
seqc.backends.pipeline (calls of `frames_per_call` frames, each on one torch thread), so a
frame's bytes depend on neither the core count nor the batch size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from seqc.backends.loop import Span, denoise, invert, schedule

if TYPE_CHECKING:
    from seqc.backends.pipeline import PipelineBackend


def trajectory(backend: PipelineBackend, noise: np.ndarray, conditioning: dict[str, np.ndarray], steps: int,
               guidance: float, size: tuple[int, int], stop: int, seed: int = 0) -> np.ndarray:
    """Latents [C, h, w] entering step `stop` of a `steps`-step text-to-image run from one end's
    `noise` [C, h, w] (unscaled, as `generate` takes it) and conditioning (no batch dimension)."""
    def call(pipe, pick: slice) -> np.ndarray:
        cond = {key: value[None] for key, value in conditioning.items()}
        latents, cond_t, generators = backend.tensors(pipe, noise[None], cond, slice(None), guidance, seed)
        timesteps = schedule(pipe.scheduler, Span(steps, 0, stop), backend.device)
        latents = latents * pipe.scheduler.init_noise_sigma
        out = denoise(pipe, latents, timesteps, cond_t, guidance, size, backend.family, generators,
                      backend.control.hints)
        return out.float().cpu().numpy()

    with torch.inference_mode():
        return backend.in_calls(call, 1)[0]


def inversion(backend: PipelineBackend, latent: np.ndarray, conditioning: dict[str, np.ndarray], steps: int,
              size: tuple[int, int], stop: int) -> np.ndarray:
    """Latents [C, h, w] entering step `stop` of a `steps`-step schedule, found by inverting one
    image keyframe's scaled latent [C, h, w] under its prompt's conditioning (unguided)."""
    def call(pipe, pick: slice) -> np.ndarray:
        cond = {key: value[None] for key, value in conditioning.items()}
        latents, cond_t, _ = backend.tensors(pipe, latent[None], cond, slice(None), 1.0, 0)
        timesteps = schedule(pipe.scheduler, Span(steps, stop), backend.device)
        return invert(pipe, latents, timesteps, cond_t, size, backend.family, backend.control.hints).float().cpu().numpy()

    with torch.inference_mode():
        return backend.in_calls(call, 1)[0]


def generate_from(backend: PipelineBackend, latents: np.ndarray, conditioning: dict[str, np.ndarray], steps: int,
                  guidance: float | np.ndarray, size: tuple[int, int], start: int, seed: int = 0) -> np.ndarray:
    """uint8 frames [B, H, W, 3] from `latents` entering step `start` (as `trajectory` or
    `inversion` returns them, or a mix of them): the rest of the schedule, with one guidance scale
    or one per frame."""
    scales = np.broadcast_to(np.asarray(guidance, dtype=np.float64), (latents.shape[0],))

    def call(pipe, pick: slice) -> np.ndarray:
        start_t, cond, generators = backend.tensors(pipe, latents[pick], conditioning, pick, float(scales.max()), seed)
        timesteps = schedule(pipe.scheduler, Span(steps, start), backend.device)
        out = denoise(pipe, start_t, timesteps, cond, scales[pick], size, backend.family, generators,
                      backend.control.hints)
        return backend.vae_codec.decode_tensor(out)

    with torch.inference_mode():
        return backend.in_calls(call, latents.shape[0])
