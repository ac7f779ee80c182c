"""Model backends: the only place (with the renderer) that imports torch and diffusers.

`load_backend(ref, device, dtype)` returns an object with `encode(image) -> latent` and
`decode(latents) -> frames`: an AutoencoderBackend for any diffusers autoencoder, or a
PipelineBackend (which also has `encode_prompt`, `initial_noise` and `generate`) for a
Stable Diffusion family text-to-image pipeline.
"""

from __future__ import annotations

from seqc.models import ModelRef

_loaded: dict[tuple, object] = {}  # the last model loaded, so `seqc watch` loads it once


def load_backend(ref: ModelRef, device: str = "auto", dtype: str = "auto", fingerprint: str = ""):
    """Load the model a storyboard names (imports torch; call only when something must render).

    The last backend is kept and reused when the same model (same folder and fingerprint) is
    asked for again on the same device, so a long-running `seqc watch` loads it once.
    """
    ident = (str(ref.path), ref.kind, fingerprint, device, dtype)
    if fingerprint and ident in _loaded:
        return _loaded[ident]
    backend = _load(ref, device, dtype)
    _loaded.clear()
    if fingerprint:
        _loaded[ident] = backend
    return backend


CPU_BATCH_LIMIT = 16  # frames in flight at once on the CPU, however many cores (memory grows with it)


def default_batch_size(backend) -> int:
    """Frames made at once when the user does not say: 8 on a GPU, where batching is the main
    lever; on the CPU torch's thread count (at most CPU_BATCH_LIMIT), since there each frame is
    computed alone on one thread, side by side (seqc.backends.threads), and a batch is what keeps
    every thread busy. A Ray CPU worker has one thread, so one frame."""
    device = getattr(backend, "device", None)
    if getattr(device, "type", "cpu") != "cpu":
        return 8
    import torch

    return max(1, min(torch.get_num_threads(), CPU_BATCH_LIMIT))


def _load(ref: ModelRef, device: str, dtype: str):
    if ref.kind == "pipeline":
        from seqc.backends.pipeline import PipelineBackend

        return PipelineBackend(ref, device=device, dtype=dtype)
    from seqc.backends.autoencoder import AutoencoderBackend

    return AutoencoderBackend(ref, device=device, dtype=dtype)
