"""Clip keys with a soundtrack (seqc/plan/plan.py): `pacing: audio` segments are keyed on exactly the
samples under them, every other clip on nothing of the audio."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "audio"))
from audiokit import clicks, storyboard, write_wav  # noqa: E402

from seqc.plan import compile_plan  # noqa: E402
from seqc.spec import load_storyboard  # noqa: E402
from seqc.store import Cache  # noqa: E402

SEGMENTS = """\
segments:
  - {from: a, to: b, beats: 4}
  - {from: b, to: a, beats: 4, pacing: audio}
  - {from: a, to: b, beats: 4, pacing: audio, smooth: 0.5}
  - {from: b, to: a, beats: 4}
"""


@pytest.fixture
def folder(tmp_path) -> Path:
    write_wav(tmp_path / "track.wav", clicks(120, 30.0, first=0.1))
    return tmp_path


def keys(folder: Path, audio: str, segments: str = SEGMENTS) -> list[str]:
    plan = compile_plan(load_storyboard(storyboard(folder, segments, audio)), Cache(folder / "cache"))
    return [job.key for job in plan.clip_jobs]


def test_moving_start_rekeys_only_the_audio_paced_segments(folder):
    before = keys(folder, "audio: {path: track.wav, start: 1.0, bpm: 120}")
    after = keys(folder, "audio: {path: track.wav, start: 1.3, bpm: 120}")
    assert [b == a for b, a in zip(before, after, strict=True)] == [True, False, False, True, True]


def test_a_start_moved_by_whole_beats_of_a_steady_track_rekeys_nothing(folder):
    # The audio-paced windows hear exactly the same samples (the clicks repeat every 0.5 s).
    assert keys(folder, "audio: {path: track.wav, start: 1.0, bpm: 120}") == \
        keys(folder, "audio: {path: track.wav, start: 2.0, bpm: 120}")


def test_without_audio_pacing_no_clip_key_holds_the_audio(folder):
    plain = SEGMENTS.replace(", pacing: audio, smooth: 0.5", "").replace(", pacing: audio", "")
    first = keys(folder, "audio: {path: track.wav, start: 1.0, bpm: 120}", plain)
    write_wav(folder / "track.wav", np.zeros(30 * 44100))
    assert keys(folder, "audio: {path: track.wav, start: 3.7, bpm: 120, mux: false}", plain) == first


def test_editing_the_track_rekeys_only_the_segments_that_hear_the_edit(folder):
    audio = "audio: {path: track.wav, start: 1.0, bpm: 120}"
    before = keys(folder, audio)
    samples = clicks(120, 30.0, first=0.1)
    at = int((1.0 + 5.25) * 44100)  # video time 5.25 s: inside segment 2 (4 beats of 0.5 s each: 4 s .. 6 s)
    samples[at:at + 200] += 0.5
    write_wav(folder / "track.wav", samples)
    after = keys(folder, audio)
    assert [b == a for b, a in zip(before, after, strict=True)] == [True, True, False, True, True]


def test_the_pacing_inputs_name_the_window_the_envelope_and_smooth(folder):
    plan = compile_plan(load_storyboard(storyboard(folder, SEGMENTS, "audio: {path: track.wav, bpm: 120}")),
                        Cache(folder / "cache"))
    pacing = plan.jobs[2].inputs["pacing"]
    assert pacing["mode"] == "audio" and pacing["smooth"] == 0.5 and pacing["samples"] == 2 * 22050
    assert pacing["envelope"]["kind"] == "band-flux" and len(pacing["window"]) == 64
    assert plan.jobs[1].inputs["pacing"]["smooth"] == 0.3  # the default
    assert "pacing" not in plan.jobs[0].inputs
    assert plan.audio_sha256 is not None and len(plan.audio_sha256) == 64


def test_the_plan_reads_the_samples_the_session_decoded_for_the_check(folder, monkeypatch):
    """`audio`, the session's decoded soundtrack, goes from the check through to the plan's windows:
    one decode for both, and the same keys as a plan that decodes on its own."""
    from seqc.audio import pcm
    from seqc.audio.memo import AudioCache

    audio = "audio: {path: track.wav, start: 1.0, bpm: 120}"
    alone = keys(folder, audio)
    session = AudioCache()
    story = load_storyboard(storyboard(folder, SEGMENTS, audio), audio=session)

    def no_decode(*args, **kwargs):
        raise AssertionError("decoded again")

    monkeypatch.setattr(pcm, "run", no_decode)
    plan = compile_plan(story, Cache(folder / "cache"), audio=session)
    assert [job.key for job in plan.clip_jobs] == alone


def test_a_plan_without_a_session_decodes_the_soundtrack_once_for_all_its_segments(folder, monkeypatch):
    """`compile_plan(audio=None)` (seqc diff, a re-plan) still decodes once per plan, not once per
    `pacing: audio` segment."""
    from seqc.audio import pcm

    audio = "audio: {path: track.wav, start: 1.0, bpm: 120}"
    story = load_storyboard(storyboard(folder, SEGMENTS + "  - {from: a, to: b, beats: 4, pacing: audio}\n", audio))
    decodes: list[Path] = []
    original = pcm.pcm

    def counted(path: Path) -> bytes:
        decodes.append(path)
        return original(path)

    monkeypatch.setattr(pcm, "pcm", counted)
    plan = compile_plan(story, Cache(folder / "cache"))
    assert sum(job.window is not None for job in plan.clip_jobs) == 3 and len(decodes) == 1
