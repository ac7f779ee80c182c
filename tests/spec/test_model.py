"""The compiled storyboard (seqc/spec/model.py): its fields with the defaults resolved, canonical
easing names, the frame rule (`frames_for`, halves up on the decimal product), and each segment's
frame count and place in the timeline."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from speckit import GOOD, load, storyboard

from seqc.motion.curves import parse_easing
from seqc.spec import frames_for
from seqc.spec import model as m

# ---------------------------------------------------------------------------------------------
# The Storyboard


def test_fields_and_defaults_resolved(story_dir):
    board = load(story_dir, GOOD)
    assert board.path == story_dir / "s.yaml"
    assert board.base_dir == story_dir
    assert board.version == 1 and type(board.version) is int
    assert board.output == m.Output(story_dir / "out" / "video.mp4", (64, 48), 12.0)
    assert board.model == "./vae"
    assert board.model_ref.kind == "autoencoder" and board.model_ref.source == "folder"
    assert not board.model_ref.can_generate
    assert list(board.keyframes) == ["a", "b", "c"]
    a, b = board.keyframes["a"], board.keyframes["b"]
    assert a.image == story_dir / "a.png" and a.prompt is None and a.seed is None
    assert (a.line, a.column) == (6, 3)  # the keyframe's name
    assert a.fit == "contain" and b.fit == "stretch"  # default, then its own
    s = board.segments
    assert [(x.source, x.target) for x in s] == [("a", "b"), ("b", "c"), ("c", "c"), ("c", "a")]
    assert [x.index for x in s] == [0, 1, 2, 3]
    assert [(x.line, x.column) for x in s] == [(10, 5), (11, 5), (12, 5), (13, 5)]
    assert [x.method for x in s] == ["lerp", "lerp", "cut", "slerp"]
    assert board.warnings == ()


def test_easing_names_are_canonical(story_dir):
    board = load(story_dir, GOOD)
    assert [x.easing for x in board.segments] == [
        "ease-out-cubic", "cubic-bezier(0.1, 0.7, 1, 0.1)", "ease-out-cubic", "steps(4, jump-start)"]
    for segment in board.segments:
        assert parse_easing(segment.easing).name == segment.easing  # a fixed point


def test_built_in_defaults(story_dir):
    board = load(story_dir, """\
        version: 1
        model: ./vae
        keyframes: {a: {image: a.png}, b: {image: b.png}}
        segments: [{from: a, to: b}]
        """)
    assert board.output == m.Output(story_dir / "out" / "s.mp4", m.DEFAULT_SIZE, m.DEFAULT_FPS)
    (segment,) = board.segments
    assert segment.frames == round(m.DEFAULT_DURATION * m.DEFAULT_FPS) == 48
    assert (segment.easing, segment.method) == (m.DEFAULT_EASING, m.DEFAULT_METHOD)
    assert board.keyframes["a"].fit == m.DEFAULT_FIT
    assert board.total_frames == 49


def test_defaults_frames(story_dir):
    board = load(story_dir, storyboard("  - {from: a, to: b}\n  - {from: b, to: a, duration: 0.5}\n",
                                       extra="defaults: {frames: 7}\n"))
    assert [x.frames for x in board.segments] == [7, 12]


# ---------------------------------------------------------------------------------------------
# The frame rule


@pytest.mark.parametrize("duration, fps, frames", [
    (2, 24, 48),
    (1.5, 12, 18),
    (0.0625, 24, 2),  # 1.5 -> 2: halves round up
    (2.5, 3, 8),  # 7.5 -> 8
    (8.7, 25, 218),  # 217.5 -> 218, though 8.7 * 25 == 217.49999999999997 in floats
    (5.1, 25, 128),  # 127.5 -> 128
    (0.58, 25, 15),  # 14.5 -> 15
    (8.2, 7.5, 62),  # 61.5 -> 62
    (1 / 3, 24, 8),
    (0.02, 24, 0),  # 0.48 -> 0: less than a frame (an error in a storyboard)
    (86400, 240, 20_736_000),
])
def test_frames_for(duration, fps, frames):
    assert frames_for(duration, fps) == frames


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10**7), st.integers(0, 4), st.sampled_from([24, 25, 30, 12, 7.5, 23.976, 29.97, 60, 240]))
def test_frames_for_is_round_half_up_of_the_decimal_product(digits, places, fps):
    duration = digits / 10**places  # the float a user gets by writing that decimal
    exact = Fraction(digits, 10**places) * Fraction(str(fps))
    assert frames_for(duration, fps) == math.floor(exact + Fraction(1, 2))


def test_segments_frames_and_offsets(story_dir):
    board = load(story_dir, GOOD)
    frames = [x.frames for x in board.segments]
    assert frames == [24, 18, 5, 24]  # 2 s, 1.5 s at 12 fps; exact 5; default 2 s
    assert [x.first_frame for x in board.segments] == [0, 24, 42, 47]
    assert [x.include_end for x in board.segments] == [False, False, False, True]
    assert [x.rendered_frames for x in board.segments] == [24, 18, 5, 25]
    assert board.total_frames == sum(frames) + 1 == 72
    assert board.duration == pytest.approx(72 / 12)


def test_one_segment_hold(story_dir):
    board = load(story_dir, storyboard("  - {from: a, to: a, frames: 1}\n",
                                       keyframes="  a: {image: a.png}\n"))
    (segment,) = board.segments
    assert (segment.frames, segment.rendered_frames, board.total_frames) == (1, 2, 2)
