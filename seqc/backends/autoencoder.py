"""Any diffusers autoencoder (AutoencoderKL, AutoencoderTiny, ...) as an image <-> latent codec.

Loaded offline with `from_pretrained(use_safetensors=True, local_files_only=True)` exactly as
a user's own model folder is, the built-in model included. Latents are returned scaled
((z - shift) * scale, from the config) so interpolation happens in the space diffusion models
use, and as float32 numpy arrays so the cache never needs torch.
"""

from __future__ import annotations

import json

import numpy as np
import torch

from seqc.backends.torchutil import pick_device, pick_dtype
from seqc.errors import ModelError
from seqc.models import AUTOENCODER_CLASSES, ModelRef


class AutoencoderBackend:
    """Encode fitted keyframe pixels to latents and decode batches of latents to frames."""

    can_generate = False

    def __init__(self, ref: ModelRef, device: str = "auto", dtype: str = "auto"):
        import diffusers

        diffusers.utils.logging.set_verbosity_error()  # its notes about accelerate are not the user's concern
        # 1. Which class: the config's _class_name, one of the known autoencoders.
        config = json.loads((ref.path / "config.json").read_text())
        class_name = config.get("_class_name", "")
        if class_name not in AUTOENCODER_CLASSES or not hasattr(diffusers, class_name):
            raise ModelError(f"model '{ref.name}': unsupported autoencoder class '{class_name}'")
        cls = getattr(diffusers, class_name)

        # 2. Device and precision.
        self.device = pick_device(device)
        self.dtype = pick_dtype(dtype, self.device)

        # 3. Load offline, safetensors only.
        try:
            model = cls.from_pretrained(ref.path, use_safetensors=True, local_files_only=True, torch_dtype=self.dtype)
        except (OSError, ValueError, RuntimeError) as exc:
            raise ModelError(f"model '{ref.name}': cannot load {ref.path}: {exc}") from None
        self.model = model.to(self.device).eval().requires_grad_(False)
        self.ref = ref

        # 4. Memory layout: channels-last (NHWC) convolutions run faster on CPUs (oneDNN) and on
        # CUDA (tensor cores), and an NHWC decoder output is already the frames' H, W, 3 order,
        # so turning it into frames needs no extra copy (bench/README.md has the numbers).
        self.channels_last = self.device.type in ("cpu", "cuda")
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)

        # 5. The latent space's scale and shift.
        self.scaling = float(getattr(self.model.config, "scaling_factor", 1.0) or 1.0)
        self.shift = float(getattr(self.model.config, "shift_factor", 0.0) or 0.0)

    def _to_tensor(self, images: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(images)).to(self.device)
        x = x.permute(0, 3, 1, 2).to(self.dtype) / 127.5 - 1.0
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    @torch.inference_mode()
    def encode(self, image: np.ndarray) -> np.ndarray:
        """uint8 [H, W, 3] pixels -> float32 latent [C, h, w] (deterministic: the mode, not a sample)."""
        out = self.model.encode(self._to_tensor(image[None]))
        if hasattr(out, "latent_dist"):
            z = out.latent_dist.mode()
        else:
            z = out.latents
        z = (z.float() - self.shift) * self.scaling
        return z[0].cpu().numpy().astype(np.float32)

    @torch.inference_mode()
    def decode(self, latents: np.ndarray) -> np.ndarray:
        """float32 latents [B, C, h, w] -> uint8 frames [B, H, W, 3]."""
        z = torch.from_numpy(np.ascontiguousarray(latents, dtype=np.float32)).to(self.device)
        z = (z / self.scaling + self.shift).to(self.dtype)
        if self.channels_last:
            z = z.contiguous(memory_format=torch.channels_last)
        return self._to_frames(self.model.decode(z).sample)

    def _to_frames(self, x: torch.Tensor) -> np.ndarray:
        """Decoder output [B, 3, H, W] in [-1, 1] -> C-ordered uint8 frames [B, H, W, 3].

        The arithmetic is the same as ever (clamp, +1, *127.5, round), done in place on the
        decoder's own output (float32 needs no new tensor), so frames are unchanged bit for bit.
        A channels-last output permuted to NHWC is already contiguous: no copy before ffmpeg.
        """
        x = x.float().clamp_(-1.0, 1.0).add_(1.0).mul_(127.5).round_()
        frames = x.to(torch.uint8).permute(0, 2, 3, 1)
        if not frames.is_contiguous():
            frames = frames.contiguous()
        return frames.cpu().numpy()
