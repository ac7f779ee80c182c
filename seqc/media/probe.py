"""Count a video's frames without decoding: ffmpeg lists its packets (`-c copy -f framemd5`).

One packet is one frame in MP4/MOV/MKV/WebM/GIF, and copying packets is fast and exact (no
decoder that might drop or duplicate frames). tests/mediaprobe.py reads the same listing for the
stream parameters and the per-packet md5s the tests compare.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from seqc.media.ffmpeg import ff_path, run


def list_packets(path: Path) -> subprocess.CompletedProcess[bytes]:
    """ffmpeg's framemd5 listing of the first video stream's packets (stdout) and its log (stderr).

    FileNotFoundError if `path` is not a file; RenderError if ffmpeg cannot read it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such video: {path}")
    return run(
        ["-loglevel", "info", "-nostats", "-i", ff_path(path),
         "-map", "0:v:0", "-c", "copy", "-f", "framemd5", "pipe:1"],
        f"read the packets of {path}",
    )  # fmt: skip


def packet_rows(listing: bytes) -> list[list[str]]:
    """The packet lines of a framemd5 listing, split into their six fields
    (stream, dts, pts, duration, size, md5); the `#` header lines are left out."""
    rows = []
    for line in listing.decode(errors="replace").splitlines():
        fields = [field.strip() for field in line.split(",")]
        if not line.startswith("#") and len(fields) == 6:
            rows.append(fields)
    return rows


def count_frames(path: Path) -> int:
    """Number of frames (video packets) in a video, without decoding."""
    return len(packet_rows(list_packets(path).stdout))
