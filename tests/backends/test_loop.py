"""seqc's own denoising loop (seqc/backends/loop.py): DDIM inversion under each prediction type and
scheduler convention, with a model whose trajectories are known; and on the built-in model,
inversion keeps the user's picture where image-to-image's random noise loses it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

from seqc.backends.loop import Span, denoise, invert, schedule  # noqa: E402

STEPS = 50
SPREAD = 0.5  # the clean latents' standard deviation


class GaussianModel:
    """A 'UNet' that is exact for clean latents drawn from N(0, SPREAD^2): for a sample at level t
    (VP convention, as a UNet sees it), the best noise and clean guesses are linear in the sample.
    Denoising with it follows the probability-flow ODE, so inverting its own output must come back
    to where its trajectory was."""

    config = SimpleNamespace(time_cond_proj_dim=None)

    def __init__(self, alphas: torch.Tensor, prediction: str):
        self.alphas, self.prediction = alphas.double(), prediction

    def __call__(self, x, t, **kwargs):
        a = self.alphas[int(round(float(t)))]
        total = a * SPREAD**2 + 1 - a
        noise, clean = (1 - a).sqrt() * x.double() / total, a.sqrt() * SPREAD**2 * x.double() / total
        out = {"epsilon": noise, "v_prediction": a.sqrt() * noise - (1 - a).sqrt() * clean,
               "sample": clean}[self.prediction]
        return (out.to(x.dtype),)


def _pipe(scheduler_class: str, prediction: str):
    config = {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
              "prediction_type": prediction, "timestep_spacing": "trailing", "steps_offset": 1}
    if scheduler_class == "DDIMScheduler":
        config["clip_sample"] = False
    scheduler = getattr(diffusers, scheduler_class).from_config(config)
    return SimpleNamespace(unet=GaussianModel(scheduler.alphas_cumprod, prediction), scheduler=scheduler,
                           prepare_extra_step_kwargs=lambda generators, eta: {})


@pytest.mark.parametrize("scheduler_class", ["DDIMScheduler", "EulerDiscreteScheduler"])
@pytest.mark.parametrize("prediction", ["epsilon", "v_prediction", "sample"])
def test_inverting_a_drawn_picture_finds_where_its_trajectory_was(scheduler_class, prediction):
    pipe = _pipe(scheduler_class, prediction)
    cond = {"prompt_embeds": torch.zeros(2, 3, 8)}
    cpu, size = torch.device("cpu"), (32, 32)
    noise = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0)) * pipe.scheduler.init_noise_sigma
    for k in (5, 20, 40):
        at_k = denoise(pipe, noise, schedule(pipe.scheduler, Span(STEPS, 0, k), cpu), cond, 1.0, size, "sd", [])
        drawn = denoise(pipe, at_k, schedule(pipe.scheduler, Span(STEPS, k), cpu), cond, 1.0, size, "sd", [])
        found = invert(pipe, drawn, schedule(pipe.scheduler, Span(STEPS, k), cpu), cond, size, "sd")
        error = float((found - at_k).abs().max() / at_k.abs().max())
        assert error < 0.06, (k, error)  # a first-order step's error (about 0.04); a wrong convention is 0.14 to 0.9


def test_inversion_refuses_a_scheduler_without_alphas():
    pipe = SimpleNamespace(scheduler=SimpleNamespace(), unet=None)
    with pytest.raises(ValueError, match="no alphas_cumprod"):
        invert(pipe, torch.zeros(1, 4, 8, 8), torch.tensor([1.0]), {}, (32, 32), "sd")


@pytest.fixture(scope="module")
def emoji():
    from seqc.backends.pipeline import PipelineBackend
    from seqc.models import resolve_model

    return PipelineBackend(resolve_model("builtin-emoji", Path.cwd()), device="cpu", dtype="float32")


def test_inversion_keeps_the_picture_where_image_to_image_noise_loses_it(emoji):
    # From the same step (k of 25), denoising the inverted latents draws the picture back within a
    # few levels; image-to-image's random noise at the same strength draws another picture.
    size, steps = (64, 64), 25
    k = 10
    empty = emoji.encode_prompt("")
    prompt = emoji.encode_prompt("black sun with rays")
    drawn = emoji.generate(emoji.initial_noise(0, size)[None], {n: v[None] for n, v in prompt.items()}, steps, 7.5, size)[0]
    square = np.zeros((64, 64, 3), np.uint8)
    square[12:52, 20:44] = (230, 180, 30)  # a picture the model never drew
    for picture in (drawn, square):
        latent = emoji.encode(picture)
        shown = emoji.decode(latent[None])[0].astype(np.float64)
        at_k = emoji.invert(latent, empty, steps, size, stop=k)
        back = emoji.generate_from(at_k[None], {n: v[None] for n, v in empty.items()}, steps, 1.0, size, start=k)[0]
        noised = emoji.generate(emoji.initial_noise(3, size)[None], {n: v[None] for n, v in empty.items()}, steps,
                                1.0, size, image_latents=latent[None], strength=1 - k / steps)[0]
        kept, lost = (float(np.abs(f.astype(np.float64) - shown).mean()) for f in (back, noised))
        assert kept < 20 and lost > 1.8 * kept, (kept, lost)
