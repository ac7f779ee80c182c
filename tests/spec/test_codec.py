"""`output.codec` in the storyboard (seqc/spec/checks.py, seqc/spec/paths.py codec_problem, the
schema's codec rules): the default path follows the codec, a draft is H.264, a container that
cannot hold the codec and a DNxHR frame under its minimum are refused at the field, in seqc's words,
whether the schema or seqc's own check finds them first."""

from __future__ import annotations

from pathlib import Path

import pytest
from speckit import load, one, refuse, storyboard, write

from seqc.spec import load_storyboard
from seqc.spec.paths import codec_problem

SEGMENT = "  - {from: a, to: b, frames: 3}\n"


def test_h264_is_the_default_and_a_mezzanine_codec_defaults_to_a_mov(story_dir):
    assert load(story_dir, storyboard(SEGMENT)).output.codec == "h264"
    board = load(story_dir, storyboard(SEGMENT, output="{size: [64, 64], codec: prores}"))
    assert (board.output.codec, board.output.path) == ("prores", story_dir / "out" / "s.mov")


def test_a_draft_of_a_master_is_h264_in_the_container_asked_for(story_dir):
    path = write(story_dir, storyboard(SEGMENT, output="{size: [512, 256], codec: dnxhr, path: out/m.mkv}"))
    board = load_storyboard(path, draft=True)
    assert (board.output.codec, board.output.path.name, board.output.size) == ("h264", "m.draft.mkv", (256, 128))


@pytest.mark.parametrize(("codec", "path", "problem"), [
    ("prores", "x.mp4", ("path", "codec prores does not go into .mp4 (write .mov or .mkv, or .gif/.webm re-encoded)")),
    ("ffv1", "x.MP4", ("path", "codec ffv1 does not go into .mp4 (write .mov or .mkv, or .gif/.webm re-encoded)")),
    ("prores4444", "x.mkv", None), ("dnxhr", "x.gif", None), ("h264", "x.mp4", None), ("h264", "x.mov", None),
])
def test_which_containers_take_which_codec(codec, path, problem):
    assert codec_problem(codec, Path(path), (256, 256)) == problem


def test_dnxhr_needs_256x120():
    assert codec_problem("dnxhr", Path("x.mov"), (256, 120)) is None
    assert codec_problem("dnxhr", Path("x.mov"), (248, 480)) == (
        "size", "size 248x480 is under dnxhr's smallest frame, 256x120")


@pytest.mark.parametrize(("output", "where", "words"), [
    ("{path: out/v.mp4, size: [64, 64], codec: prores}", "output.path", "codec prores does not go into .mp4"),
    ("{size: [128, 64], codec: dnxhr}", "output.size", "under dnxhr's smallest frame, 256x120"),
])
def test_the_schema_and_seqc_refuse_in_the_same_words(story_dir, output, where, words):
    problem = one(story_dir, storyboard(SEGMENT, output=output))
    assert problem.path == where and words in problem.message and problem.line == 2


def test_an_unknown_codec_is_refused_with_the_codecs_named(story_dir):
    (problem,) = refuse(story_dir, storyboard(SEGMENT, output="{size: [64, 64], codec: hevc}"))
    assert problem.path == "output.codec" and "prores" in (problem.message + problem.hint)
