"""Beats on `seqc analyze --plot` (seqc/inspect/analyze.py: beat_frames, plot)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "audio"))
from audiokit import clicks, storyboard, write_wav  # noqa: E402

from seqc.inspect.analyze import SegmentReport, beat_frames, plot  # noqa: E402
from seqc.spec import load_storyboard  # noqa: E402


def test_beat_frames_cover_the_video_from_the_first_beat(tmp_path):
    write_wav(tmp_path / "track.wav", clicks(120, 8.0))
    story = load_storyboard(storyboard(tmp_path, "segments:\n  - {from: a, to: b, until: 3}\n",
                                       "audio: {path: track.wav, bpm: 120, first_beat: 0.75}"))
    beats = beat_frames(story)
    # Beat -1 at 0.25 s is inside the video too; the video ends at frame 72 (3 s at 24 fps).
    assert beats[0] == (0.25 * 24, -1) and beats[1] == (0.75 * 24, 0)
    assert beats[-1] == (2.75 * 24, 4) and len(beats) == 6
    plain = load_storyboard(storyboard(tmp_path, "segments:\n  - {from: a, to: b, until: 3}\n",
                                       "audio: {path: track.wav}", name="plain"))
    assert beat_frames(plain) == []


def test_the_plot_draws_a_line_on_every_beat(tmp_path):
    report = SegmentReport(0, "a", "b", 48, "slerp", "linear", 1.0, 0.5, np.full(48, 1.0), 0)
    bare, marked = tmp_path / "bare.png", tmp_path / "beats.png"
    plot([report], bare)
    plot([report], marked, beats=[(12.0, 0), (24.0, 1), (36.0, 2)])
    a = np.asarray(Image.open(bare).convert("RGB")).astype(int)
    b = np.asarray(Image.open(marked).convert("RGB")).astype(int)
    columns = np.nonzero((np.abs(a - b).sum(axis=2) > 0).any(axis=0))[0]
    left, right = 60, 900 - 20
    for frame in (12, 24, 36):
        assert np.min(np.abs(columns - (left + (right - left) * frame / 48))) <= 1
