"""`controlnet:` and a keyframe's `control:` end to end, with a tiny ControlNet file in the original
layout (tests/controlkit.py): pictures alone (edges traced from each keyframe's image) give
structure-locked frames unlike the model's own, a control picture of one keyframe changes only
its segments (`plan --explain` says so), and wrong input is one line and exit 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from controlkit import make_tiny_controlnet, write_controlnet_single_file
from PIL import Image
from renderkit import plan_json, render_json, run_seqc
from tinysd import make_tiny_sd

from seqc.media.reader import read_frames

pytestmark = pytest.mark.slow  # real renders in subprocesses

ENV = {"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
STORY = """\
version: 1
output: {{path: out/{name}.mp4, size: [64, 64], fps: 8}}
model: ./tiny-sd
{controlnet}
defaults: {{frames: 4, steps: 2, method: morph, control: {{scale: 0.9}}}}
keyframes:
  square: {{image: square.png, prompt: "a box"}}
  pole: {{prompt: "a pole", seed: 2, control: {{image: {pole}, edges: true}}}}
  plum: {{image: plum.png}}
segments:
  - {{from: square, to: pole}}
  - {{from: pole, to: plum}}
  - {{from: plum, to: square}}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("controlnet")
    make_tiny_sd(folder / "tiny-sd")
    write_controlnet_single_file(make_tiny_controlnet(folder / "tiny-sd", folder / "tiny-cn"),
                                 folder / "canny.safetensors")
    pictures = {name: np.zeros((64, 64, 3), np.uint8) for name in ("square", "bar", "ring", "plum")}
    pictures["square"][16:48, 16:48] = 255
    pictures["bar"][4:60, 28:36] = 220
    pictures["ring"][8:56, 8:56] = 200
    pictures["ring"][20:44, 20:44] = 0
    pictures["plum"][:, :] = (90, 40, 120)
    pictures["plum"][24:40, 10:54] = (200, 180, 60)
    for name, picture in pictures.items():
        Image.fromarray(picture).save(folder / f"{name}.png")
    return folder


def render(project: Path, name: str, controlnet: str = "controlnet: canny.safetensors", pole: str = "bar.png",
           cache: str = "cache") -> tuple[dict, np.ndarray]:
    story = project / f"{name}.yaml"
    story.write_text(STORY.format(name=name, controlnet=controlnet, pole=pole))
    result = render_json(story, project / cache, env=ENV)
    return result, np.stack(list(read_frames(Path(result["output"]))))


def test_pictures_alone_steer_the_frames_and_one_control_picture_changes_its_segments(project):
    _, plain = render(project, "plain", controlnet="")  # `control:` without a ControlNet: a warning, no effect
    _, steered = render(project, "steered")
    assert all(not np.array_equal(steered[i], plain[i]) for i in (1, 2, 3, 5, 9))
    story = project / "steered.yaml"
    story.write_text(STORY.format(name="steered", controlnet="controlnet: canny.safetensors", pole="ring.png"))
    reasons = [s["reason"] for s in plan_json(story, project / "cache")["segments"]]
    assert reasons == ["keyframe 'pole' control changed"] * 2 + ["cached"]
    _, ringed = render(project, "steered", pole="ring.png")
    assert np.array_equal(ringed[8:], steered[8:]) and not np.array_equal(ringed[1:8], steered[1:8])
    # The control picture is an input of the render: new pixels in it are not "up to date".
    ring = np.asarray(Image.open(project / "ring.png")).copy()
    ring[30:34, 30:34] = 255
    Image.fromarray(ring).save(project / "ring.png")
    assert render(project, "steered", pole="ring.png")[0]["rendered"] == 2


def test_control_without_a_controlnet_warns(project):
    story = project / "warned.yaml"
    story.write_text(STORY.format(name="warned", controlnet="", pole="bar.png"))
    proc = run_seqc("validate", str(story), env=ENV)
    assert "`control` has no effect without `controlnet:`" in proc.stdout + proc.stderr


@pytest.mark.parametrize("controlnet, pole, said, where", [
    ("controlnet: tiny-sd/vae/diffusion_pytorch_model.safetensors", "bar.png", "is a VAE (diffusers layout), not a ControlNet",
     "wrong.yaml:4:13"),
    ("controlnet: canny.safetensors", "gone.png", "image file not found", "wrong.yaml:8:"),
])
def test_wrong_control_input_is_one_line_and_exit_2_with_nothing_written(project, controlnet, pole, said, where):
    story = project / "wrong.yaml"
    story.write_text(STORY.format(name="wrong", controlnet=controlnet, pole=pole))
    proc = run_seqc("render", str(story), "--cache-dir", str(project / "wrong-cache"), env=ENV, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if said in line]
    assert len(lines) == 1 and where in lines[0], proc.stderr
    assert not (project / "out" / "wrong.mp4").exists() and not (project / "wrong-cache").exists()
