"""Model backends: the only place (with the renderer) that imports torch and diffusers.

`load_backend(ref, device, dtype)` returns an object with `encode(image) -> latent` and
`decode(latents) -> frames` for any diffusers autoencoder; pipelines join it for prompts.
"""

from __future__ import annotations

from seqc.models import ModelRef


def load_backend(ref: ModelRef, device: str = "auto", dtype: str = "auto"):
    """Load the model a storyboard names (imports torch; call only when something must render)."""
    from seqc.backends.autoencoder import AutoencoderBackend

    if ref.kind == "autoencoder":
        return AutoencoderBackend(ref, device=device, dtype=dtype)
    from seqc.errors import ModelError

    raise ModelError(f"model '{ref.name}' is a pipeline; rendering with pipelines is not supported yet")
