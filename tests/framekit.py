"""Helpers for the frame-export tests: a 10-bit ProRes clip made from a smooth gradient (a ProRes 4444
one with an alpha plane from an RGBA gradient), image files read back through ffmpeg at full
precision, and what an EXR's, a PNG's or a TIFF's header says it holds."""

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


def smooth_frames_rgba16(n: int, width: int = 256, height: int = 128) -> np.ndarray:
    """n uint16 RGBA frames [n,H,W,4]: `smooth_frames16`'s colours, alpha a ramp from transparent at
    the left edge to opaque at the right, moving right from frame to frame."""
    ramp = np.linspace(0.0, 1.0, width)[None, None, :] - np.arange(n)[:, None, None] / (2 * n)
    alpha = np.broadcast_to(np.clip(ramp, 0, 1), (n, height, width))
    rgb = smooth_frames16(n, width, height)
    return np.concatenate([rgb, (alpha * 65535).round().astype(np.uint16)[..., None]], -1)


def write_prores(path: Path, frames: np.ndarray, fps: int = 24) -> Path:
    """A 10-bit 4:2:2 ProRes HQ .mov of uint16 RGB frames [n,H,W,3], as a ProRes clip holds them; of
    RGBA frames [n,H,W,4], a 4:4:4 ProRes 4444 .mov with a 16-bit alpha plane (yuva444p10le), as a
    prores4444 render of a transparent keyframe holds them."""
    rgba = frames.shape[-1] == 4
    raw = path.with_suffix(".raw")
    raw.write_bytes(np.ascontiguousarray(frames, dtype="<u2").tobytes())
    height, width = frames.shape[1:3]
    codec = (["-profile:v", "4", "-alpha_bits", "16", "-pix_fmt", "yuva444p10le"] if rgba
             else ["-profile:v", "3", "-pix_fmt", "yuv422p10le"])
    run(["-f", "rawvideo", "-pix_fmt", "rgba64le" if rgba else "rgb48le", "-s", f"{width}x{height}", "-r", str(fps),
         "-i", ff_path(raw), "-c:v", "prores_ks", *codec, "-y", ff_path(path)], "write ProRes")
    raw.unlink()
    return path


def read_image(path: Path, size: tuple[int, int], pix_fmt: str = "rgb48le") -> np.ndarray:
    """An image file of `size` (width, height) decoded by ffmpeg with no colour conversion: uint16 RGB
    [H,W,3] (rgb48le) or RGBA [H,W,4] (rgba64le), or float32 RGB(A) from float planes (gbrpf32le,
    gbrapf32le, or gbrpf16le / gbrapf16le: a half-float EXR's values exactly as stored), put back in
    R, G, B(, A) order."""
    width, height = size
    data = run(["-i", ff_path(path), "-f", "rawvideo", "-pix_fmt", pix_fmt, "pipe:1"], "decode the image").stdout
    if pix_fmt.startswith("gbr"):
        dtype = "<f2" if pix_fmt.endswith("f16le") else "<f4"
        planes = np.frombuffer(data, dtype=dtype).reshape(-1, height, width).astype(np.float32)
        return np.stack([planes[2], planes[0], planes[1], *planes[3:]], -1)
    channels = 4 if pix_fmt.startswith("rgba") else 3
    return np.frombuffer(data, dtype="<u2").reshape(height, width, channels).astype(np.uint16)


def png_depth(path: Path) -> tuple[int, int]:
    """A PNG's bit depth and colour type (2: RGB, 6: RGBA) from its IHDR chunk."""
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


def tiff_samples(path: Path) -> tuple[int, tuple[int, ...]]:
    """A TIFF's SamplesPerPixel and ExtraSamples (2: unassociated, i.e. straight, alpha; () if none)."""
    from PIL import Image

    with Image.open(path) as image:
        return image.tag_v2[277], tuple(image.tag_v2.get(338, ()))
