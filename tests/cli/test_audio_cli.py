"""Soundtracks end to end, as users run them: `seqc audio`, `seqc plan`, `seqc render` in a subprocess
on real files, on the built-in model at 32x32."""

from __future__ import annotations

import json
import math
import os
import struct
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from renderkit import run_seqc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "audio"))
from audiokit import (  # noqa: E402
    click_times,
    click_track,
    convert,
    decoded_audio,
    drums,
    hits,
    storyboard,
    write_wav,
)

from seqc.media.probe import count_frames  # noqa: E402

BPM, FPS = 126, 24


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def render(story: Path, cache: Path, *extra: str) -> dict:
    proc = run_seqc("render", str(story), "--cache-dir", str(cache), "--json", *extra)
    return json.loads(proc.stdout.strip().splitlines()[-1])


# seqc audio


def test_seqc_audio_suggests_what_to_paste(tmp_path):
    track = click_track(tmp_path, "track.mp3", BPM, 20.0, first=0.37)
    proc = run_seqc("audio", str(track), "--fps", "24", "--no-librosa")
    assert "tempo:      126 bpm (a beat every 0.476 s = 11.43 frames at 24 fps)" in proc.stdout
    assert "first beat: 0.36" in proc.stdout or "first beat: 0.37" in proc.stdout
    assert f"audio: {{path: {track}, start: 0, bpm: 126, first_beat: 0.3" in proc.stdout
    data = json.loads(run_seqc("audio", str(track), "--start", "5", "--json", "--no-librosa").stdout)
    assert data["bpm"] == 126 and data["start"] == 5
    assert data["first_beat"] == pytest.approx((0.37 - 5) % (60 / BPM), abs=0.015)  # after `start`
    assert len(data["onsets"]) >= 38


def test_seqc_audio_finds_the_kick_in_ogg_vorbis_and_says_when_unsure(tmp_path):
    """Issue 24 item 8: a kick every beat from 0.5 s and a loud hi-hat between, in Ogg Vorbis (as sox
    writes it): the first beat is the kick's. Equal onsets on the beat and between: uncertain, both named."""
    import numpy as np

    track = convert(write_wav(tmp_path / "drums.wav", drums(100, 12.0, first=0.5, hat=1.0)), tmp_path / "drums.ogg")
    proc = run_seqc("audio", str(track), "--no-librosa")
    assert "first beat: 0.48" in proc.stdout or "first beat: 0.49" in proc.stdout or "first beat: 0.50" in proc.stdout
    assert "uncertain" not in proc.stdout and "check by ear, then paste" in proc.stdout
    data = json.loads(run_seqc("audio", str(track), "--json", "--no-librosa").stdout)
    assert data["first_beat"] == pytest.approx(0.5, abs=0.03) and data["first_beat_uncertain"] is False
    assert data["first_beat_doubt"] is None and data["other_first_beat"] is None

    rng = np.random.default_rng(3)
    even = write_wav(tmp_path / "even.wav", hits(12.0, [(0.5 + k * 0.3, rng.uniform(-0.5, 0.5, 2205))
                                                         for k in range(38)]))
    proc = run_seqc("audio", str(even), "--no-librosa", "--start", "1")
    line = next(x for x in proc.stdout.splitlines() if x.startswith("first beat: "))
    assert "uncertain: the onsets between the beats are about as strong" in line, line
    pasted = [x for x in proc.stdout.splitlines() if x.startswith("  audio: ")]
    assert len(pasted) == 2 and "check both by ear, then paste one" in proc.stdout  # each phase, to try
    data = json.loads(run_seqc("audio", str(even), "--json", "--no-librosa", "--start", "1").stdout)
    assert data["first_beat_uncertain"] is True and "about as strong" in data["first_beat_doubt"]
    assert sorted([data["first_beat_in_file"], data["other_first_beat_in_file"]]) == pytest.approx([0.5, 0.8], abs=0.03)
    # As video times after `start` (1 s): the beats at 1.1 and 1.4 s into the file.
    assert sorted([data["first_beat"], data["other_first_beat"]]) == pytest.approx([0.1, 0.4], abs=0.03)
    assert {f"first_beat: {data['first_beat']:g}}}" in x for x in pasted} == {True, False}


def _bad_audio(folder: Path) -> dict[str, Path]:
    good = click_track(folder, "good.mp3", BPM, 6.0)
    made = {"truncated": folder / "cut.mp3", "not audio": folder / "notes.wav", "a directory": folder / "d.wav",
            "a FIFO": folder / "pipe.mp3", "a huge header": folder / "huge.wav"}
    made["truncated"].write_bytes(good.read_bytes()[:2000])
    made["not audio"].write_text("not a sound\n" * 40)
    made["a directory"].mkdir()
    os.mkfifo(made["a FIFO"])
    made["a huge header"].write_bytes(b"RIFF" + struct.pack("<I", 36) + b"WAVEfmt " + struct.pack(
        "<IHHIIHH", 16, 1, 1, 44100, 88200, 2, 16) + b"data" + struct.pack("<I", 0x7FFFFFF0) + bytes(512))
    return made


