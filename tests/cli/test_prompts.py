"""Prompt keyframes end to end: a tiny Stable Diffusion pipeline (built offline) through the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import mediaprobe
import numpy as np
import pytest
from renderkit import plan_json, render_json, run_seqc, write_image
from tinysd import make_tiny_sd

from seqc import media

pytestmark = pytest.mark.slow  # real renders in subprocesses: run with the full suite, not the inner loop

ENV = {"OMP_NUM_THREADS": "1"}  # tiny models: one thread is faster on a busy machine, and deterministic
STORY = """\
version: 1
output: {path: out/morph.mp4, size: [64, 64], fps: 8}
model: ./sd
defaults: {duration: 1, steps: 2, method: slerp}
keyframes:
  a: {prompt: "a red apple on a table"}
  b: {prompt: "a green pear on a table"}
  c: {prompt: "a yellow banana", negative_prompt: "blurry", seed: 3}
segments:
  - {from: a, to: b}
  - {from: b, to: c, method: lerp}
"""
PLANNED = 8 + 8 + 1


@pytest.fixture(scope="module")
def sd_model(tmp_path_factory) -> Path:
    return make_tiny_sd(tmp_path_factory.mktemp("sd") / "sd")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, sd_model):
    folder = tmp_path_factory.mktemp("prompts")
    (folder / "sd").symlink_to(sd_model, target_is_directory=True)
    story = folder / "story.yaml"
    story.write_text(STORY)
    result = render_json(story, folder / "cache", env=ENV)
    return folder, story, result


def copy_project(rendered, tmp_path: Path) -> tuple[Path, Path]:
    folder, _, _ = rendered
    target = tmp_path / "p"
    shutil.copytree(folder, target, symlinks=True)
    story = target / "story.yaml"
    assert render_json(story, target / "cache", env=ENV)["rendered"] == 0  # records this path's last render
    return target, story


def embed_files(cache: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in cache.glob("embeds/*/*.safetensors")}


def test_prompt_storyboard_renders_the_planned_frames(rendered):
    folder, story, result = rendered
    assert result["rendered"] == 2 and result["frames"] == PLANNED
    info = mediaprobe.probe(Path(result["output"]))
    assert (info.frames, info.width, info.height) == (PLANNED, 64, 64)
    assert len(embed_files(folder / "cache")) == 3


def test_two_clean_renders_are_byte_identical(rendered, tmp_path):
    folder, story, result = rendered
    again = render_json(story, tmp_path / "cache", "-o", str(tmp_path / "again.mp4"), env=ENV)
    assert again["rendered"] == 2
    assert (tmp_path / "again.mp4").read_bytes() == Path(result["output"]).read_bytes()


def test_editing_the_middle_prompt_rerenders_its_two_segments_only(rendered, tmp_path):
    folder, story = copy_project(rendered, tmp_path)
    cache = folder / "cache"
    before = embed_files(cache)
    story.write_text(STORY.replace("a green pear on a table", "a blue plum on a plate"))
    plan = plan_json(story, cache)
    # b has no seed of its own: it is derived from the prompt text, so it changes too
    assert [s["reason"] for s in plan["segments"]] == ["keyframe 'b' prompt and seed changed"] * 2
    result = render_json(story, cache, env=ENV)
    assert result["rendered"] == 2 and result["frames"] == PLANNED
    after = embed_files(cache)
    # a's and c's embeddings came from the cache (same files, untouched); b's is new.
    assert len(after) == 4
    assert all(after[name] == stamp for name, stamp in before.items())


def test_changing_steps_in_defaults_rerenders_every_segment(rendered, tmp_path):
    folder, story = copy_project(rendered, tmp_path)
    story.write_text(STORY.replace("steps: 2", "steps: 3"))
    plan = plan_json(story, folder / "cache")
    assert [s["reason"] for s in plan["segments"]] == ["steps changed (2 -> 3)"] * 2
    assert render_json(story, folder / "cache", env=ENV)["rendered"] == 2


def test_noop_rerender_renders_nothing(rendered):
    folder, story, result = rendered
    assert render_json(story, folder / "cache", env=ENV)["rendered"] == 0


def test_prompt_keyframes_need_a_pipeline(tmp_path):
    from renderkit import make_tiny_vae

    make_tiny_vae(tmp_path / "vae")
    story = tmp_path / "story.yaml"
    story.write_text(STORY.replace("model: ./sd", "model: ./vae"))
    proc = run_seqc("validate", str(story), check=False)
    assert proc.returncode == 2
    assert "need a text-to-image model" in proc.stderr and "Stable Diffusion" in proc.stderr
    assert "story.yaml:6:" in proc.stderr


IMG2IMG = """\
version: 1
output: {path: out/photos.mp4, size: [64, 64], fps: 8}
model: ./sd
defaults: {frames: 4, steps: 4, strength: STRENGTH}
keyframes:
  first: {image: first.png}
  second: {image: second.png, prompt: "a watercolour"}
segments:
  - {from: first, to: second}
"""


def first_frame(folder: Path, strength: float) -> np.ndarray:
    story = folder / f"img2img-{strength}.yaml"
    story.write_text(IMG2IMG.replace("STRENGTH", str(strength)).replace("photos.mp4", f"photos-{strength}.mp4"))
    result = render_json(story, folder / "cache", env=ENV)
    assert result["frames"] == 5 and result["rendered"] == 1
    return next(iter(media.read_frames(Path(result["output"])))).astype(np.float64)


def test_img2img_between_two_images(tmp_path, sd_model):
    (tmp_path / "sd").symlink_to(sd_model, target_is_directory=True)
    write_image(tmp_path / "first.png", seed=11)
    write_image(tmp_path / "second.png", seed=12)
    frames = {s: first_frame(tmp_path, s) for s in (0.0, 0.5, 1.0)}
    # strength 0 is the pipeline VAE's picture of the first keyframe (random weights make it a poor
    # picture, so that is the reference); more strength re-generates more of it.
    half = np.abs(frames[0.5] - frames[0.0]).mean()
    full = np.abs(frames[1.0] - frames[0.0]).mean()
    assert half < full
