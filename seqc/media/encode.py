"""The clip encoding: the settings every clip is encoded with, and ffmpeg's arguments for them.

Every clip is encoded with `ENCODER_SETTINGS`: same codec, pixel format, colour tags, no
B-frames, bit-exact flags and a fixed thread count. So every clip starts on an IDR frame, all
clips of one size and fps share their SPS/PPS, the output is a concat-demuxer stream copy
(never a re-encode) and two renders of the same frames give byte-identical files. Pure data
and arithmetic (no numpy): the planner puts `ENCODER_SETTINGS` in every clip key.
"""

from __future__ import annotations

import math
import numbers
from fractions import Fraction
from pathlib import Path

from seqc.media.ffmpeg import ff_path

# The fixed encoding of every clip. It goes into the cache key of every clip, so everything
# that changes a clip's bytes is in here, and `encode_args` builds ffmpeg's arguments from
# this dict alone. Bump "recipe" when `encode_args` changes in a way the fields don't show.
ENCODER_SETTINGS: dict = {
    "recipe": 2,  # 2: the colour tags are set by a setparams filter (the -color_* options alone were dropped)
    "container": "mp4",
    "codec": "libx264",
    "pix_fmt": "yuv420p",
    "crf": 18,
    "preset": "veryfast",  # quick on a 2-core CPU; crf keeps the quality
    "profile": "high",
    # No B-frames: DTS == PTS from 0 in every clip, so concatenated clips have monotonic
    # timestamps (with B-frames each clip starts at a negative DTS and the joins break).
    "bframes": 0,
    # Closed GOPs (x264's default); every clip starts with an IDR frame, at most `keyint` apart.
    "keyint": 250,
    # x264's output depends on its thread count; fixing it makes clips machine-independent.
    "threads": 2,
    # RGB -> YUV with BT.709 coefficients, limited range, and the stream tagged to match:
    # primaries, transfer, matrix and range, or browsers guess (Chromium decodes untagged
    # primaries and transfer as BT.601, visibly off).
    "color_matrix": "bt709",
    "color_range": "tv",
    "color_primaries": "bt709",
    "color_trc": "bt709",
    "scale_flags": "accurate_rnd+bitexact",
    # -fflags +bitexact, -flags:v +bitexact, -map_metadata -1: no version strings or dates.
    "bitexact": True,
}

# The muxer for the clip files the cache holds.
CLIP_SUFFIX = ".mp4"


def frame_rate(fps: float | Fraction) -> Fraction:
    """fps as the exact rational ffmpeg gets (`-r num/den`), denominator at most 1001.

    29.97 becomes 2997/100 (as ffmpeg itself reads "29.97"); pass Fraction(30000, 1001) for NTSC.
    """
    if isinstance(fps, bool) or not isinstance(fps, numbers.Real):
        raise ValueError(f"fps must be a number, got {fps!r}")
    if not math.isfinite(float(fps)) or fps <= 0:
        raise ValueError(f"fps must be a positive finite number, got {fps!r}")
    exact = fps if isinstance(fps, (int, Fraction)) else float(fps)
    rate = Fraction(exact).limit_denominator(1001)
    if rate <= 0:
        raise ValueError(f"fps {fps!r} is too small")
    return rate


# Options of the whole ffmpeg process (not of one input or output).
GLOBAL_ARGS = ["-loglevel", "error", "-filter_threads", "1"]


def encode_args(size: tuple[int, int], rate: Fraction, output: Path) -> list[str]:
    """ffmpeg arguments that read raw RGB frames from stdin and write one clip to `output`."""
    return [*GLOBAL_ARGS, *input_args(size, rate, "pipe:0"), *output_args(0, output)]


def input_args(size: tuple[int, int], rate: Fraction, source: str) -> list[str]:
    """One input of raw rgb24 frames of `size` at `rate`, read from `source` (a pipe or a file URL)."""
    width, height = size
    return ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
            "-r", f"{rate.numerator}/{rate.denominator}", "-i", source]  # fmt: skip


def output_args(stream: int, output: Path) -> list[str]:
    """One clip written to `output` from input number `stream`, with the clip encoding.

    Each output of one ffmpeg has its own filter chain and encoder instance, so a clip is the same
    bytes whether it is encoded alone or beside others (seqc.media.batch relies on it)."""
    s = ENCODER_SETTINGS
    # The bundled ffmpeg writes only the matrix from -colorspace; setparams puts all four tags on
    # the frames, and x264 writes them into the stream (and the muxers into the container).
    scale = (
        f"scale=out_color_matrix={s['color_matrix']}:out_range={s['color_range']}"
        f":flags={s['scale_flags']},format={s['pix_fmt']},"
        f"setparams=color_primaries={s['color_primaries']}:color_trc={s['color_trc']}"
        f":colorspace={s['color_matrix']}:range={s['color_range']}"
    )
    args = [
        "-map", f"{stream}:v:0",
        "-vf", scale,
        "-c:v", s["codec"],
        "-preset", s["preset"],
        "-crf", str(s["crf"]),
        "-profile:v", s["profile"],
        "-bf", str(s["bframes"]),
        "-g", str(s["keyint"]),
        "-threads", str(s["threads"]),
        "-pix_fmt", s["pix_fmt"],
        "-color_primaries", s["color_primaries"],
        "-color_trc", s["color_trc"],
        "-colorspace", s["color_matrix"],
        "-color_range", s["color_range"],
    ]  # fmt: skip
    if s["bitexact"]:
        args += ["-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata", "-1"]
    args += ["-f", s["container"], "-y", ff_path(output)]
    return args
