"""Single-file checkpoints told apart from their header alone (seqc/checkpoints.py), and `model:` as a
file with the configs seqc ships or a config folder of the user's (seqc.models.resolve_single_file):
every wrong file is one line naming what it is and what to do, before any model loads."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from seqc.checkpoints import SIZE_PROBES, CheckpointError, read_header, read_keys, recognise
from seqc.errors import ModelError
from seqc.families import ROOT as SHIPPED
from seqc.models import (
    ModelRef,
    fingerprint_inputs,
    resolve_embeddings,
    resolve_model,
    resolve_single_file,
    resolve_vae,
)
from seqc.store.files import sha256_file

ONE = np.zeros(1, np.float32)
SD1 = ["model.diffusion_model.input_blocks.0.0.weight", "first_stage_model.encoder.conv_in.weight",
       "cond_stage_model.transformer.text_model.embeddings.position_embedding.weight"]
SD2 = ["model.diffusion_model.input_blocks.0.0.weight", "cond_stage_model.model.positional_embedding"]
SDXL = ["model.diffusion_model.label_emb.0.0.weight", "conditioner.embedders.0.transformer.text_model.x",
        "conditioner.embedders.1.model.positional_embedding"]


def published(keys: list[str], family: str) -> dict[str, list[int]]:
    """Keys with the family's size probe at its published shape (the rest one number each)."""
    probe, shape = SIZE_PROBES[family]
    return {key: [1] for key in keys} | {probe: shape}


def write(path: Path, keys: list[str] | dict[str, list[int]]) -> Path:
    shapes = keys if isinstance(keys, dict) else {key: [1] for key in keys}
    save_file({key: np.zeros(shape, np.float16) for key, shape in shapes.items()}, str(path))
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
    found = recognise({key: [1] for key in keys})
    assert (found.kind, found.family, found.published_size) == (kind, family, False)


@pytest.mark.parametrize("family, keys", [("sd1", SD1), ("sd2", SD2), ("sdxl", SDXL)])
def test_the_published_size_is_told_by_one_projection(family, keys):
    assert recognise(published(keys, family)).published_size
    probe, shape = SIZE_PROBES[family]
    assert not recognise(published(keys, family) | {probe: [shape[0], 32]}).published_size
    others = [f for f in SIZE_PROBES if f != family and SIZE_PROBES[f][0] == probe]
    for other in others:  # SD 1.x and 2.x share the probe's name: the width tells them apart
        assert not recognise({key: [1] for key in keys} | {probe: SIZE_PROBES[other][1]}).published_size


def test_inpainting_and_refiner_checkpoints_are_named_not_guessed():
    inpainting = recognise(published(SD1, "sd1") | {"model.diffusion_model.input_blocks.0.0.weight": [320, 9, 3, 3]})
    assert (inpainting.kind, inpainting.family) == ("checkpoint", None) and "inpainting" in inpainting.what
    refiner = recognise({"model.diffusion_model.x": [1], "conditioner.embedders.0.model.positional_embedding": [1]})
    assert refiner.family is None and "refiner" in refiner.what


def test_a_file_that_is_not_safetensors_is_refused(tmp_path):
    assert set(read_keys(write(tmp_path / "a.safetensors", SD1))) == set(SD1)
    assert read_header(write(tmp_path / "b.safetensors", {"x": [3, 2]})) == {"x": [3, 2]}
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
    (SD1, None, "but not of the published size that seqc's Stable Diffusion 1.x configs describe; give its "
                "configs as `model: {file: dream.safetensors, config: ./folder}`"),
    (["model.diffusion_model.x"], None, "is a checkpoint whose text encoder is none that seqc knows; seqc ships "
                                        "configs for Stable Diffusion 1.x"),
])
def test_a_wrong_file_or_folder_is_one_line_saying_what_it_is(tmp_path, keys, config, said):
    write(tmp_path / "dream.safetensors", keys)
    config_folder(tmp_path / "sd15")
    with pytest.raises(ModelError) as caught:
        resolve_single_file("dream.safetensors", "dream.safetensors", config, tmp_path)
    assert said in str(caught.value) and "\n" not in str(caught.value)


