"""Suggestions for `seqc audio FILE`: a tempo, the first beat and the onsets, for the user to check and paste.

A helper, not the truth: the render always uses the storyboard's `bpm` and `first_beat`. With the
`seqc[audio]` extra, librosa's beat tracker finds the beats; without it, a plain numpy estimate:
the onset envelope's autocorrelation weighted by a log-normal tempo prior around 120 bpm (as
librosa does, against octave errors), refined by fitting a beat grid (period and phase) to the
envelope. Either way the bpm and first beat come from a least-squares line through the beat
times found, which is far finer than a tempo histogram (librosa alone said 117.45 for a 120 bpm
click track in the research notes).

Which of two phases half a beat apart is the beat (a kick on it, a hi-hat between) is decided apart
from the tempo: the band flux weighs a hi-hat's many bands as much as a kick's few, so a loud
hi-hat, or a codec that smears the kick (Ogg Vorbis, issue 24), can win it the grid. The phase
that collects clearly more bass onsets (seqc.audio.envelope.onset_and_bass) is the beat; without
bass, the one that collects clearly more of all onsets; when neither is clear, the suggestion says
so and names the other candidate.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqc.audio.envelope import as_samples, onset_and_bass
from seqc.audio.memo import AudioCache
from seqc.audio.pcm import ANALYSIS_RATE, ENVELOPE, check_audio, decoded

MIN_BPM, MAX_BPM, PRIOR_BPM = 50.0, 220.0, 120.0
# Subtracted from envelope peak times. Measured on generated click tracks: the peaks fall within
# one hop (11.6 ms) of the clicks, about 10 ms early, well inside a frame: no correction.
ENVELOPE_LAG = 0.0
PHASE_MARGIN = 1.5  # a phase must collect this many times the onsets of the one half a beat away
BASS_SHARE = 0.4  # ...and, for the bass to decide, this share of all bass onsets (any grid catches 0.2)


@dataclass(frozen=True)
class Suggestion:
    """What `seqc audio` prints: times are seconds into the file."""

    seconds: float
    bpm: float | None
    first_beat: float | None
    beats: list[float] = field(default_factory=list)
    onsets: list[float] = field(default_factory=list)
    method: str = "numpy"
    doubt: str = ""  # why the first beat may be the off-beat ("" when the onsets settle it)
    alternative: float | None = None  # the first beat of the other phase, in file time, when in doubt


def librosa_available() -> bool:
    return importlib.util.find_spec("librosa") is not None


def suggest(path: Path, use_librosa: bool = True, *, audio: AudioCache | None = None) -> Suggestion:
    """Suggested tempo, first beat, beat times and onsets of an audio file (checked first, and
    decoded once: the check keeps its samples in `audio`)."""
    audio = audio if audio is not None else AudioCache()
    info = check_audio(Path(path), audio=audio)
    y = as_samples(decoded(Path(path), audio=audio)).astype(np.float64)
    if use_librosa and librosa_available():
        return _with_librosa(y, info.seconds)
    # Silence before the file, so a sound at its very start counts as an onset.
    times, flux, bass = _envelopes(y)
    onsets = _peaks(times, flux)
    env = _rise_over_mean(flux)
    grid = _tempo_grid(times, env, info.seconds)
    if grid is None:
        return Suggestion(info.seconds, None, None, [], onsets, "numpy")
    period, phase = grid
    chosen, doubt = _phase_choice(times, env, bass, period, phase, info.seconds)
    beats = _snapped(times, env, period, chosen, info.seconds)
    if not _steady(beats, onsets) or not (_stands_out(beats, times, flux) or _stands_out(beats, times, bass)):
        return Suggestion(info.seconds, None, None, [], onsets, "numpy")
    bpm, first = _fit(beats)
    alternative = _other_first(times, env, period, chosen, info.seconds) if doubt else None
    return Suggestion(info.seconds, bpm, first, beats, onsets, "numpy", doubt, alternative)


def _envelopes(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(times, band flux, bass flux) of the whole file, a window of silence before it so that a sound
    at its very start counts as an onset."""
    lead = ENVELOPE["n_fft"]
    padded = np.concatenate([np.zeros(lead), y])
    times, flux, bass = onset_and_bass(padded)
    return times - lead / ANALYSIS_RATE, flux, bass


