"""The test helper tests/ldmfile.py: a tiny SD folder written as one LDM-layout file loads back
through diffusers' `from_single_file` with every weight bit-identical (offline, CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest

LDM_PREFIXES = ("model.diffusion_model.", "first_stage_model.", "cond_stage_model.transformer.text_model.")


@pytest.fixture(scope="module")
def single_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny SD folder and its LDM-layout single file."""
    from ldmfile import write_single_file
    from tinysd import make_tiny_sd

    base = tmp_path_factory.mktemp("ldm")
    folder = make_tiny_sd(base / "tiny-sd")
    return folder, write_single_file(folder, base / "tiny-sd.safetensors")


def test_the_file_has_only_ldm_keys_and_reads_as_v1(single_file):
    from diffusers.loaders.single_file_utils import infer_diffusers_model_type
    from safetensors.torch import load_file

    state = load_file(single_file[1])
    assert state and all(key.startswith(LDM_PREFIXES) for key in state)
    assert {prefix for prefix in LDM_PREFIXES if any(key.startswith(prefix) for key in state)} == set(LDM_PREFIXES)
    assert state["first_stage_model.encoder.mid.attn_1.q.weight"].shape == (32, 32, 1, 1)
    assert infer_diffusers_model_type(state) == "v1"


def test_from_single_file_loads_every_weight_bit_identical(single_file):
    import torch
    from diffusers import StableDiffusionPipeline

    folder, file = single_file
    expected = StableDiffusionPipeline.from_pretrained(folder, local_files_only=True)
    loaded = StableDiffusionPipeline.from_single_file(
        str(file), config=str(folder), local_files_only=True, use_safetensors=True,
    )
    for part in ("unet", "vae", "text_encoder"):
        want, got = getattr(expected, part).state_dict(), getattr(loaded, part).state_dict()
        assert set(got) == set(want), part
        different = [key for key in want if got[key].dtype != want[key].dtype or not torch.equal(got[key], want[key])]
        assert different == [], part
