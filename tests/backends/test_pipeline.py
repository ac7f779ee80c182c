"""The pipeline backend (seqc/backends/pipeline.py) on tiny random Stable Diffusion / SDXL pipelines
(offline, CPU).

One SD and one SDXL pipeline are built per module (tests/tinysd.py) and loaded once each, since
importing diffusers and transformers dominates the time. Pictures from random weights are noise,
so the tests check shapes, determinism, agreement with diffusers' own pipelines given the same
noise, and the img2img strength ordering, never how a frame looks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seqc.backends.pipeline_info import CPU_FRAMES_PER_CALL
from seqc.errors import ModelError
from seqc.models import ModelRef
from seqc.motion.interp import lerp, slerp

SIZE = (64, 64)  # (width, height): 8x8 latents with the tiny VAE


def _ref(folder: Path, name: str | None = None) -> ModelRef:
    return ModelRef(name or folder.name, folder, "pipeline", "folder")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Run torch on one thread here: the models are tiny, and on a busy machine a second thread mostly waits."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny SD and SDXL pipeline folders saved with safetensors (read-only)."""
    from tinysd import make_tiny_sd, make_tiny_sdxl

    base = tmp_path_factory.mktemp("tiny-pipelines")
    return {"sd": make_tiny_sd(base / "tiny-sd"), "sdxl": make_tiny_sdxl(base / "tiny-sdxl")}


@pytest.fixture(scope="module")
def sd(folders):
    """The tiny SD pipeline, loaded through DiffusionPipeline.from_pretrained."""
    from seqc.backends.pipeline import PipelineBackend

    return PipelineBackend(_ref(folders["sd"]), device="cpu")


@pytest.fixture(scope="module")
def sdxl(folders):
    """The tiny SDXL pipeline."""
    from seqc.backends.pipeline import PipelineBackend

    return PipelineBackend(_ref(folders["sdxl"]), device="cpu")


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    """A smooth 64x64 keyframe picture."""
    yy, xx = np.mgrid[0:64, 0:64]
    return np.stack([xx * 4, yy * 4, (xx + yy) * 2], axis=-1).astype(np.uint8)


def _batch(cond: dict[str, np.ndarray], count: int = 1) -> dict[str, np.ndarray]:
    return {key: np.repeat(value[None], count, axis=0) for key, value in cond.items()}


def _diff(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())


# ---------------------------------------------------------------------------------------------
# Loading, families, defaults


def test_loads_and_detects_family(sd, sdxl):
    from seqc.backends.protocol import Capability

    assert Capability.GENERATE in sd.capabilities and Capability.GENERATE in sdxl.capabilities
    assert (sd.family, sdxl.family) == ("sd", "sdxl")
    assert type(sd.pipe).__name__ == "StableDiffusionPipeline"
    assert type(sdxl.pipe).__name__ == "StableDiffusionXLPipeline"
    assert sd.defaults_for_family() == {"steps": 25, "guidance": 7.5, "scheduler": "default", "size": SIZE}
    assert sdxl.defaults_for_family()["guidance"] == 5.0


def test_turbo_rule_reads_names(folders):
    from seqc.backends.pipeline_info import read_pipeline_info

    plain = read_pipeline_info(_ref(folders["sd"]))
    by_hub_id = read_pipeline_info(_ref(folders["sd"], "stabilityai/sd-turbo"))
    by_folder = read_pipeline_info(_ref(folders["sdxl"], "./models/SDXL-Turbo"))
    assert not plain.turbo and by_hub_id.turbo and by_folder.turbo
    assert by_hub_id.defaults()["steps"] == 2 and by_hub_id.defaults()["guidance"] == 0.0
    assert (by_folder.family, by_folder.latent_channels, by_folder.vae_scale_factor) == ("sdxl", 4, 8)


def test_refuses_unsupported_pipeline(tmp_path):
    from seqc.backends.pipeline import PipelineBackend

    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "FluxPipeline"}))
    with pytest.raises(ModelError, match="'FluxPipeline'.*StableDiffusionPipeline, StableDiffusionXLPipeline"):
        PipelineBackend(_ref(tmp_path))


def test_pipeline_info_imports_without_torch():
    # The planner's half: JSON only. (seqc.backends.pipeline, the PipelineBackend, imports torch.)
    code = "import sys, seqc.backends.pipeline_info; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    code = ("import sys, seqc.backends, seqc.backends.pipeline_info as p; "
            "print(p.SCHEDULER_NAMES[0], sorted(m for m in ('torch', 'diffusers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "default []"


# ---------------------------------------------------------------------------------------------
# Conditioning and noise