def _with_librosa(y: np.ndarray, seconds: float) -> Suggestion:
    import librosa  # type: ignore[import-not-found, unused-ignore]  # the optional seqc[audio] extra

    y32 = y.astype(np.float32)
    _, beat_times = librosa.beat.beat_track(y=y32, sr=ANALYSIS_RATE, units="time")
    onsets = librosa.onset.onset_detect(y=y32, sr=ANALYSIS_RATE, units="time")
    beats = [float(t) for t in np.atleast_1d(beat_times)]
    method = f"librosa {librosa.__version__}"
    bpm, first = _fit(beats)
    if bpm is None or first is None:
        return Suggestion(seconds, bpm, first, beats, [float(t) for t in onsets], method)
    # librosa's tracker weighs a hi-hat as the band flux does: settle the phase as the numpy estimate does.
    times, flux, bass = _envelopes(y)
    env = _rise_over_mean(flux)
    period = 60.0 / bpm
    chosen, doubt = _phase_choice(times, env, bass, period, first % period, seconds)
    if abs(chosen - first % period) > period / 4:
        beats = _snapped(times, env, period, chosen, seconds)
        bpm, first = _fit(beats)
    alternative = _other_first(times, env, period, chosen, seconds) if doubt else None
    return Suggestion(seconds, bpm, first, beats, [float(t) for t in onsets], method, doubt, alternative)


def _peaks(times: np.ndarray, flux: np.ndarray, gap: float = 0.05) -> list[float]:
    """Onset times: local maxima of the envelope above its mean plus half its spread, at least `gap` apart."""
    if len(flux) < 3:
        return []
    threshold = flux.mean() + 0.5 * flux.std()
    width = 3
    padded = np.pad(flux, width, mode="constant")
    local = np.lib.stride_tricks.sliding_window_view(padded, 2 * width + 1).max(axis=1)
    found: list[float] = []
    for i in np.nonzero((flux >= local) & (flux > threshold))[0]:
        t = float(times[i]) - ENVELOPE_LAG
        if not found or t - found[-1] >= gap:
            found.append(max(0.0, t))
    return found


def _rise_over_mean(flux: np.ndarray) -> np.ndarray:
    """The band flux less its mean over the surrounding second, negatives 0: what the grid collects."""
    rate = ANALYSIS_RATE / ENVELOPE["hop"]  # envelope values per second
    env = flux - np.convolve(flux, np.ones(int(rate)) / int(rate), mode="same")
    return np.maximum(env, 0.0)


def _tempo_grid(times: np.ndarray, env: np.ndarray, seconds: float) -> tuple[float, float] | None:
    """(period, phase) of the beat: a tempo from the envelope's autocorrelation under a log-normal
    prior, then the period and phase of an evenly spaced grid that collects the most onset strength."""
    rate = ANALYSIS_RATE / ENVELOPE["hop"]
    if env.sum() <= 1e-9 or seconds < 2.0:
        return None
    centred = env - env.mean()
    spectrum = np.fft.rfft(centred, n=2 * len(centred))
    ac = np.fft.irfft(spectrum * np.conj(spectrum))[: len(centred)]
    lags = np.arange(len(ac)) / rate
    with np.errstate(divide="ignore"):
        bpms = np.where(lags > 0, 60.0 / np.maximum(lags, 1e-9), 0.0)
    valid = (bpms >= MIN_BPM) & (bpms <= MAX_BPM)
    if not valid.any():
        return None
    prior = np.exp(-0.5 * np.log2(np.maximum(bpms, 1e-9) / PRIOR_BPM) ** 2)
    score = np.where(valid, ac * prior, -np.inf)
    period = float(lags[int(np.argmax(score))])
    # Period and phase of the grid: candidates within 3% of the estimate, phases a hop apart.
    candidates = np.linspace(period * 0.97, period * 1.03, 121)
    best = (-np.inf, period, 0.0)
    for p in candidates:
        count = int(seconds / p) + 1
        phases = np.arange(0.0, p, 1.0 / rate)
        grid = phases[:, None] + p * np.arange(count)[None, :]
        values = np.interp(grid, times, env, left=0.0, right=0.0).sum(axis=1)
        i = int(np.argmax(values))
        if values[i] > best[0]:
            best = (float(values[i]), float(p), float(phases[i]))
    return best[1], best[2]


