"""Decode videos back to frames (previews, analysis, frame export) and write image sequences: 8-bit
PNGs here, 16-bit PNG/TIFF and half-float EXR through ffmpeg (`write_image_sequence`); RGB, or RGBA
with straight alpha for clips that keep an alpha plane (ProRes 4444)."""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import tempfile
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import IO

import numpy as np

from seqc.errors import RenderError
from seqc.media.ffmpeg import exit_text, ff_path, spawn, stop, tail
from seqc.store import atomic

# Full-resolution chroma upsampling with accurate rounding: swscale's default fast path costs ~3
# levels of error per channel on smooth gradients.
_SCALE = "scale=flags=bicubic+accurate_rnd+full_chroma_int"


def read_frames(path: Path, depth: int = 8, alpha: bool = False) -> Generator[np.ndarray, None, None]:
    """Decode a video's first video stream to RGB frames [H,W,3], one by one: uint8 (`depth` 8), or
    uint16 at the video's own depth (`depth` 16: a 10-bit ProRes clip keeps its 10 bits; an 8-bit
    H.264 clip's values are the 8-bit ones widened, v * 257, so they agree with the 8-bit frames).
    `alpha`: RGBA frames [H,W,4] instead, straight alpha as the clip stores it (a clip without an
    alpha plane reads as opaque), for exporting ProRes 4444 clips with their transparency.

    ffmpeg (started by `seqc.media.ffmpeg.spawn`) writes each frame as a PPM (a PAM with alpha),
    whose header gives its size and depth; closing or interrupting the iterator stops ffmpeg. For
    tests, previews and exports.
    """
    if depth not in (8, 16):
        raise ValueError(f"depth must be 8 or 16, got {depth}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such video: {path}")
    return _decode(path, depth, alpha)


# How ffmpeg writes the frames, by (depth, alpha): the formats the filter may convert to, and the
# encoder's arguments (PPM for RGB, PAM for RGBA). 16 bits: ffmpeg picks the 8- or the 16-bit format,
# whichever keeps the source's depth (8 for 8-bit YUV: converting that to 16 bits would invent
# fractions the clip never held).
_DECODED = {
    (8, False): ("rgb24", ["-pix_fmt", "rgb24", "-c:v", "ppm"]),
    (16, False): ("rgb24|rgb48be", ["-c:v", "ppm"]),
    (8, True): ("rgba", ["-pix_fmt", "rgba", "-c:v", "pam"]),
    (16, True): ("rgba|rgba64be", ["-c:v", "pam"]),
}


def _decode(path: Path, depth: int, alpha: bool) -> Generator[np.ndarray, None, None]:
    formats, codec = _DECODED[depth, alpha]
    with tempfile.TemporaryFile() as stderr:  # a file, so ffmpeg's messages never fill a pipe
        proc = spawn(["-i", ff_path(path), "-map", "0:v:0", "-vf", f"{_SCALE},format={formats}", *codec,
                      "-f", "image2pipe", "-"], stderr=stderr)
        assert proc.stdout is not None
        try:
            count = 0
            while (frame := _next_frame(proc.stdout)) is not None:
                count += 1
                yield frame if depth == 8 else _widened(frame)
            if proc.wait() != 0:
                stderr.seek(0)
                verb = "decode" if count else "read"
                raise RenderError(f"cannot {verb} {path}: {tail(stderr.read())}")
        except ValueError:  # a frame cut short, or not a PPM/PAM
            stderr.seek(0)
            raise RenderError(f"cannot decode {path}: {tail(stderr.read())}") from None
        finally:
            proc.stdout.close()
            stop(proc)


def _next_frame(stream: IO[bytes]) -> np.ndarray | None:
    """One frame of ffmpeg's image2pipe stream, None at its end: a PPM ("P6\\n<w> <h>\\n<maxval>\\n",
    RGB rows) or a PAM ("P7\\nWIDTH w\\nHEIGHT h\\nDEPTH 4\\nMAXVAL m\\nTUPLTYPE RGB_ALPHA\\nENDHDR\\n",
    RGBA rows); maxval 255 for bytes, 65535 for big-endian 16-bit words."""
    magic = stream.readline()
    if not magic:
        return None
    if magic == b"P6\n":
        size, maxval, channels = stream.readline().split(), stream.readline().strip(), 3
    elif magic == b"P7\n":
        header = _pam_header(stream)
        if header.get(b"DEPTH") != b"4" or header.get(b"TUPLTYPE") != b"RGB_ALPHA":
            raise ValueError("not an RGBA PAM frame")
        size = [header.get(b"WIDTH", b""), header.get(b"HEIGHT", b"")]
        maxval, channels = header.get(b"MAXVAL", b""), 4
    else:
        raise ValueError("not a PPM or PAM frame")
    if len(size) != 2 or maxval not in (b"255", b"65535"):
        raise ValueError("not a PPM or PAM frame")
    width, height = int(size[0]), int(size[1])  # ValueError for a size that is no number
    dtype = np.dtype(np.uint8) if maxval == b"255" else np.dtype(">u2")
    length = width * height * channels * dtype.itemsize
    data = stream.read(length)
    if len(data) != length:
        raise ValueError("a frame cut short")
    return np.frombuffer(data, dtype=dtype).reshape(height, width, channels)


