"""A plan as a timeline (seqc.outputs.editor_timeline.timeline_plan), without rendering: clips cover the
video's frames in order, keyframe markers sit on segment starts, beat markers follow `first_beat`
(a pickup before beat 0 is bar 0), and a storyboard without a soundtrack has no audio or beats."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from seqc.outputs.editor_timeline import timeline_plan
from seqc.plan import compile_plan
from seqc.spec import load_storyboard
from seqc.store import Cache

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def music(tmp_path) -> Path:
    for name in ("music", "seasons"):
        shutil.copytree(EXAMPLES / name, tmp_path / name)
    return tmp_path / "music" / "storyboard.yaml"


def shape_of(story: Path, tmp_path: Path):
    plan = compile_plan(load_storyboard(story), Cache(tmp_path / "cache"))
    return plan, timeline_plan(plan, tmp_path / "video.mp4")


def test_clips_cover_the_frames_and_beats_follow_the_first_beat(music, tmp_path):
    text = music.read_text().replace("first_beat: 0", "first_beat: 0.7")
    music.write_text(text)
    plan, shape = shape_of(music, tmp_path)
    starts = [c["first_frame"] for c in shape.clips]
    assert starts == sorted(starts) and starts[0] == 0
    assert all(a["first_frame"] + a["frames"] == b["first_frame"] for a, b in zip(shape.clips, shape.clips[1:], strict=False))
    assert sum(c["frames"] for c in shape.clips) == plan.total_frames
    beats = [(m["name"], m["frame"]) for m in shape.markers if m["colour"] == "RED"]
    step = 60 / 126
    assert beats[:3] == [("0.4", round((0.7 - step) * 24)), ("1.1", round(0.7 * 24)), ("1.2", round((0.7 + step) * 24))]
    assert shape.audio is not None and shape.audio["start"] == 0


def test_no_soundtrack_no_audio_and_no_beats(tmp_path):
    shutil.copytree(EXAMPLES / "seasons", tmp_path / "seasons")
    _, shape = shape_of(tmp_path / "seasons" / "storyboard.yaml", tmp_path)
    assert shape.audio is None and {m["colour"] for m in shape.markers} == {"GREEN"}
    assert [m["name"] for m in shape.markers][0] == shape.clips[0]["metadata"]["from"]
