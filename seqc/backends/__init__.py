"""Model backends: the only place (with the renderer) that imports torch and diffusers.

`load_backend(ref, device, dtype)` returns a `Backend` (seqc.backends.protocol), which encodes an
image to a latent and decodes latents to frames: an AutoencoderBackend for any diffusers
autoencoder, or a PipelineBackend (also a `Generator` and `Schedulable`: prompts, noise,
denoising, named schedulers) for a Stable Diffusion family text-to-image pipeline. What a session
keeps loaded between renders is seqc.backends.loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from seqc.models import ModelRef

if TYPE_CHECKING:
    from seqc.backends.protocol import Backend


def load_backend(ref: ModelRef, device: str = "auto", dtype: str = "auto") -> Backend:
    """Load the model a storyboard names (imports torch; call only when something must render)."""
    if ref.kind == "pipeline":
        from seqc.backends.pipeline import PipelineBackend

        return PipelineBackend(ref, device=device, dtype=dtype)
    from seqc.backends.autoencoder import AutoencoderBackend

    return AutoencoderBackend(ref, device=device, dtype=dtype)


CPU_BATCH_LIMIT = 16  # frames in flight at once on the CPU, however many cores (memory grows with it)


def default_batch_size(backend: Backend) -> int:
    """Frames made at once when the user does not say: 8 on a GPU, where batching is the main
    lever; on the CPU torch's thread count (at most CPU_BATCH_LIMIT), since there each frame (an
    autoencoder's) or each call of CPU_FRAMES_PER_CALL frames (a pipeline's) is computed on one
    thread, side by side (seqc.backends.threads), and a batch is what keeps every thread busy. A
    Ray CPU worker has one thread, so one frame (or one call)."""
    if backend.device.type != "cpu":
        return 8
    import torch

    from seqc.backends.pipeline_info import CPU_FRAMES_PER_CALL
    from seqc.backends.protocol import Capability

    per_thread = CPU_FRAMES_PER_CALL if Capability.GENERATE in backend.capabilities else 1
    return max(1, min(torch.get_num_threads(), CPU_BATCH_LIMIT)) * per_thread
