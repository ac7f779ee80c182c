"""Everything that touches ffmpeg: the clip encoding, clip writing, probing, concat and decoding.

    ffmpeg.py   the only place that starts ffmpeg (paths as `file:` URLs, its own process group)
    encode.py   ENCODER_SETTINGS and the encoder's arguments (pure data: clip keys include it)
    formats.py  the output formats by suffix
    clips.py    ClipWriter: frames in, one verified clip out
    probe.py    packets, frame counts and stream parameters without decoding
    concat.py   clips joined into the output by a stream copy (or a re-encode for gif/webm)
    decode.py   frames back out of a video; PNG sequences
"""

from seqc.media.clips import ClipWriter, write_clip
from seqc.media.concat import concat
from seqc.media.decode import read_frames, write_png_sequence
from seqc.media.encode import ENCODER_SETTINGS, encode_args
from seqc.media.ffmpeg import ffmpeg_exe, ffmpeg_version
from seqc.media.formats import OUTPUT_FORMATS
from seqc.media.probe import VideoInfo, count_frames, probe, read_packets

__all__ = ["ENCODER_SETTINGS", "OUTPUT_FORMATS", "ClipWriter", "VideoInfo", "concat", "count_frames", "encode_args",
           "ffmpeg_exe", "ffmpeg_version", "probe", "read_frames", "read_packets", "write_clip", "write_png_sequence"]
