"""A keyframe's `lora:` as the storyboard checks read it (seqc.spec.keyframe_models): the keyframe's own
list or the defaults', a file listed twice adds its weights, a wrong file is one problem however
many keyframes list it, an autoencoder model warns, and a missing `peft` is said before rendering."""

from __future__ import annotations

import importlib.util

import numpy as np
from safetensors.numpy import save_file
from speckit import load, refuse

LORA_KEY = "lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight"
BODY = """\
version: 1
model: builtin-emoji
defaults: {{frames: 4{defaults}}}
keyframes:
  a: {{prompt: cat face{a}}}
  b: {{prompt: dog face}}
segments:
  - {{from: a, to: b}}
"""


def story(defaults: str = "", a: str = "") -> str:
    return BODY.format(defaults=f", lora: [{defaults}]" if defaults else "", a=f", lora: [{a}]" if a else "")


def lora(folder, name: str = "style.safetensors", key: str = LORA_KEY):
    save_file({key: np.zeros(1, np.float32)}, str(folder / name))


def test_a_keyframes_own_list_replaces_the_defaults_and_repeats_add(story_dir):
    lora(story_dir)
    lora(story_dir, "other.safetensors")
    board = load(story_dir, story(defaults="{path: style.safetensors, weight: 0.5}",
                                  a="{path: other.safetensors}, {path: other.safetensors, weight: 0.25}"))
    a, b = board.keyframes["a"].loras, board.keyframes["b"].loras
    assert [(x.path.name, x.weight) for x in a] == [("other.safetensors", 1.25)]
    assert [(x.path.name, x.weight) for x in b] == [("style.safetensors", 0.5)]
    cleared = load(story_dir, story(defaults="{path: style.safetensors}").replace("cat face}", "cat face, lora: []}"))
    assert cleared.keyframes["a"].loras == () and len(cleared.keyframes["b"].loras) == 1


def test_a_wrong_file_in_the_defaults_is_one_problem_there(story_dir):
    save_file({"model.diffusion_model.x": np.zeros(1, np.float32)}, str(story_dir / "ckpt.safetensors"))
    problems = refuse(story_dir, story(defaults="{path: ckpt.safetensors}"))
    assert [(p.path, p.line) for p in problems] == [("defaults.lora[0].path", 3)]
    assert "is a checkpoint whose text encoder is none that seqc knows, not a LoRA" in problems[0].message


def test_an_autoencoder_model_warns_and_draws_without(story_dir):
    lora(story_dir)
    board = load(story_dir, story(a="{path: style.safetensors}").replace("builtin-emoji", "./vae")
                 .replace("prompt: cat face", "image: a.png").replace("prompt: dog face", "image: b.png"))
    assert board.keyframes["a"].loras == ()
    assert [w.path for w in board.warnings if "`lora` has no effect" in w.message] == ["keyframes.a.lora"]


def test_without_peft_the_first_lora_says_which_extra(story_dir, monkeypatch):
    lora(story_dir)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "peft" else real(name, *a))
    problems = refuse(story_dir, story(defaults="{path: style.safetensors}", a="{path: style.safetensors}"))
    assert len(problems) == 1
    assert "LoRAs need the `peft` package" in problems[0].message and problems[0].hint == "pip install 'seqc[lora]'"


CONTROL_BODY = """\
version: 1
model: builtin-emoji
controlnet: cn.safetensors
defaults: {{frames: 4{defaults}}}
keyframes:
  a: {{image: a.png{a}}}
  b: {{prompt: dog face{b}}}
segments:
  - {{from: a, to: b, method: morph}}
"""


def controlnet(folder):
    save_file({"controlnet_cond_embedding.conv_in.weight": np.zeros(1, np.float32)}, str(folder / "cn.safetensors"))


def test_the_defaults_control_traces_image_keyframes_and_skips_prompts(story_dir):
    controlnet(story_dir)
    board = load(story_dir, CONTROL_BODY.format(defaults=", control: {scale: 0.7}", a="", b=""))
    a, b = board.keyframes["a"].control, board.keyframes["b"].control
    assert a is not None and (a.image, a.scale, a.edges) == (None, 0.7, True) and b is None
    board = load(story_dir, CONTROL_BODY.format(defaults="", a="", b=", control: {image: c.png}"))
    b = board.keyframes["b"].control
    assert b is not None and (b.image.name, b.scale, b.edges) == ("c.png", 1.0, False)


def test_a_prompt_keyframes_control_needs_a_picture_and_edges_need_scikit_image(story_dir, monkeypatch):
    controlnet(story_dir)
    problems = refuse(story_dir, CONTROL_BODY.format(defaults="", a="", b=", control: {scale: 1}"))
    assert [(p.path, p.message) for p in problems] == [("keyframes.b.control",
                                                        "a prompt keyframe's `control` needs an `image`")]
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "skimage" else real(name, *a))
    problems = refuse(story_dir, CONTROL_BODY.format(defaults=", control: {}", a="", b=""))
    assert len(problems) == 1 and problems[0].hint == "pip install 'seqc[controlnet]'"
