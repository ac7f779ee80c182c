"""One soundtrack into a finished silent video (seqc/media/mux.py): exact length, every frame kept."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "audio"))
from audiokit import click_times, click_track, decoded_audio  # noqa: E402

from seqc.media.ffmpeg import ff_path, run  # noqa: E402
from seqc.media.formats import OUTPUT_FORMATS  # noqa: E402
from seqc.media.mux import MUX_RATE, audio_filter, mux, takes_audio  # noqa: E402
from seqc.media.probe import count_frames  # noqa: E402

FRAMES, FPS = 241, 24  # 10.0417 s: the research notes' case, where -shortest kept 203 frames


def silent_video(folder: Path, suffix: str) -> Path:
    path = folder / f"silent{suffix}"
    codec = ["-c:v", "libvpx-vp9", "-b:v", "0", "-crf", "40"] if suffix == ".webm" else ["-c:v", "libx264"]
    run(["-v", "error", "-f", "lavfi", "-i", f"testsrc=size=32x32:rate={FPS}", "-frames:v", str(FRAMES), *codec,
         "-pix_fmt", "yuv420p", "-y", ff_path(path)], "make a test video")
    return path


def test_the_filter_chain_trims_restarts_pads_and_cuts():
    assert audio_filter(12.5, 10.041667) == ("atrim=start=12.500000,asetpts=PTS-STARTPTS,"
                                             "apad=whole_dur=10.041667,atrim=end=10.041667")


def test_gif_takes_no_sound():
    assert not takes_audio(OUTPUT_FORMATS[".gif"])
    assert all(takes_audio(OUTPUT_FORMATS[s]) for s in (".mp4", ".mov", ".mkv", ".webm"))


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".mov", ".webm"])
@pytest.mark.parametrize(("audio_name", "start"), [("t.wav", 1.5), ("t.mp3", 4.0), ("t.m4a", 0.0)])
def test_audio_lasts_exactly_the_video_and_every_frame_stays(tmp_path, suffix, audio_name, start):
    # A 12.5 s track: from 4.0 s only 8.5 s are left (padded with silence); from 0 it is longer (cut).
    audio = click_track(tmp_path, audio_name, 120, 12.5, first=0.25)
    video = silent_video(tmp_path, suffix)
    duration = FRAMES / FPS
    out = tmp_path / f"out{suffix}"
    seconds = mux(video, audio, start, duration, OUTPUT_FORMATS[suffix], out, FRAMES)
    assert count_frames(out) == FRAMES
    samples = decoded_audio(out)
    frame_samples = 960 if suffix == ".webm" else 1024  # one Opus / AAC frame
    assert abs(len(samples) / MUX_RATE - duration) <= frame_samples / MUX_RATE
    assert seconds == pytest.approx(len(samples) / MUX_RATE)
    # The clicks sit where the file put them, minus `start`: no shift from encoder priming.
    expected = [0.25 + 0.5 * k - start for k in range(30) if 0 <= 0.25 + 0.5 * k - start < min(duration, 12.5 - start)]
    found = click_times(samples)
    assert len(found) == len(expected)
    assert max(abs(a - b) for a, b in zip(found, expected, strict=True)) < 1 / FPS


def test_a_dead_renders_silent_join_is_removed_by_the_next(tmp_path):
    """The silent join's temp (named after a temp name) of a killed render goes, a live one's stays."""
    from seqc.outputs.video import atomic

    output = tmp_path / "video.mp4"
    dead = tmp_path / "..video.tmp-999999-0123abcd.tmp-999999-89abcdef.mp4"
    live = tmp_path / f"..video.tmp-{os.getpid()}-0123abcd.tmp-{os.getpid()}-89abcdef.mp4"
    silent = tmp_path / ".video.tmp-999999-fedcba98.mp4"
    for path in (dead, live, silent):
        path.write_bytes(b"x")
    atomic.remove_dead_temps_of(output)
    atomic.remove_dead_temps_of(output.with_name(f".{output.stem}{output.suffix}"))
    assert not dead.exists() and not silent.exists() and live.exists()