def test_a_file_named_as_the_model_gets_the_configs_of_its_family(tmp_path):
    for family, keys in (("sd1", SD1), ("sd2", SD2), ("sdxl", SDXL)):
        write(tmp_path / f"{family}.safetensors", published(keys, family))
        ref = resolve_model(f"{family}.safetensors", tmp_path)
        assert (ref.source, ref.file, ref.path) == ("file", tmp_path / f"{family}.safetensors", SHIPPED / family)
    base = resolve_single_file("sd2.safetensors", "sd2.safetensors", None, tmp_path, family="sd2-base")
    assert base.path == SHIPPED / "sd2-base"
    with pytest.raises(ModelError, match="family 'sdxl' does not fit it; use family sd2, sd2-base$"):
        resolve_single_file("sd2.safetensors", "sd2.safetensors", None, tmp_path, family="sdxl")


def test_pickles_and_missing_files_are_refused(tmp_path):
    (tmp_path / "old.ckpt").write_bytes(b"pickle")
    with pytest.raises(ModelError, match="is a pickle; seqc loads safetensors only"):
        resolve_model("old.ckpt", tmp_path)
    with pytest.raises(ModelError, match="not found"):
        resolve_model("gone.safetensors", tmp_path)


def test_a_vae_file_is_told_in_either_layout_and_replaces_the_models_vae(tmp_path):
    original = ["encoder.conv_in.weight", "encoder.down.0.block.0.conv1.weight", "decoder.conv_in.weight"]
    diffusers = ["encoder.conv_in.weight", "encoder.down_blocks.0.resnets.0.conv1.weight", "decoder.conv_in.weight"]
    assert recognise({k: [1] for k in original}).what == "a VAE (original layout)"
    assert recognise({k: [1] for k in diffusers}).what == "a VAE (diffusers layout)"
    write(tmp_path / "sd1.safetensors", published(SD1, "sd1"))
    ref = resolve_model("sd1.safetensors", tmp_path)
    vae = write(tmp_path / "vae.safetensors", original)
    with_vae = resolve_vae(ref, "vae.safetensors", tmp_path)
    assert with_vae.vae == vae and with_vae.file == ref.file
    # The VAE's bytes are in the fingerprint; without one it is the model's alone.
    before = fingerprint_inputs(ref, lambda p: sha256_file(p)[0])
    after = fingerprint_inputs(with_vae, lambda p: sha256_file(p)[0])
    assert "vae" not in before and after == {**before, "vae": {"file": sha256_file(vae)[0]}}


@pytest.mark.parametrize("model, vae, said", [
    ("builtin", "vae.safetensors", "'builtin' is an autoencoder; use it with a text-to-image `model:`"),
    ("sd1.safetensors", "sd1.safetensors", "is a Stable Diffusion 1.x checkpoint, not a VAE; name it in `model:`"),
    ("sd1.safetensors", "lora.safetensors", "is a LoRA, not a VAE"),
    ("sd1.safetensors", "old.pt", "is a pickle"),
    ("tiny-vae", "vae.safetensors", "a VAE file replaces an AutoencoderKL, and the VAE of 'tiny-vae' is an "
                                    "AutoencoderTiny; give a VAE folder"),
])
def test_a_wrong_vae_is_one_line(tmp_path, model, vae, said):
    write(tmp_path / "sd1.safetensors", published(SD1, "sd1"))
    write(tmp_path / "vae.safetensors", ["encoder.conv_in.weight", "decoder.conv_in.weight"])
    write(tmp_path / "lora.safetensors", ["lora_unet_x.lora_down.weight"])
    (tmp_path / "old.pt").write_bytes(b"pickle")
    folder = config_folder(tmp_path / "tiny-vae")
    (folder / "vae").mkdir()
    (folder / "vae" / "config.json").write_text(json.dumps({"_class_name": "AutoencoderTiny"}))
    ref = resolve_model(model, tmp_path) if model != "tiny-vae" else replace(
        resolve_model("sd1.safetensors", tmp_path), name="tiny-vae", path=folder)
    with pytest.raises(ModelError) as caught:
        resolve_vae(ref, vae, tmp_path)
    assert said in str(caught.value) and "\n" not in str(caught.value)


