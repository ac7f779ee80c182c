"""The test helper tests/lorakit.py: peft-named and kohya-named LoRA files of one seed load into the
tiny SD and SDXL pipelines (tests/tinysd.py) through diffusers' `load_lora_weights` to the same
weights and bit-identical UNet outputs; adapter weight 0 and `disable_lora()` give back the base
model bit for bit; the text-encoder part changes `encode_prompt` (offline, CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

RANK = 4


def _load(folder: Path):
    from diffusers import DiffusionPipeline

    pipe = DiffusionPipeline.from_pretrained(folder, use_safetensors=True, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _lora_layers(model) -> dict[str, object]:
    from peft.tuners.tuners_utils import BaseTunerLayer

    return {name: module for name, module in model.named_modules() if isinstance(module, BaseTunerLayer)}


@pytest.fixture(scope="module")
def sd(tmp_path_factory: pytest.TempPathFactory):
    """A tiny SD pipeline with the base outputs, then adapters loaded from kit files: peft and kohya
    of seed 0, both again with alpha 2 (scale 1/2), the peft one stripped of its metadata, and a
    UNet-only one of seed 1. Tests set the adapter state they need; nothing else may change it."""
    from lorakit import encode, unet_probe, write_lora
    from safetensors.torch import load_file, save_file
    from tinysd import make_tiny_sd

    base = tmp_path_factory.mktemp("lora-sd")
    folder = make_tiny_sd(base / "tiny-sd")
    files = {
        "peft_style": write_lora(folder, base / "peft.safetensors", "peft", rank=RANK),
        "kohya_style": write_lora(folder, base / "kohya.safetensors", "kohya", rank=RANK),
        "peft_alpha2": write_lora(folder, base / "peft-a2.safetensors", "peft", rank=RANK, alpha=2),
        "kohya_alpha2": write_lora(folder, base / "kohya-a2.safetensors", "kohya", rank=RANK, alpha=2),
        "unet_only": write_lora(folder, base / "unet.safetensors", "peft", seed=1, text_encoder=False),
    }
    files["peft_bare"] = base / "peft-bare.safetensors"
    save_file(load_file(files["peft_style"]), files["peft_bare"])  # no header: as older trainers wrote
    pipe = _load(folder)
    probe, embeds = unet_probe(pipe), encode(pipe)
    for name, path in files.items():
        pipe.load_lora_weights(str(path), adapter_name=name)
    return {"folder": folder, "files": files, "pipe": pipe, "base": probe, "base_embeds": embeds}


def _run(pipe, names, weights=None):
    """The UNet probe and prompt embeddings with exactly `names` active at `weights`."""
    from lorakit import encode, unet_probe

    pipe.enable_lora()
    pipe.set_adapters(names, adapter_weights=weights)
    return unet_probe(pipe), encode(pipe)


def test_files_carry_each_naming(sd) -> None:
    from lorakit import lora_keys, lora_metadata, lora_targets

    targets = lora_targets(sd["folder"])
    unet = [module for component, module, *_ in targets if component == "unet"]
    assert len(unet) == 8 * 4 and len(targets) == len(unet) + 2 * 4  # 4 transformers x attn1/2 x q,k,v,out; 2 CLIP layers
    peft, kohya = lora_keys(sd["files"]["peft_style"]), lora_keys(sd["files"]["kohya_style"])
    assert "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.weight" in peft
    assert "text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_B.weight" in peft
    assert "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_out_0.lora_up.weight" in kohya
    assert "lora_te_text_model_encoder_layers_1_self_attn_out_proj.alpha" in kohya
    assert len(peft) == 2 * len(targets) and len(kohya) == 3 * len(targets)
    assert '"unet.lora_alpha": 4.0' in lora_metadata(sd["files"]["peft_style"])["lora_adapter_metadata"]
    assert lora_metadata(sd["files"]["kohya_style"])["ss_network_alpha"] == "4.0"


def test_both_namings_load_to_the_same_weights(sd) -> None:
    """Every adapted layer holds equal A, B and scaling for the peft and the kohya adapter, and B is not zero."""
    pipe = sd["pipe"]
    layers = {**_lora_layers(pipe.unet), **{f"te.{k}": v for k, v in _lora_layers(pipe.text_encoder).items()}}
    assert len(layers) == 10 * 4  # the UNet's 8 attentions and 2 CLIP layers
    for pair in (("peft_style", "kohya_style"), ("peft_alpha2", "kohya_alpha2"), ("peft_style", "peft_bare")):
        for name, layer in layers.items():
            a, b = (layer.lora_A[p].weight for p in pair), (layer.lora_B[p].weight for p in pair)
            assert torch.equal(*a) and torch.equal(*b), (name, pair)
            assert layer.scaling[pair[0]] == layer.scaling[pair[1]], (name, pair)
    layer = layers["down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_v"]
    assert layer.lora_B["kohya_style"].weight.abs().min() > 0
    assert layer.scaling["peft_style"] == 1.0 and layer.scaling["kohya_alpha2"] == 0.5


def test_peft_and_kohya_give_the_same_unet_output(sd) -> None:
    pipe, base = sd["pipe"], sd["base"]
    peft, kohya = _run(pipe, ["peft_style"])[0], _run(pipe, ["kohya_style"])[0]
    assert torch.equal(peft, kohya)
    assert (peft - base).abs().max() > 0.1 * base.abs().mean()  # a visible change, not rounding
    half_alpha = _run(pipe, ["kohya_alpha2"])[0]
    assert torch.equal(half_alpha, _run(pipe, ["peft_alpha2"])[0])
    assert torch.equal(_run(pipe, ["peft_bare"])[0], peft)
    assert 0 < (half_alpha - base).norm() < (peft - base).norm()


def test_weight_zero_and_disable_give_the_base_output(sd) -> None:
    pipe, base, embeds = sd["pipe"], sd["base"], sd["base_embeds"]
    full = _run(pipe, ["kohya_style"])
    zero = _run(pipe, ["kohya_style"], [0.0])
    assert torch.equal(zero[0], base) and torch.equal(zero[1], embeds)
    half = _run(pipe, ["kohya_style"], [0.5])
    assert 0 < (half[0] - base).norm() < (full[0] - base).norm()  # between, not linear (softmax)
    pipe.disable_lora()
    from lorakit import encode, unet_probe

    assert torch.equal(unet_probe(pipe), base) and torch.equal(encode(pipe), embeds)
    pipe.set_adapters(["kohya_style"])  # set_adapters alone does not re-enable
    assert torch.equal(unet_probe(pipe), base)
    again = _run(pipe, ["kohya_style"])
    assert torch.equal(again[0], full[0]) and torch.equal(again[1], full[1])


def test_text_encoder_part_changes_the_prompt_embeddings(sd) -> None:
    pipe, embeds = sd["pipe"], sd["base_embeds"]
    peft, kohya = _run(pipe, ["peft_style"])[1], _run(pipe, ["kohya_style"])[1]
    assert torch.equal(peft, kohya)
    assert (peft - embeds).abs().max() > 0.1 * embeds.abs().mean()
    unet_only = _run(pipe, ["unet_only"])
    assert torch.equal(unet_only[1], embeds) and not torch.equal(unet_only[0], sd["base"])


def _sdxl_parts(pipe, name):
    """SDXL's prompt states and pooled embedding with adapter `name` alone (None: LoRA disabled)."""
    if name is None:
        pipe.disable_lora()
    else:
        pipe.enable_lora()
        pipe.set_adapters([name])
    with torch.no_grad():
        states, _, pooled, _ = pipe.encode_prompt("a cat", device="cpu", do_classifier_free_guidance=False)
    return states, pooled