def test_encode_prompt_shapes_and_repeatability(sd, sdxl):
    cat = sd.encode_prompt("a cat", "", 7.5)
    assert set(cat) == {"prompt_embeds", "negative_prompt_embeds"}
    assert all(v.dtype == np.float32 and v.shape == (77, 32) for v in cat.values())
    again = sd.encode_prompt("a cat", "", 7.5)
    assert all(np.array_equal(cat[k], again[k]) for k in cat)
    assert not np.array_equal(cat["prompt_embeds"], sd.encode_prompt("the dog", "")["prompt_embeds"])
    blurry = sd.encode_prompt("a cat", "blurry")
    assert not np.array_equal(cat["negative_prompt_embeds"], blurry["negative_prompt_embeds"])

    xl = sdxl.encode_prompt("a cat", "")
    shapes = {k: (v.dtype, v.shape) for k, v in xl.items()}
    assert shapes == {
        "prompt_embeds": (np.float32, (77, 64)), "negative_prompt_embeds": (np.float32, (77, 64)),
        "pooled_prompt_embeds": (np.float32, (32,)), "negative_pooled_prompt_embeds": (np.float32, (32,)),
    }
    # SDXL's force_zeros_for_empty_prompt: an empty negative prompt is zeros, a written one is not.
    assert not xl["negative_prompt_embeds"].any() and not xl["negative_pooled_prompt_embeds"].any()
    assert sdxl.encode_prompt("a cat", "blurry")["negative_pooled_prompt_embeds"].any()


def test_initial_noise_seeded_and_slerp_keeps_its_scale(sd):
    a = sd.initial_noise(1, SIZE)
    assert a.shape == (4, 8, 8) and a.dtype == np.float32
    assert np.array_equal(a, sd.initial_noise(1, SIZE))
    assert not np.array_equal(a, sd.initial_noise(2, SIZE))

    # Norm statistic |x| / sqrt(n) of unit Gaussian noise is about 1; midway, slerp keeps it and
    # lerp of independent noises shrinks it to about 1/sqrt(2), which denoises to a washed-out frame.
    big = (256, 256)
    n1, n2 = sd.initial_noise(11, big), sd.initial_noise(12, big)
    t = np.array([0.5])
    stat_slerp = float(np.linalg.norm(slerp(n1, n2, t)[0]) / np.sqrt(n1.size))
    stat_lerp = float(np.linalg.norm(lerp(n1, n2, t)[0]) / np.sqrt(n1.size))
    assert abs(stat_slerp - 1.0) < 0.05
    assert abs(stat_lerp - 0.7071) < 0.05
    assert stat_slerp - stat_lerp > 0.25


# ---------------------------------------------------------------------------------------------
# The VAE: the autoencoder backend's conversion


