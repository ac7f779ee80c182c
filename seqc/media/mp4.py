"""What an MP4 (or MOV) file says about its first video track, read in-process from its boxes.

A clip's frame count, size, time base and H.264 setup (the avcC record: SPS/PPS) are in the
`moov` box: the sample table counts the frames. Reading them here costs a few file reads, where
asking ffmpeg costs a process launch per clip, which is most of a short segment's fixed cost
(issue 14). Only the boxes on the path to the video track's sample table are parsed; `mdat`
(the frames themselves) is skipped by its size.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}
Buffer = bytes | mmap.mmap
# Others keep their sample entry's fourcc: ProRes 422 HQ "apch", ProRes 4444 "ap4h", DNxHR "AVdh", "FFV1".
_CODECS = {b"avc1": "h264", b"avc3": "h264", b"hvc1": "hevc", b"hev1": "hevc", b"mp4v": "mpeg4"}
# Records in a sample entry that set up its decoder: two clips joined by a stream copy must agree on them.
_SETUP_BOXES = (b"avcC", b"hvcC", b"glbl")


class Mp4Error(ValueError):
    """The file is not an MP4/MOV seqc can read in-process (the caller may ask ffmpeg instead)."""


@dataclass(frozen=True)
class TrackInfo:
    """The first video track: what a stream copy needs to match, and how many frames it holds."""

    codec: str
    width: int
    height: int
    time_base: Fraction  # 1 / the track's timescale
    frames: int  # samples in the track (one per frame)
    setup: str  # sha256 of the codec's setup record (avcC: SPS/PPS; glbl: FFV1's), "" if there is none

    def as_dict(self) -> dict:
        return {"codec": self.codec, "width": self.width, "height": self.height,
                "time_base": str(self.time_base), "frames": self.frames, "setup": self.setup}

    @classmethod
    def from_dict(cls, data: dict) -> TrackInfo:
        return cls(str(data["codec"]), int(data["width"]), int(data["height"]), Fraction(data["time_base"]),
                   int(data["frames"]), str(data["setup"]))


def _boxes(data: Buffer, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box in data[start:end]: the one box walker, for
    the file's top level (mapped, so `mdat` is never read) and inside `moov` alike."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                raise Mp4Error("truncated box header")
            size = struct.unpack_from(">Q", data, pos + 8)[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise Mp4Error(f"box {kind!r} overruns its parent")
        yield kind, pos + header, pos + size
        pos += size


def _read_moov(path: Path) -> bytes:
    """The bytes of the top-level `moov` box; the file is mapped, so only the pages of the box
    headers and of `moov` are read (mdat can be large)."""
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size:
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
                for kind, start, end in _boxes(data, 0, len(data)):
                    if kind == b"moov":
                        return data[start:end]
    raise Mp4Error("no moov box (not an MP4/MOV file, or an unfinished one)")


def read_track(path: Path) -> TrackInfo:
    """The first video track of an MP4/MOV file, from its `moov` box; Mp4Error if there is none."""
    moov = _read_moov(Path(path))
    for kind, start, end in _boxes(moov, 0, len(moov)):
        if kind == b"trak":
            track = _video_track(moov, start, end)
            if track is not None:
                return track
    raise Mp4Error("no video track")


def _video_track(data: bytes, start: int, end: int) -> TrackInfo | None:
    found: dict[bytes, tuple[int, int]] = {}

    def walk(lo: int, hi: int) -> None:
        for kind, s, e in _boxes(data, lo, hi):
            if kind in _CONTAINERS:
                walk(s, e)
            elif kind in (b"hdlr", b"mdhd", b"stsd", b"stsz", b"stz2"):
                found.setdefault(kind, (s, e))

    walk(start, end)
    if b"hdlr" not in found:
        return None
    handler = found[b"hdlr"][0] + 8  # after version/flags and pre_defined
    if data[handler:handler + 4] != b"vide":
        return None
    for needed in (b"mdhd", b"stsd"):
        if needed not in found:
            raise Mp4Error(f"video track without {needed.decode()}")
    # mdhd: version 0 has 32-bit times, version 1 64-bit; the timescale follows creation/modification.
    s, _ = found[b"mdhd"]
    timescale = struct.unpack_from(">I", data, s + (20 if data[s] == 1 else 12))[0]
    if timescale == 0:
        raise Mp4Error("mdhd timescale is 0")
    # stsd: the first sample entry names the codec, its size, and holds the setup record.
    s, e = found[b"stsd"]
    entries = list(_boxes(data, s + 8, e))
    if not entries:
        raise Mp4Error("stsd without a sample entry")
    kind, es, ee = entries[0]
    width, height = struct.unpack_from(">HH", data, es + 24)
    setup = ""
    for inner, cs, ce in _boxes(data, es + 78, ee):  # after the 78-byte visual sample entry
        if inner in _SETUP_BOXES:
            setup = hashlib.sha256(data[cs:ce]).hexdigest()[:32]
            break
    # stsz (or the compact stz2): the sample count.
    if b"stsz" in found:
        s, _ = found[b"stsz"]
        frames = struct.unpack_from(">I", data, s + 8)[0]
    elif b"stz2" in found:
        s, _ = found[b"stz2"]
        frames = struct.unpack_from(">I", data, s + 8)[0]
    else:
        raise Mp4Error("video track without a sample size table")
    return TrackInfo(_CODECS.get(kind, kind.decode("latin-1")), width, height, Fraction(1, timescale), frames,
                     setup)
