"""The onset envelope and the `pacing: audio` curve (seqc/audio/envelope.py)."""

from __future__ import annotations

import numpy as np
import pytest
from audiokit import clicks

from seqc.audio.envelope import onset_envelope, pacing_progress
from seqc.audio.pcm import ANALYSIS_RATE


def test_envelope_peaks_on_the_clicks_and_not_on_a_held_tone():
    samples = clicks(120, 4.0, first=0.25, rate=ANALYSIS_RATE)
    times, flux = onset_envelope(samples)
    peaks = times[np.argsort(flux)[-8:]]
    for beat in (0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.25, 3.75):
        assert np.min(np.abs(peaks - beat)) < 0.03  # within about two hops
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(2 * ANALYSIS_RATE) / ANALYSIS_RATE)
    _, steady = onset_envelope(tone)
    assert steady.max() < 0.05 * flux.max()


def test_progress_moves_on_the_hits():
    # Four clicks in a one-second window, 48 frames: progress jumps by about a quarter at each
    # click and stays flat between them (smooth 0).
    samples = clicks(240, 1.0, first=0.1, rate=ANALYSIS_RATE)
    p = pacing_progress(samples, 48, smooth=0.0)
    assert p[0] == 0.0 and np.all(np.diff(p) >= 0) and p[-1] <= 1.0
    steps = np.diff(p)
    big = np.nonzero(steps > 0.05)[0]
    groups = np.split(big, np.nonzero(np.diff(big) > 1)[0] + 1)  # a click may straddle two frames
    assert len(groups) == 4
    assert np.allclose([(g[0] + 1) / 48 for g in groups], [0.1, 0.35, 0.6, 0.85], atol=1.5 / 48)
    assert steps[np.setdiff1d(np.arange(47), big)].sum() < 0.05  # flat between the clicks
    assert p[47] == pytest.approx(1.0, abs=0.05)


def test_smooth_blends_with_linear_and_silence_is_linear():
    samples = clicks(240, 1.0, first=0.1, rate=ANALYSIS_RATE)
    linear = np.arange(30) / 30
    assert np.allclose(pacing_progress(samples, 30, smooth=1.0), linear)
    half = pacing_progress(samples, 30, smooth=0.5)
    assert np.allclose(half, 0.5 * linear + 0.5 * pacing_progress(samples, 30, smooth=0.0))
    assert np.allclose(pacing_progress(np.zeros(ANALYSIS_RATE), 30, smooth=0.0), linear)
    assert np.allclose(pacing_progress(np.zeros(0), 30, smooth=0.0), linear)


def test_the_curve_depends_only_on_the_window():
    a = clicks(120, 2.0, first=0.2, rate=ANALYSIS_RATE)
    assert np.array_equal(pacing_progress(a, 24, 0.3), pacing_progress(a.copy(), 24, 0.3))