def test_embeddings_are_told_and_take_their_file_name_as_token(tmp_path):
    assert recognise({"emb_params": [2, 768]}).kind == "embedding"
    assert recognise({"clip_l": [1, 768], "clip_g": [1, 1280]}).family == "sdxl"
    assert recognise({"x": [1]}).kind == "unknown"  # one key, but not a table of vectors
    write(tmp_path / "sd1.safetensors", published(SD1, "sd1"))
    write(tmp_path / "glow.safetensors", {"emb_params": [2, 4]})
    write(tmp_path / "lora.safetensors", ["lora_unet_x.lora_down.weight"])
    ref = resolve_model("sd1.safetensors", tmp_path)
    with_embeddings = resolve_embeddings(ref, ["glow.safetensors", {"path": "glow.safetensors", "token": "halo"}],
                                         tmp_path)
    assert with_embeddings.embeddings == (("glow", tmp_path / "glow.safetensors"), ("halo", tmp_path / "glow.safetensors"))
    inputs = fingerprint_inputs(with_embeddings, lambda p: sha256_file(p)[0])
    digest = sha256_file(tmp_path / "glow.safetensors")[0]
    assert inputs["embeddings"] == [["glow", digest], ["halo", digest]]
    for entries, said in ((["glow.safetensors", "glow.safetensors"], "the token 'glow' is taken"),
                          (["lora.safetensors"], "is a LoRA, not a textual-inversion embedding"),
                          (["gone.safetensors"], "not found")):
        with pytest.raises(ModelError, match=said):
            resolve_embeddings(ref, entries, tmp_path)


def test_a_turbo_file_gets_turbo_defaults_with_its_familys_configs(tmp_path):
    from seqc.backends.pipeline_info import read_pipeline_info

    write(tmp_path / "sd_xl_turbo_1.0_fp16.safetensors", published(SDXL, "sdxl"))
    write(tmp_path / "sd_xl_base_1.0.safetensors", published(SDXL, "sdxl"))
    turbo = read_pipeline_info(resolve_model("sd_xl_turbo_1.0_fp16.safetensors", tmp_path))
    base = read_pipeline_info(resolve_model("sd_xl_base_1.0.safetensors", tmp_path))
    assert (turbo.family, turbo.turbo, turbo.defaults()["steps"], turbo.defaults()["guidance"]) == ("sdxl", True, 2, 0.0)
    assert (base.turbo, base.defaults()["steps"], base.native_size) == (False, 25, (1024, 1024))


def test_a_hub_models_fingerprint_holds_its_vae_controlnet_and_embeddings(tmp_path):
    vae = write(tmp_path / "vae.safetensors", ["encoder.conv_in.weight", "decoder.conv_in.weight"])
    net = write(tmp_path / "cn.safetensors", ["controlnet_cond_embedding.conv_in.weight"])
    glow = write(tmp_path / "glow.safetensors", {"emb_params": [2, 4]})
    hub = ModelRef("someone/model", tmp_path, "pipeline", "hub", "abc123")
    digest = lambda p: sha256_file(p)[0]  # noqa: E731
    plain = fingerprint_inputs(hub, digest)
    full = fingerprint_inputs(replace(hub, vae=vae, controlnet=net, embeddings=(("glow", glow),)), digest)
    assert plain == {"hub": "someone/model", "revision": "abc123"}
    assert full == {**plain, "vae": {"file": digest(vae)}, "controlnet": {"file": digest(net)},
                    "embeddings": [["glow", digest(glow)]]}
