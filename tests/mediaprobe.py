"""What the tests read about a video without decoding: its packets with their md5s, its stream
parameters and fps (from seqc.media.probe's framemd5 listing; production only counts frames)."""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from seqc.errors import RenderError
from seqc.media.probe import list_packets, packet_rows


@dataclass(frozen=True)
class VideoInfo:
    """What `probe` reports about a video's first video stream."""

    frames: int  # number of video packets (one per frame)
    width: int
    height: int
    fps: float
    codec: str  # ffmpeg's codec name, e.g. "h264"
    color: tuple[str, str, str, str] | None = None  # (range, matrix, primaries, transfer); None for RGB


@dataclass(frozen=True)
class Packet:
    """One compressed video packet (one frame), as ffmpeg's framemd5 muxer lists it."""

    dts: int
    pts: int
    duration: int
    size: int
    md5: str


@dataclass(frozen=True)
class StreamPackets:
    """The packets of a file's first video stream, with the stream parameters beside them.

    `extradata_md5` is the hash of the codec's out-of-band setup (H.264 SPS/PPS): clips can be
    stream-copied into one file only if theirs are equal.
    """

    codec: str
    width: int
    height: int
    time_base: Fraction
    extradata_md5: str
    packets: tuple[Packet, ...]
    header_fps: float | None  # the rate ffmpeg prints for the stream (rounded), if any
    color: tuple[str, str, str, str] | None = None  # (range, matrix, primaries, transfer), as ffmpeg prints them


_HEADER_FPS = re.compile(r"Video: .*?, (\d+(?:\.\d+)?)(k?) fps")
# "yuv420p(tv, bt709, progressive)" when matrix, primaries and transfer agree, else
# "yuv420p(tv, bt709/unknown/unknown, progressive)" (matrix/primaries/transfer).
_HEADER_COLOR = re.compile(r"Video: [^\n]*?, [a-z0-9]+\((tv|pc|unknown)(?:, ([a-z0-9/_-]+))?")


def _color(stderr: str) -> tuple[str, str, str, str] | None:
    match = _HEADER_COLOR.search(stderr)
    if match is None:
        return None
    spaces = (match.group(2) or "unknown").split("/")
    matrix, primaries, transfer = spaces if len(spaces) == 3 else spaces * 3
    return match.group(1), matrix, primaries, transfer


def read_packets(path: Path) -> StreamPackets:
    """The packets of the first video stream with the stream parameters, without decoding.

    The per-packet md5s prove that `concat` copied the clips' packets unchanged."""
    result = list_packets(path)
    header: dict[str, str] = {}
    for line in result.stdout.decode(errors="replace").splitlines():
        if line.startswith("#"):
            key, sep, value = line[1:].partition(":")
            if sep:
                header[key.strip()] = value.strip()
            if line.startswith("#extradata"):
                header["extradata"] = line.rsplit(",", 1)[-1].strip()
    packets = [Packet(int(dts), int(pts), int(duration), int(size), md5)
               for _, dts, pts, duration, size, md5 in packet_rows(result.stdout)]
    try:
        width, height = (int(v) for v in header["dimensions 0"].split("x"))
        time_base = Fraction(header["tb 0"])
        codec = header["codec_id 0"]
    except (KeyError, ValueError):
        raise RenderError(
            f"cannot read the video stream of {path}: unexpected ffmpeg output"
        ) from None
    stderr = result.stderr.decode(errors="replace")
    match = _HEADER_FPS.search(stderr)
    header_fps = None
    if match:
        header_fps = float(match.group(1)) * (1000 if match.group(2) else 1)
    return StreamPackets(
        codec=codec,
        width=width,
        height=height,
        time_base=time_base,
        extradata_md5=header.get("extradata", ""),
        packets=tuple(packets),
        header_fps=header_fps,
        color=_color(stderr),
    )


def probe(path: Path) -> VideoInfo:
    """Frame count, size, fps and codec of a video's first video stream, read by ffmpeg.

    frames: the number of video packets (see `read_packets`). width, height, codec, color: from
    the stream parameters. fps: exact from the most common packet duration and the time base
    (30000/1001 comes back as 29.97003); when that disagrees with the rate ffmpeg prints by
    more than 0.01 (e.g. MKV's millisecond time base), the printed rate wins.
    """
    info = read_packets(path)
    durations = [p.duration for p in info.packets if p.duration > 0]
    fps = None
    if durations:
        duration = collections.Counter(durations).most_common(1)[0][0]
        fps = float(1 / (duration * info.time_base))
    if info.header_fps is not None and (fps is None or abs(fps - info.header_fps) > 0.01):
        fps = info.header_fps
    return VideoInfo(
        frames=len(info.packets),
        width=info.width,
        height=info.height,
        fps=fps or 0.0,
        codec=info.codec,
        color=info.color,
    )
