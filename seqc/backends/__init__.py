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


def default_batch_size(backend) -> int:
    """Frames decoded at once when the user does not say: 8 on a GPU, where batching is the main
    lever, 1 on the CPU, where the decoder is memory-bound and bigger batches ran slower (the
    built-in model, 256x256, 2 cores: a whole render at 32 frames/s with 1, 25 with 8)."""
    device = getattr(backend, "device", None)
    return 1 if getattr(device, "type", "cpu") == "cpu" else 8


def _load(ref: ModelRef, device: str, dtype: str):
    if ref.kind == "pipeline":
        from seqc.backends.pipeline import PipelineBackend

        return PipelineBackend(ref, device=device, dtype=dtype)
    from seqc.backends.autoencoder import AutoencoderBackend

    return AutoencoderBackend(ref, device=device, dtype=dtype)
