"""Segment lengths on the absolute timeline (seqc/spec/timeline.py, seqc/spec/checks.py): beats,
`until`, `until_beat`, no drift, and the audio section's checks with line:column."""

from __future__ import annotations

import math
import sys
from fractions import Fraction
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "audio"))
from audiokit import click_track, keyframes  # noqa: E402

from seqc.errors import SpecError  # noqa: E402
from seqc.spec import load_storyboard  # noqa: E402
from seqc.spec.timeline import format_time, parse_time  # noqa: E402


@pytest.fixture
def folder(tmp_path) -> Path:
    keyframes(tmp_path)
    click_track(tmp_path, "track.wav", 126, 40.0)
    return tmp_path


def story(folder: Path, segments: str, audio: str = "audio: {path: track.wav, bpm: 126}", fps: float = 24,
          extra: str = "") -> Path:
    path = folder / "s.yaml"
    path.write_text(f"version: 1\noutput: {{size: [32, 32], fps: {fps}}}\n{audio}\n{extra}"
                    f"keyframes:\n  a: {{image: a.png}}\n  b: {{image: b.png}}\nsegments:\n{segments}")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_storyboard(path)
    return [p.format() for p in info.value.problems if p.severity == "error"]


def test_parse_and_format_times():
    assert parse_time("0:19.5") == Fraction(39, 2)
    assert parse_time("1:23.5") == Fraction(167, 2)
    assert parse_time(12) == 12 and parse_time(0.1) == Fraction(1, 10)
    assert parse_time("1:75") is None and parse_time("x") is None and parse_time(True) is None
    assert format_time(83.5) == "1:23.50" and format_time(0) == "0:00.00"


def test_64_beats_at_126_bpm_at_24_fps_never_drift(folder):
    # 60 / 126 s per beat = 11.428... frames at 24 fps: rounding each segment would give 11 and drift
    # by 0.43 frame per beat (27 frames after 64 beats); the absolute timeline lands every boundary on
    # round(T_k x fps).
    path = story(folder, "".join(f"  - {{from: {'ab'[k % 2]}, to: {'ba'[k % 2]}, beats: 1}}\n" for k in range(64)),
                 audio="audio: {path: track.wav, bpm: 126, first_beat: 0.3}")
    s = load_storyboard(path)
    for k, seg in enumerate(s.segments):
        exact = Fraction(k) * Fraction(60, 126)
        assert seg.first_frame == math.floor(exact * 24 + Fraction(1, 2))
        assert seg.start_time == pytest.approx(float(exact))
    end = Fraction(64) * Fraction(60, 126)
    assert s.total_frames == math.floor(end * 24 + Fraction(1, 2)) + 1 == 732
    assert {seg.frames for seg in s.segments} == {11, 12}
    assert s.audio is not None and s.audio.beat_at(s.segments[10].start_time) == pytest.approx(10 - 0.3 * 2.1)


def test_until_until_beat_duration_and_frames_on_one_timeline(folder):
    path = story(folder, """\
  - {from: a, to: b, beats: 8}
  - {from: b, to: a, until: "0:09.5"}
  - {from: a, to: b, until_beat: 24}
  - {from: b, to: a, duration: 0.3}
  - {from: a, to: b, frames: 5}
  - {from: b, to: b, until: 14}
""", audio="audio: {path: track.wav, bpm: 126, first_beat: 0.04}")
    s = load_storyboard(path)
    times = [Fraction(0), Fraction(8 * 60, 126), Fraction(19, 2), Fraction(1, 25) + Fraction(24 * 60, 126)]
    times.append(times[-1] + Fraction(3, 10))
    assert [seg.first_frame for seg in s.segments[:5]] == [math.floor(t * 24 + Fraction(1, 2)) for t in times]
    assert s.segments[4].frames == 5  # an exact count stays exact
    assert s.total_frames == 14 * 24 + 1


def test_storyboards_without_audio_keep_rounding_each_segment(tmp_path):
    # 0.3 s at 24 fps is 7.2 -> 7 frames each, as before the timeline existed (keys stay valid).
    keyframes(tmp_path)
    path = tmp_path / "s.yaml"
    path.write_text("version: 1\noutput: {size: [32, 32], fps: 24}\nkeyframes:\n  a: {image: a.png}\n"
                    "  b: {image: b.png}\nsegments:\n" + "  - {from: a, to: b, duration: 0.3}\n" * 5)
    s = load_storyboard(path)
    assert [seg.frames for seg in s.segments] == [7] * 5 and s.audio is None
    assert [seg.first_frame for seg in s.segments] == [0, 7, 14, 21, 28]


def test_the_same_storyboard_with_audio_lands_on_the_absolute_timeline(folder):
    s = load_storyboard(story(folder, "  - {from: a, to: b, duration: 0.3}\n" * 5, audio="audio: {path: track.wav}"))
    assert [seg.first_frame for seg in s.segments] == [0, 7, 14, 22, 29]  # 7.2, 14.4, 21.6, 28.8


def test_a_draft_keeps_the_times(folder):
    path = story(folder, "  - {from: a, to: b, beats: 4}\n  - {from: b, to: a, until: 5}\n")
    full, draft = load_storyboard(path), load_storyboard(path, draft=True)
    assert draft.output.fps == 12
    assert [s.first_frame for s in draft.segments] == [0, round(Fraction(4 * 60, 126) * 12)]
    assert draft.total_frames == 5 * 12 + 1 and full.total_frames == 5 * 24 + 1


