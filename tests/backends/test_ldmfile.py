"""The test helper tests/ldmfile.py: tiny SD 1.x, SD 2.x-style and SDXL folders written as one
original-layout file load back through diffusers' `from_single_file` with every weight
bit-identical (offline, CPU), and `ldm_meta_state` gives the same names and shapes from configs alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

LDM_PREFIXES = ("model.diffusion_model.", "first_stage_model.", "cond_stage_model.transformer.text_model.")
SD2_PREFIXES = ("model.diffusion_model.", "first_stage_model.", "cond_stage_model.model.")
SDXL_PREFIXES = ("model.diffusion_model.", "first_stage_model.", "conditioner.embedders.0.transformer.text_model.",
                 "conditioner.embedders.1.model.")
# Real-size SDXL base 1.0 configs (only what differs from the classes' defaults), for the meta-device test.
SDXL_BASE = {
    "unet": {"_class_name": "UNet2DConditionModel", "sample_size": 128, "layers_per_block": 2,
             "block_out_channels": [320, 640, 1280], "transformer_layers_per_block": [1, 2, 10],
             "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
             "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
             "attention_head_dim": [5, 10, 20], "cross_attention_dim": 2048, "use_linear_projection": True,
             "addition_embed_type": "text_time", "addition_time_embed_dim": 256,
             "projection_class_embeddings_input_dim": 2816},
    "vae": {"_class_name": "AutoencoderKL", "block_out_channels": [128, 256, 512, 512], "layers_per_block": 2,
            "latent_channels": 4, "down_block_types": ["DownEncoderBlock2D"] * 4,
            "up_block_types": ["UpDecoderBlock2D"] * 4},
    "text_encoder": {"model_type": "clip_text_model", "hidden_size": 768, "intermediate_size": 3072,
                     "num_hidden_layers": 12, "num_attention_heads": 12, "hidden_act": "quick_gelu"},
    "text_encoder_2": {"model_type": "clip_text_model", "hidden_size": 1280, "intermediate_size": 5120,
                       "num_hidden_layers": 32, "num_attention_heads": 20, "projection_dim": 1280},
}


@pytest.fixture(scope="module")
def single_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny SD folder and its LDM-layout single file."""
    from ldmfile import write_single_file
    from tinysd import make_tiny_sd

    base = tmp_path_factory.mktemp("ldm")
    folder = make_tiny_sd(base / "tiny-sd")
    return folder, write_single_file(folder, base / "tiny-sd.safetensors")


@pytest.fixture(scope="module")
def sd2_file(single_file) -> tuple[Path, Path]:
    """The tiny SD folder written with its text encoder in SD 2.x's OpenCLIP naming."""
    from ldmfile import write_single_file

    folder = single_file[0]
    return folder, write_single_file(folder, folder.parent / "tiny-sd2.safetensors", text_layout="openclip")