def _phase_choice(times: np.ndarray, env: np.ndarray, bass: np.ndarray, period: float, phase: float,
                  seconds: float) -> tuple[float, str]:
    """(phase, doubt) between `phase` and the phase half a beat away: the one whose beats collect
    PHASE_MARGIN times the other's bass onsets (and BASS_SHARE of all of them) is the beat; failing
    that, `phase` if its beats collect PHASE_MARGIN times the other's band flux; failing that,
    `phase` with a doubt that says why."""
    other = (phase + period / 2) % period
    reach = period / 10
    grids = [np.arange(p, seconds, period) for p in (phase, other)]
    low = [_collected(times, bass, g, reach) for g in grids]
    band = [_collected(times, env, g, reach) for g in grids]
    total = float(bass[(times >= 0) & (times <= seconds)].sum())
    for mine, theirs, chosen in ((0, 1, phase), (1, 0, other)):
        if total > 0 and low[mine] >= PHASE_MARGIN * low[theirs] and low[mine] >= BASS_SHARE * total:
            return chosen, ""
    if band[0] >= PHASE_MARGIN * band[1]:
        return phase, ""
    return phase, "the onsets between the beats are about as strong, and no bass tells which are the beats"


def _collected(times: np.ndarray, values: np.ndarray, grid: np.ndarray, reach: float) -> float:
    """The sum of `values` within `reach` seconds of each grid time, over the grid."""
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    lo = np.searchsorted(times, grid - reach, side="left")
    hi = np.searchsorted(times, grid + reach, side="right")
    return float((cumulative[hi] - cumulative[lo]).sum())


def _snapped(times: np.ndarray, env: np.ndarray, period: float, phase: float, seconds: float) -> list[float]:
    """Beat times of the grid (period, phase), each snapped to the strongest onset within a tenth of
    a beat, from the first strong beat to the last (an intro or a fade-out is not where the beat is)."""
    p = period
    beats, strengths = [], []
    for t in np.arange(phase, seconds, p):
        near = (times >= t - p / 10) & (times <= t + p / 10)
        strength = float(env[near].max()) if near.any() else 0.0
        if strength > 0:
            t = float(times[near][int(np.argmax(env[near]))])
        beats.append(max(0.0, float(t) - ENVELOPE_LAG))
        strengths.append(strength)
    if not strengths or max(strengths) <= 0:
        return []
    strong = np.nonzero(np.asarray(strengths) >= 0.2 * float(np.median([x for x in strengths if x > 0])))[0]
    return beats[int(strong[0]):int(strong[-1]) + 1]


def _other_first(times: np.ndarray, env: np.ndarray, period: float, phase: float, seconds: float) -> float | None:
    """The first beat of the phase half a beat away from `phase` (what to try when in doubt)."""
    _, first = _fit(_snapped(times, env, period, (phase + period / 2) % period, seconds))
    return first


def _steady(beats: list[float], onsets: list[float], near: float = 0.05) -> bool:
    """Whether a grid is a beat at all: at least 4 beats, and most of them on an onset."""
    if len(beats) < 4 or len(onsets) < 4:
        return False
    found = np.asarray(onsets)
    hits = sum(1 for t in beats if np.min(np.abs(found - t)) <= near)
    return hits >= 0.5 * len(beats)


def _stands_out(beats: list[float], times: np.ndarray, flux: np.ndarray, ratio: float = 1.5) -> bool:
    """Whether the onsets on the beats clearly beat what any grid would find: each beat was snapped
    to the strongest onset within a tenth of a beat, so compare the strongest onset within that
    reach of each beat with the strongest within the same reach of every moment (noise on a held
    tone snaps to bumps just as high). `flux` is the band flux or the bass flux (a kick's bass may
    peak a window or two after its band flux)."""
    if len(beats) < 2:
        return False
    period = (beats[-1] - beats[0]) / (len(beats) - 1)
    reach = max(1, int(period / 10 * ANALYSIS_RATE / ENVELOPE["hop"]))
    padded = np.pad(flux, reach, mode="edge")
    strongest = np.lib.stride_tricks.sliding_window_view(padded, 2 * reach + 1).max(axis=1)
    anywhere = float(strongest.mean())
    on_beats = float(np.interp(np.asarray(beats), times, strongest).mean())
    return anywhere > 1e-12 and on_beats >= ratio * anywhere


def _fit(beats: list[float]) -> tuple[float | None, float | None]:
    """bpm and first beat from a least-squares line through the beat times (beat k at first + k x period)."""
    if len(beats) < 4:
        return None, (beats[0] if beats else None)
    k = np.arange(len(beats), dtype=np.float64)
    period, first = np.polyfit(k, np.asarray(beats), 1)
    if period <= 0:
        return None, beats[0]
    bpm = 60.0 / period
    if abs(bpm - round(bpm)) < 0.15:  # tracks are made at whole tempos; the fit is not that fine
        bpm = float(round(bpm))
    return round(float(bpm), 2), round(max(0.0, float(first)), 3)
