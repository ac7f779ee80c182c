"""Helpers for the soundtrack tests: click tracks made here, converted by the bundled ffmpeg,
and small storyboards on the built-in model."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from seqc.media.ffmpeg import ff_path, run

RATE = 44100
CLICK_SECONDS = 0.004


def clicks(bpm: float, seconds: float, first: float = 0.0, rate: int = RATE) -> np.ndarray:
    """Mono float samples: a short 2 kHz click at first + k x 60 / bpm, silence between."""
    out = np.zeros(int(round(seconds * rate)), dtype=np.float64)
    n = int(CLICK_SECONDS * rate)
    burst = 0.8 * np.sin(2 * np.pi * 2000 * np.arange(n) / rate)
    k = 0
    while (t := first + k * 60.0 / bpm) < seconds - CLICK_SECONDS:
        i = int(round(t * rate))
        out[i:i + n] += burst
        k += 1
    return out


def drums(bpm: float, seconds: float, first: float = 0.0, hat: float = 0.5, rate: int = RATE,
          seed: int = 0) -> np.ndarray:
    """Mono float samples as a user makes them with sox (`synth 0.1 sine 60`, `synth 0.05 whitenoise`):
    a 60 Hz kick of 0.1 s on every beat from `first`, and 50 ms of white noise of peak `hat` (a
    hi-hat) half a beat after each."""
    period = 60.0 / bpm
    kick = 0.9 * np.sin(2 * np.pi * 60 * np.arange(int(0.1 * rate)) / rate)
    noise = np.random.default_rng(seed).uniform(-hat, hat, int(0.05 * rate))
    count = int(seconds / period) + 1
    return hits(seconds, [(first + k * period, kick) for k in range(count)]
                + [(first + (k + 0.5) * period, noise) for k in range(count)], rate)


def hits(seconds: float, sounds: list[tuple[float, np.ndarray]], rate: int = RATE) -> np.ndarray:
    """Mono float samples `seconds` long: each (time, samples) added at its time (those that do not fit dropped)."""
    out = np.zeros(int(round(seconds * rate)), dtype=np.float64)
    for at, sound in sounds:
        i = int(round(at * rate))
        if i >= 0 and i + len(sound) <= len(out):
            out[i:i + len(sound)] += sound
    return out


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    """16-bit mono WAV through the standard library (no ffmpeg involved)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(rate)
        fh.writeframes(data.tobytes())
    return path


def convert(source: Path, target: Path) -> Path:
    """source -> target by the bundled ffmpeg, the codec from the suffix (mp3: LAME, m4a: AAC, ogg:
    libvorbis at its default quality, as sox writes Ogg, opus: libopus)."""
    codec = {".mp3": ["-c:a", "libmp3lame", "-b:a", "192k"], ".m4a": ["-c:a", "aac", "-b:a", "192k"],
             ".wav": [], ".flac": ["-c:a", "flac"], ".ogg": ["-c:a", "libvorbis"],
             ".opus": ["-c:a", "libopus"]}[target.suffix]
    run(["-v", "error", "-i", ff_path(source), *codec, "-y", ff_path(target)], f"make {target.name}")
    return target


def click_track(folder: Path, name: str, bpm: float, seconds: float, first: float = 0.0) -> Path:
    """A click track file `name` (wav, mp3, m4a) in `folder`."""
    wav = write_wav(folder / (Path(name).stem + ".src.wav"), clicks(bpm, seconds, first))
    if name.endswith(".wav"):
        return wav.rename(folder / name)
    return convert(wav, folder / name)


def decoded_audio(path: Path, rate: int = 48000) -> np.ndarray:
    """A file's first audio stream as mono float samples (priming trimmed by ffmpeg)."""
    out = run(["-v", "error", "-i", ff_path(path), "-map", "0:a:0", "-ac", "1", "-ar", str(rate), "-f", "f32le",
               "-"], "decode").stdout
    return np.frombuffer(out, dtype="<f4").astype(np.float64)


def click_times(samples: np.ndarray, rate: int = 48000, gap: float = 0.1) -> list[float]:
    """Where clicks start: the first sample over half the peak after at least `gap` seconds of quiet."""
    loud = np.nonzero(np.abs(samples) > 0.5 * np.abs(samples).max())[0]
    found: list[float] = []
    last = -1e9
    for i in loud:
        if i - last > gap * rate:
            found.append(i / rate)
        last = i
    return found


def keyframes(folder: Path) -> None:
    """Two small painted keyframes a.png and b.png."""
    from renderkit import write_image

    write_image(folder / "a.png", seed=1, size=(32, 32))
    write_image(folder / "b.png", seed=2, size=(32, 32))


def storyboard(folder: Path, body: str, audio: str, size: int = 32, fps: float = 24, name: str = "s") -> Path:
    """`name`.yaml in `folder` with keyframes a and b (see `keyframes`), an `audio:` line and `body`."""
    if not (folder / "a.png").exists():
        keyframes(folder)
    story = folder / f"{name}.yaml"
    story.write_text(f"version: 1\noutput: {{path: out/{name}.mp4, size: [{size}, {size}], fps: {fps}}}\n"
                     f"{audio}\nkeyframes:\n  a: {{image: a.png}}\n  b: {{image: b.png}}\n{body}")
    return story
