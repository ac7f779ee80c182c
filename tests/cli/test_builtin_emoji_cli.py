"""`model: builtin-emoji` as a user meets it: `seqc init --prompts`, `seqc prompts`, the morph example,
renders that are byte-identical, edits that re-render only their segments, and the error that points
an autoencoder's prompt keyframes at the built-in text-to-image model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mediaprobe
import pytest
from renderkit import plan_json, render_json, run_seqc

pytestmark = pytest.mark.slow  # real renders in subprocesses

ROOT = Path(__file__).resolve().parents[2]
STORY = """\
version: 1
output: {path: out/emoji.mp4, size: [64, 64], fps: 8}
model: builtin-emoji
defaults: {duration: 1}
keyframes:
  sun: {prompt: black sun with rays}
  snow: {prompt: snowman without snow}
  cat: {prompt: cat face}
segments:
  - {from: sun, to: snow}
  - {from: snow, to: cat, method: lerp}
"""
PLANNED = 8 + 8 + 1


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    folder = tmp_path_factory.mktemp("emoji")
    story = folder / "story.yaml"
    story.write_text(STORY)
    return folder, story, render_json(story, folder / "cache")


def test_a_prompt_storyboard_renders_offline(rendered):
    folder, story, result = rendered
    assert result["rendered"] == 2 and result["frames"] == PLANNED
    info = mediaprobe.probe(Path(result["output"]))
    assert (info.frames, info.width, info.height) == (PLANNED, 64, 64)


def test_a_second_clean_render_is_byte_identical(rendered, tmp_path):
    folder, story, result = rendered
    again = render_json(story, tmp_path / "cache", "-o", str(tmp_path / "again.mp4"))
    assert again["rendered"] == 2
    assert (tmp_path / "again.mp4").read_bytes() == Path(result["output"]).read_bytes()


def test_keys_do_not_depend_on_where_the_storyboard_is(rendered, tmp_path):
    folder, story, _ = rendered
    moved = tmp_path / "elsewhere" / "story.yaml"
    moved.parent.mkdir()
    shutil.copy(story, moved)
    here, there = plan_json(story, folder / "cache"), plan_json(moved, folder / "cache")
    assert [s["key"] for s in here["segments"]] == [s["key"] for s in there["segments"]]
    assert [s["status"] for s in there["segments"]] == ["cached", "cached"]


def test_editing_the_last_prompt_rerenders_only_its_segment(rendered, tmp_path):
    folder, story, _ = rendered
    target = tmp_path / "p"
    shutil.copytree(folder, target)
    edited = target / "story.yaml"
    edited.write_text(STORY.replace("cat: {prompt: cat face}", "cat: {prompt: dog face}"))
    plan = plan_json(edited, target / "cache")
    assert [s["status"] for s in plan["segments"]] == ["cached", "missing"]
    result = render_json(edited, target / "cache")
    assert result["rendered"] == 1 and result["cached"] == 1 and result["frames"] == PLANNED


def test_init_prompts_scaffolds_a_storyboard_that_renders_at_once(tmp_path):
    run_seqc("init", "--prompts", "demo", cwd=tmp_path)
    demo = tmp_path / "demo"
    text = (demo / "storyboard.yaml").read_text()
    assert "model: builtin-emoji" in text and not (demo / "keyframes").exists()
    known = set(run_seqc("prompts").stdout.splitlines())
    for line in text.splitlines():
        if "{prompt:" in line:
            assert line.split("{prompt:")[1].rstrip("}").strip() in known, line
    short = demo / "storyboard.yaml"
    short.write_text(text.replace("fps: 24", "fps: 4"))  # the same storyboard, fewer frames to draw
    result = render_json(short, demo / "cache")
    assert result["rendered"] == 4 and Path(result["output"]).is_file()


def test_seqc_prompts_lists_and_filters(tmp_path):
    listed = run_seqc("prompts", cwd=tmp_path).stdout.splitlines()
    assert "cat face" in listed and "snowman without snow" in listed
    cats = run_seqc("prompts", "CAT", "face", cwd=tmp_path).stdout.splitlines()
    assert "cat face" in cats and all("cat" in c and "face" in c for c in cats) and len(cats) < len(listed)
    none = run_seqc("prompts", "zzqx", cwd=tmp_path, check=False)
    assert none.returncode == 1 and none.stdout == "" and "zzqx" in none.stderr
    autoencoder = run_seqc("prompts", "--model", "builtin", cwd=tmp_path, check=False)
    assert autoencoder.returncode == 2 and "builtin-emoji" in autoencoder.stderr
    assert len(autoencoder.stderr.strip().splitlines()) == 1 and "Traceback" not in autoencoder.stderr


def test_prompt_keyframes_on_the_autoencoder_point_at_builtin_emoji(tmp_path):
    story = tmp_path / "story.yaml"
    story.write_text(STORY.replace("model: builtin-emoji", "model: builtin"))
    proc = run_seqc("render", str(story), check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "story.yaml:6:" in proc.stderr and "`builtin-emoji`" in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["storyboard.yaml", "near.yaml"])
def test_the_morph_example_renders_from_its_tracked_files(name, tmp_path):
    shutil.copytree(ROOT / "examples" / "morph", tmp_path / "morph", ignore=shutil.ignore_patterns("out", "cache"))
    result = render_json(tmp_path / "morph" / name, tmp_path / "cache")
    assert result["frames"] == 2 * 72 + 1 and result["rendered"] == 2


def test_analyze_of_prompt_keyframes_is_strict_json(rendered):
    folder, story, _ = rendered

    def refuse(constant: str):
        raise ValueError(f"{constant} is not JSON")

    proc = run_seqc("analyze", str(story), "--cache-dir", str(folder / "cache"), "--json")
    report = json.loads(proc.stdout, parse_constant=refuse)  # NaN would be refused
    assert [s["latent_rms"] for s in report["segments"]] == [None, None]  # prompts have no latents
    assert all(s["max_change"] > 0 for s in report["segments"])
    table = run_seqc("analyze", str(story), "--cache-dir", str(folder / "cache"))
    assert "nan" not in table.stdout
