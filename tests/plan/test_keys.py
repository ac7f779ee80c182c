"""Cache keys (seqc/plan/keys.py): canonical JSON of named inputs; a golden test pins the keys of a
fixture storyboard."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from seqc.plan import compile_plan, keys
from seqc.spec import load_storyboard
from seqc.store import Cache

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"

# Changing any of these means a key changed: bump keys.KEY_VERSION and update them together.
GOLDEN_KEYS = {
    "model": "233e813b95482db8d30153b7daf12acf9de6ae0edf00caf9055b44acf6cf9435",
    "latent:a": "f01f3dae521d508b79a06932238b7b207b2f7895efdd3b41f49f5daebf11dc10",
    "latent:b": "8c325a99245d1e84a852f8c6e78afeefe475462a308265069aff7143857e8d0e",
    "clip:0": "2ec80e2bc3da2b8b58cd414fe2101f7787a0ba23c9c8993f02fb4418d05047be",
    "clip:1": "6ffb2d86871bdf17c76175af7856d13127301901fff93d854137e6ed1c958d25",
    "clip:2": "7d839d34af19073754d1c26a6992426ce1d1c6145098818c346006d88a0d749b",
    "end": "5ee2eb6a659a0a0e38e05154d836a4d516b06ca1c13378f4cb5c5dd41f7c44ff",
}
GOLDEN_KEY_VERSION = 3
GOLDEN_FFMPEG = "n9.0.2-golden"  # the ffmpeg build is in every clip key: pinned here, so the keys are seqc's alone


@pytest.fixture(autouse=True)
def pinned_ffmpeg(monkeypatch):
    monkeypatch.setattr("seqc.plan.plan.encoder_build", lambda: GOLDEN_FFMPEG)


def plan_keys(story_path: Path, cache_dir: Path) -> dict:
    plan = compile_plan(load_storyboard(story_path), Cache(cache_dir))
    found = {"model": plan.model}
    found.update({f"latent:{n}": lat.key for n, lat in plan.latents.items()})
    found.update({f"clip:{j.segment.index}": j.key for j in plan.jobs})
    found["end"] = plan.end.key
    return found


def test_golden_keys_are_pinned(tmp_path):
    assert keys.KEY_VERSION == GOLDEN_KEY_VERSION, "KEY_VERSION changed: update GOLDEN_KEYS and this number"
    assert plan_keys(GOLDEN / "storyboard.yaml", tmp_path) == GOLDEN_KEYS


def test_keys_do_not_depend_on_where_the_project_lives(tmp_path):
    moved = tmp_path / "elsewhere" / "project"
    shutil.copytree(GOLDEN, moved)
    assert plan_keys(moved / "storyboard.yaml", tmp_path / "cache") == GOLDEN_KEYS


def test_keys_ignore_names_comments_order_and_output_path(tmp_path):
    project = tmp_path / "p"
    shutil.copytree(GOLDEN, project)
    story = project / "storyboard.yaml"
    text = story.read_text()
    text = text.replace("  a: {image: a.png}\n  b: {image: b.png}\n", "  bee: {image: b.png}  # renamed\n  ay: {image: a.png}\n")
    text = text.replace("from: a,", "from: ay,").replace("to: a,", "to: ay,").replace("from: b,", "from: bee,")
    text = text.replace("to: b}", "to: bee}").replace("to: b,", "to: bee,")
    text = text.replace("out/golden.mp4", "elsewhere/renamed.mp4")
    story.write_text("# a new comment\n" + text)
    found = plan_keys(story, tmp_path / "cache")
    assert [found[f"clip:{i}"] for i in range(3)] == [GOLDEN_KEYS[f"clip:{i}"] for i in range(3)]


def test_image_bytes_not_paths_make_the_latent_key(tmp_path):
    project = tmp_path / "p"
    shutil.copytree(GOLDEN, project)
    (project / "a.png").rename(project / "renamed.png")
    story = project / "storyboard.yaml"
    story.write_text(story.read_text().replace("image: a.png", "image: renamed.png"))
    assert plan_keys(story, tmp_path / "cache")["latent:a"] == GOLDEN_KEYS["latent:a"]
    shutil.copy(project / "b.png", project / "renamed.png")
    assert plan_keys(story, tmp_path / "cache2")["latent:a"] == GOLDEN_KEYS["latent:b"]


def test_model_fingerprint_ignores_name_or_path_but_not_weights(tmp_path):
    project = tmp_path / "p"
    shutil.copytree(GOLDEN, project)
    config = project / "model" / "config.json"
    config.write_text(config.read_text().replace('"_class_name"', '"_name_or_path": "/somewhere/else",\n  "_class_name"'))
    assert plan_keys(project / "storyboard.yaml", tmp_path / "c1")["model"] == GOLDEN_KEYS["model"]
    weights = project / "model" / "diffusion_pytorch_model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    assert plan_keys(project / "storyboard.yaml", tmp_path / "c2")["model"] != GOLDEN_KEYS["model"]


def test_canonical_json_sorts_keys_and_rounds_floats():
    a = keys.canonical_json({"b": 1, "a": [0.1 + 0.2, 2.0]})
    b = keys.canonical_json({"a": [0.3, 2.0], "b": 1})
    assert a == b == '{"a":[0.3,2.0],"b":1}'
    assert keys.digest({"x": 1}) != keys.digest({"x": 2})
    assert keys.digest({"x": 1.0}) != keys.digest({"x": "1.0"})


def test_non_finite_and_unknown_values_are_refused():
    with pytest.raises(ValueError):
        keys.digest({"x": float("nan")})
    with pytest.raises(TypeError):
        keys.digest({"x": object()})


def test_key_version_is_part_of_every_key(monkeypatch):
    before = keys.digest({"x": 1})
    monkeypatch.setattr(keys, "KEY_VERSION", keys.KEY_VERSION + 1)
    assert keys.digest({"x": 1}) != before


def test_another_ffmpeg_build_rerenders_every_clip_and_says_so(tmp_path, monkeypatch):
    cache = Cache(tmp_path / "cache")
    story = load_storyboard(GOLDEN / "storyboard.yaml")
    old = compile_plan(story, cache)
    cache.write_run(old.run_id, old.record())
    monkeypatch.setattr("seqc.plan.plan.encoder_build", lambda: "n9.1-newer")
    new = compile_plan(story, cache)
    assert not {j.key for j in old.clip_jobs} & {j.key for j in new.clip_jobs}
    assert {lat.key for lat in old.latents.values()} == {lat.key for lat in new.latents.values()}
    assert {j.reason for j in new.clip_jobs} == {f"ffmpeg build changed ({GOLDEN_FFMPEG} -> n9.1-newer)"}


def golden_with(tmp_path: Path, name: str, defaults: str = "", keyframe_a: str = "") -> Path:
    """A copy of the golden project with extra `defaults` fields and extra fields on keyframe a."""
    project = tmp_path / name
    shutil.copytree(GOLDEN, project)
    story = project / "storyboard.yaml"
    text = story.read_text().replace("method: slerp}", f"method: slerp{defaults}}}")
    story.write_text(text.replace("a: {image: a.png}", f"a: {{image: a.png{keyframe_a}}}"))
    return story


def test_background_black_or_where_it_cannot_show_keeps_the_golden_keys(tmp_path):
    """Black is the default: writing it changes nothing. The golden images are opaque under `cover`,
    so no background colour reaches a pixel of them, and none enters a key."""
    for i, (defaults, keyframe_a) in enumerate([(", background: black", ""), (', background: "#000"', ""),
                                                 (", background: white", ', background: "#1e90ff"')]):
        assert plan_keys(golden_with(tmp_path, f"p{i}", defaults, keyframe_a), tmp_path / f"c{i}") == GOLDEN_KEYS


def test_background_enters_the_latent_key_where_it_shows(tmp_path):
    """Under `contain` the bars are the background; on a transparent image so is what shows through."""
    contain = plan_keys(golden_with(tmp_path, "c", keyframe_a=", fit: contain"), tmp_path / "k1")
    white = plan_keys(golden_with(tmp_path, "w", keyframe_a=", fit: contain, background: white"), tmp_path / "k2")
    black = plan_keys(golden_with(tmp_path, "b", keyframe_a=", fit: contain, background: black"), tmp_path / "k3")
    same = plan_keys(golden_with(tmp_path, "s", keyframe_a=', fit: contain, background: "#FFF"'), tmp_path / "k4")
    assert black == contain and same == white  # one colour, one key, however it is written
    assert white["latent:a"] != contain["latent:a"] and white["latent:b"] == contain["latent:b"] == GOLDEN_KEYS["latent:b"]
    assert white["clip:0"] != contain["clip:0"] and white["clip:1"] == contain["clip:1"]  # b -> b never shows a

    from PIL import Image

    # An image with an alpha channel under `cover`: composited onto the background, so it is in the key.
    plain, white = golden_with(tmp_path, "t0"), golden_with(tmp_path, "t1", keyframe_a=", background: white")
    for story in (plain, white):
        Image.open(story.parent / "a.png").convert("RGBA").save(story.parent / "a.png")
    assert plan_keys(white, tmp_path / "k5")["latent:a"] != plan_keys(plain, tmp_path / "k6")["latent:a"]


def test_latent_inputs_name_the_background_only_when_given():
    common = dict(image_sha256="0" * 64, size=(32, 32), fit="contain", model="m", precision="float32")
    assert "background" not in keys.latent_inputs(**common)
    assert keys.latent_inputs(**common, background="#ffffff")["background"] == "#ffffff"
