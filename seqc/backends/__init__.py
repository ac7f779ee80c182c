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


def _load(ref: ModelRef, device: str, dtype: str):
    if ref.kind == "pipeline":
        from seqc.backends.pipeline import PipelineBackend

        return PipelineBackend(ref, device=device, dtype=dtype)
    from seqc.backends.autoencoder import AutoencoderBackend

    return AutoencoderBackend(ref, device=device, dtype=dtype)
