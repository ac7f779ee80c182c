"""Single-file checkpoints end to end: a Stable Diffusion file in the original (LDM) layout as model
sites hand it out renders through the CLI with no network and no Hugging Face cache. A real-size
SD 1.5 file (random weights) loads as `model: file.safetensors` with the configs seqc ships; tiny
SD and SDXL files load with their config folder and draw what those folders draw; the key is the
file's bytes; a wrong file is one line and exit 2 with nothing written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ldmfile import ldm_meta_state, write_single_file
from renderkit import plan_json, render_json, run_seqc
from tinysd import make_tiny_sd, make_tiny_sdxl

from seqc.media.reader import read_frames

pytestmark = pytest.mark.slow  # real renders in subprocesses

ENV = {"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
SHIPPED = Path(__file__).resolve().parents[2] / "seqc" / "families"
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
    xl = make_tiny_sdxl(folder / "tiny-xl", single_file_ready=True)
    write_single_file(xl, folder / "xl.safetensors")
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


def test_an_sdxl_file_renders_what_its_folder_renders(project):
    single = project / "xl-single.yaml"
    single.write_text(STORY.format(name="xl-single", model="{file: xl.safetensors, config: ./tiny-xl}"))
    folder = project / "xl-folder.yaml"
    folder.write_text(STORY.format(name="xl-folder", model="./tiny-xl"))
    a = render_json(single, project / "cache", env=ENV)
    b = render_json(folder, project / "cache", env=ENV)
    assert a["rendered"] == b["rendered"] == 1
    assert np.array_equal(frames(Path(a["output"])), frames(Path(b["output"])))


def test_a_real_size_sd15_file_alone_renders_with_the_shipped_configs(tmp_path):
    """2 GB of random weights in SD 1.5's layout and shapes, as `model: sd15.safetensors`, with an
    empty Hugging Face home: every config and the tokenizer come from seqc."""
    import torch
    from safetensors.torch import save_file

    generator = torch.Generator().manual_seed(0)
    layout = ldm_meta_state(SHIPPED / "sd1", "clip")
    save_file({key: (torch.randn(meta.shape, generator=generator) * 0.02).half() for key, meta in layout.items()},
              tmp_path / "sd15.safetensors")
    story = tmp_path / "s.yaml"
    story.write_text(STORY.format(name="s", model="sd15.safetensors").replace("frames: 4, steps: 3",
                                                                              "frames: 2, steps: 2"))
    env = {**ENV, "HF_HOME": str(tmp_path / "empty-hf-home"), "OMP_NUM_THREADS": "2"}
    result = render_json(story, tmp_path / "cache", env=env)
    pictures = frames(Path(result["output"]))
    assert (result["rendered"], len(pictures)) == (1, 3) and pictures.shape[1:3] == (64, 64)
    assert not (tmp_path / "empty-hf-home").exists() or not any((tmp_path / "empty-hf-home").rglob("*.json"))


def test_a_tiny_file_alone_is_told_to_bring_its_configs(project):
    story = project / "bare.yaml"
    story.write_text(STORY.format(name="bare", model="dreamy.safetensors"))
    proc = run_seqc("render", str(story), "--cache-dir", str(project / "bare-cache"), env=ENV, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "dreamy.safetensors" in line]
    assert len(lines) == 1 and "bare.yaml:3:8" in lines[0] and "not of the published size" in lines[0]
    assert "config: ./folder" in lines[0] and not (project / "bare-cache").exists()


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
