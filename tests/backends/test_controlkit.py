"""The test helper tests/controlkit.py: a tiny ControlNet for the tiny SD folder (tests/tinysd.py)
whose control image changes the pictures, written as one original-layout file that
`ControlNetModel.from_single_file` loads back bit-identical (offline, CPU)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SIZE = 64
STEPS = 2
PROMPT = "a cat"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Run torch on one thread here, as tests/backends/test_pipeline.py does: the models are tiny."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny SD folder, a tiny ControlNet folder made from its UNet, and the ControlNet's single file."""
    from controlkit import make_tiny_controlnet, write_controlnet_single_file
    from tinysd import make_tiny_sd

    base = tmp_path_factory.mktemp("control")
    sd = make_tiny_sd(base / "tiny-sd")
    controlnet = make_tiny_controlnet(sd, base / "tiny-controlnet")
    return {"sd": sd, "controlnet": controlnet,
            "file": write_controlnet_single_file(controlnet, base / "tiny-controlnet.safetensors")}


@pytest.fixture(scope="module")
def pipes(tiny):
    """The plain tiny SD pipeline and a ControlNet pipeline assembled from the same components."""
    from diffusers import (
        ControlNetModel,
        StableDiffusionControlNetPipeline,
        StableDiffusionPipeline,
    )

    plain = StableDiffusionPipeline.from_pretrained(tiny["sd"], local_files_only=True)
    controlnet = ControlNetModel.from_pretrained(tiny["controlnet"], local_files_only=True)
    control = StableDiffusionControlNetPipeline(**plain.components, controlnet=controlnet)
    for pipe in (plain, control):
        pipe.set_progress_bar_config(disable=True)
    return plain, control


def outline(kind: str):
    """A white outline on black, as an edge map looks: a square or a cross."""
    from PIL import Image

    picture = np.zeros((SIZE, SIZE, 3), dtype=np.uint8)
    if kind == "square":
        picture[16, 16:48] = picture[47, 16:48] = picture[16:48, 16] = picture[16:48, 47] = 255
    else:
        picture[SIZE // 2, 8:56] = picture[8:56, SIZE // 2] = 255
    return Image.fromarray(picture)


def noise():
    """The same starting latents for every run (8x8: 64 pixels / 8)."""
    import torch

    return torch.randn((1, 4, SIZE // 8, SIZE // 8), generator=torch.Generator().manual_seed(3))


def draw(pipe, **kwargs) -> np.ndarray:
    return pipe(PROMPT, height=SIZE, width=SIZE, num_inference_steps=STEPS, latents=noise(),
                output_type="np", **kwargs).images[0]


def test_the_single_file_has_only_original_names(tiny):
    from safetensors import safe_open

    with safe_open(str(tiny["file"]), "pt") as fh:
        keys = list(fh.keys())
    assert keys and all(key.startswith("control_model.") for key in keys)
    stems = {".".join(key.split(".")[1:3]) for key in keys}
    assert {"time_embed.0", "input_blocks.0", "middle_block.1", "middle_block_out.0", "zero_convs.0",
            "input_hint_block.0", "input_hint_block.14"} <= stems
    assert not any(stem.startswith(("output_blocks", "out.")) for stem in stems)  # no UNet decoder


def test_the_single_file_loads_bit_identical(tiny):
    import torch
    from diffusers import ControlNetModel

    want = ControlNetModel.from_pretrained(tiny["controlnet"], local_files_only=True).state_dict()
    got = ControlNetModel.from_single_file(str(tiny["file"]), config=str(tiny["controlnet"]),
                                           local_files_only=True).state_dict()
    assert set(got) == set(want)
    assert [key for key in want if got[key].dtype != want[key].dtype or not torch.equal(got[key], want[key])] == []


def test_the_zero_convolutions_are_seeded_and_not_zero(tiny, tmp_path):
    from controlkit import ZERO_CONVS, make_tiny_controlnet
    from safetensors.torch import load_file

    first = load_file(tiny["controlnet"] / "diffusion_pytorch_model.safetensors")
    zero_convs = [key for key in first if key.startswith(ZERO_CONVS)]
    assert len(zero_convs) == 2 * (4 + 1 + 1)  # 4 down blocks, the mid block, the hint encoder's last conv
    assert all(first[key].abs().min() > 0 for key in zero_convs)
    again = load_file(make_tiny_controlnet(tiny["sd"], tmp_path / "again") / "diffusion_pytorch_model.safetensors")
    assert all((first[key] == again[key]).all() for key in first)
    other = load_file(make_tiny_controlnet(tiny["sd"], tmp_path / "other", seed=1) / "diffusion_pytorch_model.safetensors")
    assert not (first[zero_convs[0]] == other[zero_convs[0]]).all()


def test_seqc_recognises_both_forms_as_a_controlnet(tiny):
    from seqc.checkpoints import read_header, recognise

    for file in (tiny["file"], tiny["controlnet"] / "diffusion_pytorch_model.safetensors"):
        assert recognise(read_header(file)).kind == "controlnet", file


def test_the_control_image_changes_the_picture(pipes):
    _, control = pipes
    square, cross = draw(control, image=outline("square")), draw(control, image=outline("cross"))
    assert square.shape == (SIZE, SIZE, 3) and np.isfinite(square).all()
    assert np.abs(square - cross).mean() > 0.01  # 0.02 here; 0.003 when the hint encoder was left as made
    assert (draw(control, image=outline("square")) == square).all()  # and the same image, the same picture


def test_a_conditioning_scale_of_zero_draws_the_plain_picture(pipes):
    plain, control = pipes
    want = draw(plain)
    assert (draw(control, image=outline("square"), controlnet_conditioning_scale=0.0) == want).all()
    assert np.abs(draw(control, image=outline("square")) - want).mean() > 0.01
