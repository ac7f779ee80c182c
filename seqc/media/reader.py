"""Decode videos back to frames (previews, analysis, PNG export) and write PNG sequences."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

import numpy as np

from seqc.errors import RenderError
from seqc.media.clips import as_batch
from seqc.media.ffmpeg import ff_path, spawn, stop, tail
from seqc.store import atomic


def read_frames(path: Path) -> Iterator[np.ndarray]:
    """Decode a video's first video stream to uint8 RGB frames [H,W,3], one by one.

    ffmpeg (started by `seqc.media.ffmpeg.spawn`) writes each frame as a PPM, whose header gives
    its size; closing or interrupting the iterator stops ffmpeg. For tests, previews and exports.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such video: {path}")
    return _decode(path)


def _decode(path: Path) -> Iterator[np.ndarray]:
    # Full-resolution chroma upsampling with accurate rounding: swscale's default fast path
    # costs ~3 levels of error per channel on smooth gradients.
    convert = "scale=flags=bicubic+accurate_rnd+full_chroma_int,format=rgb24"
    with tempfile.TemporaryFile() as stderr:  # a file, so ffmpeg's messages never fill a pipe
        proc = spawn(["-i", ff_path(path), "-map", "0:v:0", "-vf", convert, "-pix_fmt", "rgb24",
                      "-c:v", "ppm", "-f", "image2pipe", "-"], stderr=stderr)
        assert proc.stdout is not None
        try:
            count = 0
            while (frame := _next_frame(proc.stdout)) is not None:
                count += 1
                yield frame
            if proc.wait() != 0:
                stderr.seek(0)
                verb = "decode" if count else "read"
                raise RenderError(f"cannot {verb} {path}: {tail(stderr.read())}")
        except ValueError:  # a frame cut short, or not a PPM
            stderr.seek(0)
            raise RenderError(f"cannot decode {path}: {tail(stderr.read())}") from None
        finally:
            proc.stdout.close()
            stop(proc)


def _next_frame(stream: IO[bytes]) -> np.ndarray | None:
    """One frame of ffmpeg's PPM stream ("P6\\n<w> <h>\\n255\\n" and the rgb24 rows), None at its end."""
    magic = stream.readline()
    if not magic:
        return None
    size, depth = stream.readline().split(), stream.readline().strip()
    if magic != b"P6\n" or len(size) != 2 or depth != b"255":
        raise ValueError("not a PPM frame")
    width, height = int(size[0]), int(size[1])
    data = stream.read(width * height * 3)
    if len(data) != width * height * 3:
        raise ValueError("a frame cut short")
    return np.frombuffer(data, dtype=np.uint8).reshape(height, width, 3)


def write_png_sequence(frames: Iterable[np.ndarray], folder: Path, start: int = 0) -> int:
    """Write frames as `frame_000000.png`, `frame_000001.png`, ... into `folder`.

    Numbering starts at `start`; each file is written atomically (temp file + rename), so a
    reader never sees half a PNG. Accepts [H,W,3] frames or [B,H,W,3] batches; returns how
    many frames were written. For `seqc render --frames DIR`.
    """
    from PIL import Image

    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    index = start
    for item in frames:
        for frame in as_batch(item, None):
            with atomic.atomic_path(folder / f"frame_{index:06d}.png") as tmp:
                Image.fromarray(frame).save(tmp, format="PNG")
            index += 1
    return index - start
