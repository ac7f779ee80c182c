"""Textual-inversion embeddings on a loaded pipeline (seqc.backends.parts.load_embeddings): an
A1111 or diffusers file under its token changes the prompts that use the token and no other, an
SDXL file's two halves go into the two text encoders, and a token the vocabulary has is one line."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from tinysd import make_tiny_sd, make_tiny_sdxl

from seqc.backends.pipeline import PipelineBackend
from seqc.errors import ModelError
from seqc.models import ModelRef


def embedding(path, keys: dict[str, int], vectors: int = 2, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    save_file({key: torch.randn(vectors, width, generator=generator) for key, width in keys.items()}, str(path))
    return path


@pytest.fixture(scope="module")
def sd(tmp_path_factory):
    base = tmp_path_factory.mktemp("emb")
    return base, ModelRef("tiny-sd", make_tiny_sd(base / "tiny-sd"), "pipeline", "folder")


def test_a_token_calls_its_embedding_and_other_prompts_are_untouched(sd):
    base, ref = sd
    plain = PipelineBackend(ref, device="cpu")
    a1111 = embedding(base / "glow.safetensors", {"emb_params": 32})
    styled = PipelineBackend(replace(ref, embeddings=(("glow", a1111),)), device="cpu")
    for prompt in ("a red apple", "glow"):
        same = np.array_equal(styled.encode_prompt(prompt)["prompt_embeds"], plain.encode_prompt(prompt)["prompt_embeds"])
        assert same == (prompt == "a red apple")
    other = embedding(base / "other.safetensors", {"<other>": 32}, seed=1)  # diffusers' own format
    both = PipelineBackend(replace(ref, embeddings=(("glow", a1111), ("shine", other))), device="cpu")
    assert np.array_equal(both.encode_prompt("glow")["prompt_embeds"], styled.encode_prompt("glow")["prompt_embeds"])
    assert not np.array_equal(both.encode_prompt("shine")["prompt_embeds"], plain.encode_prompt("shine")["prompt_embeds"])


def test_an_sdxl_embedding_goes_into_both_text_encoders(tmp_path):
    ref = ModelRef("tiny-xl", make_tiny_sdxl(tmp_path / "xl"), "pipeline", "folder")
    file = embedding(tmp_path / "xl.safetensors", {"clip_l": 32, "clip_g": 32})
    plain, styled = (PipelineBackend(r, device="cpu") for r in (ref, replace(ref, embeddings=(("xlglow", file),))))
    a, b = plain.encode_prompt("xlglow"), styled.encode_prompt("xlglow")
    assert not np.array_equal(a["prompt_embeds"][:, :32], b["prompt_embeds"][:, :32])  # the first encoder's half
    assert not np.array_equal(a["pooled_prompt_embeds"], b["pooled_prompt_embeds"])  # the second's


def test_a_token_the_vocabulary_has_is_one_line(sd):
    base, ref = sd
    file = embedding(base / "a.safetensors", {"emb_params": 32})
    with pytest.raises(ModelError) as caught:
        PipelineBackend(replace(ref, embeddings=(("a", file),)), device="cpu")
    assert "cannot load the embeddings a.safetensors (a)" in str(caught.value) and "\n" not in str(caught.value)
