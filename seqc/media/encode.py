"""The clip encodings: the settings every clip of a storyboard is encoded with, and ffmpeg's arguments.

Every clip of one storyboard is encoded with one recipe (`encoding(codec)`): same codec, pixel
format, colour tags, bit-exact flags and a fixed thread count, every clip starting on a key frame.
So all clips of one size and fps share their stream setup, the output is a concat-demuxer stream
copy (never a re-encode) and two renders of the same frames give byte-identical files. H.264 is
the default (`ENCODER_SETTINGS`); the mezzanine codecs an editor wants (ProRes, DNxHR, FFV1) take
16-bit RGB in and keep 10 bits. Pure data and arithmetic (no numpy): the planner puts the recipe
in every clip key, so an H.264 and a ProRes render share latents but not clips.
"""

from __future__ import annotations

import math
import numbers
from fractions import Fraction
from pathlib import Path

from seqc.media.ffmpeg import ff_path

# The H.264 encoding (the default). It goes into the cache key of every clip, so everything that
# changes a clip's bytes is in here, and `output_args` builds ffmpeg's arguments from this dict
# alone. Bump "recipe" when `output_args` changes in a way the fields don't show.
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

# What every mezzanine recipe shares with H.264: the colour tags, the scaler and the thread count.
_COMMON = {key: ENCODER_SETTINGS[key] for key in ("threads", "color_matrix", "color_range", "color_primaries",
                                                   "color_trc", "scale_flags", "bitexact")}

# The mezzanine codecs: intra-only, 10 bits per sample, in a QuickTime container (ProRes and DNxHR
# have no MP4 mapping in ffmpeg). `depth: 16` means the frames come in as 16-bit RGB (rgb48le), so
# a model that decodes floats reaches the encoder without an 8-bit step (seqc.backends: frame bits).
MEZZANINE: dict[str, dict] = {
    # ProRes 422 HQ, 4:2:2 10-bit; the Apple vendor id, which Final Cut and Resolve expect.
    "prores": {"recipe": 1, "container": "mov", "codec": "prores_ks", "profile": "3", "vendor": "apl0",
               "pix_fmt": "yuv422p10le", "depth": 16, **_COMMON},
    # ProRes 4444, 4:4:4 10-bit, with a 16-bit alpha plane when a keyframe is transparent (`encoding`).
    "prores4444": {"recipe": 1, "container": "mov", "codec": "prores_ks", "profile": "4", "vendor": "apl0",
                   "pix_fmt": "yuv444p10le", "depth": 16, **_COMMON},
    # DNxHR HQX: 4:2:2 10-bit, any size from 256x120 up (Avid's and Resolve's intermediate).
    "dnxhr": {"recipe": 1, "container": "mov", "codec": "dnxhd", "profile": "dnxhr_hqx",
              "pix_fmt": "yuv422p10le", "depth": 16, **_COMMON},
    # FFV1 version 3: lossless 4:4:4 10-bit, every frame a key frame, sliced and checksummed (archival).
    "ffv1": {"recipe": 1, "container": "mov", "codec": "ffv1", "level": 3, "slices": 4, "slicecrc": 1,
             "pix_fmt": "yuv444p10le", "depth": 16, **_COMMON},
}

CODECS = ("h264", *MEZZANINE)  # what `output.codec` names
# Containers a codec's output may be written in (the suffixes a stream copy of its clips can take).
OUTPUT_SUFFIXES = {"h264": (".mp4", ".mov", ".mkv"), **{codec: (".mov", ".mkv") for codec in MEZZANINE}}
MIN_SIZE = {"dnxhr": (256, 120)}  # the encoder refuses smaller frames


def encoding(codec: str = "h264", alpha: bool = False) -> dict:
    """The recipe of every clip for `codec`; `alpha` (prores4444 only) adds an alpha plane."""
    if codec == "h264":
        return dict(ENCODER_SETTINGS)
    if codec not in MEZZANINE:
        raise ValueError(f"unknown codec {codec!r}: use one of {', '.join(CODECS)}")
    recipe = dict(MEZZANINE[codec])
    if alpha and codec == "prores4444":
        recipe.update(pix_fmt="yuva444p10le", alpha_bits=16)
    return recipe


