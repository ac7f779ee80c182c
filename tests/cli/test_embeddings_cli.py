"""`embeddings:` end to end: a textual-inversion file's token in a prompt draws other frames than
the same prompt without it, the embedding's bytes are in the model's key, and a file that is not
an embedding is one line and exit 2 with nothing written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from renderkit import plan_json, render_json, run_seqc
from safetensors.torch import save_file
from tinysd import make_tiny_sd

from seqc.media.reader import read_frames

pytestmark = pytest.mark.slow  # real renders in subprocesses

ENV = {"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
STORY = """\
version: 1
output: {{path: out/{name}.mp4, size: [64, 64], fps: 8}}
model: ./tiny-sd
{embeddings}
defaults: {{frames: 3, steps: 2}}
keyframes:
  a: {{prompt: "glowstyle apple"}}
  b: {{prompt: "a green pear", seed: 2}}
segments:
  - {{from: a, to: b}}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("embeddings")
    make_tiny_sd(folder / "tiny-sd")
    save_file({"emb_params": torch.randn(2, 32, generator=torch.Generator().manual_seed(0))},
              str(folder / "glowstyle.safetensors"))
    return folder


def render(project: Path, name: str, embeddings: str) -> np.ndarray:
    story = project / f"{name}.yaml"
    story.write_text(STORY.format(name=name, embeddings=embeddings))
    return np.stack(list(read_frames(Path(render_json(story, project / "cache", env=ENV)["output"]))))


def test_a_token_draws_its_embedding_and_is_part_of_the_models_key(project):
    plain = render(project, "plain", "")
    styled = render(project, "styled", "embeddings: [glowstyle.safetensors]")
    assert not np.array_equal(styled[0], plain[0]) and np.array_equal(styled[-1], plain[-1])  # b has no token
    story = project / "styled.yaml"
    story.write_text(STORY.format(name="styled", embeddings="embeddings: [{path: glowstyle.safetensors, token: x}]"))
    assert plan_json(story, project / "cache")["segments"][0]["reason"].startswith("model changed")


def test_a_file_that_is_not_an_embedding_is_one_line_and_exit_2(project):
    story = project / "wrong.yaml"
    story.write_text(STORY.format(name="wrong", embeddings="embeddings: [tiny-sd/vae/diffusion_pytorch_model.safetensors]"))
    proc = run_seqc("render", str(story), "--cache-dir", str(project / "wrong-cache"), env=ENV, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "not a textual-inversion embedding" in line]
    assert len(lines) == 1 and "wrong.yaml:4:" in lines[0], proc.stderr
    assert not (project / "wrong-cache").exists()