def test_vae_conversion_is_the_autoencoder_backends(sd, folders, image):
    import torch

    from seqc.backends.autoencoder import AutoencoderBackend

    # The pipeline's VAE is wrapped, not copied, and converts like the same VAE loaded on its own
    # from the pipeline's vae/ folder, bit for bit (same weights, scaling and memory layout).
    assert isinstance(sd.vae_codec, AutoencoderBackend) and sd.vae_codec.model is sd.pipe.vae
    alone = AutoencoderBackend(ModelRef("vae", folders["sd"] / "vae", "autoencoder", "folder"), device="cpu")
    assert (alone.scaling, alone.shift, alone.channels_last) == (3.0, 0.0, sd.vae_codec.channels_last)
    z = sd.encode_image(image)
    assert np.array_equal(z, alone.encode(image))
    frames = sd.decode(z[None])
    assert frames.shape == (1, 64, 64, 3) and frames.dtype == np.uint8
    assert np.array_equal(frames, alone.decode(z[None]))
    # generate()'s path: a scaled torch tensor decoded on the device, no numpy round trip.
    assert np.array_equal(frames, sd.vae_codec.decode_tensor(torch.from_numpy(z[None])))

    # The arithmetic is diffusers': scaled = mode * scaling_factor, decoded from latents / scaling_factor.
    with torch.inference_mode():
        x = torch.from_numpy(image).permute(2, 0, 1)[None].float().contiguous() / 127.5 - 1.0
        raw = sd.pipe.vae.encode(x).latent_dist.mode()
        pixels = sd.pipe.vae.decode(torch.from_numpy(z[None]) / 3.0).sample
    assert np.allclose(z, raw[0].numpy() * 3.0, atol=1e-4)
    reference = ((pixels.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    assert _diff(frames, reference) <= 1


def test_latents_mean_and_std_scale_per_channel(folders, image):
    import diffusers
    import torch

    from seqc.backends.autoencoder import AutoencoderBackend

    # An SDXL-style VAE config with latents_mean / latents_std: (z - mean) * scaling / std, as the
    # diffusers pipelines do, for a pipeline's VAE and a standalone autoencoder alike.
    vae = diffusers.AutoencoderKL.from_pretrained(folders["sd"] / "vae", use_safetensors=True, local_files_only=True)
    mean, std = [0.1, -0.2, 0.3, 0.0], [0.5, 1.0, 2.0, 4.0]
    vae.register_to_config(latents_mean=mean, latents_std=std)
    codec = AutoencoderBackend.from_module(vae, "cpu", torch.float32, "tiny-vae")
    plain = AutoencoderBackend(ModelRef("vae", folders["sd"] / "vae", "autoencoder", "folder"), device="cpu")
    z, z_plain = codec.encode(image), plain.encode(image)
    mean_a, std_a = np.array(mean, np.float32)[:, None, None], np.array(std, np.float32)[:, None, None]
    raw = z_plain / 3.0
    assert np.allclose(z, (raw - mean_a) * 3.0 / std_a, atol=1e-5)
    back = codec.unscale(torch.from_numpy(z[None]))[0].numpy()
    assert np.allclose(back, raw, atol=1e-5)
    assert _diff(codec.decode(z[None]), plain.decode(z_plain[None])) <= 1


# ---------------------------------------------------------------------------------------------
# Text to image


def test_generate_shape_repeatability_and_endpoints(sd):
    a, b = sd.encode_prompt("a cat"), sd.encode_prompt("the dog", "blurry")
    na, nb = sd.initial_noise(1, SIZE), sd.initial_noise(2, SIZE)
    t = np.array([0.0, 0.5, 1.0])
    noise = slerp(na, nb, t)
    cond = {key: lerp(a[key], b[key], t) for key in a}

    frames = sd.generate(noise, cond, steps=2, guidance=7.5, size=SIZE)
    assert frames.shape == (3, 64, 64, 3) and frames.dtype == np.uint8
    assert np.array_equal(frames, sd.generate(noise, cond, steps=2, guidance=7.5, size=SIZE))

    # t = 0 is the first keyframe: the same bytes in a batch holding only its conditioning.
    first_only = sd.generate(noise, _batch(a, 3), steps=2, guidance=7.5, size=SIZE)
    assert np.array_equal(frames[0], first_only[0])
    # The CPU denoises in calls of CPU_FRAMES_PER_CALL from the batch's start, the last holding what
    # remains: the same inputs at other places in calls of one size, beside other frames, are the
    # same bytes; in a call of another size (a lone frame) the same picture to within a level.
    call = CPU_FRAMES_PER_CALL
    order = [(i * 5 + 2) % 3 for i in range(2 * call + 1)]  # two full calls and a lone frame
    longer = sd.generate(noise[order], {k: v[order] for k, v in cond.items()}, steps=2, guidance=7.5, size=SIZE)
    twins = [(i, j) for i in range(2 * call) for j in range(i + 1, 2 * call) if order[i] == order[j]]
    assert len({order[i] for i, _ in twins}) == 3 and any(i < call <= j for i, j in twins)
    assert all(np.array_equal(longer[i], longer[j]) for i, j in twins)
    alone = sd.generate(na[None], _batch(a), steps=2, guidance=7.5, size=SIZE)
    first = order.index(0)
    assert _diff(longer[first], alone[0]) <= 1 and _diff(frames[0], alone[0]) <= 1
    assert _diff(frames[0], frames[2]) > 10


def test_generate_matches_diffusers_with_the_same_seed(sd):
    import torch

    # initial_noise(seed) is the noise diffusers draws for a CPU generator with that seed, and
    # generate() lets the pipeline scale it by init_noise_sigma exactly once (Euler's is not 1).
    reference = sd.pipe(prompt="a cat", num_inference_steps=2, guidance_scale=7.5, height=64, width=64,
                        generator=torch.Generator().manual_seed(5), output_type="latent").images
    ours = sd.generate(sd.initial_noise(5, SIZE)[None], _batch(sd.encode_prompt("a cat")), 2, 7.5, SIZE)
    assert np.array_equal(ours, sd.decode(reference[:1].numpy()))


def test_guidance_off_needs_no_negative_conditioning(sd):
    cond = _batch(sd.encode_prompt("a cat"))
    noise = sd.initial_noise(3, SIZE)[None]
    without = sd.generate(noise, {"prompt_embeds": cond["prompt_embeds"]}, 2, 0.0, SIZE)
    assert np.array_equal(without, sd.generate(noise, cond, 2, 0.0, SIZE))


def test_bad_arguments(sd):
    cond = _batch(sd.encode_prompt("a cat"))
    noise = sd.initial_noise(3, SIZE)[None]
    with pytest.raises(ModelError, match="multiples of 8"):
        sd.initial_noise(0, (60, 64))
    with pytest.raises(ModelError, match="seed"):
        sd.initial_noise(2**64, SIZE)
    with pytest.raises(ModelError, match="strength"):
        sd.generate(noise, cond, 2, 7.5, SIZE, image_latents=noise, strength=1.5)
    with pytest.raises(ValueError, match="negative_prompt_embeds"):
        sd.generate(noise, {"prompt_embeds": cond["prompt_embeds"]}, 2, 7.5, SIZE)


# ---------------------------------------------------------------------------------------------
# Image to image


def test_strength_orders_closeness_to_the_image(sd, image):
    z = sd.encode_image(image)
    assert z.shape == (4, 8, 8) and z.dtype == np.float32
    assert np.array_equal(z, sd.encode(image))  # the renderer's name for it
    latents = np.stack([z, z, z])
    noise = np.stack([sd.initial_noise(7, SIZE)] * 3)
    cond = _batch(sd.encode_prompt("a cat"), 3)
    decoded = sd.decode(latents)

    zero = sd.generate(noise, cond, 4, 7.5, SIZE, image_latents=latents, strength=0.0)
    assert np.array_equal(zero, decoded)
    half = sd.generate(noise, cond, 4, 7.5, SIZE, image_latents=latents, strength=0.5)
    full = sd.generate(noise, cond, 4, 7.5, SIZE, image_latents=latents, strength=1.0)

    def distance(frames):
        return float(np.abs(frames[0].astype(np.float32) - decoded[0]).mean())

    assert distance(half) + 3.0 < distance(full)
    assert _diff(half[0], half[2]) <= 1  # same inputs, same frame (CPU kernels may round rows apart)


def test_img2img_matches_diffusers_img2img(sd, sdxl, image):
    import diffusers
    import torch

    # Our loop equals diffusers' img2img pipelines given the latent as `image` and a generator
    # that draws the same noise (SDXL: pooled text and size ids included).
    for backend, cls in ((sd, diffusers.StableDiffusionImg2ImgPipeline),
                         (sdxl, diffusers.StableDiffusionXLImg2ImgPipeline)):
        z = backend.encode_image(image)[None]
        cond = _batch(backend.encode_prompt("a cat", "blurry"))
        img2img = cls.from_pipe(backend.pipe)
        img2img.set_progress_bar_config(disable=True)
        reference = img2img(**{k: torch.from_numpy(v) for k, v in cond.items()},
                            image=torch.from_numpy(z),
                            strength=0.5, num_inference_steps=4, guidance_scale=7.5,
                            generator=torch.Generator().manual_seed(9),
                            output_type="latent").images
        noise = backend.initial_noise(9, SIZE)[None]
        ours = backend.generate(noise, cond, 4, 7.5, SIZE, image_latents=z, strength=0.5)
        assert np.array_equal(ours, backend.decode(reference[:1].numpy())), backend.family


# ---------------------------------------------------------------------------------------------
# SDXL and schedulers


def test_sdxl_generates_and_interpolates(sdxl):
    a, b = sdxl.encode_prompt("a cat"), sdxl.encode_prompt("the dog", "blurry")
    t = np.array([0.0, 1.0])
    noise = slerp(sdxl.initial_noise(1, SIZE), sdxl.initial_noise(2, SIZE), t)
    cond = {key: lerp(a[key], b[key], t) for key in a}
    frames = sdxl.generate(noise, cond, steps=2, guidance=5.0, size=SIZE)
    assert frames.shape == (2, 64, 64, 3) and frames.dtype == np.uint8
    assert np.array_equal(frames, sdxl.generate(noise, cond, steps=2, guidance=5.0, size=SIZE))
    assert _diff(frames[0], frames[1]) > 10


def test_scheduler_override_by_name(sd):
    default_config = sd.scheduler_config()
    assert default_config["class"] == "EulerDiscreteScheduler"
    json.dumps(default_config)
    cond = _batch(sd.encode_prompt("a cat"), 2)
    noise = np.stack([sd.initial_noise(4, SIZE)] * 2)
    try:
        sd.set_scheduler("euler_a")
        config = sd.scheduler_config()
        assert config["class"] == "EulerAncestralDiscreteScheduler" and config != default_config
        assert config["config"]["beta_schedule"] == "scaled_linear"  # built from the pipeline's config
        # Ancestral steps draw noise: per-frame generators with one seed make it repeatable and the
        # same for every frame; another seed changes it.
        frames = sd.generate(noise, cond, 2, 7.5, SIZE)
        assert np.array_equal(frames, sd.generate(noise, cond, 2, 7.5, SIZE))
        assert _diff(frames[0], frames[1]) <= 1
        assert not np.array_equal(frames, sd.generate(noise, cond, 2, 7.5, SIZE, seed=1))
        sd.set_scheduler("ddim")
        assert sd.scheduler_config()["class"] == "DDIMScheduler"
        with pytest.raises(ModelError, match="unknown scheduler 'karras'"):
            sd.set_scheduler("karras")
    finally:
        sd.set_scheduler("default")
    assert sd.scheduler_config() == default_config
