"""Single-file checkpoints told apart from their header alone (seqc/checkpoints.py), and `model:` as a
file and its config folder (seqc.models.resolve_single_file): every wrong file is one line naming
what it is and what to do, before any model loads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from seqc.checkpoints import CheckpointError, read_keys, recognise
from seqc.errors import ModelError
from seqc.models import fingerprint_inputs, resolve_model, resolve_single_file
from seqc.store.files import sha256_file

ONE = np.zeros(1, np.float32)
SD1 = ["model.diffusion_model.input_blocks.0.0.weight", "first_stage_model.encoder.conv_in.weight",
       "cond_stage_model.transformer.text_model.embeddings.position_embedding.weight"]
SD2 = ["model.diffusion_model.input_blocks.0.0.weight", "cond_stage_model.model.positional_embedding"]
SDXL = ["model.diffusion_model.label_emb.0.0.weight", "conditioner.embedders.0.transformer.text_model.x",
        "conditioner.embedders.1.model.positional_embedding"]


def write(path: Path, keys: list[str]) -> Path:
    save_file({key: ONE for key in keys}, str(path))
    return path


def config_folder(path: Path, class_name: str = "StableDiffusionPipeline") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "model_index.json").write_text(json.dumps({"_class_name": class_name}))
    (path / "unet").mkdir(exist_ok=True)
    (path / "unet" / "config.json").write_text(json.dumps({"sample_size": 8}))
    return path


@pytest.mark.parametrize("keys, kind, family", [
    (SD1, "checkpoint", "sd1"), (SD2, "checkpoint", "sd2"), (SDXL, "checkpoint", "sdxl"),
    (["model.diffusion_model.x", "something.else"], "checkpoint", None),
    (["lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight"], "lora", None),
    (["unet.down_blocks.0.attentions.0.to_q.lora_A.weight"], "lora", None),
    (["control_model.input_blocks.0.0.weight"], "controlnet", None),
    (["controlnet_cond_embedding.conv_in.weight"], "controlnet", None),
    (["down_blocks.0.resnets.0.conv1.weight"], "diffusers", None),
    (["a.b"], "unknown", None),
])
def test_a_file_is_told_by_its_key_names(keys, kind, family):
    found = recognise(keys)
    assert (found.kind, found.family) == (kind, family)


def test_a_file_that_is_not_safetensors_is_refused(tmp_path):
    assert set(read_keys(write(tmp_path / "a.safetensors", SD1))) == set(SD1)
    for body in (b"", b"\x00" * 4, (2**40).to_bytes(8, "little"), (3).to_bytes(8, "little") + b"abc"):
        (tmp_path / "bad.safetensors").write_bytes(body)
        with pytest.raises(CheckpointError, match="safetensors"):
            read_keys(tmp_path / "bad.safetensors")


def test_model_as_a_file_and_its_config_folder(tmp_path):
    file = write(tmp_path / "dream.safetensors", SD1)
    folder = config_folder(tmp_path / "sd15")
    ref = resolve_single_file("dream.safetensors", "dream.safetensors", "sd15", tmp_path)
    assert (ref.kind, ref.source, ref.file, ref.path, ref.can_generate) == ("pipeline", "file", file, folder, True)
    # The fingerprint: the folder's configs and the file's bytes (not its path, not the folder's weights).
    inputs = fingerprint_inputs(ref, lambda p: sha256_file(p)[0])
    assert inputs["file"] == sha256_file(file)[0] and "unet/config.json" in inputs["configs"]
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    (moved / "dream.safetensors").write_bytes(file.read_bytes())
    again = resolve_single_file("x", "elsewhere/dream.safetensors", "sd15", tmp_path)
    assert fingerprint_inputs(again, lambda p: sha256_file(p)[0]) == inputs


@pytest.mark.parametrize("keys, config, said", [
    (["lora_unet_x.lora_down.weight"], "sd15", "is a LoRA, not a Stable Diffusion checkpoint; put it under a keyframe's `lora:`"),
    (["control_model.x"], "sd15", "is a ControlNet"),
    (["down_blocks.0.x"], "sd15", "point `model:` at the whole pipeline folder"),
    (SDXL, "sd15", "is a Stable Diffusion XL checkpoint, but 'sd15' is a 'StableDiffusionPipeline' folder"),
    (SD1, "nowhere", "config folder 'nowhere' has no model_index.json"),
    (SD1, None, "write `model: {file: dream.safetensors, config: ./folder}`"),
])
def test_a_wrong_file_or_folder_is_one_line_saying_what_it_is(tmp_path, keys, config, said):
    write(tmp_path / "dream.safetensors", keys)
    config_folder(tmp_path / "sd15")
    with pytest.raises(ModelError) as caught:
        resolve_single_file("dream.safetensors", "dream.safetensors", config, tmp_path)
    assert said in str(caught.value) and "\n" not in str(caught.value)


def test_a_file_named_as_the_model_is_a_single_file_and_pickles_are_refused(tmp_path):
    write(tmp_path / "dream.safetensors", SD1)
    with pytest.raises(ModelError, match="is a Stable Diffusion 1.x checkpoint; .*config: ./folder"):
        resolve_model("dream.safetensors", tmp_path)
    (tmp_path / "old.ckpt").write_bytes(b"pickle")
    with pytest.raises(ModelError, match="is a pickle; seqc loads safetensors only"):
        resolve_model("old.ckpt", tmp_path)
    with pytest.raises(ModelError, match="not found"):
        resolve_model("gone.safetensors", tmp_path)
