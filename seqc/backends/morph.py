"""A pipeline's part of `method: morph` (Capability.MORPH): the end keyframes' trajectories, and
in-between frames that start part-way down the schedule from them.

Latent Blending's observation: two pictures' denoising trajectories decide the layout early and
the detail late, so an in-between frame that starts at step k from the slerp of the two end
trajectories' latents at step k shares the ends' layout and only draws the rest anew; it cannot
snap to a third layout the way a frame denoised from slerped noise can. It is also cheaper: an
in-between runs steps - k steps. The ends' latents at step k are remembered by content (the
noise, conditioning and settings that made them), so the batches, probes and segments that share
an end compute it once per process.

Both calls follow the CPU rules of seqc.backends.pipeline (calls of `frames_per_call` frames,
each on one torch thread), so a frame's bytes depend on neither the core count nor the batch size.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

import numpy as np
import torch

from seqc.backends.loop import Span, denoise, schedule

if TYPE_CHECKING:
    from seqc.backends.pipeline import PipelineBackend

TRAJECTORY_MEMO = 32  # end latents remembered per backend (a few KB each at 64x64, a few hundred at 1024)


def trajectory(backend: PipelineBackend, noise: np.ndarray, conditioning: dict[str, np.ndarray], steps: int,
               guidance: float, size: tuple[int, int], stop: int, seed: int = 0) -> np.ndarray:
    """Latents [B, C, h, w] entering step `stop` of a `steps`-step text-to-image run from `noise`
    (unscaled, as `generate` takes it): where each end's trajectory is at step `stop`."""
    key = _memo_key(backend, noise, conditioning, steps, guidance, size, stop, seed)
    memo = backend.trajectories
    with _LOCK:
        if key in memo:
            memo.move_to_end(key)
            return memo[key]

    def call(pipe, pick: slice) -> np.ndarray:
        latents, cond, generators = backend.tensors(pipe, noise[pick], conditioning, pick, guidance, seed)
        timesteps = schedule(pipe.scheduler, Span(steps, 0, stop), backend.device)
        latents = latents * pipe.scheduler.init_noise_sigma
        out = denoise(pipe, latents, timesteps, cond, guidance, size, backend.family, generators)
        return out.float().cpu().numpy()

    with torch.inference_mode():
        result = backend.in_calls(call, noise.shape[0])
    with _LOCK:
        memo[key] = result
        while len(memo) > TRAJECTORY_MEMO:
            memo.popitem(last=False)
    return result


def generate_from(backend: PipelineBackend, latents: np.ndarray, conditioning: dict[str, np.ndarray], steps: int,
                  guidance: float | np.ndarray, size: tuple[int, int], start: int, seed: int = 0) -> np.ndarray:
    """uint8 frames [B, H, W, 3] from `latents` entering step `start` (as `trajectory` returns them,
    or a mix of them): the rest of the schedule, with one guidance scale or one per frame."""
    scales = np.broadcast_to(np.asarray(guidance, dtype=np.float64), (latents.shape[0],))

    def call(pipe, pick: slice) -> np.ndarray:
        start_t, cond, generators = backend.tensors(pipe, latents[pick], conditioning, pick, float(scales.max()), seed)
        timesteps = schedule(pipe.scheduler, Span(steps, start), backend.device)
        out = denoise(pipe, start_t, timesteps, cond, scales[pick], size, backend.family, generators)
        return backend.vae_codec.decode_tensor(out)

    with torch.inference_mode():
        return backend.in_calls(call, latents.shape[0])


_LOCK = threading.Lock()  # the memo is shared by a render's threads (a side thread, Ray's worker threads)


def new_memo() -> OrderedDict[str, np.ndarray]:
    """An empty memo of end latents, least recently used first (a backend holds one)."""
    return OrderedDict()


def _memo_key(backend: PipelineBackend, noise: np.ndarray, conditioning: dict[str, np.ndarray], steps: int,
              guidance: float, size: tuple[int, int], stop: int, seed: int) -> str:
    """The content that decides an end's latents: inputs, settings, the scheduler in use, precision."""
    digest = hashlib.sha256()
    for name in sorted(conditioning):
        digest.update(name.encode() + np.ascontiguousarray(conditioning[name], dtype=np.float32).tobytes())
    digest.update(np.ascontiguousarray(noise, dtype=np.float32).tobytes())
    digest.update(repr((steps, float(guidance), tuple(size), stop, seed, backend.scheduler_config(),
                        backend.precision, backend.frames_per_call)).encode())
    return digest.hexdigest()
