"""Suggestions for `seqc audio` (seqc/audio/beats.py): the numpy estimate, checked on generated tracks."""

from __future__ import annotations

import numpy as np
import pytest
from audiokit import click_track, write_wav

from seqc.audio.beats import suggest


@pytest.mark.parametrize(("bpm", "first"), [(126, 0.37), (90, 0.1), (174, 0.6)])
def test_click_tracks_give_their_tempo_and_first_beat(tmp_path, bpm, first):
    path = click_track(tmp_path, "t.mp3", bpm, 20.0, first=first)
    found = suggest(path, use_librosa=False)
    assert found.method == "numpy"
    assert found.bpm == pytest.approx(bpm, abs=0.5)
    assert found.first_beat == pytest.approx(first, abs=0.02)  # within half a frame at 24 fps
    assert len(found.onsets) == pytest.approx((20.0 - first) * bpm / 60, abs=1)


def test_a_held_tone_has_no_beat(tmp_path):
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(5 * 44100) / 44100)
    found = suggest(write_wav(tmp_path / "tone.wav", tone), use_librosa=False)
    assert found.bpm is None and found.first_beat is None
