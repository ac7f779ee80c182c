"""Write examples/music/track.opus: a 16-second synth loop at 126 bpm made here, so the example
needs no third-party music. A kick on every beat, a hi-hat on the off-beats, a bass line and a pad
(A minor, F, C, G: one chord per bar of 4 beats). First beat at 0.0 s.

The committed track.opus (48 kb/s Opus, about 180 KB) was made by this script, so the example
renders from a fresh clone; run it again only to change the music:

    python examples/music/make_track.py
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import wave
from pathlib import Path

import imageio_ffmpeg
import numpy as np

RATE = 44100
BPM = 126
BARS = 8
SECONDS = 16.0
CHORDS = [(57, 60, 64), (53, 57, 60), (48, 52, 55), (55, 59, 62)]  # Am, F, C, G as MIDI notes


def hz(note: int) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def track() -> np.ndarray:
    beat = 60.0 / BPM
    n = int(SECONDS * RATE)
    out = np.zeros(n)
    rng = np.random.default_rng(126)

    def add(at: float, sound: np.ndarray) -> None:
        i = int(round(at * RATE))
        if i < n:
            out[i:i + len(sound)] += sound[: n - i]

    t_kick = np.arange(int(0.25 * RATE)) / RATE
    kick = np.sin(2 * np.pi * (50 * t_kick + 100 * (1 - np.exp(-t_kick * 30)) / 30)) * np.exp(-t_kick * 14)
    t_hat = np.arange(int(0.05 * RATE)) / RATE
    hat = np.diff(rng.standard_normal(len(t_hat) + 1)) * np.exp(-t_hat * 90) * 0.15
    for k in range(int(SECONDS / beat) + 1):
        add(k * beat, 0.9 * kick)
        add((k + 0.5) * beat, hat)
    for bar in range(BARS):
        chord = CHORDS[bar % len(CHORDS)]
        start, length = bar * 4 * beat, 4 * beat
        t = np.arange(int(length * RATE)) / RATE
        fade = np.minimum(1.0, np.minimum(t / 0.05, (length - t) / 0.05))
        pad = sum(np.sin(2 * np.pi * hz(note) * t) for note in chord) * 0.06 * fade
        add(start, pad)
        for k in range(8):  # bass on the eighths, root an octave down
            t_b = np.arange(int(beat / 2 * 0.9 * RATE)) / RATE
            bass = np.sign(np.sin(2 * np.pi * hz(chord[0] - 12) * t_b)) * np.exp(-t_b * 8) * 0.12
            add(start + k * beat / 2, bass)
    return out / max(1.0, float(np.abs(out).max()) / 0.9)


def write_wav(path: Path, samples: np.ndarray) -> None:
    """16-bit mono PCM at RATE."""
    with wave.open(str(path), "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(RATE)
        fh.writeframes((samples * 32767).astype("<i2").tobytes())


def main() -> None:
    path = Path(__file__).resolve().parent / "track.opus"
    temp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.opus")  # whole or not at all, even when two write it
    with tempfile.TemporaryDirectory() as work:
        wav = Path(work) / "track.wav"
        write_wav(wav, track())
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(wav),
                        "-c:a", "libopus", "-b:a", "48k", str(temp)], check=True)
    os.replace(temp, path)
    print(f"wrote {path} ({SECONDS:g} s, {BPM} bpm, first beat at 0.0 s, {path.stat().st_size // 1000} KB)")


if __name__ == "__main__":
    main()
