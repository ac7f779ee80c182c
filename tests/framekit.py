"""Helpers for the frame-export tests: a 10-bit ProRes clip made from a smooth gradient, image files
read back through ffmpeg at full precision, and what an EXR's or a PNG's header says it holds."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from seqc.media.ffmpeg import ff_path, run


def smooth_frames16(n: int, width: int = 32, height: int = 32) -> np.ndarray:
    """n uint16 RGB frames [n,H,W,3]: fine gradients that 8 bits cannot hold, moving from frame to frame."""
    x = np.linspace(0.0, 1.0, width)[None, :]
    y = np.linspace(0.0, 1.0, height)[:, None]
    frames = [np.stack([(x * 0.25 + 0.4 + i / 97) % 1 + 0 * y, 0.3 + 0.2 * y + 0 * x, 0.6 - 0.1 * x * y], -1)
              for i in range(n)]
    return (np.stack(frames) * 65535).round().astype(np.uint16)


def write_prores(path: Path, frames: np.ndarray, fps: int = 24) -> Path:
    """A 10-bit 4:2:2 ProRes HQ .mov of uint16 RGB frames, as a ProRes clip holds them."""
    raw = path.with_suffix(".rgb48")
    raw.write_bytes(np.ascontiguousarray(frames, dtype="<u2").tobytes())
    height, width = frames.shape[1:3]
    run(["-f", "rawvideo", "-pix_fmt", "rgb48le", "-s", f"{width}x{height}", "-r", str(fps), "-i", ff_path(raw),
         "-c:v", "prores_ks", "-profile:v", "3", "-pix_fmt", "yuv422p10le", "-y", ff_path(path)], "write ProRes")
    raw.unlink()
    return path


def read_image(path: Path, size: tuple[int, int], pix_fmt: str = "rgb48le") -> np.ndarray:
    """An image file of `size` (width, height) decoded by ffmpeg with no colour conversion: uint16 RGB
    [H,W,3] (rgb48le), or float32 RGB [H,W,3] from float planes (gbrpf32le, or gbrpf16le: a half-float
    EXR's values exactly as stored), put back in R, G, B order."""
    width, height = size
    data = run(["-i", ff_path(path), "-f", "rawvideo", "-pix_fmt", pix_fmt, "pipe:1"], "decode the image").stdout
    if pix_fmt.startswith("gbrpf"):
        dtype = "<f2" if pix_fmt == "gbrpf16le" else "<f4"
        g, b, r = np.frombuffer(data, dtype=dtype).reshape(3, height, width).astype(np.float32)
        return np.stack([r, g, b], -1)
    return np.frombuffer(data, dtype="<u2").reshape(height, width, 3).astype(np.uint16)


def png_depth(path: Path) -> tuple[int, int]:
    """A PNG's bit depth and colour type (2: RGB) from its IHDR chunk."""
    data = path.read_bytes()[:32]
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return data[24], data[25]


def exr_channels(path: Path) -> dict[str, int]:
    """An OpenEXR file's channels and their pixel types (0 uint, 1 half, 2 float) from its header."""
    data = path.read_bytes()
    assert data[:4] == b"\x76\x2f\x31\x01", "not an OpenEXR file"
    start = data.index(b"channels\x00chlist\x00") + len(b"channels\x00chlist\x00") + 4  # after the size
    channels, at = {}, start
    while data[at] != 0:
        end = data.index(b"\x00", at)
        name = data[at:end].decode()
        (pixel_type,) = struct.unpack("<i", data[end + 1:end + 5])
        channels[name] = pixel_type
        at = end + 1 + 16  # pixel type, pLinear and 3 reserved bytes, x and y sampling
    return channels
