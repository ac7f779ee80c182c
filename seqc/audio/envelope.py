"""The onset envelope of a stretch of audio, and the `pacing: audio` progress curve made from it.

Onset strength is spectral flux over log-spaced bands: the magnitude spectrum of short Hann
windows averaged into bands of equal width in octaves (so a kick's few low bins count as much as
a hi-hat's hundreds of high ones, as a mel scale does), log-compressed, and for each window the sum
of the increases over the previous one (a drum hit or a note start adds energy at once; a held
tone adds none). The pacing curve is the
normalised cumulative envelope over the segment's window, sampled at the frame times, blended
with linear by `smooth` (stable-diffusion-videos' approach, research notes part B.1), so t moves
fast where the music hits and slowly where it holds. It is a pure function of the window's
samples and ENVELOPE, which is what the clip key holds (seqc.plan). The bass envelope (the rise
of the energy below BASS_HZ) only helps `seqc audio` tell the beat from the off-beat.
"""

from __future__ import annotations

import numpy as np

from seqc.audio.pcm import ANALYSIS_RATE, ENVELOPE

BASS_HZ = 150.0  # where the bass onsets (`onset_and_bass`) stop: a kick's body is below it, a hi-hat has next to nothing there


def onset_envelope(samples: np.ndarray, rate: int = ANALYSIS_RATE) -> tuple[np.ndarray, np.ndarray]:
    """(times in seconds, onset strength) of mono float samples: one value per hop, at the centre of
    its window, the first value 0. Windows lie wholly inside the samples: padding with silence would
    cut the sound off mid-window, and that cut reads as a broadband onset at the edges."""
    times, spectrum = _spectrogram(samples, rate)
    return times, _band_flux(spectrum, rate)


def onset_and_bass(samples: np.ndarray, rate: int = ANALYSIS_RATE,
                   top: float = BASS_HZ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times, onset strength, bass onset strength) from one spectrogram. The bass onset strength is
    the increase of the summed magnitude of the bins from 20 Hz to `top`, not log-compressed: a kick
    drum adds much of it; a hi-hat or a click, loud as it may be in the band flux, next to none
    (seqc.audio.beats tells the beat from the off-beat by it)."""
    times, spectrum = _spectrogram(samples, rate)
    freqs = np.fft.rfftfreq(ENVELOPE["n_fft"], 1.0 / rate)
    low = spectrum[:, (freqs >= 20.0) & (freqs <= top)].sum(axis=1, keepdims=True)
    return times, _band_flux(spectrum, rate), _rises(low)


def _band_flux(spectrum: np.ndarray, rate: int) -> np.ndarray:
    return _rises(np.log1p(ENVELOPE["compression"] * spectrum @ _bands(ENVELOPE["n_fft"], rate)))


def _spectrogram(samples: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """(window centre times, magnitude spectra [windows, bins]) of Hann windows ENVELOPE apart."""
    n_fft, hop = ENVELOPE["n_fft"], ENVELOPE["hop"]
    x = np.asarray(samples, dtype=np.float64)
    if len(x) < n_fft:
        x = np.concatenate([x, np.zeros(n_fft - len(x))])
    count = 1 + (len(x) - n_fft) // hop
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop][:count]
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=1))
    return (np.arange(count) * hop + n_fft / 2) / rate, spectrum


def _rises(values: np.ndarray) -> np.ndarray:
    """For each window, the sum over columns of the increases over the previous window (the first 0)."""
    flux = np.zeros(len(values))
    if len(values) > 1:
        flux[1:] = np.maximum(0.0, np.diff(values, axis=0)).sum(axis=1)
    return flux


def _bands(n_fft: int, rate: int) -> np.ndarray:
    """[bins, bands]: each band the mean of the FFT bins between log-spaced edges from `fmin` to
    Nyquist (a band narrower than a bin takes the nearest bin)."""
    freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
    edges = np.geomspace(ENVELOPE["fmin"], rate / 2, ENVELOPE["bands"] + 1)
    matrix = np.zeros((len(freqs), ENVELOPE["bands"]))
    for b in range(ENVELOPE["bands"]):
        inside = (freqs >= edges[b]) & (freqs < edges[b + 1])
        if not inside.any():
            inside = np.abs(freqs - np.sqrt(edges[b] * edges[b + 1])) == np.abs(
                freqs - np.sqrt(edges[b] * edges[b + 1])).min()
        matrix[inside, b] = 1.0 / inside.sum()
    return matrix


def pacing_progress(samples: np.ndarray, frames: int, smooth: float, rate: int = ANALYSIS_RATE) -> np.ndarray:
    """Progress p_i in [0, 1] at frame i = 0..frames-1 of a segment whose window is `samples`:
    (1 - smooth) x C(i / frames) + smooth x i / frames, where C is the normalised cumulative onset
    envelope over the window (C(0) = 0, so the first frame is exactly the start keyframe). A silent
    window paces linearly."""
    linear = np.arange(frames, dtype=np.float64) / frames
    if len(samples) == 0:
        return linear
    times, flux = onset_envelope(samples, rate)
    total = float(flux.sum())
    if total <= 1e-9:
        return linear
    cumulative = np.cumsum(flux) / total
    window = len(samples) / rate
    curve = np.interp(linear * window, times, cumulative, left=0.0, right=1.0)
    curve[0] = 0.0
    return np.clip((1.0 - smooth) * curve + smooth * linear, 0.0, 1.0)


def as_samples(data: bytes) -> np.ndarray:
    """float32 little-endian PCM bytes (seqc.audio.pcm) as an array."""
    return np.frombuffer(data, dtype="<f4")
