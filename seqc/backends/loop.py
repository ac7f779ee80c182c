"""The denoising loop seqc runs itself, for what a diffusers pipeline's `__call__` cannot do:
start part-way down the schedule (image-to-image, a morph's in-between frames, which start from
the end keyframes' trajectories), stop part-way (those trajectories), and a guidance scale per
frame (a morph damps guidance toward the middle of a transition).

Step for step what diffusers 0.42's Stable Diffusion (XL) pipelines do in their loops: classifier-
free guidance with the unconditional half first, SDXL's pooled text and size ids, the guidance
embedding of UNets distilled with one (LCM), `prepare_extra_step_kwargs` for the scheduler's step.
tests/backends/test_diffusers_pin.py pins what it calls to the signatures used here, and
tests/backends/test_pipeline.py checks image-to-image against diffusers' own pipelines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from seqc.backends.control import CONTROL_SCALES, Hints


@dataclass
class Span:
    """Which steps of a `steps`-step schedule to run: `first` up to (not including) `last`."""

    steps: int
    first: int = 0
    last: int | None = None  # None: to the end


def schedule(scheduler, span: Span, device: torch.device) -> torch.Tensor:
    """Set the scheduler to `span.steps` steps beginning at `span.first`; the timesteps to run."""
    scheduler.set_timesteps(span.steps, device=device)
    order = scheduler.order
    last = span.steps if span.last is None else span.last
    timesteps = scheduler.timesteps[span.first * order:last * order]
    if hasattr(scheduler, "set_begin_index"):
        scheduler.set_begin_index(span.first * order)
    return timesteps


def denoise(pipe, latents: torch.Tensor, timesteps: torch.Tensor, cond: dict, guidance: float | np.ndarray,
            size: tuple[int, int], family: str, generators: list, control: Hints | None = None) -> torch.Tensor:
    """Run `timesteps` (already scheduled) on `latents` with the conditioning `cond` (tensors with a
    leading batch dimension; the negative ones used under guidance). `guidance` is one scale, or one
    per frame: frames with a scale above 1 are guided, and a batch is guided when any frame is.
    `control`: a ControlNet's pictures, followed at `cond`'s per-frame control scales (seqc.backends.control)."""
    batch = latents.shape[0]
    scales = np.array(np.broadcast_to(np.asarray(guidance, dtype=np.float64), (batch,)))
    # 1-2. Conditioning, and the guidance embedding of distilled UNets.
    do_cfg, unet_kwargs = _unet_inputs(pipe, latents, cond, scales, size, family)

    # 3. The loop. One scale stays a Python float, as the pipelines use it (the same arithmetic).
    weight: float | torch.Tensor = float(scales[0])
    if not np.all(scales == scales[0]):
        weight = torch.from_numpy(scales).to(latents.device, latents.dtype)[:, None, None, None]
    extra_step_kwargs = pipe.prepare_extra_step_kwargs(generators, 0.0)
    scheduler = pipe.scheduler
    for t in timesteps:
        model_input = torch.cat([latents] * 2) if do_cfg else latents
        model_input = scheduler.scale_model_input(model_input, t)
        extra = {} if control is None else control.residuals(model_input, t, unet_kwargs, cond.get(CONTROL_SCALES),
                                                             do_cfg)
        noise_pred = pipe.unet(model_input, t, **unet_kwargs, **extra, return_dict=False)[0]
        if do_cfg:
            uncond, text = noise_pred.chunk(2)
            noise_pred = uncond + weight * (text - uncond)
        latents = scheduler.step(noise_pred, t, latents, **extra_step_kwargs, return_dict=False)[0]
    return latents


def invert(pipe, latents: torch.Tensor, timesteps: torch.Tensor, cond: dict, size: tuple[int, int],
           family: str, control: Hints | None = None) -> torch.Tensor:
    """DDIM inversion: clean `latents` (scaled VAE latents) run up the schedule, unguided, to where
    `timesteps` (as `schedule` returns them) begin; the result in the scheduler's own convention, so
    `denoise` from there draws the picture back. Each step predicts the noise at the next level up
    from the latents at this one and moves them there along it (the DDIM update run backwards).
    Works on every scheduler with `alphas_cumprod` (SD 1.x/2.x/XL's), epsilon or v prediction."""
    scheduler = pipe.scheduler
    if not hasattr(scheduler, "alphas_cumprod"):
        raise ValueError(f"{type(scheduler).__name__} has no alphas_cumprod to invert an image along")
    prediction = scheduler.config.get("prediction_type", "epsilon")
    wide = torch.float32 if latents.device.type == "mps" else torch.float64  # MPS has no float64
    alphas = scheduler.alphas_cumprod.to(latents.device, wide)
    _, unet_kwargs = _unet_inputs(pipe, latents, cond, np.ones(latents.shape[0]), size, family)
    levels = sorted({float(t) for t in timesteps.tolist()})  # upwards; a second-order schedule repeats them
    clean = latents.to(wide)
    x, alpha_here = clean, torch.tensor(1.0, dtype=wide, device=latents.device)  # alpha 1: clean
    for level in levels:
        t = torch.tensor(level, device=latents.device)
        here = x.to(latents.dtype)
        extra = {} if control is None else control.residuals(here, t, unet_kwargs, cond.get(CONTROL_SCALES), False)
        out = pipe.unet(here, t, **unet_kwargs, **extra, return_dict=False)[0].to(wide)
        alpha = alphas[int(round(level))]
        if prediction == "v_prediction":  # the model's belief that x is at `level`
            noise = alpha.sqrt() * out + (1 - alpha).sqrt() * x
        elif prediction == "sample":
            noise = (x - alpha.sqrt() * out) / (1 - alpha).sqrt()
        else:
            noise = out
        x0 = (x - (1 - alpha_here).sqrt() * noise) / alpha_here.sqrt()
        x, alpha_here = alpha.sqrt() * x0 + (1 - alpha).sqrt() * noise, alpha
    # The same point in the scheduler's convention (sigma-scaled for Euler's): add_noise with the
    # noise that the inversion found, as image-to-image adds its random noise.
    found = (x - alpha_here.sqrt() * clean) / (1 - alpha_here).sqrt()
    return scheduler.add_noise(latents, found.to(latents.dtype), timesteps[:1].repeat(latents.shape[0]))


def _unet_inputs(pipe, latents: torch.Tensor, cond: dict, scales: np.ndarray, size: tuple[int, int],
                 family: str) -> tuple[bool, dict]:
    """Whether to guide, and the UNet's conditioning arguments: the text (unconditional half first
    under classifier-free guidance), SDXL's pooled text and size ids, a distilled UNet's guidance embedding."""
    width, height = size
    distilled = pipe.unet.config.time_cond_proj_dim is not None

    # 1. Conditioning, with the unconditional half first under classifier-free guidance.
    do_cfg = bool((scales > 1.0).any()) and not distilled
    embeds = cond["prompt_embeds"]
    if do_cfg:
        embeds = torch.cat([cond["negative_prompt_embeds"], embeds])
    added_cond_kwargs = None
    if family == "sdxl":
        # SDXL's micro-conditioning: original size, crop top-left, target size, as (height, width).
        text_embeds = cond["pooled_prompt_embeds"]
        if do_cfg:
            text_embeds = torch.cat([cond["negative_pooled_prompt_embeds"], text_embeds])
        time_ids = torch.tensor([[height, width, 0, 0, height, width]], dtype=embeds.dtype, device=latents.device)
        added_cond_kwargs = {"text_embeds": text_embeds, "time_ids": time_ids.repeat(embeds.shape[0], 1)}

    # 2. Guidance embedding, for UNets distilled with one (LCM); None otherwise.
    timestep_cond = None
    if distilled:
        scale = torch.from_numpy(scales - 1.0).float()
        timestep_cond = pipe.get_guidance_scale_embedding(scale, embedding_dim=pipe.unet.config.time_cond_proj_dim)
        timestep_cond = timestep_cond.to(device=latents.device, dtype=latents.dtype)
    return do_cfg, {"encoder_hidden_states": embeds, "timestep_cond": timestep_cond,
                    "added_cond_kwargs": added_cond_kwargs}
