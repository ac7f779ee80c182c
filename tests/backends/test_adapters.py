"""LoRA files on a loaded pipeline (seqc.backends.adapters through PipelineBackend.lora_weights):
a block draws with the files at its weights, the model draws exactly as before outside any block,
a nested block gives the enclosing one its weights back, a file changed on disk is loaded again,
and a LoRA for another architecture is one line naming it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from lorakit import write_lora
from tinysd import make_tiny_sd, make_tiny_sdxl

from seqc.backends.pipeline import PipelineBackend
from seqc.errors import ModelError
from seqc.models import ModelRef

SIZE = (64, 64)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    base = tmp_path_factory.mktemp("adapters")
    folder = make_tiny_sd(base / "tiny-sd")
    backend = PipelineBackend(ModelRef("tiny-sd", folder, "pipeline", "folder"), device="cpu")
    loras = {seed: str(write_lora(folder, base / f"style{seed}.safetensors", seed=seed)) for seed in (0, 1)}
    return base, backend, loras


def draw(backend: PipelineBackend) -> np.ndarray:
    cond = backend.encode_prompt("a red apple")
    return backend.generate(backend.initial_noise(3, SIZE)[None], {k: v[None] for k, v in cond.items()}, 2, 1.0, SIZE)


def test_a_block_draws_with_its_loras_and_the_model_is_itself_after_it(setup):
    _, backend, loras = setup
    plain = draw(backend)
    with backend.lora_weights({loras[0]: 1.0}):
        styled = draw(backend)
        with backend.lora_weights({loras[0]: 0.0}):  # a weight of 0 is the model itself
            assert np.array_equal(draw(backend), plain)
        assert np.array_equal(draw(backend), styled)  # the enclosing block's weights again
    assert not np.array_equal(styled, plain)
    assert np.array_equal(draw(backend), plain)  # bit for bit, with the adapter still loaded
    with backend.lora_weights({loras[0]: 1.0, loras[1]: 1.0}):
        assert not np.array_equal(draw(backend), styled)  # both at once


def test_a_file_changed_on_disk_is_loaded_again(setup):
    base, backend, loras = setup
    path = Path(base / "changing.safetensors")
    write_lora(base / "tiny-sd", path, seed=2)
    with backend.lora_weights({str(path): 1.0}):
        before = draw(backend)
    write_lora(base / "tiny-sd", path, seed=3)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    with backend.lora_weights({str(path): 1.0}):
        assert not np.array_equal(draw(backend), before)


def test_a_lora_for_another_architecture_is_one_line(setup, tmp_path):
    _, backend, _ = setup
    xl = make_tiny_sdxl(tmp_path / "tiny-xl")
    other = write_lora(xl, tmp_path / "xl-style.safetensors", naming="kohya")
    with pytest.raises(ModelError) as caught, backend.lora_weights({str(other): 1.0}):
        draw(backend)
    message = str(caught.value)
    assert "cannot be loaded into model 'tiny-sd'" in message and "\n" not in message