def _pam_header(stream: IO[bytes]) -> dict[bytes, bytes]:
    """A PAM header's fields after its magic line, up to ENDHDR; ValueError past a header's few lines."""
    fields: dict[bytes, bytes] = {}
    for _ in range(16):
        line = stream.readline().strip()
        if line == b"ENDHDR":
            return fields
        name, _, value = line.partition(b" ")
        fields[name] = value.strip()
    raise ValueError("not a PAM header")


def _widened(frame: np.ndarray) -> np.ndarray:
    """A PPM or PAM frame as native uint16: 8-bit values times 257 (0..255 onto 0..65535), 16-bit
    ones as they are."""
    if frame.dtype == np.uint8:
        return frame.astype(np.uint16) * np.uint16(257)
    return frame.astype(np.uint16)


def write_png_sequence(frames: Iterable[np.ndarray], folder: Path, start: int = 0) -> int:
    """Write frames as `frame_000000.png`, `frame_000001.png`, ... into `folder`.

    Numbering starts at `start`; each file is written atomically (temp file + rename), so a
    reader never sees half a PNG. Accepts [H,W,3] frames or [B,H,W,3] batches (RGB PNGs), or
    [H,W,4] / [B,H,W,4] (RGBA PNGs, straight alpha); returns how many frames were written. For
    `seqc render --frames DIR`.
    """
    from PIL import Image

    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    index = start
    for item in frames:
        for frame in _png_batch(item):
            with atomic.atomic_path(folder / f"frame_{index:06d}.png") as tmp:
                Image.fromarray(frame).save(tmp, format="PNG")
            index += 1
    return index - start


def _png_batch(item: np.ndarray) -> np.ndarray:
    """One 8-bit frame [H,W,C] or batch [B,H,W,C], C 3 (RGB) or 4 (RGBA), as a batch; ValueError otherwise."""
    batch = np.asarray(item)
    batch = batch[np.newaxis] if batch.ndim == 3 else batch
    if batch.dtype != np.uint8 or batch.ndim != 4 or batch.shape[3] not in (3, 4):
        raise ValueError(f"PNG frames must be uint8 [H,W,3|4] or [B,H,W,3|4], got {batch.dtype} {list(batch.shape)}")
    return batch

# The image sequences ffmpeg writes: the file suffix, the raw frames it reads and writes (RGB, RGBA)
# and its encoder.
SEQUENCES = {
    "png16": (".png", ("rgb48be", "rgba64be"), ["-c:v", "png"]),
    "tiff16": (".tif", ("rgb48le", "rgba64le"), ["-c:v", "tiff", "-compression_algo", "lzw"]),
    "exr": (".exr", ("gbrpf32le", "gbrapf32le"), ["-c:v", "exr", "-format", "half", "-compression", "zip16"]),
}


def write_image_sequence(frames: Iterable[np.ndarray], folder: Path, kind: str, start: int = 0) -> int:
    """Write frames [H,W,3] as `frame_NNNNNN<suffix>` into `folder`, numbered from `start`, through one
    ffmpeg; return how many. `kind` is a SEQUENCES key: png16 and tiff16 take uint16 RGB (16-bit PNG,
    16-bit TIFF), exr float32 RGB (written as half floats, rounded to the nearest). Frames [H,W,4]
    with straight alpha (the first frame decides, the rest must match) make RGBA files: PNG and TIFF
    keep it straight (TIFF's alpha marked unassociated), EXR stores RGB times alpha (OpenEXR's
    convention, which ffmpeg's EXR encoder applies too).

    Frames stream through (memory does not grow with their number). ffmpeg writes each file beside
    its name (`<name>.tmp`) and renames it into place, so a reader never sees half a file; a failure
    or an interrupt stops it and deletes the temp file it was writing.
    """
    if kind not in SEQUENCES:
        raise ValueError(f"kind must be one of {', '.join(SEQUENCES)}, got {kind!r}")
    suffix = SEQUENCES[kind][0]
    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        return 0
    height, width = np.shape(first)[:2]
    channels = 4 if np.shape(first)[2:] == (4,) else 3
    pix_fmt = SEQUENCES[kind][1][channels == 4]
    with tempfile.TemporaryFile() as stderr:  # a file, so ffmpeg's messages never fill a pipe
        proc = spawn(_sequence_args(folder, kind, pix_fmt, (width, height), start), stdin=subprocess.PIPE,
                     stdout=subprocess.DEVNULL, stderr=stderr)
        count = 0
        try:
            for frame in itertools.chain((first,), frames):
                _send(proc, _raw(frame, pix_fmt, (height, width, channels)), stderr, folder)
                count += 1
            _finish(proc, stderr, folder)
            names = [folder / f"frame_{index:06d}{suffix}" for index in range(start, start + count)]
            missing = [path.name for path in names if not path.is_file()]
            if missing:
                raise RenderError(f"ffmpeg wrote {count - len(missing)} of {count} frames into {folder} "
                                  f"({missing[0]} is missing)")
        except BaseException:
            stop(proc)
            for index in range(start, start + count + 1):  # the file ffmpeg was writing, if any
                with contextlib.suppress(OSError):
                    (folder / f"frame_{index:06d}{suffix}.tmp").unlink()
            raise
        finally:
            if proc.stdin is not None:
                with contextlib.suppress(OSError, ValueError):
                    proc.stdin.close()
    atomic.sync_files(names)  # what the user keeps: on disk, as the video file is
    return count


