"""`vae:` end to end: a storyboard's VAE replaces the pipeline's own, from a file in either layout or a
diffusers folder; the frames are what that VAE decodes, its bytes are in the model's key, and a file
that is not a VAE is one line and exit 2 with nothing written."""

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
model: ./tiny-sd
{vae}
defaults: {{frames: 3, steps: 2}}
keyframes:
  a: {{prompt: "a red apple"}}
  b: {{prompt: "a green pear", seed: 2}}
segments:
  - {{from: a, to: b}}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """tiny-sd, another tiny SD's VAE folder, and VAE files in the original and diffusers layouts."""
    from safetensors.torch import load_file, save_file

    folder = tmp_path_factory.mktemp("vae")
    make_tiny_sd(folder / "tiny-sd")
    make_tiny_sd(folder / "other-sd", seed=1)
    single = load_file(write_single_file(folder / "tiny-sd", folder / "whole.safetensors"))
    prefix = "first_stage_model."  # the original layout's VAE, as a VAE file from a model site holds it
    save_file({k[len(prefix):]: v for k, v in single.items() if k.startswith(prefix)}, folder / "own-vae.safetensors")
    (folder / "other-vae.safetensors").write_bytes(
        (folder / "other-sd" / "vae" / "diffusion_pytorch_model.safetensors").read_bytes())
    return folder


def render(project: Path, name: str, vae: str = "") -> np.ndarray:
    story = project / f"{name}.yaml"
    story.write_text(STORY.format(name=name, vae=f"vae: {vae}" if vae else ""))
    result = render_json(story, project / "cache", env=ENV)
    return np.stack(list(read_frames(Path(result["output"]))))


def test_a_vae_file_or_folder_decodes_the_frames(project):
    own = render(project, "own")
    # The pipeline's own VAE as a file in the original layout: converted, it decodes the same bytes.
    assert np.array_equal(render(project, "own-file", "own-vae.safetensors"), own)
    # Another VAE, as a folder and as a diffusers-layout file: other frames, the same for both.
    other = render(project, "other-folder", "./other-sd/vae")
    assert not np.array_equal(other, own)
    assert np.array_equal(render(project, "other-file", "other-vae.safetensors"), other)


def test_the_vae_is_part_of_the_models_key(project):
    story = project / "keyed.yaml"
    story.write_text(STORY.format(name="keyed", vae="vae: other-vae.safetensors"))
    render_json(story, project / "key-cache", env=ENV)
    assert plan_json(story, project / "key-cache")["segments"][0]["reason"] == "cached"
    data = bytearray((project / "other-vae.safetensors").read_bytes())
    data[-1] ^= 1  # one weight's last byte
    (project / "other-vae.safetensors").write_bytes(bytes(data))
    assert plan_json(story, project / "key-cache")["segments"][0]["reason"].startswith("model changed")
    assert render_json(story, project / "key-cache", env=ENV)["rendered"] == 1  # the VAE file is a watched input


@pytest.mark.parametrize("vae, said", [
    ("whole.safetensors", "is a Stable Diffusion 1.x checkpoint, not a VAE; name it in `model:`"),
    ("gone.safetensors", "not found"),
])
def test_a_wrong_vae_is_one_line_and_exit_2_with_nothing_written(project, vae, said):
    story = project / "wrong.yaml"
    story.write_text(STORY.format(name="wrong", vae=f"vae: {vae}"))
    proc = run_seqc("render", str(story), "--cache-dir", str(project / "wrong-cache"), env=ENV, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if said in line]
    assert len(lines) == 1 and "wrong.yaml:4:6" in lines[0]
    assert not (project / "out" / "wrong.mp4").exists() and not (project / "wrong-cache").exists()
