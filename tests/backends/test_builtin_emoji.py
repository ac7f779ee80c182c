"""The shipped text-to-image model (`model: builtin-emoji`): a diffusers Stable Diffusion folder in the
package that loads through the same code path as a user's pipeline, within its size budget, with
the built-in autoencoder as its VAE and a tokenizer that knows every prompt it lists; and its morphs
are not crossfades."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from seqc.backends.pipeline_info import read_pipeline_info
from seqc.errors import ModelError
from seqc.models import builtin_path, fingerprint_inputs, known_prompts, resolve_model
from seqc.store.files import sha256_file

torch = pytest.importorskip("torch")

MAX_FOLDER_BYTES = 25_000_000


def hash_file(path: Path) -> str:
    return sha256_file(path)[0]


def safetensors_dtypes(path: Path) -> set[str]:
    """The tensor dtypes a .safetensors file declares in its header."""
    with open(path, "rb") as fh:
        size = struct.unpack("<Q", fh.read(8))[0]
        header = json.loads(fh.read(size))
    return {v["dtype"] for k, v in header.items() if k != "__metadata__"}


def test_it_resolves_as_a_builtin_stable_diffusion_pipeline(tmp_path):
    ref = resolve_model("builtin-emoji", tmp_path)
    assert (ref.kind, ref.source, ref.can_generate) == ("pipeline", "builtin", True)
    assert ref.path == builtin_path("builtin-emoji")
    info = read_pipeline_info(ref)
    assert (info.family, info.native_size, info.latent_channels, info.vae_scale_factor) == ("sd", (64, 64), 8, 4)
    assert info.turbo is False


def test_the_folder_fits_its_size_budget_with_half_precision_networks():
    folder = builtin_path("builtin-emoji")
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert total <= MAX_FOLDER_BYTES
    assert safetensors_dtypes(folder / "unet" / "diffusion_pytorch_model.safetensors") == {"F16"}
    assert safetensors_dtypes(folder / "text_encoder" / "model.safetensors") == {"F16"}
    assert not [p for p in folder.rglob("*") if p.suffix in (".bin", ".pt", ".ckpt", ".pkl")]


def test_its_vae_is_the_builtin_autoencoder_so_pictures_and_prompts_share_latents():
    from safetensors.numpy import load_file

    ours = load_file(builtin_path("builtin-emoji") / "vae" / "diffusion_pytorch_model.safetensors")
    builtin = load_file(builtin_path() / "diffusion_pytorch_model.safetensors")
    assert ours.keys() == builtin.keys()
    assert all(np.array_equal(ours[k], builtin[k]) for k in builtin)
    config = json.loads((builtin_path("builtin-emoji") / "vae" / "config.json").read_text())
    assert config["_class_name"] == "AutoencoderTiny" and 1.2 < config["scaling_factor"] < 2.5


def test_every_listed_prompt_is_made_of_words_its_tokenizer_knows():
    from transformers import CLIPTokenizer

    tokenizer = CLIPTokenizer.from_pretrained(str(builtin_path("builtin-emoji") / "tokenizer"))
    prompts = known_prompts(resolve_model("builtin-emoji", Path.cwd()))
    assert len(prompts) >= 300 and len(set(prompts)) == len(prompts)
    assert "cat face" in prompts and "dog face" in prompts
    for prompt in prompts:
        tokens = tokenizer.tokenize(prompt)
        assert len(tokens) == len(prompt.split()) and all(t.endswith("</w>") for t in tokens), prompt
    # text it never saw still tokenizes, in pieces down to bytes
    assert len(tokenizer.tokenize("zqxv")) > 1


def test_known_prompts_refuses_an_autoencoder_and_a_pipeline_without_a_list(tmp_path):
    with pytest.raises(ModelError, match="builtin-emoji"):
        known_prompts(resolve_model("builtin", tmp_path))
    copy = tmp_path / "emoji"
    shutil.copytree(builtin_path("builtin-emoji"), copy)
    (copy / "prompts.txt").unlink()
    with pytest.raises(ModelError, match="lists no prompts"):
        known_prompts(resolve_model("./emoji", tmp_path))


def test_its_fingerprint_is_its_contents_not_its_place(tmp_path):
    ref = resolve_model("builtin-emoji", tmp_path)
    inputs = fingerprint_inputs(ref, hash_file)
    assert {"unet/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors",
            "vae/diffusion_pytorch_model.safetensors"} <= set(inputs["weights"])
    assert "scheduler/scheduler_config.json" in inputs["configs"] and "prompts.txt" in inputs["configs"]
    # the same files elsewhere fingerprint the same; a changed scheduler setting does not
    copy = tmp_path / "emoji"
    shutil.copytree(ref.path, copy)
    moved = ref.__class__(ref.name, copy, ref.kind, ref.source)
    assert fingerprint_inputs(moved, hash_file) == inputs
    scheduler = copy / "scheduler" / "scheduler_config.json"
    scheduler.write_text(scheduler.read_text().replace('"trailing"', '"leading"'))
    assert fingerprint_inputs(moved, hash_file) != inputs


def crossfade_residual(frames: np.ndarray) -> float:
    """The largest |F - best crossfade of the two ends| / |A - B| over the middle frames."""
    from tools.eval_builtin_emoji import crossfade_residuals

    return max(crossfade_residuals(frames))


@pytest.fixture(scope="module")
def backend():
    from seqc.backends.pipeline import PipelineBackend

    return PipelineBackend(resolve_model("builtin-emoji", Path.cwd()), device="cpu", dtype="float32")


def test_a_prompt_morph_draws_new_pictures_where_a_crossfade_ghosts(backend):
    from seqc.motion.methods import METHODS
    from tools.eval_builtin_emoji import morph

    defaults = backend.defaults_for_family()
    frames = morph(backend, "cat face", "dog face", "slerp", defaults)
    assert frames.shape == (9, 64, 64, 3)
    ends = frames[[0, -1]].astype(np.float32)
    fade = METHODS["crossfade"].path(None, ends[0], ends[1], None, np.linspace(0, 1, 9))
    # the measure can fail both ways: a crossfade scores ~0, the model's in-betweens far from it
    assert crossfade_residual(np.asarray(fade)) < 0.01
    assert crossfade_residual(frames) > 0.05


def test_the_same_prompt_and_seed_draw_the_same_bytes(backend):
    from tools.eval_builtin_emoji import draw

    defaults = backend.defaults_for_family()
    first = draw(backend, ["snowman without snow"], defaults)[0]
    assert first.shape == (64, 64, 3) and first.std() > 10  # a picture, not a flat field
    again = draw(backend, ["cat face", "dog face", "red apple", "snowman without snow", "cat face"], defaults)
    assert np.array_equal(first, again[3])  # the same bytes beside other prompts, at another place
    assert not np.array_equal(first, again[0]) and np.array_equal(again[0], again[4])


def test_ddim_draws_the_picture_euler_draws_not_noise(backend):
    # The built-in model's Euler config has no `clip_sample`; DDIM's class default clips x0 to
    # [-1, 1], which latents exceed, and drew noise (a mean difference of about 200 levels).
    from tools.eval_builtin_emoji import draw

    defaults = backend.defaults_for_family()
    euler = draw(backend, ["black sun with rays"], defaults)[0].astype(np.int16)
    backend.set_scheduler("ddim")
    try:
        ddim = draw(backend, ["black sun with rays"], defaults)[0].astype(np.int16)
    finally:
        backend.set_scheduler("default")
    assert np.abs(ddim - euler).mean() < 2.0  # both first-order and deterministic: the same picture