@pytest.fixture(scope="module")
def sdxl_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny SDXL folder (its second encoder sized as diffusers needs to tell it, tests/tinysd.py) and its single file."""
    from ldmfile import write_single_file
    from tinysd import make_tiny_sdxl

    base = tmp_path_factory.mktemp("ldmxl")
    folder = make_tiny_sdxl(base / "tiny-sdxl", single_file_ready=True)
    return folder, write_single_file(folder, base / "tiny-sdxl.safetensors")


def assert_bit_identical(pipeline_class, folder: Path, file: Path, parts: tuple[str, ...]) -> None:
    """`from_single_file(file, config=folder)` loads every weight of `parts` exactly as `from_pretrained(folder)`."""
    import torch

    expected = pipeline_class.from_pretrained(folder, local_files_only=True)
    loaded = pipeline_class.from_single_file(str(file), config=str(folder), local_files_only=True, use_safetensors=True)
    for part in parts:
        want, got = getattr(expected, part).state_dict(), getattr(loaded, part).state_dict()
        assert set(got) == set(want), part
        different = [key for key in want if got[key].dtype != want[key].dtype or not torch.equal(got[key], want[key])]
        assert different == [], part


def test_the_file_has_only_ldm_keys_and_reads_as_v1(single_file):
    from diffusers.loaders.single_file_utils import infer_diffusers_model_type
    from safetensors.torch import load_file

    state = load_file(single_file[1])
    assert state and all(key.startswith(LDM_PREFIXES) for key in state)
    assert {prefix for prefix in LDM_PREFIXES if any(key.startswith(prefix) for key in state)} == set(LDM_PREFIXES)
    assert state["first_stage_model.encoder.mid.attn_1.q.weight"].shape == (32, 32, 1, 1)
    assert infer_diffusers_model_type(state) == "v1"


def test_from_single_file_loads_every_weight_bit_identical(single_file):
    from diffusers import StableDiffusionPipeline

    assert_bit_identical(StableDiffusionPipeline, *single_file, ("unet", "vae", "text_encoder"))


def test_the_sd2_layout_puts_the_text_encoder_in_openclip_naming(sd2_file):
    from safetensors.torch import load_file

    state = load_file(sd2_file[1])
    assert all(key.startswith(SD2_PREFIXES) for key in state)
    text = {key for key in state if key.startswith("cond_stage_model.")}
    assert text and all(key.startswith("cond_stage_model.model.") for key in text)
    assert state["cond_stage_model.model.transformer.resblocks.1.attn.in_proj_weight"].shape == (96, 32)
    assert "cond_stage_model.model.positional_embedding" in text


def test_the_sd2_layout_loads_every_weight_bit_identical(sd2_file):
    from diffusers import StableDiffusionPipeline

    assert_bit_identical(StableDiffusionPipeline, *sd2_file, ("unet", "vae", "text_encoder"))


def test_the_sdxl_file_has_only_sdxl_keys_and_reads_as_xl_base(sdxl_file):
    from diffusers.loaders.single_file_utils import infer_diffusers_model_type
    from safetensors.torch import load_file

    state = load_file(sdxl_file[1])
    assert all(key.startswith(SDXL_PREFIXES) for key in state)
    assert {prefix for prefix in SDXL_PREFIXES if any(key.startswith(prefix) for key in state)} == set(SDXL_PREFIXES)
    assert state["model.diffusion_model.label_emb.0.0.weight"].shape == (128, 6 * 8 + 48)  # size ids, pooled text
    assert state["conditioner.embedders.1.model.text_projection"].shape == (48, 48)  # transposed: the round trip tells
    assert infer_diffusers_model_type(state) == "xl_base"


def test_the_sdxl_file_loads_every_weight_bit_identical(sdxl_file):
    from diffusers import StableDiffusionXLPipeline

    assert_bit_identical(StableDiffusionXLPipeline, *sdxl_file, ("unet", "vae", "text_encoder", "text_encoder_2"))


@pytest.mark.parametrize(("name", "layout"), [("single_file", None), ("sd2_file", "openclip"), ("sdxl_file", None)])
def test_ldm_meta_state_has_the_names_and_shapes_of_the_written_file(request, name, layout):
    from ldmfile import ldm_meta_state
    from safetensors import safe_open

    folder, file = request.getfixturevalue(name)
    meta = ldm_meta_state(folder, text_layout=layout)
    with safe_open(file, "pt") as written:
        shapes = {key: tuple(written.get_slice(key).get_shape()) for key in written.keys()}
    assert {key: tuple(tensor.shape) for key, tensor in meta.items()} == shapes
    assert {tensor.device.type for tensor in meta.values()} == {"meta"}


def test_ldm_meta_state_builds_real_size_sdxl_from_configs_alone(tmp_path):
    from diffusers.loaders.single_file_utils import infer_diffusers_model_type
    from ldmfile import ldm_meta_state

    classes = {"unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"],
               "text_encoder": ["transformers", "CLIPTextModel"],
               "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"]}
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionXLPipeline", **classes}))
    for part, config in SDXL_BASE.items():
        (tmp_path / part).mkdir()
        (tmp_path / part / "config.json").write_text(json.dumps(config))
    state = ldm_meta_state(tmp_path)
    assert {tensor.device.type for tensor in state.values()} == {"meta"}
    assert sum(t.numel() for key, t in state.items() if key.startswith("model.diffusion_model.")) == 2_567_463_684
    assert infer_diffusers_model_type(state) == "xl_base"


def test_unknown_keys_and_layouts_raise(single_file):
    from ldmfile import rename, write_single_file

    with pytest.raises(KeyError, match="no LDM name"):
        rename({"conv_in.weight": 0, "brand_new.weight": 0}, {"conv_in": "input_blocks.0.0"}, "")
    with pytest.raises(ValueError, match="text_layout"):
        write_single_file(single_file[0], single_file[0].parent / "never.safetensors", text_layout="t5")
