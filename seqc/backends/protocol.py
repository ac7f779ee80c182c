"""What a model backend can do, as types: callers ask these, never `hasattr`.

Every backend is a `Backend`: it encodes a keyframe image to a latent and decodes latents to
frames, on a `device`, in the `precision` the planner put in the keys. What more it can do it
declares in `capabilities`, and each extra capability has a narrower protocol with its methods:
`Generator` (prompts to conditioning, seeds to noise, denoising), `Morpher` (denoising that stops
or starts part-way), `Schedulable` (a named scheduler per segment), `Adaptable` (LoRA files at
a weight each) and `Controllable` (a ControlNet), all a text-to-image pipeline's. A caller that needs one asks
`generator(backend, why)` or `schedulable(backend, why)`: it gets the narrowed type, or a
ModelError naming the model and what it cannot do.

Where a new backend or capability goes: a backend (a built-in text-to-image model, a single-file
checkpoint) implements `Backend` and the protocols of what it can do and lists those in
`capabilities`; a capability (LoRA, ControlNet, a morph the model computes) adds a `Capability`,
a protocol with its methods and an accessor like `generator`. Torch- and numpy-free at import:
they appear in annotations only.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from seqc.errors import ModelError

if TYPE_CHECKING:
    import numpy as np
    import torch


CONTROL_SCALES = "control_scales"  # conditioning: each frame's scale per control picture [B, pictures]


class Capability(enum.Enum):
    """One thing a backend can do (and so one kind of cache entry or frame it can make)."""

    ENCODE = "encode"  # uint8 pixels [H, W, 3] -> a scaled latent [C, h, w] (image keyframes: `latents`)
    DECODE = "decode"  # latents [B, C, h, w] -> uint8 frames [B, H, W, 3] (every latent path; uint16 with DEEP)
    GENERATE = "generate"  # prompts -> conditioning (`embeds`), seeds -> noise, denoising to frames
    SCHEDULERS = "schedulers"  # a scheduler by name (a segment's `scheduler:`)
    MORPH = "morph"  # denoising that stops or starts part-way (`method: morph`, seqc.backends.morph)
    LORA = "lora"  # LoRA files at a weight each while drawing (a keyframe's `lora:`, seqc.backends.adapters)
    CONTROL = "control"  # a ControlNet following pictures while drawing (`controlnet:`, seqc.backends.control)
    DEEP = "deep"  # frames at 16 bits per channel on request, for a 10-bit codec (seqc.media.encode.depth)


@runtime_checkable
class Backend(Protocol):
    """A loaded model: an image <-> latent codec on one device, in one precision."""

    @property
    def name(self) -> str:
        """The model as the storyboard names it (for messages)."""

    @property
    def device(self) -> torch.device:
        """Where it runs (its type decides the default batch size)."""

    @property
    def precision(self) -> str:
        """float32, float16 or bfloat16: what it computes in, which the plan's keys name
        (seqc.backends.precision); a render refuses a model whose precision is not the plan's."""

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What it can do; each member beyond ENCODE and DECODE has a protocol below."""

    def encode(self, image: np.ndarray) -> np.ndarray:
        """uint8 pixels [H, W, 3] -> float32 scaled latent [C, h, w]."""

    def decode(self, latents: np.ndarray) -> np.ndarray:
        """float32 scaled latents [B, C, h, w] -> uint8 frames [B, H, W, 3]."""


@runtime_checkable
class Generator(Backend, Protocol):
    """A backend that makes frames from prompts and noise (Capability.GENERATE)."""

    def encode_prompt(self, prompt: str, negative_prompt: str = "",
                      guidance: float | None = None) -> dict[str, np.ndarray]:
        """One prompt's conditioning as float32 arrays without a batch dimension."""

    def initial_noise(self, seed: int, size: tuple[int, int]) -> np.ndarray:
        """Standard normal noise [C, h, w] float32 from `seed`, the same on every device."""

    def generate(self, noise: np.ndarray, conditioning: dict[str, np.ndarray], steps: int, guidance: float,
                 size: tuple[int, int], image_latents: np.ndarray | None = None, strength: float = 0.0,
                 seed: int = 0) -> np.ndarray:
        """Denoise a batch (from image latents noised to `strength`, or from pure noise) to uint8 frames."""

    @property
    def frames_per_call(self) -> int:
        """Frames `generate` denoises together, counted from its batch's start: a caller that hands
        batches in multiples of it gets the same bytes whatever its batch size (seqc.render.frames)."""