def test_until_that_does_not_move_forward_is_an_error_at_its_value(folder):
    found = problems(story(folder, "  - {from: a, to: b, until: 4}\n  - {from: b, to: a, until: \"0:03.5\"}\n"))
    assert len(found) == 1 and ":9:29: segments[1].until: until 0:03.5 does not move forward" in found[0]
    assert "starts at 0:04.00" in found[0]


def test_beats_need_a_bpm(folder):
    found = problems(story(folder, "  - {from: a, to: b, beats: 4}\n  - {from: b, to: a, until_beat: 9}\n",
                           audio="audio: {path: track.wav}"))
    assert [f.split(": ", 2)[1] for f in found] == ["segments[0].beats", "segments[1].until_beat"]
    assert all("needs the tempo: `audio.bpm` is not set" in f for f in found)
    assert ":8:29:" in found[0]


def test_one_length_per_segment_and_pacing_audio_needs_a_soundtrack(folder):
    found = problems(story(folder, "  - {from: a, to: b, beats: 4, until: 3}\n"))
    assert len(found) == 1 and "segments[0].until: give one length: `beats` or `until`, not both" in found[0]
    keyless = story(folder, "  - {from: a, to: b, duration: 1, pacing: audio}\n", audio="")
    found = problems(keyless)
    assert len(found) == 1 and "segments[0].pacing: `pacing: audio` needs a soundtrack" in found[0]


def test_less_than_a_frame_between_boundaries_is_an_error(folder):
    found = problems(story(folder, "  - {from: a, to: b, until: 1}\n  - {from: b, to: a, until: 1.01}\n"))
    assert len(found) == 1 and "less than one frame" in found[0] and "segments[1].until" in found[0]


@pytest.mark.parametrize("fps", ["2.2250738585072014e-308", "1.0e-10"])
def test_a_timeline_past_any_float_is_an_error_not_a_crash(tmp_path, fps):
    """A tiny fps makes `frames: N` end beyond what a float holds (found by the schema fuzz): one
    problem at the value, never an OverflowError."""
    keyframes(tmp_path)
    found = problems(story(tmp_path, "  - {from: a, to: b, frames: 687}\n  - {from: b, to: a, until: 5.0}\n",
                           audio="", fps=fps))
    assert ":8:30: segments[0].frames: frames 687 ends the segment past seqc's limit for the timeline" in found[0]
    assert all("Overflow" not in f for f in found)


def test_a_timeline_longer_than_the_audio_is_a_warning(folder):
    s = load_storyboard(story(folder, "  - {from: a, to: b, until: 45}\n",
                              audio="audio: {path: track.wav, start: 2}"))
    (warning,) = [w for w in s.warnings if w.path == "audio"]
    assert "the video is 0:45.04 long but the audio has 0:38.00 after `start`: the rest is silence" in warning.message
    assert (warning.line, warning.column) == (3, 8)


def test_start_past_the_end_and_missing_audio_are_errors(folder):
    found = problems(story(folder, "  - {from: a, to: b, until: 4}\n", audio="audio: {path: track.wav, start: 50}"))
    assert len(found) == 1 and "audio.start: start 50 s is past the end of the audio (40.00 s)" in found[0]
    found = problems(story(folder, "  - {from: a, to: b, beats: 4}\n", audio="audio: {path: gone.mp3, bpm: 120}"))
    assert len(found) == 1 and ":3:15: audio.path: audio file not found" in found[0]


def test_schema_refuses_a_malformed_until_and_the_audio_section_is_checked_anyway(folder):
    found = problems(story(folder, "  - {from: a, to: b, until: \"1:2:3\"}\n", audio="audio: {path: gone.wav}"))
    assert any("segments[0].until" in f for f in found)
    assert any("audio.path: audio file not found" in f for f in found)


def test_smooth_without_audio_pacing_is_a_warning(folder):
    s = load_storyboard(story(folder, "  - {from: a, to: b, beats: 4, smooth: 0.5}\n  - {from: b, to: a, beats: 4, "
                              "pacing: audio, smooth: 0.5}\n"))
    assert [(w.path, w.message) for w in s.warnings] == [
        ("segments[0].smooth", "`smooth` has no effect without `pacing: audio`")]
    assert s.segments[0].smooth is None and s.segments[1].smooth == 0.5


def test_the_soundtrack_check_trusts_the_memo_and_the_session_it_is_handed(folder, monkeypatch):
    """The cache's file memo (`audio_memo`) and the session's audio cache (`audio`) are parameters: a
    pass either holds is not decoded again; without them the file is decoded."""
    from seqc.audio import pcm
    from seqc.audio.memo import AudioCache

    class Memo:
        def audio_checked(self, path, st, rules):
            return 40 * pcm.ANALYSIS_RATE

    path = story(folder, "  - {from: a, to: b, beats: 4}\n")
    session = AudioCache()
    assert load_storyboard(path, audio=session).audio.seconds == 40.0  # decoded: the session keeps the pass

    def no_decode(*args, **kwargs):
        raise AssertionError("decoded again")

    monkeypatch.setattr(pcm, "run", no_decode)
    assert load_storyboard(path, audio_memo=Memo()).audio.seconds == 40.0
    assert load_storyboard(path, audio=session).audio.seconds == 40.0
    with pytest.raises(AssertionError, match="decoded again"):
        load_storyboard(path)  # nothing kept: a fresh check
