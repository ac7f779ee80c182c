"""The up-to-date stamp (seqc/outputs/stamp.py): the same `seqc render` right after a finished one
answers from stats alone and writes nothing, and every change a render depends on is seen: the
storyboard, a keyframe image, the model folder, a cache entry, the output, -o, the environment."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from renderkit import five_keyframe_storyboard, make_tiny_vae, write_image

from seqc.outputs import stamp
from seqc.store.files import json_bytes

# Runs one `seqc render` in a fresh interpreter and says which heavy modules it loaded.
PROBE = """
import json, sys
from seqc.cli.main import main
code = main(sys.argv[1:])
loaded = sorted(m for m in ("numpy", "torch", "jsonschema", "seqc.spec", "seqc.plan") if m in sys.modules)
print(json.dumps({"code": code, "loaded": loaded}), file=sys.stderr)
"""


def render(story: Path, cache: Path, *extra: str, env: dict | None = None) -> tuple[dict, list[str]]:
    """`seqc render --json` in a subprocess: its result line and the heavy modules it imported."""
    proc = subprocess.run([sys.executable, "-c", PROBE, "render", str(story), "--cache-dir", str(cache), "--json",
                           "--quiet", "--device", "cpu", *extra], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stderr
    probe = json.loads(proc.stderr.strip().splitlines()[-1])
    return json.loads(proc.stdout.strip().splitlines()[-1]), probe["loaded"]


def snapshot(*folders: Path) -> dict[str, tuple]:
    """Every file under the folders: size, mtime and sha256."""
    files = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                st = path.stat()
                files[str(path)] = (st.st_size, st.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
    return files


def without_seconds(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "seconds"}


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return make_tiny_vae(tmp_path_factory.mktemp("model") / "vae")


@pytest.fixture
def project(tmp_path, model):
    """A rendered project with its own copy of the model: (storyboard, cache, model folder, full result)."""
    own_model = tmp_path / "model"
    shutil.copytree(model, own_model)
    story = five_keyframe_storyboard(tmp_path, own_model, size=32)
    cache = tmp_path / "cache"
    result, loaded = render(story, cache)
    assert result["rendered"] == 4 and "torch" in loaded
    return story, cache, own_model, result


@pytest.mark.slow
def test_the_same_render_again_is_answered_by_the_stamp_and_writes_nothing(project):
    story, cache, _, full = project
    before = snapshot(cache, story.parent / "out")
    again, loaded = render(story, cache)
    assert loaded == []  # no numpy, no schema, no storyboard parse, no planner
    assert without_seconds(again) == {**without_seconds(full), "rendered": 0, "cached": 4,
                                      "rendered_final_frame": False}
    assert snapshot(cache, story.parent / "out") == before
    # What the full path says about the same state is what the stamp said.
    for path in (cache / "runs").glob("*.stamp.json"):
        path.unlink()
    checked, loaded = render(story, cache)
    assert "seqc.plan" in loaded and list(checked) == list(again)
    assert without_seconds(checked) == without_seconds(again)


def _edit_storyboard(story: Path, cache: Path, model: Path) -> int:
    story.write_text(story.read_text().replace("frames: 10", "frames: 11"))
    return 1


def _same_text_rewritten(story: Path, cache: Path, model: Path) -> int:
    story.write_text(story.read_text())  # a save with no change: checked in full, nothing renders
    return 0


def _new_picture(story: Path, cache: Path, model: Path) -> int:
    write_image(story.parent / "kf" / "k2.png", seed=99)
    return 2


def _model_file_added(story: Path, cache: Path, model: Path) -> int:
    (model / "merges.txt").write_text("a b\n")  # a tokenizer file: part of the model's fingerprint
    return 4


def _clip_deleted(story: Path, cache: Path, model: Path) -> int:
    next(cache.glob("clips/*/*.mp4")).unlink()
    return -1  # the deleted clip may be the final frame's, which is not a segment


def _output_deleted(story: Path, cache: Path, model: Path) -> int:
    (story.parent / "out" / "video.mp4").unlink()
    return 0


@pytest.mark.slow
@pytest.mark.parametrize("change", [_edit_storyboard, _same_text_rewritten, _new_picture, _model_file_added,
                                    _clip_deleted, _output_deleted], ids=lambda f: f.__name__.strip("_"))
def test_every_change_is_seen(project, change):
    story, cache, model, full = project
    expected = change(story, cache, model)
    result, loaded = render(story, cache)
    assert "seqc.plan" in loaded  # the full path ran
    if expected >= 0:
        assert result["rendered"] == expected
    assert (story.parent / "out" / "video.mp4").is_file()
    # That render stamped what it did: the next one is a hit again.
    again, loaded = render(story, cache)
    assert loaded == [] and again["rendered"] == 0


@pytest.mark.slow
def test_another_output_or_setting_is_another_stamp(project, tmp_path):
    story, cache, _, _ = project
    other = tmp_path / "elsewhere.mp4"
    result, loaded = render(story, cache, "-o", str(other))
    assert "seqc.plan" in loaded and result["rendered"] == 0 and other.is_file()
    assert render(story, cache, "-o", str(other))[1] == []
    assert render(story, cache)[1] == []  # the storyboard's own output keeps its stamp
    assert "seqc.plan" in render(story, cache, env={"SEQC_SOMETHING": "1"})[1]
    assert "seqc.plan" in render(story, cache, "--draft")[1]


@pytest.mark.slow
def test_frames_and_no_cache_are_never_answered_by_a_stamp(project, tmp_path):
    story, cache, _, _ = project
    assert "seqc.plan" in render(story, cache, "--frames", str(tmp_path / "frames"))[1]
    assert "seqc.plan" in render(story, cache, "--no-cache")[1]


# -- the stamp file itself (no render) -------------------------------------------------------


RESULT = [["output", "/v.mp4"], ["frames", 3], ["segments", 1], ["rendered", 0], ["cached", 1],
          ["rendered_final_frame", False]]


def _stamp_for(tmp_path: Path, files: dict, digests: dict) -> Path:
    path = tmp_path / "cache" / "runs" / "x.stamp.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(json_bytes({"version": stamp.STAMP_VERSION, "environment": stamp.environment(),
                                 "files": files, "digests": digests, "links": {}, "result": RESULT,
                                 "warnings": []}))
    return path


def test_a_racy_file_is_compared_by_its_bytes(tmp_path):
    """A file changed just before it was read is stamped with its sha256: same signature but other
    bytes (a rewrite within one mtime tick) is not a hit."""
    story = tmp_path / "storyboard.yaml"
    story.write_text("version: 1\n")
    sig = stamp.signature(str(story))
    right = hashlib.sha256(b"version: 1\n").hexdigest()
    assert stamp.check(_stamp_for(tmp_path / "a", {str(story): sig}, {str(story): right})) == (dict(RESULT), [])
    assert stamp.check(_stamp_for(tmp_path / "b", {str(story): sig}, {str(story): "0" * 64})) is None


def test_inputs_that_changed_during_the_render_or_just_before_it(tmp_path):
    old, new = tmp_path / "old.png", tmp_path / "new.png"
    old.write_bytes(b"old")
    long_ago = time.time() - 60
    os.utime(old, (long_ago, long_ago))
    new.write_bytes(b"new")
    watch = stamp.InputWatch()
    watch.add([old, new])
    racy = watch.racy
    assert racy == {str(old), str(new)}  # an old mtime is not enough: utime itself refreshed old's ctime
    files, digests = watch.settled({str(old): "0" * 64})  # the render's digest wins; others are hashed now
    assert set(files) == {str(old), str(new)}
    assert digests == {str(old): "0" * 64, str(new): hashlib.sha256(b"new").hexdigest()}
    new.write_bytes(b"newer")  # changed while the render ran: no stamp
    assert watch.settled({str(p): "x" for p in (old, new)}) is None


def test_a_settled_file_is_stamped_by_its_signature_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(stamp, "RACY_SECONDS", 0.0)  # as if the file had been written long ago
    image = tmp_path / "k.png"
    image.write_bytes(b"pixels")
    time.sleep(0.01)
    watch = stamp.InputWatch()
    watch.add([image])
    assert watch.racy == set() and watch.settled({}) == ({str(image): stamp.signature(str(image))}, {})


def test_a_missing_input_is_part_of_the_stamp(tmp_path):
    watch = stamp.InputWatch()
    watch.add([tmp_path / "later.png"])
    files, digests = watch.settled({})
    assert files == {str(tmp_path / "later.png"): None} and digests == {}
    (tmp_path / "later.png").write_bytes(b"here now")
    assert watch.settled({}) is None


@pytest.mark.parametrize("damage", ["not json", "[]", '{"version": 999}', "missing",
                                    '{"version": 1, "files": {}, "digests": {}, "links": {}, "result": [["frames", 3]], '
                                    '"warnings": []}'])
def test_an_unreadable_stamp_is_a_miss(tmp_path, damage):
    path = tmp_path / "s.stamp.json"
    if damage != "missing":
        path.write_text(damage)
    assert stamp.check(path) is None


def test_a_stamp_of_other_code_or_settings_is_a_miss(tmp_path, monkeypatch):
    path = _stamp_for(tmp_path, {}, {})
    assert stamp.check(path) == (dict(RESULT), [])
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert stamp.check(path) is None


def test_each_command_has_its_own_stamp(tmp_path):
    story = tmp_path / "s.yaml"
    base = stamp.stamp_path(tmp_path / "cache", story, False, None, "float32")
    others = {stamp.stamp_path(tmp_path / "cache", story, True, None, "float32").name,
              stamp.stamp_path(tmp_path / "cache", story, False, tmp_path / "o.mp4", "float32").name,
              stamp.stamp_path(tmp_path / "cache", story, False, None, "float16").name,
              stamp.stamp_path(tmp_path / "other", story, False, None, "float32").name}
    assert base.parent == tmp_path / "cache" / "runs" and base.name.endswith(".stamp.json")
    assert base.name not in others and len(others) == 4


@pytest.mark.slow
def test_a_retargeted_model_link_is_a_change(tmp_path, model):
    other = make_tiny_vae(tmp_path / "other", seed=1)
    (tmp_path / "current").symlink_to(model, target_is_directory=True)
    story = five_keyframe_storyboard(tmp_path, Path("./current"), size=32)
    cache = tmp_path / "cache"
    assert render(story, cache)[0]["rendered"] == 4
    (tmp_path / "current").unlink()
    (tmp_path / "current").symlink_to(other, target_is_directory=True)
    result, loaded = render(story, cache)
    assert "seqc.plan" in loaded and result["rendered"] == 4  # another model: every clip again
