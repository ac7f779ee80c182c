"""Any diffusers autoencoder (AutoencoderKL, AutoencoderTiny, ...) as an image <-> latent codec.

Loaded offline with `from_pretrained(use_safetensors=True, local_files_only=True)` exactly as
a user's own model folder is, the built-in model included; or wrapped around a VAE that is
already loaded (`AutoencoderBackend.from_module`: a Stable Diffusion pipeline's, so its images
and frames go through this same conversion). Latents are returned scaled, so interpolation
happens in the space diffusion models use, and as float32 numpy arrays so the cache never needs
torch. The scaling comes from the config: `(z - latents_mean) * scaling_factor / latents_std`
per channel where the config has `latents_mean` and `latents_std` (SDXL-style VAEs), and
`(z - shift_factor) * scaling_factor` otherwise; decoding inverts it.

On the CPU every encode and every frame's decode runs on one torch thread, frames in parallel
(seqc.backends.threads), so latents and frames are the same bytes whatever the core count, the
batch size or the executor.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import torch

from seqc.backends.protocol import Capability
from seqc.backends.threads import one_thread, parallel_calls
from seqc.backends.torchutil import pick_device, pick_dtype
from seqc.errors import ModelError
from seqc.models import AUTOENCODER_CLASSES, ModelRef


class AutoencoderBackend:
    """Encode fitted keyframe pixels to latents and decode batches of latents to frames (a Backend)."""

    capabilities = frozenset({Capability.ENCODE, Capability.DECODE, Capability.DEEP})
    frame_bits = 8  # what `_to_frames` rounds to (set_frame_bits)

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
        torch_device = pick_device(device)
        torch_dtype = pick_dtype(dtype, torch_device)

        # 3. Load offline, safetensors only.
        try:
            model = cls.from_pretrained(ref.path, use_safetensors=True, local_files_only=True, torch_dtype=torch_dtype)
        except (OSError, ValueError, RuntimeError) as exc:
            raise ModelError(f"model '{ref.name}': cannot load {ref.path}: {exc}") from None
        self.ref: ModelRef | None = ref
        self._adopt(model, torch_device, torch_dtype, ref.name)

    @classmethod
    def from_module(cls, model: Any, device: torch.device | str, dtype: torch.dtype,
                    name: str) -> AutoencoderBackend:
        """Wrap an autoencoder that is already loaded (a pipeline's `vae`), in place: no copy, no reload.

        `dtype` is the precision the module's weights are in (pixels are cast to it); the module
        is moved to `device`, set to eval mode and made channels-last where `__init__` would.
        """
        backend = cls.__new__(cls)
        backend.ref = None
        backend._adopt(model, torch.device(device), dtype, name)
        return backend

    def _adopt(self, model: Any, device: torch.device, dtype: torch.dtype, name: str) -> None:
        """Take `model` as this backend's autoencoder: placement, memory layout and latent scaling."""
        self.name = name
        self.device = device
        self.dtype = dtype
        self.precision = str(dtype).removeprefix("torch.")  # what the planner keyed (backends.precision)
        self.model = model.to(self.device).eval().requires_grad_(False)

        # 4. Memory layout: channels-last (NHWC) convolutions run faster on CPUs (oneDNN) and on
        # CUDA (tensor cores), and an NHWC decoder output is already the frames' H, W, 3 order,
        # so turning it into frames needs no extra copy (bench/README.md has the numbers).
        self.channels_last = self.device.type in ("cpu", "cuda")
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)

        # 5. The latent space's scale and shift, or per-channel mean and deviation where the config has them.
        config = self.model.config
        self.scaling = float(getattr(config, "scaling_factor", 1.0) or 1.0)
        self.shift = float(getattr(config, "shift_factor", 0.0) or 0.0)
        mean, std = getattr(config, "latents_mean", None), getattr(config, "latents_std", None)
        self.latents_mean: torch.Tensor | None = None
        self.latents_std: torch.Tensor | None = None
        if mean is not None and std is not None:
            self.latents_mean = torch.tensor(mean, dtype=torch.float32, device=self.device).view(1, -1, 1, 1)
            self.latents_std = torch.tensor(std, dtype=torch.float32, device=self.device).view(1, -1, 1, 1)

    # -- the latent space ----------------------------------------------------------------------

    def scale(self, z: torch.Tensor) -> torch.Tensor:
        """Raw float32 latents [B, C, h, w] -> the scaled space (the one diffusion models work in)."""
        if self.latents_mean is not None and self.latents_std is not None:
            return (z - self.latents_mean) * self.scaling / self.latents_std
        return (z - self.shift) * self.scaling

    def unscale(self, z: torch.Tensor) -> torch.Tensor:
        """The inverse of `scale`: scaled float32 latents -> what the decoder takes."""
        if self.latents_mean is not None and self.latents_std is not None:
            return z * self.latents_std / self.scaling + self.latents_mean
        return z / self.scaling + self.shift

    # -- pixels <-> latents --------------------------------------------------------------------

    def _to_tensor(self, images: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(images)).to(self.device)
        x = x.permute(0, 3, 1, 2).to(self.dtype) / 127.5 - 1.0
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    @torch.inference_mode()
    def encode(self, image: np.ndarray) -> np.ndarray:
        """uint8 [H, W, 3] pixels -> float32 latent [C, h, w] (deterministic: the mode, not a sample;
        on the CPU on one torch thread, so the same bytes on any machine of the same kind)."""
        if self.device.type == "cpu":
            with one_thread():
                return self._encode(image)
        return self._encode(image)

    def _encode(self, image: np.ndarray) -> np.ndarray:
        out = self.model.encode(self._to_tensor(image[None]))
        if hasattr(out, "latent_dist"):
            z = out.latent_dist.mode()
        else:
            z = out.latents
        return self.scale(z.float())[0].cpu().numpy().astype(np.float32)

    @torch.inference_mode()
    def decode(self, latents: np.ndarray) -> np.ndarray:
        """float32 latents [B, C, h, w] -> uint8 frames [B, H, W, 3]."""
        z = torch.from_numpy(np.ascontiguousarray(latents, dtype=np.float32)).to(self.device)
        return self.decode_tensor(z)

    @torch.inference_mode()
    def decode_tensor(self, z: torch.Tensor) -> np.ndarray:
        """Scaled latents as a torch tensor [B, C, h, w] (any float dtype) -> uint8 frames [B, H, W, 3].

        What `decode` does after its numpy -> torch step; a caller whose latents are already on
        the device (a pipeline's denoised latents) skips the round trip through numpy. On the CPU
        each frame is decoded alone on one torch thread, several at once: a frame's bytes depend
        neither on the core count nor on the batch it came in.
        """
        z = z.to(self.device).float()
        if self.device.type != "cpu":
            return self._decode_batch(z)
        return np.concatenate(parallel_calls(self._decode_batch, list(z.split(1))))

    def _decode_batch(self, z: torch.Tensor) -> np.ndarray:
        """Scaled float32 latents [B, C, h, w] on the device -> uint8 frames [B, H, W, 3]."""
        z = self.unscale(z).to(self.dtype)
        if self.channels_last:
            z = z.contiguous(memory_format=torch.channels_last)
        return self._to_frames(self.model.decode(z).sample)

    def set_frame_bits(self, bits: int) -> None:
        """Frames from now on as uint8 (8, the default) or uint16 (16), for a 10-bit codec."""
        if bits not in (8, 16):
            raise ValueError(f"frame bits must be 8 or 16, got {bits!r}")
        self.frame_bits = bits

    def _to_frames(self, x: torch.Tensor) -> np.ndarray:
        """Decoder output [B, 3, H, W] in [-1, 1] -> C-ordered uint8 (or, at 16 frame bits, uint16)
        frames [B, H, W, 3].

        The arithmetic is the same as ever (clamp, +1, *127.5, round), done in place on the
        decoder's own output (float32 needs no new tensor), so frames are unchanged bit for bit.
        At 16 bits the scale is 32767.5: the decoder's floats reach a 10-bit codec unrounded to 8 bits.
        A channels-last output permuted to NHWC is already contiguous: no copy before ffmpeg.
        """
        wide = self.frame_bits == 16
        x = x.float().clamp_(-1.0, 1.0).add_(1.0).mul_(32767.5 if wide else 127.5).round_()
        frames = (x.to(torch.int32) if wide else x.to(torch.uint8)).permute(0, 2, 3, 1)
        if not frames.is_contiguous():
            frames = frames.contiguous()
        out = frames.cpu().numpy()
        return out.astype(np.uint16) if wide else out