def test_bad_audio_files_exit_2_with_one_line_and_write_nothing(tmp_path):
    for what, path in _bad_audio(tmp_path).items():
        story = storyboard(tmp_path, "segments:\n  - {from: a, to: b, beats: 4}\n",
                           f"audio: {{path: {path.name}, bpm: 126}}")
        cache = tmp_path / "cache"
        proc = run_seqc("render", str(story), "--cache-dir", str(cache), check=False)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2, what
        assert len(lines) == 1 and ":3:15: audio.path: " in lines[0] and "Traceback" not in proc.stderr, what
        assert not (tmp_path / "out").exists(), what
        assert not [f for f in files_under(cache) if f.startswith(("clips", "latents"))], what
        proc = run_seqc("audio", str(path), check=False)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, what
        assert proc.stderr.startswith("seqc: error: "), what


# seqc plan


def test_plan_shows_each_segments_start_time_and_beat(tmp_path):
    click_track(tmp_path, "track.wav", BPM, 30.0)
    story = storyboard(tmp_path, "segments:\n  - {from: a, to: b, beats: 8}\n  - {from: b, to: a, until: \"0:19.5\", "
                       "pacing: audio}\n  - {from: a, to: b, beats: 4, easing: ease-out}\n",
                       "audio: {path: track.wav, start: 2.5, bpm: 126, first_beat: 0.04}")
    cache = tmp_path / "cache"
    table = run_seqc("plan", str(story), "--cache-dir", str(cache)).stdout
    header = next(line for line in table.splitlines() if "from -> to" in line)
    assert [w for w in header.replace("┃", " ").split() if w in ("start", "beat")] == ["start", "beat"]
    rows = [line for line in table.splitlines() if line.startswith("│")]
    assert "0:00.00" in rows[0] and "-0.08" in rows[0]
    assert "0:03.81" in rows[1] and "7.92" in rows[1] and "0:19.50" in rows[2] and "40.87" in rows[2]
    data = json.loads(run_seqc("plan", str(story), "--cache-dir", str(cache), "--json").stdout)
    first = [s["start_frame"] for s in data["segments"]]
    assert first == [0, round(8 * 60 / 126 * 24), 468] and first == [s["first_frame"] for s in data["segments"]]
    assert [s["start_seconds"] for s in data["segments"]] == [0.0, round(8 * 60 / 126, 6), 19.5]
    assert data["segments"][1]["pacing"] == "audio" and "pacing" not in data["segments"][0]
    assert data["final_frame"]["start_frame"] == data["total_frames"] - 1


# the timeline, the mux


@pytest.mark.slow
def test_64_beats_render_without_drift_and_the_clicks_land_on_the_boundaries(tmp_path):
    # 126 bpm at 24 fps: 11.43 frames per beat. One segment per beat, a click on every beat.
    start = 1.0
    click_track(tmp_path, "track.m4a", BPM, 40.0, first=start)
    body = "segments:\n" + "".join(f"  - {{from: {'ab'[k % 2]}, to: {'ba'[k % 2]}, beats: 1, easing: linear}}\n"
                                   for k in range(64))
    story = storyboard(tmp_path, body, f"audio: {{path: track.m4a, start: {start}, bpm: {BPM}}}")
    cache = tmp_path / "cache"
    plan = json.loads(run_seqc("plan", str(story), "--cache-dir", str(cache), "--json").stdout)
    boundaries = [math.floor(Fraction(k * 60, BPM) * FPS + Fraction(1, 2)) for k in range(65)]
    assert [s["start_frame"] for s in plan["segments"]] == boundaries[:64]
    assert [s["start_seconds"] for s in plan["segments"]] == [round(k * 60 / BPM, 6) for k in range(64)]
    assert [s["start_beat"] for s in plan["segments"]] == list(range(64))
    assert plan["total_frames"] == boundaries[64] + 1 == 732
    result = render(story, cache)
    video = tmp_path / "out" / "s.mp4"
    assert result["frames"] == 732 and count_frames(video) == 732
    samples = decoded_audio(video)
    assert abs(len(samples) / 48000 - 732 / FPS) <= 1024 / 48000
    clicks = click_times(samples)
    assert len(clicks) == 65  # every boundary, the last one (beat 64, the final frame) included
    error = [abs(c - f / FPS) for c, f in zip(clicks, boundaries, strict=True)]
    assert max(error) <= 1 / FPS  # within one frame of the boundary frame, to the last click
    # The sound itself is not shifted at all: each click is at its beat's exact time, so the only
    # offset is the boundary's rounding to a frame (at most half a frame), never a growing one.
    shift = [abs(c - k * 60 / BPM) for k, c in enumerate(clicks)]
    assert max(shift) < 0.002
    print(f"largest click-to-boundary-frame offset over 64 beats: {max(error) * 1000:.1f} ms; "
          f"click-to-beat: {max(shift) * 1000:.2f} ms")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["track.mp3", "track.m4a", "track.wav"])