def _sequence_args(folder: Path, kind: str, pix_fmt: str, size: tuple[int, int], start: int) -> list[str]:
    """ffmpeg's arguments: raw frames on stdin in `pix_fmt`, the files' own format too, one image file
    per frame (image2, renamed into place)."""
    suffix, _, codec = SEQUENCES[kind]
    pattern = ff_path(folder).replace("%", "%%") + os.sep + f"frame_%06d{suffix}"  # `%` is the pattern's
    # `_raw` premultiplies EXR frames itself (rounding once); told so, ffmpeg does not multiply again.
    premultiplied = ["-alpha_mode", "premultiplied"] if pix_fmt == "gbrapf32le" else []
    return [*premultiplied, "-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", f"{size[0]}x{size[1]}", "-r", "1",
            "-i", "pipe:0", "-map", "0:v:0", "-fps_mode", "passthrough", *codec, "-pix_fmt", pix_fmt,
            "-f", "image2", "-start_number", str(start), "-atomic_writing", "1", "-y", pattern]


def _raw(frame: np.ndarray, pix_fmt: str, shape: tuple[int, int, int]) -> np.ndarray:
    """One frame [H,W,C] as the bytes ffmpeg reads: RGB(A) 16-bit words in the byte order named, or
    float planes in G, B, R(, A) order (gbrpf32le; gbrapf32le with RGB premultiplied by the alpha, as
    EXR stores it). ValueError for a frame of another shape or type."""
    frame = np.asarray(frame)
    if frame.shape != shape:
        raise ValueError(f"expected a frame of shape {shape}, got {frame.shape}")
    if pix_fmt.startswith("gbr"):
        if frame.dtype.kind != "f":
            raise ValueError(f"an EXR frame must be float, got {frame.dtype}")
        if shape[2] == 4:
            frame = np.concatenate([frame[..., :3] * frame[..., 3:], frame[..., 3:]], -1)
        # Rounded to half floats here: ffmpeg's own float-to-half conversion truncates (1 step off).
        halves = frame.astype(np.float16).astype(np.float32)
        return np.ascontiguousarray(halves.transpose(2, 0, 1)[[1, 2, 0, 3][: shape[2]]], dtype="<f4")
    if frame.dtype != np.uint16:
        raise ValueError(f"a 16-bit frame must be uint16, got {frame.dtype}")
    return np.ascontiguousarray(frame, dtype=">u2" if pix_fmt.endswith("be") else "<u2")


def _send(proc: subprocess.Popen[bytes], data: np.ndarray, stderr: IO[bytes], folder: Path) -> None:
    assert proc.stdin is not None
    try:
        # numpy's stubs give ndarray __buffer__ only for Python 3.12+ (mypy targets 3.10)
        proc.stdin.write(memoryview(data).cast("B"))  # type: ignore[arg-type]
    except (BrokenPipeError, ConnectionResetError):
        _finish(proc, stderr, folder)  # raises with ffmpeg's reason
        raise RenderError(f"cannot write frames into {folder}: ffmpeg stopped accepting frames") from None


def _finish(proc: subprocess.Popen[bytes], stderr: IO[bytes], folder: Path) -> None:
    """Close ffmpeg's stdin and wait; RenderError with its messages if it failed."""
    assert proc.stdin is not None
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        proc.stdin.close()
    returncode = proc.wait()
    if returncode != 0:
        stderr.seek(0)
        raise RenderError(f"cannot write frames into {folder} ({exit_text(returncode)}): {tail(stderr.read())}")
