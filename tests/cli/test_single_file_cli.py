"""`model: {file, config}` end to end: a Stable Diffusion checkpoint in one file, in the original
(LDM) layout as model sites hand it out (a tiny one, built offline by tests/ldmfile.py), renders
through the CLI with no network and draws what its diffusers folder draws; its key is its bytes;
a wrong file is one line and exit 2 with nothing written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ldmfile import write_single_file
from renderkit import plan_json, render_json, run_seqc
from tinysd import make_tiny_sd

from seqc.media.reader import read_frames

pytestmark = pytest.mark.slow  # real renders in subprocesses

ENV = {"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
STORY = """\
version: 1
output: {{path: out/{name}.mp4, size: [64, 64], fps: 8}}
model: {model}
defaults: {{frames: 4, steps: 3}}
keyframes:
  a: {{prompt: "a red apple"}}
  b: {{prompt: "a green pear", seed: 2}}
segments:
  - {{from: a, to: b}}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("single")
    sd = make_tiny_sd(folder / "tiny-sd")
    write_single_file(sd, folder / "dreamy.safetensors")
    return folder


def frames(path: Path) -> np.ndarray:
    return np.stack(list(read_frames(path)))


def test_a_single_file_renders_what_its_folder_renders(project):
    single = project / "single.yaml"
    single.write_text(STORY.format(name="single", model="{file: dreamy.safetensors, config: ./tiny-sd}"))
    folder = project / "folder.yaml"
    folder.write_text(STORY.format(name="folder", model="./tiny-sd"))
    a = render_json(single, project / "cache", env=ENV)
    b = render_json(folder, project / "cache", env=ENV)
    assert a["frames"] == b["frames"] == 5 and a["rendered"] == b["rendered"] == 1
    assert np.array_equal(frames(Path(a["output"])), frames(Path(b["output"])))  # the same weights, bit for bit
    # Its key is the file's bytes: the same file under another name re-renders nothing; other bytes do.
    (project / "renamed.safetensors").write_bytes((project / "dreamy.safetensors").read_bytes())
    single.write_text(STORY.format(name="single", model="{file: renamed.safetensors, config: ./tiny-sd}"))
    assert render_json(single, project / "cache", env=ENV)["rendered"] == 0
    data = bytearray((project / "renamed.safetensors").read_bytes())
    data[-1] ^= 1  # one weight's last byte
    (project / "renamed.safetensors").write_bytes(bytes(data))
    assert plan_json(single, project / "cache")["segments"][0]["reason"].startswith("model changed")
    assert render_json(single, project / "cache", env=ENV)["rendered"] == 1  # not "up to date": the file is an input


def test_a_wrong_file_is_one_line_and_exit_2_with_nothing_written(project):
    from safetensors.numpy import save_file

    save_file({"lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": np.zeros(1, np.float32)},
              str(project / "style.safetensors"))
    story = project / "wrong.yaml"
    story.write_text(STORY.format(name="wrong", model="{file: style.safetensors, config: ./tiny-sd}"))
    proc = run_seqc("render", str(story), "--cache-dir", str(project / "wrong-cache"), env=ENV, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "style.safetensors" in line]
    assert len(lines) == 1 and "wrong.yaml:3:" in lines[0] and "is a LoRA" in lines[0] and "`lora:`" in lines[0]
    assert not (project / "out" / "wrong.mp4").exists() and not (project / "wrong-cache").exists()
