"""Everything that touches ffmpeg: the clip encoding, clip writing, probing, concat and decoding.

    ffmpeg.py   the only place that starts ffmpeg (paths as `file:` URLs, its own session)
    encode.py   the clip recipes (H.264, ProRes, DNxHR, FFV1) and the encoder's arguments (pure data: clip keys hold them)
    formats.py  the output formats by suffix
    clips.py    ClipWriter: frames in, one verified clip out
    probe.py    frame counts without decoding
    concat.py   clips joined into the output by a stream copy (or a re-encode for gif/webm)
    reader.py   frames back out of a video (8 or 16 bits); image sequences
    mux.py      the soundtrack put into the joined video once, exactly its length
    mp4.py      a clip's frame count and stream parameters, read from its boxes in-process
"""

import importlib

from seqc.media.concat import concat
from seqc.media.encode import ENCODER_SETTINGS, encode_args
from seqc.media.ffmpeg import ffmpeg_exe, ffmpeg_version
from seqc.media.formats import OUTPUT_FORMATS
from seqc.media.probe import count_frames

# The clip writer and the decoder need numpy: imported on first use (PEP 562), so `seqc plan`
# and a no-op render never load them.
_LAZY = {"ClipWriter": "clips", "write_clip": "clips", "read_frames": "reader", "write_png_sequence": "reader"}

__all__ = ["ENCODER_SETTINGS", "OUTPUT_FORMATS", "ClipWriter", "concat", "count_frames", "encode_args",
           "ffmpeg_exe", "ffmpeg_version", "read_frames", "write_clip", "write_png_sequence"]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'seqc.media' has no attribute {name!r}")
    return getattr(importlib.import_module(f"seqc.media.{_LAZY[name]}"), name)