def test_sdxl_kohya_file_with_ldm_block_names(tmp_path: Path) -> None:
    """kohya's SDXL naming (`lora_unet_input_blocks_4_1_...`, `lora_te1_`, `lora_te2_`) maps through
    diffusers' sgm-block remapping onto the tiny SDXL UNet exactly as the peft file does."""
    from lorakit import encode, lora_keys, unet_probe, write_lora
    from tinysd import make_tiny_sdxl

    folder = make_tiny_sdxl(tmp_path / "tiny-sdxl")
    peft = write_lora(folder, tmp_path / "peft.safetensors", "peft", seed=3)
    kohya = write_lora(folder, tmp_path / "kohya.safetensors", "kohya", seed=3)
    keys = lora_keys(kohya)
    for name in ("lora_unet_input_blocks_3_1_transformer_blocks_0_attn2_to_k", "lora_unet_middle_block_1_",
                 "lora_unet_output_blocks_1_1_", "lora_te1_text_model_", "lora_te2_text_model_"):
        assert any(key.startswith(name) for key in keys), name
    assert not any("down_blocks" in key or "up_blocks" in key for key in keys)
    pipe = _load(folder)
    base, embeds = unet_probe(pipe), encode(pipe)
    pipe.load_lora_weights(str(peft), adapter_name="peft_style")
    pipe.load_lora_weights(str(kohya), adapter_name="kohya_style")
    assert len(_lora_layers(pipe.text_encoder_2)) == 2 * 4
    outputs = [_run(pipe, [name]) for name in ("peft_style", "kohya_style")]
    assert torch.equal(outputs[0][0], outputs[1][0]) and torch.equal(outputs[0][1], outputs[1][1])
    assert (outputs[0][0] - base).abs().max() > 0.1 * base.abs().mean()
    states, pooled = _sdxl_parts(pipe, "kohya_style")
    base_states, base_pooled = _sdxl_parts(pipe, None)
    first = pipe.text_encoder.config.hidden_size  # the states are both encoders' side by side
    assert not torch.equal(states[..., :first], base_states[..., :first])
    assert not torch.equal(states[..., first:], base_states[..., first:]) and not torch.equal(pooled, base_pooled)
    pipe.disable_lora()
    assert torch.equal(unet_probe(pipe), base) and torch.equal(encode(pipe), embeds)
