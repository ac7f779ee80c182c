"""Write one clip: stream RGB frames into ffmpeg with the storyboard's clip encoding, and check the result.

Frame counts are checked by counting the video packets of the written file (one packet per
frame in MP4); an exit code of 0 alone is not trusted.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from typing import IO, Literal

import numpy as np

from seqc.errors import RenderError
from seqc.media.encode import (
    CLIP_SUFFIX,
    ENCODER_SETTINGS,
    depth,
    encode_args,
    frame_rate,
    has_alpha,
)
from seqc.media.ffmpeg import exit_text, spawn, tail
from seqc.media.mp4 import Mp4Error, TrackInfo, read_track


def check_size(size: tuple[int, int]) -> tuple[int, int]:
    """Validate (width, height): positive ints, even (4:2:0 and 4:2:2 halve the chroma planes)."""
    try:
        width, height = size
    except (TypeError, ValueError):
        raise ValueError(f"size must be (width, height), got {size!r}") from None
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if value % 2:
            raise ValueError(f"{name} must be even for {ENCODER_SETTINGS['pix_fmt']}, got {value}")
    return int(width), int(height)


def as_batch(frames: np.ndarray, size: tuple[int, int] | None, settings: dict | None = None) -> np.ndarray:
    """Check frames are uint8 or uint16 [H,W,C] or [B,H,W,C], C 3 (RGB) or 4 (RGBA), of `size` if
    given; return them as [B,H,W,C] in the recipe's input format: its depth (8-bit values widened
    by 257, 16-bit ones rounded down to 8) and its channels (an opaque alpha added, or alpha dropped:
    the colour already shows the keyframe's background there)."""
    settings = ENCODER_SETTINGS if settings is None else settings
    arr = np.asarray(frames)
    if arr.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"frames must be uint8 or uint16, got {arr.dtype}")
    if arr.ndim == 3:
        arr = arr[np.newaxis]
    if arr.ndim != 4 or arr.shape[3] not in (3, 4):
        raise ValueError(f"frames must have shape [H,W,3|4] or [B,H,W,3|4], got {list(arr.shape)}")
    if size is not None and (arr.shape[2], arr.shape[1]) != size:
        raise ValueError(
            f"frame size {arr.shape[2]}x{arr.shape[1]} does not match the clip's "
            f"{size[0]}x{size[1]} (width x height)"
        )
    wide = depth(settings) == 16
    if wide and arr.dtype == np.uint8:
        arr = arr.astype("<u2") * np.uint16(257)
    elif not wide and arr.dtype == np.uint16:
        arr = ((arr.astype(np.uint32) + 128) // 257).astype(np.uint8)
    channels = 4 if has_alpha(settings) else 3
    if arr.shape[3] > channels:
        arr = arr[..., :channels]
    elif arr.shape[3] < channels:
        opaque = np.full(arr.shape[:3] + (1,), np.iinfo(arr.dtype).max, dtype=arr.dtype)
        arr = np.concatenate([arr, opaque], axis=3)
    return np.ascontiguousarray(arr, dtype="<u2" if wide else np.uint8)


class ClipWriter:
    """Stream frames into one clip file with the recipe `settings` (H.264's by default; a context manager).

        with ClipWriter(tmp_path, (width, height), fps) as writer:
            writer.write(frames)          # uint8 or uint16 [H,W,3|4] or [B,H,W,3|4], RGB(A)

    Frames go to ffmpeg as raw RGB (8 or 16 bits, with alpha if the recipe has it) over its stdin. On a clean exit the writer closes stdin,
    waits, checks the exit code and that the file holds exactly the frames written, and
    raises RenderError otherwise. On any exception in the block (KeyboardInterrupt included)
    or ffmpeg dying, it kills ffmpeg, waits for it and deletes the partial file. It writes
    `path` directly, so pass a temp path and publish it afterwards (`atomic.atomic_path`).
    """

    def __init__(self, path: Path, size: tuple[int, int], fps: float | Fraction, settings: dict | None = None):
        self.settings = ENCODER_SETTINGS if settings is None else settings
        self.path = Path(os.path.abspath(os.fspath(path)))
        if self.path.suffix.lower() != CLIP_SUFFIX:
            raise ValueError(f"clip path must end in {CLIP_SUFFIX}, got {self.path.name!r}")
        self.size = check_size(size)
        self.rate = frame_rate(fps)
        self.frames_written = 0
        self.track: TrackInfo | None = None  # what the finished clip holds, read from its boxes
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._done = False

    @property
    def pid(self) -> int | None:
        """ffmpeg's process id once started (for tests and diagnostics)."""
        return self._proc.pid if self._proc is not None else None

    @property
    def returncode(self) -> int | None:
        """ffmpeg's exit status once it has ended (negative: killed by that signal)."""
        return self._proc.returncode if self._proc is not None else None

    def __enter__(self) -> ClipWriter:
        # An interrupt that lands after ffmpeg started but before the block runs would skip
        # __exit__ and leave ffmpeg writing a temp file after its owner is gone: clean up here.
        try:
            self.start()
        except BaseException:
            self.abort()
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> Literal[False]:
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False

    def start(self) -> None:
        """Start ffmpeg; its stderr goes to an unnamed temp file so the pipe never fills."""
        if self._proc is not None or self._done:
            raise RuntimeError("ClipWriter can only be started once")
        self._stderr = tempfile.TemporaryFile()
        try:  # with Ctrl-C held while ffmpeg starts (see `spawn`): `__enter__`'s cleanup then owns it
            self._proc = spawn(encode_args(self.size, self.rate, self.path, self.settings), stdin=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, stderr=self._stderr)
        except RenderError:
            self._stderr.close()
            self._done = True
            raise

    def write(self, frames: np.ndarray) -> None:
        """Send one frame [H,W,C] or a batch [B,H,W,C] of RGB(A) frames to ffmpeg (see `as_batch`).

        Wrong dtype/shape/size -> ValueError (nothing is sent). ffmpeg gone -> RenderError
        with its stderr, after cleaning up.
        """
        if self._proc is None or self._done:
            raise RuntimeError("ClipWriter is not running (use it as a context manager)")
        batch = as_batch(frames, self.size, self.settings)
        if len(batch) == 0:
            return
        try:
            assert self._proc.stdin is not None
            # numpy's stubs give ndarray __buffer__ only for Python 3.12+ (mypy targets 3.10)
            self._proc.stdin.write(memoryview(batch).cast("B"))  # type: ignore[arg-type]
        except (BrokenPipeError, ConnectionResetError):
            raise self._failure("ffmpeg stopped accepting frames") from None
        self.frames_written += len(batch)

    def close(self) -> int:
        """Finish the clip: close stdin, wait, check the exit code and frame count.

        Returns the number of frames written. Any failure (or interrupt) removes the file.
        """
        if self._done:
            return self.frames_written
        if self._proc is None:
            raise RuntimeError("ClipWriter was never started")
        try:
            if self.frames_written == 0:
                raise ValueError(f"no frames were written to {self.path}")
            assert self._proc.stdin is not None
            try:
                self._proc.stdin.close()
            except (BrokenPipeError, ConnectionResetError):
                raise self._failure("ffmpeg stopped accepting frames") from None
            returncode = self._proc.wait()
            if returncode != 0:
                raise self._failure(f"ffmpeg failed ({exit_text(returncode)})")
            try:  # in-process: a second ffmpeg launch per clip would cost more than the encode
                info = read_track(self.path)
            except Mp4Error as exc:
                raise self._failure(f"ffmpeg wrote an unreadable clip ({exc})", with_stderr=False) from None
            if info.frames != self.frames_written:
                raise self._failure(
                    f"wrote {self.frames_written} frames but the clip has {info.frames}",
                    with_stderr=False,
                )
            if (info.width, info.height) != self.size:
                raise self._failure(
                    f"the clip is {info.width}x{info.height}, expected "
                    f"{self.size[0]}x{self.size[1]}",
                    with_stderr=False,
                )
        except BaseException:
            self.abort()
            raise
        self.track = info
        self._finish()
        return self.frames_written

    def abort(self) -> None:
        """Kill ffmpeg if it runs, wait for it (no zombie), and delete the partial file."""
        proc = self._proc
        if proc is not None:
            if proc.poll() is None:
                with contextlib.suppress(OSError):
                    proc.kill()
            if proc.stdin is not None:
                # Flushing buffered bytes into a dead pipe raises; the fd is closed anyway.
                with contextlib.suppress(OSError, ValueError):
                    proc.stdin.close()
            proc.wait()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._finish()

    def _stderr_text(self) -> str:
        if self._stderr is None or self._stderr.closed:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def _failure(self, what: str, with_stderr: bool = True) -> RenderError:
        """Clean up after a failure and build the RenderError to raise."""
        if self._proc is not None and self._proc.poll() is None:
            # Let ffmpeg print why it stopped, if it is exiting on its own.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=2)
        stderr = self._stderr_text()
        self.abort()
        message = f"cannot write clip {self.path.name}: {what}"
        if with_stderr:
            message += f": {tail(stderr)}"
        return RenderError(message)

    def _finish(self) -> None:
        self._done = True
        if self._stderr is not None:
            self._stderr.close()


def write_clip(
    frames: Iterable[np.ndarray], path: Path, size: tuple[int, int], fps: float | Fraction,
    settings: dict | None = None,
) -> int:
    """Write all `frames` (each [H,W,C] or [B,H,W,C]) to one clip; return the frame count."""
    with ClipWriter(path, size, fps, settings) as writer:
        for batch in frames:
            writer.write(batch)
    return writer.frames_written
