"""An audio file checked and decoded to PCM by the bundled ffmpeg (seqc.media.ffmpeg starts it).

The storyboard checks call `check_audio` before anything is planned: a missing file, a folder, a
FIFO, a file over the size limit, a file ffmpeg cannot open, one without an audio stream, a
truncated one (its header promises more than decodes) and one whose header claims an absurd
length are each one problem. Decoding is mono float32 at ANALYSIS_RATE, sample-exact (ffmpeg
trims the encoder's priming samples itself; measured in the research notes, part B). No numpy
here: the planner imports this module; `pcm` and `decoded` return raw float32 bytes
(seqc.audio.envelope.as_samples makes them an array).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import stat
import struct
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Protocol

from seqc.audio.memo import AudioCache
from seqc.errors import InputError, RenderError
from seqc.media.ffmpeg import ff_path, run
from seqc.store.files import file_kind, path_key

ANALYSIS_RATE = 22050  # samples per second of the mono PCM the envelope and the checks read
MAX_AUDIO_BYTES = 1024 * 1024 * 1024
MAX_AUDIO_SECONDS = 3600  # an hour: 318 MB of float32 at the analysis rate, at most
# What shapes the onset envelope (seqc.audio.envelope): in every `pacing: audio` clip key, so a change
# here re-renders them. Here, not there, so the planner reads it without numpy.
ENVELOPE: dict = {"kind": "band-flux", "version": 1, "rate": ANALYSIS_RATE, "n_fft": 1024, "hop": 256,
            "bands": 24, "fmin": 40.0, "compression": 100.0}
_DURATION = re.compile(rb"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")


class AudioError(InputError):
    """An audio file that cannot be used (exit 2): a one-line message and a hint."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(f"{message} ({hint})" if hint else message)
        self.message, self.hint = message, hint


@dataclass(frozen=True)
class AudioInfo:
    """What the check learnt: the decoded length, in samples at ANALYSIS_RATE and in seconds."""

    samples: int

    @property
    def seconds(self) -> float:
        return self.samples / ANALYSIS_RATE


def stat_audio(path: Path) -> os.stat_result:
    """The file's stat, refusing what is not a regular file within the size limit (before any read:
    opening a FIFO would block)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise AudioError(f"audio file not found: {path}", "paths are relative to the storyboard") from None
    except OSError as exc:
        raise AudioError(f"cannot open audio file {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise AudioError(f"{path} is {file_kind(st.st_mode)}, not an audio file")
    if st.st_size == 0:
        raise AudioError(f"{path} is empty, not an audio file")
    if st.st_size > MAX_AUDIO_BYTES:
        raise AudioError(f"{path} is {st.st_size:,} bytes, over the {MAX_AUDIO_BYTES:,}-byte limit for audio")
    return st


def _wav_shortfall(path: Path, size: int) -> str:
    """For a RIFF/WAVE file: a message if its `data` chunk claims more bytes than the file holds
    (ffmpeg then estimates the length from the file size and decodes the rest without a word)."""
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return ""
        offset = 12
        while offset + 8 <= size:
            fh.seek(offset)
            chunk = fh.read(8)
            if len(chunk) < 8:
                break
            name, length = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if name == b"data":
                have = size - offset - 8
                if length > have and length not in (0, 0xFFFFFFFF):  # 0/-1: written by a stream
                    return (f"its header promises {length:,} bytes of samples but the file holds {have:,}: "
                            "truncated, or a header that lies")
                return ""
            offset += 8 + length + (length & 1)
    return ""


def pcm(path: Path, start: float = 0.0, seconds: float | None = None, rate: int = ANALYSIS_RATE) -> bytes:
    """Mono float32 little-endian samples of `path` from `start` for `seconds` (all, if None), as ffmpeg
    decodes them. Errors are AudioError with ffmpeg's reason on one line."""
    window = ["-ss", f"{start:.6f}"] if start > 0 else []
    length = ["-t", f"{seconds:.6f}"] if seconds is not None else ["-t", str(MAX_AUDIO_SECONDS + 1)]
    try:
        result = run(["-v", "error", *window, "-i", ff_path(path), "-map", "0:a:0", "-vn", "-sn", "-dn",
                      "-ac", "1", "-ar", str(rate), *length, "-f", "f32le", "-"], f"decode the audio of {path.name}")
    except RenderError as exc:
        raise _decode_error(path, str(exc)) from None
    return result.stdout


def _decode_error(path: Path, reason: str) -> AudioError:
    if "matches no streams" in reason:
        return AudioError(f"{path} has no audio stream", "give a sound file: wav, mp3, m4a/aac, flac, ogg, opus")
    if "Invalid data found" in reason or "Error opening input" in reason:
        return AudioError(f"{path} is not an audio file ffmpeg can read, or it is truncated",
                          "give a sound file: wav, mp3, m4a/aac, flac, ogg, opus")
    return AudioError(f"cannot decode the audio file {path}: {reason}")


CHECK_RULES = f"audio v1 {ANALYSIS_RATE} {MAX_AUDIO_BYTES} {MAX_AUDIO_SECONDS}"  # what a remembered pass means


class AudioMemo(Protocol):
    """Passed audio checks kept across processes, by stat signature (the cache's file memo)."""

    def audio_checked(self, path: Path, st: os.stat_result, rules: str) -> int | None: ...

    def remember_audio_check(self, path: Path, st: os.stat_result, rules: str, samples: int) -> None: ...


