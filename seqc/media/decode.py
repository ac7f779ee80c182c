"""Decode videos back to frames (previews, analysis, PNG export) and write PNG sequences."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from seqc.errors import RenderError
from seqc.media.clips import as_batch
from seqc.media.ffmpeg import ff_path, tail
from seqc.store import atomic


def read_frames(path: Path) -> Iterator[np.ndarray]:
    """Decode a video's first video stream to uint8 RGB frames [H,W,3], one by one.

    Uses imageio-ffmpeg's reader (which also runs ffmpeg in its own process group and stops
    it when the iterator is closed or interrupted). For tests and previews.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such video: {path}")
    return _decode(path)


def _decode(path: Path) -> Iterator[np.ndarray]:
    import imageio_ffmpeg

    # Full-resolution chroma upsampling with accurate rounding: swscale's default fast path
    # costs ~3 levels of error per channel on smooth gradients.
    convert = "scale=flags=bicubic+accurate_rnd+full_chroma_int,format=rgb24"
    reader = imageio_ffmpeg.read_frames(
        ff_path(path), output_params=["-map", "0:v:0", "-vf", convert]
    )
    try:
        try:
            meta = next(reader)
        except (OSError, RuntimeError) as exc:
            raise RenderError(f"cannot read {path}: {tail(str(exc))}") from None
        width, height = meta["size"]
        while True:
            try:
                data = next(reader)
            except StopIteration:
                return
            except RuntimeError as exc:
                raise RenderError(f"cannot decode {path}: {tail(str(exc))}") from None
            yield np.frombuffer(data, dtype=np.uint8).reshape(height, width, 3)
    finally:
        reader.close()


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
