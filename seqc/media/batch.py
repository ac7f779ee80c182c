"""Encode several short clips with one ffmpeg: one raw-frames input and one output per clip.

Starting ffmpeg costs more than encoding a clip of a few small frames (about 14 of the 23 ms of
CPU a 2-frame 32x32 clip takes here), and a production-length storyboard has hundreds of such
clips. Each output of one ffmpeg has its own filter chain and encoder, so every clip is the same
bytes as when encoded alone (tests/media/test_batch.py compares them); only the launch is shared.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from seqc.errors import RenderError
from seqc.media.clips import as_batch, check_size
from seqc.media.encode import (
    CLIP_SUFFIX,
    ENCODER_SETTINGS,
    GLOBAL_ARGS,
    frame_rate,
    input_args,
    input_format,
    output_args,
)
from seqc.media.ffmpeg import capture, exit_text, ff_path, tail
from seqc.media.mp4 import Mp4Error, TrackInfo, read_track


@dataclass
class HeldClip:
    """A short clip's frames, held in memory until its batch is encoded (written like a ClipWriter).

    `path` is the temp file the batch writes the clip to (publish it afterwards); the raw frames go
    to a temp file beside it only while ffmpeg reads them."""

    path: Path
    size: tuple[int, int]
    fps: float | Fraction
    settings: dict = field(default_factory=lambda: ENCODER_SETTINGS)  # the clip's encoding recipe
    frames_written: int = 0
    _chunks: list[bytes] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if self.path.suffix.lower() != CLIP_SUFFIX:
            raise ValueError(f"clip path must end in {CLIP_SUFFIX}, got {self.path.name!r}")
        self.size = check_size(self.size)

    @property
    def nbytes(self) -> int:
        """Raw bytes held so far."""
        return sum(len(chunk) for chunk in self._chunks)

    def write(self, frames: np.ndarray) -> None:
        """Keep one frame or a batch of RGB(A) frames (checked and converted as ClipWriter does)."""
        batch = as_batch(frames, self.size, self.settings)
        if len(batch):
            self._chunks.append(batch.tobytes())
            self.frames_written += len(batch)

    def abort(self) -> None:
        """Drop the frames (nothing was written to disk yet)."""
        self._chunks.clear()

    def raw_path(self) -> Path:
        """The temp file ffmpeg reads this clip's frames from (the clip's temp name, another suffix)."""
        return self.path.with_suffix(".raw")


def encode_batch(clips: list[HeldClip]) -> list[TrackInfo]:
    """Encode every held clip into its `path` with one ffmpeg; return each clip's track, checked.

    All clips share one size, frame rate and encoding (one render's). On any failure (KeyboardInterrupt
    included) every output and raw file is removed and a RenderError says what went wrong."""
    if not clips:
        return []
    size, rate = clips[0].size, frame_rate(clips[0].fps)
    settings = clips[0].settings
    if any(clip.size != size or frame_rate(clip.fps) != rate or clip.settings != settings for clip in clips):
        raise ValueError("the clips of one batch must share their size, frame rate and encoding")
    if any(clip.frames_written == 0 for clip in clips):
        raise ValueError("every clip of a batch needs at least one frame")
    args = [*GLOBAL_ARGS]
    for clip in clips:
        args += input_args(size, rate, ff_path(clip.raw_path()), input_format(settings))
    for stream, clip in enumerate(clips):
        args += output_args(stream, clip.path, settings)
    try:
        # 1. The frames as files: ffmpeg reads its inputs in the order it needs, which a pipe per
        #    input written one after the other could deadlock.
        for clip in clips:
            with open(clip.raw_path(), "wb") as raw:
                raw.writelines(clip._chunks)
        # 2. One ffmpeg for them all.
        result = capture(args)
        if result.returncode != 0:
            raise RenderError(f"cannot write {len(clips)} clips: ffmpeg failed ({exit_text(result.returncode)}): "
                              f"{tail(result.stderr)}")
        # 3. Each clip holds exactly its frames, at the size asked for.
        return [_check(clip) for clip in clips]
    except BaseException:
        for clip in clips:
            with contextlib.suppress(FileNotFoundError):
                clip.path.unlink()
        raise
    finally:
        for clip in clips:
            with contextlib.suppress(FileNotFoundError):
                clip.raw_path().unlink()


def _check(clip: HeldClip) -> TrackInfo:
    try:
        info = read_track(clip.path)
    except Mp4Error as exc:
        raise RenderError(f"cannot write clip {clip.path.name}: ffmpeg wrote an unreadable clip ({exc})") from None
    if info.frames != clip.frames_written:
        raise RenderError(f"cannot write clip {clip.path.name}: wrote {clip.frames_written} frames but the clip "
                          f"has {info.frames}")
    if (info.width, info.height) != clip.size:
        raise RenderError(f"cannot write clip {clip.path.name}: the clip is {info.width}x{info.height}, expected "
                          f"{clip.size[0]}x{clip.size[1]}")
    return info