def codec_name(settings: dict) -> str:
    """The `output.codec` a recipe was made for (a recipe from an unknown version: its encoder)."""
    for codec in CODECS:
        plain = encoding(codec)
        if all(settings.get(k) == plain[k] for k in ("codec", "profile", "container") if k in plain):
            return codec
    return str(settings.get("codec", "unknown"))


def depth(settings: dict) -> int:
    """Bits per channel of the RGB frames the recipe's encoder reads: 8 or 16."""
    return int(settings.get("depth", 8))


def has_alpha(settings: dict) -> bool:
    """Whether the recipe keeps an alpha plane (its frames come in as RGBA)."""
    return "alpha_bits" in settings


def input_format(settings: dict) -> str:
    """The raw pixel format ffmpeg reads the recipe's frames in."""
    if depth(settings) == 16:
        return "rgba64le" if has_alpha(settings) else "rgb48le"
    return "rgb24"


# The name every clip file of the cache ends in. The container inside is the recipe's (a mezzanine
# clip is a QuickTime file): ffmpeg and `read_track` read a file's boxes, never its name.
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


def encode_args(size: tuple[int, int], rate: Fraction, output: Path, settings: dict | None = None) -> list[str]:
    """ffmpeg arguments that read raw RGB frames from stdin and write one clip to `output`."""
    settings = ENCODER_SETTINGS if settings is None else settings
    return [*GLOBAL_ARGS, *input_args(size, rate, "pipe:0", input_format(settings)),
            *output_args(0, output, settings)]


def input_args(size: tuple[int, int], rate: Fraction, source: str, pix_fmt: str = "rgb24") -> list[str]:
    """One input of raw RGB frames (`pix_fmt`) of `size` at `rate`, read from `source` (a pipe or a file URL)."""
    width, height = size
    return ["-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", f"{width}x{height}",
            "-r", f"{rate.numerator}/{rate.denominator}", "-i", source]  # fmt: skip


def output_args(stream: int, output: Path, settings: dict | None = None) -> list[str]:
    """One clip written to `output` from input number `stream`, with the recipe `settings` (H.264's
    by default).

    Each output of one ffmpeg has its own filter chain and encoder instance, so a clip is the same
    bytes whether it is encoded alone or beside others (seqc.media.batch relies on it)."""
    s = ENCODER_SETTINGS if settings is None else settings
    # The bundled ffmpeg writes only the matrix from -colorspace; setparams puts all four tags on
    # the frames, and the encoders write them into the stream (and the muxers into the container).
    scale = (
        f"scale=out_color_matrix={s['color_matrix']}:out_range={s['color_range']}"
        f":flags={s['scale_flags']},format={s['pix_fmt']},"
        f"setparams=color_primaries={s['color_primaries']}:color_trc={s['color_trc']}"
        f":colorspace={s['color_matrix']}:range={s['color_range']}"
    )
    args = ["-map", f"{stream}:v:0", "-vf", scale, *_codec_args(s), "-threads", str(s["threads"]),
            "-pix_fmt", s["pix_fmt"],
            "-color_primaries", s["color_primaries"],
            "-color_trc", s["color_trc"],
            "-colorspace", s["color_matrix"],
            "-color_range", s["color_range"]]  # fmt: skip
    if s["bitexact"]:
        args += ["-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata", "-1"]
    args += ["-f", s["container"], "-y", ff_path(output)]
    return args


def _codec_args(s: dict) -> list[str]:
    """The encoder and its own options, by the recipe's codec."""
    if s["codec"] == "libx264":
        return ["-c:v", "libx264", "-preset", s["preset"], "-crf", str(s["crf"]), "-profile:v", s["profile"],
                "-bf", str(s["bframes"]), "-g", str(s["keyint"])]
    if s["codec"] == "prores_ks":
        args = ["-c:v", "prores_ks", "-profile:v", s["profile"], "-vendor", s["vendor"]]
        return args + (["-alpha_bits", str(s["alpha_bits"])] if "alpha_bits" in s else [])
    if s["codec"] == "dnxhd":
        return ["-c:v", "dnxhd", "-profile:v", s["profile"]]
    if s["codec"] == "ffv1":
        return ["-c:v", "ffv1", "-level", str(s["level"]), "-slices", str(s["slices"]),
                "-slicecrc", str(s["slicecrc"]), "-g", "1"]
    raise ValueError(f"no encoder arguments for {s['codec']!r}")