def check_audio(path: Path, memo: AudioMemo | None = None, *, audio: AudioCache | None = None) -> AudioInfo:
    """Check an audio file the way a render will read it, decoding it once; AudioError if unusable.

    The samples decoded are kept in `audio` (the session's), for the planner and the renderer.

    1. The file itself: exists, regular (a FIFO is refused before it is opened), within the size limit.
    2. A pass remembered in `memo` for this very file state (stat signature) is trusted.
    3. A WAV's header against the file's size (truncated, or a huge claimed length).
    4. ffmpeg decodes the whole first audio stream; a decoding error, no samples, a length over
       the limit, or fewer samples than the header's duration promises is a problem.
    """
    path = Path(path)
    st = stat_audio(path)
    known = memo.audio_checked(path, st, CHECK_RULES) if memo is not None else None
    if known is not None:
        return AudioInfo(known)
    shortfall = _wav_shortfall(path, st.st_size)
    if shortfall:
        raise AudioError(f"{path}: {shortfall}", "export the file again")
    try:
        result = run(["-v", "info", "-i", ff_path(path), "-map", "0:a:0", "-vn", "-sn", "-dn", "-ac", "1",
                      "-ar", str(ANALYSIS_RATE), "-t", str(MAX_AUDIO_SECONDS + 1), "-f", "f32le", "-"],
                     f"decode the audio of {path.name}")
    except RenderError:
        pcm(path, seconds=0.01)  # again, quietly: the first lines ffmpeg prints then are its reason
        raise AudioError(f"cannot decode the audio file {path}") from None
    samples = len(result.stdout) // 4
    err = result.stderr
    claimed = _DURATION.search(err)
    claimed_s = (int(claimed.group(1)) * 3600 + int(claimed.group(2)) * 60 + float(claimed.group(3))) if claimed else None
    if claimed_s is not None and claimed_s > MAX_AUDIO_SECONDS:
        raise AudioError(f"{path}: its header claims {claimed_s / 3600:.1f} hours of audio, over the "
                         f"{MAX_AUDIO_SECONDS // 3600}-hour limit", "a huge header is how decompression bombs start")
    if samples == 0:
        raise AudioError(f"{path} holds no audio samples", "export the file again")
    if samples > MAX_AUDIO_SECONDS * ANALYSIS_RATE:
        raise AudioError(f"{path} is longer than the {MAX_AUDIO_SECONDS // 3600}-hour limit for audio")
    if b"Decoding error" in err or b"Header missing" in err or b"Invalid data" in err:
        raise AudioError(f"{path} is corrupt or truncated: ffmpeg found broken packets", "export the file again")
    if claimed_s is not None and b"Estimating duration" not in err:
        got = samples / ANALYSIS_RATE
        if claimed_s - got > max(0.25, 0.01 * claimed_s):
            raise AudioError(f"{path} is truncated: its header says {claimed_s:.2f} s, only {got:.2f} s decode",
                             "export the file again")
    if audio is not None:  # the planner and the renderer read the same samples: keep them
        audio.keep_decoded(path_key(path, st), result.stdout)
    if memo is not None:
        memo.remember_audio_check(path, st, CHECK_RULES, samples)
    return AudioInfo(samples)


def decoded(path: Path, *, audio: AudioCache | None = None) -> bytes:
    """The whole file as mono float32 PCM at ANALYSIS_RATE, decoded once per session (`audio`) and
    file state (the planner keys `pacing: audio` windows on it, the renderer paces frames by it)."""
    st = stat_audio(Path(path))
    key = path_key(path, st)
    data = audio.decoded(key) if audio is not None else None
    if data is None:
        data = pcm(Path(path))
        if audio is not None:
            audio.keep_decoded(key, data)
    return data


def _exact(value: float) -> Fraction:
    return Fraction(value) if isinstance(value, int) else Fraction(repr(float(value)))


@dataclass(frozen=True)
class AudioWindow:
    """The stretch of a soundtrack a segment plays over: samples [first, last) at ANALYSIS_RATE of the
    decoded file (silence past its end), and the sha256 of exactly those samples (the clip key's).

    `audio` is the session the plan was made with, so a render in that process reads the samples the
    planner decoded; it is not compared, and not pickled (a worker process decodes for itself)."""

    path: str
    first: int
    last: int
    sha256: str
    audio: AudioCache | None = field(default=None, compare=False, repr=False)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "audio": None}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def samples(self, *, audio: AudioCache | None = None) -> bytes:
        """The window's PCM, checked against the digest the plan keyed (the file may have changed since);
        decoded through `audio`, else the planner's session, else a fresh one."""
        data = window_bytes(decoded(Path(self.path), audio=audio or self.audio), self.first, self.last)
        if hashlib.sha256(data).hexdigest() != self.sha256:
            raise AudioError(f"{self.path} changed while rendering", "render again")
        return data


def window_bytes(data: bytes, first: int, last: int) -> bytes:
    """Samples [first, last) of decoded PCM bytes, zeros past the end."""
    have = data[4 * first:4 * last]
    return have + bytes(4 * (last - first) - len(have))


def window_for(path: Path, start: float, fps: float, first_frame: int, frames: int, *,
               audio: AudioCache | None = None) -> AudioWindow:
    """The window of a segment that starts on `first_frame` and lasts `frames` frames, with the file
    time `start` at video time 0: sample-exact times (first_frame / fps), rounded to samples once.
    The file is decoded once per `audio` (pass one for all the segments of a plan)."""
    rate, offset, step = ANALYSIS_RATE, _exact(start), 1 / _exact(fps)

    def sample(frame: int) -> int:
        return math.floor((offset + frame * step) * rate + Fraction(1, 2))

    first, last = sample(first_frame), sample(first_frame + frames)
    data = window_bytes(decoded(path, audio=audio), first, last)
    return AudioWindow(str(path), first, last, hashlib.sha256(data).hexdigest(), audio)
