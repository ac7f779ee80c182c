"""A ControlNet on a loaded pipeline (seqc.backends.control through PipelineBackend.control_images):
a frame follows a control picture as diffusers' own ControlNet pipeline draws it, at scale 0 it is
the model's own frame, and frames of one batch follow two pictures at their own scales. Tiny
models from tests/tinysd.py and tests/controlkit.py; the ControlNet as a folder and as one file."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from controlkit import make_tiny_controlnet, write_controlnet_single_file
from tinysd import make_tiny_sd

from seqc.backends.pipeline import PipelineBackend
from seqc.backends.protocol import CONTROL_SCALES, Capability
from seqc.errors import ModelError
from seqc.models import ModelRef

SIZE = (64, 64)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    base = tmp_path_factory.mktemp("control")
    sd = make_tiny_sd(base / "tiny-sd")
    folder = make_tiny_controlnet(sd, base / "tiny-cn")
    file = write_controlnet_single_file(folder, base / "cn.safetensors")
    ref = ModelRef("tiny-sd", sd, "pipeline", "folder")
    backends = {"plain": PipelineBackend(ref, device="cpu"),
                "folder": PipelineBackend(ModelRef("tiny-sd", sd, "pipeline", "folder", controlnet=folder), device="cpu"),
                "file": PipelineBackend(ModelRef("tiny-sd", sd, "pipeline", "folder", controlnet=file), device="cpu")}
    return backends, folder


def pictures() -> list[np.ndarray]:
    square, bar = np.zeros((64, 64, 3), np.uint8), np.zeros((64, 64, 3), np.uint8)
    square[16:48, 16:48] = 255
    bar[4:60, 28:36] = 255
    return [square, bar]


def draw(backend: PipelineBackend, scales: np.ndarray | None, guidance: float = 7.5) -> np.ndarray:
    cond = backend.encode_prompt("a red apple")
    batch = 1 if scales is None else scales.shape[0]
    cond = {k: np.repeat(v[None], batch, axis=0) for k, v in cond.items()}
    if scales is not None:
        cond[CONTROL_SCALES] = scales
    noise = np.repeat(backend.initial_noise(3, SIZE)[None], batch, axis=0)
    return backend.generate(noise, cond, 3, guidance, SIZE)


def test_a_frame_follows_its_picture_as_diffusers_controlnet_pipeline_draws_it(models):
    from diffusers import ControlNetModel, StableDiffusionControlNetPipeline

    backends, folder = models
    backend = backends["folder"]
    assert Capability.CONTROL in backend.capabilities and Capability.CONTROL not in backends["plain"].capabilities
    with backend.control_images(pictures()[:1]):
        ours = draw(backend, np.array([[1.0]]))
    parts = {k: v for k, v in backend.pipe.components.items() if k not in ("safety_checker", "feature_extractor")}
    pipe = StableDiffusionControlNetPipeline(**parts, controlnet=ControlNetModel.from_pretrained(folder),
                                             safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    cond = backend.encode_prompt("a red apple")
    image = torch.from_numpy(pictures()[0]).permute(2, 0, 1)[None].float() / 255.0
    theirs = pipe(**{k: torch.from_numpy(v[None]) for k, v in cond.items()}, image=image, num_inference_steps=3,
                  guidance_scale=7.5, latents=torch.from_numpy(backend.initial_noise(3, SIZE)[None]),
                  generator=torch.Generator().manual_seed(0), output_type="np").images
    assert np.abs(ours.astype(int) - np.rint(theirs * 255).astype(int)).max() <= 1
    assert not np.array_equal(ours, draw(backends["plain"], None))


def test_scale_0_is_the_models_own_frame_and_one_batch_holds_several_scales(models):
    backends, _ = models
    backend = backends["file"]  # the single file loads as the folder does
    plain = draw(backends["plain"], None)
    with backend.control_images(pictures()):
        assert np.array_equal(draw(backend, np.array([[0.0, 0.0]])), plain)
        batch = draw(backend, np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]]))
        alone = [draw(backend, np.array([row])) for row in ([1.0, 0.0], [0.5, 0.5], [0.0, 1.0])]
    assert all(np.abs(batch[i].astype(int) - alone[i][0].astype(int)).max() <= 1 for i in range(3))
    assert len({frame.tobytes() for frame in batch}) == 3  # each frame follows its own mix
    with backends["folder"].control_images(pictures()):
        assert np.array_equal(draw(backends["folder"], np.array([[1.0, 0.0]])), alone[0])


def test_a_controlnet_that_does_not_fit_the_model_is_one_line(models, tmp_path):
    backends, _ = models
    other = make_tiny_controlnet(make_tiny_sd(tmp_path / "other", seed=1), tmp_path / "other-cn")
    config = other / "config.json"
    config.write_text(config.read_text().replace('"cross_attention_dim": 32', '"cross_attention_dim": 48'))
    ref = ModelRef("tiny-sd", backends["plain"].ref.path, "pipeline", "folder", controlnet=other)
    with pytest.raises(ModelError) as caught:
        PipelineBackend(ref, device="cpu")
    assert f"cannot load the ControlNet {other}" in str(caught.value) and "\n" not in str(caught.value)


def test_an_sdxl_controlnet_steers_an_sdxl_pipeline(tmp_path):
    from tinysd import make_tiny_sdxl

    xl = make_tiny_sdxl(tmp_path / "xl")
    net = make_tiny_controlnet(xl, tmp_path / "xl-cn")  # with SDXL's added embedding (text and size ids)
    plain = PipelineBackend(ModelRef("xl", xl, "pipeline", "folder"), device="cpu")
    steered = PipelineBackend(ModelRef("xl", xl, "pipeline", "folder", controlnet=net), device="cpu")
    with steered.control_images(pictures()[:1]):
        assert np.array_equal(draw(steered, np.array([[0.0]]), 5.0), draw(plain, None, 5.0))
        assert not np.array_equal(draw(steered, np.array([[1.0]]), 5.0), draw(plain, None, 5.0))
