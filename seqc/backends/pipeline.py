"""Text-to-image pipelines of the Stable Diffusion family as a frame generator for prompt keyframes.

Interpolating an autoencoder's latents between two pictures looks like a dissolve. A diffusion
model morphs instead: every frame starts from its own noise (the two keyframes' noises slerped)
and its own conditioning (the two prompts' embeddings interpolated), and is denoised in full.

Supported: `StableDiffusionPipeline` (SD 1.x, 2.x, SD-Turbo) and `StableDiffusionXLPipeline`
(SDXL, SDXL-Turbo), read from a local folder (a hub id is resolved to its snapshot folder by
`seqc.models`) with `DiffusionPipeline.from_pretrained(use_safetensors=True, local_files_only=True)`.

Everything that crosses this module's boundary is numpy: conditioning arrays (cacheable with
`safetensors.numpy`), noise and latents as float32, frames as uint8 [B, H, W, 3]. Sizes are
(width, height), as in the storyboard.

Two levels:

- `seqc.backends.pipeline_info` reads the folder's JSON only (no torch): the family, whether it
  is a Turbo model, its native size and generation defaults, the scheduler names. The planner
  imports that module, never this one.
- `PipelineBackend`, here, loads the model (this module imports torch, and diffusers on loading)
  and renders.

Pixels and latents: the pipeline's VAE is wrapped by `AutoencoderBackend.from_module`
(`vae_codec`), so an image keyframe's latent, a latent decoded as it is and the denoised latents
of `generate` all go through the autoencoder backend's one conversion (scaling, memory layout,
rounding to uint8).

Generation (`PipelineBackend.generate`):

- text-to-image goes through the pipeline's own `__call__` with `latents=` (the unscaled noise:
  the pipeline multiplies it by `scheduler.init_noise_sigma`), `prompt_embeds=` and friends, and
  `output_type="latent"`; the frames are decoded by `vae_codec.decode_tensor`, the code that
  `decode` ends in for image latents, so every path ends in identical pixel conversion.
- image-to-image (an image keyframe's latent, `strength` > 0) needs the *given* noise, which the
  diffusers img2img pipelines cannot take (they draw it from a generator), and the text-to-image
  `__call__` cannot start part-way for every scheduler (PNDM, DDIM and Euler-ancestral take no
  custom timesteps). So `_img2img_latents` runs the denoising loop itself, step for step as
  `StableDiffusionImg2ImgPipeline` / `StableDiffusionXLImg2ImgPipeline` do: schedule `steps`
  timesteps, skip the first `steps - int(steps * strength)`, `scheduler.add_noise` the image
  latent with the given noise at the first remaining timestep, then denoise the rest with the
  pipeline's UNet, scheduler and classifier-free guidance (SDXL: pooled text and size ids). With
  the same noise it equals the diffusers img2img pipeline called with the latent as `image` and a
  generator that draws that noise (a test checks this).

Determinism: the starting noise comes from a CPU `torch.Generator` (`initial_noise`), so every
device starts from the same numbers. Schedulers that draw noise while stepping (Euler-ancestral,
DDPM-like, DDIM with eta > 0) get one CPU generator per frame, each seeded with the same
`seed` (0 unless the caller says otherwise). Every frame therefore gets the same step noise: a
frame does not depend on its position in a batch, a keyframe's picture is the same at the end of
one segment and the start of the next, and stochastic samplers do not flicker between frames.
Repeated calls with the same inputs give the same frames. On the CPU frames are denoised and
decoded in calls of CPU_FRAMES_PER_CALL frames counted from the batch's start (the last call
holds what remains), each call on one torch thread (several calls at once, each with its own
copy of the scheduler), and prompts are encoded on one thread (seqc.backends.threads): torch's
CPU kernels sum in an order that depends on their thread count and on the size of the call, but
with both fixed a frame's bytes depend neither on its place in the call nor on its neighbours.
The renderer hands batches in multiples of `frames_per_call` (seqc.render.frames), so a frame's
call depends only on its place in its segment and the segment's length, both keyed: a frame is
the same bytes whatever the core count, the batch size or the executor. A call of several frames
amortises the UNet's per-call cost, which dominates a small model on the CPU (on builtin-emoji a
call of 8 frames costs 4.4 times a call of one); a lone frame is not padded, so a final frame
costs one frame's call.
On a GPU the batch runs in one go.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import json
import warnings
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager

import numpy as np
import torch

from seqc.backends.adapters import Adapters
from seqc.backends.autoencoder import AutoencoderBackend
from seqc.backends.control import CONTROL_SCALES, ControlState
from seqc.backends.loop import Span, denoise, schedule
from seqc.backends.morph import generate_from, inversion, trajectory
from seqc.backends.parts import controlnet, load_embeddings, replacement_vae, tokenizers
from seqc.backends.pipeline_info import (
    CPU_FRAMES_PER_CALL,
    SCHEDULERS,
    check_scheduler_name,
    check_size,
    read_pipeline_info,
)
from seqc.backends.protocol import Capability
from seqc.backends.threads import one_thread, parallel_calls
from seqc.backends.torchutil import pick_device, pick_dtype
from seqc.errors import ModelError
from seqc.models import ModelRef

__all__ = ["PipelineBackend"]


class PipelineBackend:
    """A Stable Diffusion (or SDXL) pipeline: prompts to conditioning, noise to frames, images to latents
    (a Generator and Schedulable backend, seqc.backends.protocol)."""

    capabilities = frozenset({Capability.ENCODE, Capability.DECODE, Capability.GENERATE, Capability.SCHEDULERS,
                              Capability.MORPH, Capability.LORA, Capability.DEEP})  # and CONTROL with a ControlNet

    def __init__(self, ref: ModelRef, device: str = "auto", dtype: str = "auto", scheduler: str = "default"):
        """Load the pipeline folder `ref.path` (or the single file `ref.file` with that folder's configs)
        offline, on `device` in `dtype`, with `scheduler` by name."""
        # 1. Family and defaults from the folder's JSON (refuses unsupported pipelines before loading).
        self.ref = ref
        self.name = ref.name
        self.info = read_pipeline_info(ref)
        self.family = self.info.family
        check_scheduler_name(scheduler)
        if importlib.util.find_spec("transformers") is None:
            raise ModelError(f"model '{ref.name}': text-to-image pipelines need the `transformers` package "
                             "(pip install transformers)")

        import diffusers
        import transformers

        # 2. Quiet: the libraries' notes (accelerate, deprecations, progress bars) are not the user's concern.
        diffusers.utils.logging.set_verbosity_error()
        diffusers.utils.logging.disable_progress_bar()
        transformers.utils.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()

        # 3. Device and precision.
        self.device = pick_device(device)
        self.dtype = pick_dtype(dtype, self.device)

        # 4. Load offline, safetensors only (torch_dtype: older diffusers know no `dtype`). A single
        #    file takes its configs and tokenizer from its config folder: without `config=`,
        #    from_single_file would look the architecture up on the hub.
        what = f"{ref.file} with the configs of {ref.path}" if ref.file else f"the pipeline in {ref.path}"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                parts = replacement_vae(ref, self.dtype)
                if ref.file is not None:
                    pipeline_class = getattr(diffusers, self.info.class_name)
                    pipe = pipeline_class.from_single_file(
                        str(ref.file), config=str(ref.path), local_files_only=True, use_safetensors=True,
                        torch_dtype=self.dtype, **tokenizers(ref.path), **parts)
                else:
                    pipe = diffusers.DiffusionPipeline.from_pretrained(
                        ref.path, use_safetensors=True, local_files_only=True, torch_dtype=self.dtype, **parts)
                what = f"the ControlNet {ref.controlnet}"  # the pipeline loaded: what fails now is this
                net = controlnet(ref, pipe.unet, self.dtype)
                what = "the embeddings " + ", ".join(f"{path.name} ({token})" for token, path in ref.embeddings)
                load_embeddings(pipe, ref)
        except (OSError, ValueError, RuntimeError, ImportError, TypeError, KeyError) as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"model '{ref.name}': cannot load {what}: {first_line}") from None
        pipe.to(self.device)
        pipe.set_progress_bar_config(disable=True)
        if self.device.type == "cuda":
            pipe.unet.to(memory_format=torch.channels_last)
        # SDXL's VAE overflows in float16; its pipeline decodes in float32 (config force_upcast), and so do we.
        upcast = getattr(pipe.vae.config, "force_upcast", False)
        if self.family == "sdxl" and self.dtype == torch.float16 and upcast:
            pipe.vae.to(torch.float32)
        self.pipe = pipe
        self.adapters = Adapters(pipe, ref.name)  # LoRA files, loaded when a keyframe first names them
        self.control = ControlState(None if net is None else net.to(self.device), self.device)  # `controlnet:`
        if net is not None:
            self.capabilities = PipelineBackend.capabilities | {Capability.CONTROL}
        # The VAE's pixel <-> latent conversion is the autoencoder backend's, around this VAE (not a copy).
        self.vae_codec = AutoencoderBackend.from_module(pipe.vae, self.device, pipe.vae.dtype, ref.name)
        self.default_scheduler = pipe.scheduler
        self.vae_scale_factor = int(pipe.vae_scale_factor)
        self.latent_channels = int(pipe.unet.config.in_channels)
        self.precision = str(self.dtype).removeprefix("torch.")

        # 5. The scheduler: the pipeline's own, or one named, built from the pipeline's config.
        self.scheduler_name = "default"
        self.set_scheduler(scheduler)

    # -- settings ------------------------------------------------------------------------------

    def defaults_for_family(self) -> dict:
        """Generation defaults for this model: {"steps", "guidance", "scheduler", "size"}.

        SD: 25 steps, guidance 7.5; SDXL: 25 steps, guidance 5.0; a Turbo model of either
        family (see `is_turbo`): 2 steps, guidance 0.0. `size` is the native (width, height).
        """
        return self.info.defaults()

    def set_scheduler(self, name: str) -> None:
        """Use the pipeline's own scheduler ("default") or one of SCHEDULERS, configured from the pipeline's."""
        import diffusers

        check_scheduler_name(name)
        if name == "default":
            self.pipe.scheduler = self.default_scheduler
        else:
            class_name, overrides = SCHEDULERS[name]
            cls = getattr(diffusers, class_name)
            self.pipe.scheduler = cls.from_config(self.default_scheduler.config, **overrides)
        self.scheduler_name = name

    def scheduler_config(self) -> dict:
        """The scheduler in use as JSON-serialisable data: its class and every setting (for cache keys)."""
        scheduler = self.pipe.scheduler
        settings = {k: v for k, v in dict(scheduler.config).items() if not k.startswith("_")}
        settings = json.loads(json.dumps(settings, sort_keys=True, default=str))
        return {"class": type(scheduler).__name__, "config": settings}

    def lora_weights(self, weights: Mapping[str, float]) -> AbstractContextManager[None]:
        """LoRA files (by path) at these weights within the block (seqc.backends.adapters)."""
        return self.adapters.weights(weights)

    def control_images(self, images: Sequence[np.ndarray]) -> AbstractContextManager[None]:
        """Follow these control pictures within the block, at each frame's `control_scales` (seqc.backends.control)."""
        return self.control.pictures(images)

    # -- conditioning and noise ----------------------------------------------------------------

    def encode_prompt(self, prompt: str, negative_prompt: str = "",
                      guidance: float | None = None) -> dict[str, np.ndarray]:
        """The conditioning of one prompt as float32 arrays without a batch dimension.

        SD: {"prompt_embeds": [L, D], "negative_prompt_embeds": [L, D]}; SDXL adds
        {"pooled_prompt_embeds": [P], "negative_pooled_prompt_embeds": [P]}. The negative
        embeddings are always computed, so the result depends only on the two texts and the model
        (cache it under those); `guidance` is accepted for symmetry and changes nothing. An empty
        negative prompt means the pipeline's own default: SD encodes "", SDXL (with
        `force_zeros_for_empty_prompt`) uses zeros. Prompts over the text encoder's limit (77
        tokens for CLIP) are truncated, as the pipelines do.
        """
        negative = negative_prompt or None
        with torch.inference_mode(), one_thread() if self.device.type == "cpu" else contextlib.nullcontext():
            if self.family == "sdxl":
                embeds, neg_embeds, pooled, neg_pooled = self.pipe.encode_prompt(
                    prompt=prompt, device=self.device, num_images_per_prompt=1,
                    do_classifier_free_guidance=True, negative_prompt=negative)
                tensors = {"prompt_embeds": embeds, "negative_prompt_embeds": neg_embeds,
                           "pooled_prompt_embeds": pooled, "negative_pooled_prompt_embeds": neg_pooled}
            else:
                embeds, neg_embeds = self.pipe.encode_prompt(
                    prompt, self.device, 1, True, negative_prompt=negative)
                tensors = {"prompt_embeds": embeds, "negative_prompt_embeds": neg_embeds}
            return {key: value[0].float().cpu().numpy() for key, value in tensors.items()}

    @property
    def frames_per_call(self) -> int:
        """Frames denoised in one call: CPU_FRAMES_PER_CALL on the CPU, the whole batch elsewhere (1)."""
        return CPU_FRAMES_PER_CALL if self.device.type == "cpu" else 1

    def latent_shape(self, size: tuple[int, int]) -> tuple[int, int, int]:
        """[C, H/f, W/f]: the latent shape of a (width, height) picture."""
        check_size(size, self.ref.name)
        width, height = size
        return (self.latent_channels, height // self.vae_scale_factor, width // self.vae_scale_factor)

    def initial_noise(self, seed: int, size: tuple[int, int]) -> np.ndarray:
        """Standard normal noise [C, H/f, W/f] float32 from `torch.Generator("cpu").manual_seed(seed)`.

        Not scaled by the scheduler's `init_noise_sigma` (`generate` does that). The numbers are
        the ones a diffusers pipeline draws for `generator=torch.Generator().manual_seed(seed)`
        at batch size 1 in float32, and the same on every device.
        """
        shape = self.latent_shape(size)
        try:
            generator = torch.Generator("cpu").manual_seed(int(seed))
        except (RuntimeError, ValueError):
            raise ModelError(f"seed {seed} is out of range (use 0 to 2**64 - 1)") from None
        return torch.randn(shape, generator=generator, dtype=torch.float32).numpy()

    # -- the VAE -------------------------------------------------------------------------------

    def encode_image(self, image: np.ndarray) -> np.ndarray:
        """uint8 pixels [H, W, 3] -> the VAE's scaled latent [C, H/f, W/f], float32 (the mode, not a sample)."""
        height, width = image.shape[:2]
        self.latent_shape((width, height))
        return self.vae_codec.encode(image)

    def encode(self, image: np.ndarray) -> np.ndarray:
        """The same as `encode_image`: the name the renderer uses for every backend."""
        return self.encode_image(image)

    def set_frame_bits(self, bits: int) -> None:
        """Frames (decoded and denoised alike) from now on as uint8 (8) or uint16 (16): the VAE's."""
        self.vae_codec.set_frame_bits(bits)

    def decode(self, latents: np.ndarray) -> np.ndarray:
        """Scaled latents [B, C, h, w] -> uint8 frames [B, H, W, 3] through the pipeline's VAE."""
        return self.vae_codec.decode(latents)

    # -- generation ----------------------------------------------------------------------------

    def generate(self, noise: np.ndarray, conditioning: dict[str, np.ndarray], steps: int, guidance: float,
                 size: tuple[int, int], image_latents: np.ndarray | None = None, strength: float = 0.0,
                 seed: int = 0) -> np.ndarray:
        """Denoise a batch of frames; return uint8 frames [B, H, W, 3].

        noise: [B, C, h, w] unscaled starting noise per frame (e.g. two `initial_noise` slerped).
        conditioning: `encode_prompt`'s arrays with a leading batch dimension B (interpolated per
        frame); the negative ones may be left out when guidance <= 1.
        steps, guidance: the scheduler's step count and the classifier-free guidance scale
        (guidance <= 1 runs the UNet once per step, without the negative conditioning).
        size: (width, height) of the frames.
        image_latents: [B, C, h, w] scaled VAE latents (an image keyframe's, interpolated), or
        None for text-to-image. With image latents, strength 0 decodes them as they are, and
        strength s in (0, 1] noises them with `noise` to the schedule's point s and denoises the
        rest: the last int(steps * s) of `steps` steps run (none: a plain decode).
        seed: seeds the per-frame CPU generators of stochastic schedulers (the same for every
        frame; keep it constant across a storyboard so keyframes match at segment joins).
        """
        # 1. Check the inputs.
        batch = self._check_generate(noise, conditioning, steps, guidance, size, image_latents, strength)

        # 2. Strength 0: latent interpolation through the VAE, nothing to denoise.
        if image_latents is not None and strength <= 0.0:
            return self.decode(image_latents)

        # 3. A GPU denoises the batch in one go; the CPU in calls of CPU_FRAMES_PER_CALL frames (in_calls).
        def call(pipe, pick: slice) -> np.ndarray:
            return self._generate(pipe, noise[pick], {k: v[pick] for k, v in conditioning.items()}, steps, guidance,
                                  size, None if image_latents is None else image_latents[pick], strength, seed)

        return self.in_calls(call, batch)

    def trajectory(self, noise: np.ndarray, conditioning: dict[str, np.ndarray], steps: int, guidance: float,
                   size: tuple[int, int], stop: int, seed: int = 0) -> np.ndarray:
        """One end's latents entering step `stop` of a text-to-image run from `noise` (seqc.backends.morph)."""
        return trajectory(self, noise, conditioning, steps, guidance, size, stop, seed)

    def invert(self, latent: np.ndarray, conditioning: dict[str, np.ndarray], steps: int, size: tuple[int, int],
               stop: int) -> np.ndarray:
        """One image latent's latents entering step `stop`, by DDIM inversion (seqc.backends.morph)."""
        return inversion(self, latent, conditioning, steps, size, stop)

    def generate_from(self, latents: np.ndarray, conditioning: dict[str, np.ndarray], steps: int,
                      guidance: float | np.ndarray, size: tuple[int, int], start: int, seed: int = 0) -> np.ndarray:
        """Frames from latents entering step `start`, guidance per frame (seqc.backends.morph)."""
        return generate_from(self, latents, conditioning, steps, guidance, size, start, seed)

    def in_calls(self, fn, batch: int) -> np.ndarray:
        """`fn(pipe, frames)` over a batch: in one go on a GPU; on the CPU in calls of CPU_FRAMES_PER_CALL
        frames from the batch's start (the last holds what remains), each on one torch thread with a
        scheduler of its own, several at once, so no frame depends on the core count or its neighbours."""
        if self.device.type != "cpu":
            return fn(self.pipe, slice(0, batch))
        calls = [slice(first, first + CPU_FRAMES_PER_CALL) for first in range(0, batch, CPU_FRAMES_PER_CALL)]
        return np.concatenate(parallel_calls(lambda pick: fn(self._own_pipe(), pick), calls))

    def tensors(self, pipe, latents: np.ndarray, conditioning: dict[str, np.ndarray], pick: slice, guidance: float,
                seed: int) -> tuple[torch.Tensor, dict[str, torch.Tensor], list]:
        """A call's latents and conditioning (frames `pick`) on the device in `pipe`'s precision, the
        negative conditioning left out without guidance, and one CPU generator per frame."""
        dtype = pipe.unet.dtype
        latents_t = torch.from_numpy(np.ascontiguousarray(latents, dtype=np.float32)).to(self.device, dtype)
        cond = {key: torch.from_numpy(np.ascontiguousarray(value[pick], dtype=np.float32)).to(self.device, dtype)
                for key, value in conditioning.items() if guidance > 1.0 or not key.startswith("negative_")}
        return latents_t, cond, [torch.Generator("cpu").manual_seed(int(seed)) for _ in range(latents.shape[0])]

    def _own_pipe(self):
        """The pipeline with a scheduler of its own, so frames can denoise side by side: a shallow
        copy (the models are shared: they hold no state while inferring; the scheduler counts steps)."""
        pipe = copy.copy(self.pipe)
        pipe.__dict__["scheduler"] = copy.deepcopy(self.pipe.scheduler)
        return pipe

    def _generate(self, pipe, noise: np.ndarray, conditioning: dict[str, np.ndarray], steps: int, guidance: float,
                  size: tuple[int, int], image_latents: np.ndarray | None, strength: float,
                  seed: int) -> np.ndarray:
        """`generate` after its checks, on `pipe` (this backend's pipeline or an `_own_pipe`)."""
        width, height = size
        dtype = pipe.unet.dtype
        with torch.inference_mode():
            # 1. Tensors on the device in the pipeline's precision; one generator per frame.
            noise_t, cond, generators = self.tensors(pipe, noise, conditioning, slice(None), guidance, seed)

            # 2. Denoise: text-to-image through the pipeline's __call__ (with a ControlNet by our loop,
            #    from the noise as the pipeline starts); image-to-image by our loop.
            hints = self.control.hints
            if image_latents is None and hints is not None:
                timesteps = schedule(pipe.scheduler, Span(steps), self.device)  # sets init_noise_sigma
                latents = denoise(pipe, noise_t * pipe.scheduler.init_noise_sigma, timesteps, cond, guidance, size,
                                  self.family, generators, hints)
            elif image_latents is None:
                cond.pop(CONTROL_SCALES, None)
                latents = pipe(
                    **cond, latents=noise_t, num_inference_steps=steps, guidance_scale=guidance,
                    height=height, width=width, generator=generators, output_type="latent", return_dict=False,
                )[0]
            else:
                start = torch.from_numpy(np.ascontiguousarray(image_latents, dtype=np.float32))
                start = start.to(self.device, dtype)
                latents = self._img2img_latents(pipe, start, noise_t, cond, steps, guidance, size, strength,
                                                generators)

            # 3. Decode on the device (the same conversion as `decode`, without a trip through numpy).
            return self.vae_codec.decode_tensor(latents)

    def _check_generate(self, noise, conditioning, steps, guidance, size, image_latents, strength) -> int:
        """Validate generate()'s arguments; return the batch size."""
        expected = self.latent_shape(size)
        if noise.ndim != 4 or tuple(noise.shape[1:]) != expected:
            raise ValueError(f"noise must have shape [B, {', '.join(map(str, expected))}], got {noise.shape}")
        batch = noise.shape[0]
        needed = ["prompt_embeds"] + (["pooled_prompt_embeds"] if self.family == "sdxl" else [])
        if guidance > 1.0:
            needed += ["negative_" + key for key in needed]
        for key in needed:
            if key not in conditioning:
                raise ValueError(f"conditioning lacks '{key}'")
            if conditioning[key].shape[0] != batch:
                raise ValueError(f"conditioning '{key}' has batch {conditioning[key].shape[0]}, noise has {batch}")
        if image_latents is not None and image_latents.shape != noise.shape:
            raise ValueError(f"image_latents has shape {image_latents.shape}, noise has {noise.shape}")
        if int(steps) != steps or steps < 1:
            raise ModelError(f"steps must be a whole number of at least 1, got {steps}")
        if not 0.0 <= strength <= 1.0:
            raise ModelError(f"strength must be between 0 and 1, got {strength}")
        if guidance < 0.0:
            raise ModelError(f"guidance must be 0 or more, got {guidance}")
        return batch

    def _img2img_latents(self, pipe, start, noise, cond: dict, steps: int, guidance: float, size: tuple[int, int],
                         strength: float, generators: list):
        """Noise `start` to `strength` with `noise` and denoise the rest on `pipe`, as the diffusers img2img
        pipelines do (`get_timesteps`, the `add_noise` of `prepare_latents`, then seqc.backends.loop)."""
        # 1. Timesteps: schedule `steps`, run the last int(steps * strength) (get_timesteps in diffusers).
        run = min(int(steps * strength), steps)
        timesteps = schedule(pipe.scheduler, Span(steps, first=steps - run), self.device)
        if run == 0:
            return start
        # 2. Noise the image latents to the first remaining timestep, then denoise the rest.
        latents = pipe.scheduler.add_noise(start, noise, timesteps[:1].repeat(start.shape[0]))
        return denoise(pipe, latents, timesteps, cond, guidance, size, self.family, generators, self.control.hints)