@runtime_checkable
class Morpher(Generator, Protocol):
    """A generator whose denoising can stop and start part-way down the schedule (Capability.MORPH)."""

    def trajectory(self, noise: np.ndarray, conditioning: dict[str, np.ndarray], steps: int, guidance: float,
                   size: tuple[int, int], stop: int, seed: int = 0) -> np.ndarray:
        """One end's latents [C, h, w] entering step `stop` of a text-to-image run from its noise [C, h, w]
        and conditioning (no batch dimension), computed alone so they depend on nothing else."""

    def invert(self, latent: np.ndarray, conditioning: dict[str, np.ndarray], steps: int, size: tuple[int, int],
               stop: int) -> np.ndarray:
        """One image keyframe's latents [C, h, w] entering step `stop`, by inverting its scaled latent
        [C, h, w] under its conditioning (no batch dimension), so denoising from there draws it back."""

    def generate_from(self, latents: np.ndarray, conditioning: dict[str, np.ndarray], steps: int,
                      guidance: float | np.ndarray, size: tuple[int, int], start: int, seed: int = 0) -> np.ndarray:
        """uint8 frames from latents entering step `start`, with one guidance scale or one per frame."""


@runtime_checkable
class Schedulable(Backend, Protocol):
    """A backend whose sampler can be chosen by name (Capability.SCHEDULERS)."""

    def set_scheduler(self, name: str) -> None:
        """Use the scheduler `name` ("default": the model's own) from now on."""


@runtime_checkable
class Deep(Backend, Protocol):
    """A backend that can hand over frames at 16 bits (Capability.DEEP): its decoder computes floats,
    and a 10-bit codec should get them without an 8-bit step on the way."""

    def set_frame_bits(self, bits: int) -> None:
        """Make every frame from now on uint8 (8) or uint16 (16: the same 0..1 range, 65535 at full)."""


def set_frame_bits(backend: Backend, bits: int) -> None:
    """Ask for frames at `bits` where the backend can give them; a backend without DEEP keeps its
    uint8 frames, which the clip writer widens."""
    if Capability.DEEP in backend.capabilities and isinstance(backend, Deep):
        backend.set_frame_bits(bits)


@runtime_checkable
class Adaptable(Backend, Protocol):
    """A backend whose weights LoRA files adjust while it draws (Capability.LORA)."""

    def lora_weights(self, weights: Mapping[str, float]) -> AbstractContextManager[None]:
        """Within the block, every prompt encoded and frame drawn has each LoRA file (by path) at its
        weight and no other; before and after it, none. Blocks run one at a time."""


@runtime_checkable
class Controllable(Backend, Protocol):
    """A backend with a ControlNet that follows pictures while it draws (Capability.CONTROL)."""

    def control_images(self, images: Sequence[np.ndarray]) -> AbstractContextManager[None]:
        """Within the block, frames follow these uint8 pictures [H, W, 3] (the output size), each at
        the per-frame scale in the conditioning's `control_scales` [B, len(images)]."""


def generator(backend: Backend, needed_for: str) -> Generator:
    """`backend` as a Generator, or a ModelError saying it cannot do `needed_for`."""
    if Capability.GENERATE in backend.capabilities and isinstance(backend, Generator):
        return backend
    raise _lacks(backend, Capability.GENERATE, needed_for)


def schedulable(backend: Backend, needed_for: str) -> Schedulable:
    """`backend` as a Schedulable, or a ModelError saying it cannot do `needed_for`."""
    if Capability.SCHEDULERS in backend.capabilities and isinstance(backend, Schedulable):
        return backend
    raise _lacks(backend, Capability.SCHEDULERS, needed_for)


def morpher(backend: Backend, needed_for: str) -> Morpher:
    """`backend` as a Morpher, or a ModelError saying it cannot do `needed_for`."""
    if Capability.MORPH in backend.capabilities and isinstance(backend, Morpher):
        return backend
    raise _lacks(backend, Capability.MORPH, needed_for)


def adaptable(backend: Backend, needed_for: str) -> Adaptable:
    """`backend` as an Adaptable, or a ModelError saying it cannot do `needed_for`."""
    if Capability.LORA in backend.capabilities and isinstance(backend, Adaptable):
        return backend
    raise _lacks(backend, Capability.LORA, needed_for)


def controllable(backend: Backend, needed_for: str) -> Controllable:
    """`backend` as a Controllable, or a ModelError saying it cannot do `needed_for`."""
    if Capability.CONTROL in backend.capabilities and isinstance(backend, Controllable):
        return backend
    raise _lacks(backend, Capability.CONTROL, needed_for)


def _lacks(backend: Backend, capability: Capability, needed_for: str) -> ModelError:
    can = ", ".join(c.value for c in Capability if c in backend.capabilities) or "nothing"
    return ModelError(f"model '{backend.name}' cannot {needed_for}: it has no '{capability.value}' "
                      f"capability (it can: {can})")


__all__ = ["Adaptable", "Backend", "Capability", "Controllable", "Generator", "Morpher", "Schedulable", "adaptable",
           "controllable", "generator", "morpher", "schedulable"]