def test_every_input_format_muxes_to_the_video_length(tmp_path, name):
    click_track(tmp_path, name, 120, 3.0, first=0.1)
    story = storyboard(tmp_path, "segments:\n  - {from: a, to: b, until: 2.5}\n  - {from: b, to: a, beats: 2}\n",
                       f"audio: {{path: {name}, bpm: 120}}", fps=12)
    result = render(story, tmp_path / "cache")
    video = tmp_path / "out" / "s.mp4"
    frames = 30 + 12 + 1
    assert result["frames"] == frames and count_frames(video) == frames
    samples = decoded_audio(video)
    assert abs(len(samples) / 48000 - frames / 12) <= 1024 / 48000  # padded with silence after 3.0 s
    webm = render(story, tmp_path / "cache", "-o", str(tmp_path / "v.webm"))
    assert webm["rendered"] == 0 and count_frames(tmp_path / "v.webm") == frames
    assert abs(len(decoded_audio(tmp_path / "v.webm")) / 48000 - frames / 12) <= 960 / 48000
    render(story, tmp_path / "cache", "-o", str(tmp_path / "v.gif"))  # a GIF has no sound: written silent
    assert count_frames(tmp_path / "v.gif") == frames


@pytest.mark.slow
def test_a_new_start_remuxes_without_rendering_and_audio_edits_rerender_only_what_hears_them(tmp_path):
    click_track(tmp_path, "track.wav", 120, 10.0, first=0.5)
    body = ("segments:\n  - {from: a, to: b, beats: 2}\n  - {from: b, to: a, beats: 2, pacing: audio}\n"
            "  - {from: a, to: b, beats: 2}\n")
    story = storyboard(tmp_path, body, "audio: {path: track.wav, start: 0, bpm: 120}", fps=12)
    cache = tmp_path / "cache"
    assert render(story, cache)["rendered"] == 3
    video = tmp_path / "out" / "s.mp4"
    assert click_times(decoded_audio(video))[0] == pytest.approx(0.5, abs=0.01)
    # 1. A new start by whole beats: the audio-paced window hears the same clicks: no clip renders,
    #    only the mux runs, and the output's clicks move.
    story.write_text(story.read_text().replace("start: 0,", "start: 1.0,"))
    result = render(story, cache)
    assert result["rendered"] == 0 and not result["rendered_final_frame"]
    assert click_times(decoded_audio(video))[0] == pytest.approx(0.0, abs=0.01)
    #    A start off the beat grid moves what the audio-paced segment hears: it alone renders.
    story.write_text(story.read_text().replace("start: 1.0,", "start: 0.25,"))
    result = render(story, cache)
    assert result["rendered"] == 1 and result["cached"] == 2
    assert click_times(decoded_audio(video))[0] == pytest.approx(0.25, abs=0.01)
    # 2. The same command again is a no-op answered by the stamp, the soundtrack among its inputs...
    assert render(story, cache)["rendered"] == 0
    # 3. ...so a click added under the audio-paced segment (video 1.0 .. 2.0 s) is seen, and only
    #    that segment renders again.
    from audiokit import clicks, write_wav

    samples = clicks(120, 10.0, first=0.5)
    at = int((0.25 + 1.6) * 44100)
    samples[at:at + 300] += 0.6
    write_wav(tmp_path / "track.wav", samples)
    result = render(story, cache)
    assert result["rendered"] == 1 and result["cached"] == 2
    # 4. mux: false leaves the video silent, with the same clips.
    story.write_text(story.read_text().replace("bpm: 120}", "bpm: 120, mux: false}"))
    assert render(story, cache)["rendered"] == 0
    proc = run_seqc("plan", str(story), "--cache-dir", str(cache))
    assert "0:01.00" in proc.stdout and "2.00" in proc.stdout  # segment 1 starts at 1 s, on beat 2
    from seqc.errors import RenderError

    with pytest.raises(RenderError, match="matches no streams"):  # no audio stream left
        decoded_audio(video)
