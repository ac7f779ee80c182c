"""`lora:` on keyframes end to end: a LoRA file (diffusers/peft or kohya naming, tiny ones from
tests/lorakit.py) on one keyframe changes exactly the segments that touch it, its weight eases
along them, a new weight re-renders only those (`plan --explain` says so), both namings of one
LoRA draw the same frames, and a file that is not a LoRA is one line and exit 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from lorakit import write_lora
from renderkit import plan_json, render_json, run_seqc
from tinysd import make_tiny_sd

from seqc.media.reader import read_frames

pytestmark = pytest.mark.slow  # real renders in subprocesses

ENV = {"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
STORY = """\
version: 1
output: {{path: out/{name}.mp4, size: [64, 64], fps: 8}}
model: ./tiny-sd
defaults: {{frames: 4, steps: 2}}
keyframes:
  a: {{prompt: "a red apple"}}
  b: {{prompt: "a green pear", seed: 2{lora}}}
  c: {{prompt: "a blue plum", seed: 3}}
segments:
  - {{from: a, to: b}}
  - {{from: b, to: c, method: morph}}
  - {{from: c, to: a}}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("lora")
    make_tiny_sd(folder / "tiny-sd")
    write_lora(folder / "tiny-sd", folder / "style.safetensors", naming="peft", seed=0)
    write_lora(folder / "tiny-sd", folder / "style-kohya.safetensors", naming="kohya", seed=0)
    return folder


def render(project: Path, name: str, lora: str = "", cache: str = "cache") -> tuple[dict, np.ndarray]:
    story = project / f"{name}.yaml"
    story.write_text(STORY.format(name=name, lora=f", lora: [{lora}]" if lora else ""))
    result = render_json(story, project / cache, env=ENV)
    return result, np.stack(list(read_frames(Path(result["output"]))))


def test_a_lora_changes_the_segments_at_its_keyframe_only(project):
    _, plain = render(project, "plain")
    _, styled = render(project, "styled", "{path: style.safetensors, weight: 0.8}")
    # Frames 0-3: a -> b, 4-7: b -> c (a morph), 8-11: c -> a, 12: the final frame (a).
    assert not np.array_equal(styled[1:4], plain[1:4]) and not np.array_equal(styled[4:8], plain[4:8])
    assert np.array_equal(styled[8:], plain[8:])  # no LoRA at c or a: as drawn without one, bit for bit
    # The same matrices in kohya's naming draw the same frames.
    _, kohya = render(project, "kohya", "{path: style-kohya.safetensors, weight: 0.8}")
    assert np.array_equal(kohya, styled)


def test_a_new_weight_re_renders_only_its_segments_and_says_why(project):
    story = project / "weights.yaml"
    story.write_text(STORY.format(name="weights", lora=", lora: [{path: style.safetensors, weight: 0.8}]"))
    render_json(story, project / "w-cache", env=ENV)
    story.write_text(STORY.format(name="weights", lora=", lora: [{path: style.safetensors, weight: 0.5}]"))
    segments = plan_json(story, project / "w-cache")["segments"]
    assert [s["reason"] for s in segments] == ["keyframe 'b' LoRA changed"] * 2 + ["cached"]
    assert render_json(story, project / "w-cache", env=ENV)["rendered"] == 2
    # The file is an input: other bytes are another LoRA (not "up to date").
    data = bytearray((project / "style.safetensors").read_bytes())
    data[-1] ^= 1
    (project / "style.safetensors").write_bytes(bytes(data))
    assert render_json(story, project / "w-cache", env=ENV)["rendered"] == 2


@pytest.mark.parametrize("entry, said", [
    ("{path: tiny-sd/unet/diffusion_pytorch_model.safetensors}", "is one part of a diffusers pipeline folder"),
    ("{path: gone.safetensors}", "not found"),
    ("{path: style.safetensors, weight: 11}", "weight must be at most 10, got 11"),
])
def test_a_wrong_lora_is_one_line_and_exit_2_with_nothing_written(project, entry, said):
    story = project / "wrong.yaml"
    story.write_text(STORY.format(name="wrong", lora=f", lora: [{entry}]"))
    proc = run_seqc("render", str(story), "--cache-dir", str(project / "wrong-cache"), env=ENV, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if said in line]
    assert len(lines) == 1 and "wrong.yaml:7:" in lines[0], proc.stderr
    assert not (project / "out" / "wrong.mp4").exists() and not (project / "wrong-cache").exists()
