"""The preview's H.264 proxy: browsers play H.264 in MP4, WebM and GIF, not the ProRes, DNxHR or FFV1
of a mezzanine output, so the page is sent an H.264 copy of such an output (the output is only read).

Whether a file needs one is decided from the file itself: H.264 in MP4/MOV (its first video track,
read in-process by seqc.media.mp4), WebM and GIF play as they are; anything else (a ProRes 'apch' or
'ap4h', DNxHR 'AVdh' or FFV1 track, any .mkv) gets a proxy: yuv420p, BT.709 tags as the clips have,
even dimensions, `+faststart`, the soundtrack as AAC. An alpha plane is dropped: the colour already
shows the keyframe's background there. ffmpeg is time-bounded, and a worker's `cancel` kills it.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import threading
from pathlib import Path

from seqc.errors import SeqcError
from seqc.media.encode import GLOBAL_ARGS
from seqc.media.ffmpeg import exit_text, ff_path, spawn, stop, tail
from seqc.media.mp4 import Mp4Error, read_track

PLAYED_AS_IS = frozenset({".webm", ".gif"})  # the formats seqc writes that every browser plays
ISO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov"})  # H.264 in these plays (sent as video/mp4)
# A sample entry's fourcc (seqc.media.mp4 keeps the ones it has no name for) as the page names it.
FOURCCS = {"apch": "ProRes 422 HQ", "apcn": "ProRes 422", "apcs": "ProRes 422 LT", "apco": "ProRes 422 Proxy",
           "ap4h": "ProRes 4444", "ap4x": "ProRes 4444 XQ", "AVdh": "DNxHR", "AVdn": "DNxHD", "FFV1": "FFV1",
           "hevc": "HEVC", "mpeg4": "MPEG-4 Part 2"}
# ffmpeg's names for the codecs of a file that is no MP4/MOV (a Matroska file), for the label.
FFMPEG_NAMES = {"prores": "ProRes", "dnxhd": "DNxHR", "ffv1": "FFV1", "h264": "H.264", "hevc": "HEVC",
                "vp9": "VP9", "av1": "AV1"}
SECONDS = 60.0  # every proxy may take this long...
SECONDS_PER_FRAME = 0.25  # ...and this per frame (a 1080p frame takes ~0.03 s on two cores)
CRF = 20  # x264's quality: near-transparent at preview sizes, a fraction of a mezzanine file's size


class ProxyError(SeqcError):
    """The proxy could not be made (ffmpeg failed or ran out of time): one line for the page."""


def needs_proxy(path: Path) -> str | None:
    """None when a browser plays `path` as it is (or it is no MP4/MOV seqc can read); else what it
    holds, as the page's label says it ("ProRes 422 HQ", "FFV1"; "" where only ffmpeg can tell, as
    in a .mkv: `ProxyMaker.codec_label`). No process."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in PLAYED_AS_IS:
        return None
    if suffix not in ISO_SUFFIXES:
        return ""
    try:
        codec = read_track(path).codec
    except (Mp4Error, OSError, IndexError, ValueError):  # no MP4/MOV seqc can read: sent as it is, the
        return None  # browser says whether it plays (a transcode of a broken file would fail anyway)
    return None if codec == "h264" else FOURCCS.get(codec, codec)


def timeout_for(frames: int) -> float:
    """Seconds a proxy of `frames` frames may take before its ffmpeg is killed."""
    return SECONDS + SECONDS_PER_FRAME * max(0, frames)


def proxy_args(source: Path, target: Path) -> list[str]:
    """ffmpeg's arguments for the H.264 proxy of `source` written to `target` (an MP4 whatever its name):
    every frame kept as it is timed (no frame-rate conversion), the first soundtrack as AAC."""
    scale = ("scale=w=trunc(iw/2)*2:h=trunc(ih/2)*2:out_color_matrix=bt709:out_range=tv"
             ":flags=bicubic+accurate_rnd+full_chroma_int,format=yuv420p,"
             "setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv")
    return [*GLOBAL_ARGS, "-i", ff_path(source), "-map", "0:v:0", "-map", "0:a:0?", "-vf", scale,
            "-fps_mode", "passthrough", "-c:v", "libx264", "-preset", "veryfast", "-crf", str(CRF),
            "-profile:v", "high", "-pix_fmt", "yuv420p", "-color_primaries", "bt709", "-color_trc", "bt709",
            "-colorspace", "bt709", "-color_range", "tv", "-c:a", "aac", "-b:a", "160k",
            "-movflags", "+faststart", "-f", "mp4", "-y", ff_path(target)]  # fmt: skip


class ProxyMaker:
    """Runs one ffmpeg at a time for the proxies (and their labels); `cancel()` kills the running one,
    so closing the preview never waits for a long encode."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._cancelled = False

    def make(self, source: Path, target: Path, timeout: float) -> None:
        """Write the proxy of `source` to `target`; ProxyError if ffmpeg fails or takes over `timeout` s."""
        self._ffmpeg(proxy_args(source, target), timeout, f"make an H.264 proxy of {Path(source).name}")

    def codec_label(self, source: Path) -> str:
        """What ffmpeg says the first video stream is ("FFV1", "ProRes"), for a file seqc cannot
        read in-process; "" if it cannot tell."""
        try:
            log = self._ffmpeg(["-i", ff_path(source)], 20.0, "", check=False)
        except ProxyError:
            return ""
        found = re.search(r"Stream #\S+.*?: Video: (\w+)", log)
        return FFMPEG_NAMES.get(found.group(1), found.group(1)) if found else ""

    def cancel(self) -> None:
        """Kill the running ffmpeg (if any) and refuse any later one."""
        with self._lock:
            self._cancelled = True
            proc = self._proc
        if proc is not None:
            stop(proc)

    def _ffmpeg(self, args: list[str], timeout: float, what: str, check: bool = True) -> str:
        """Run ffmpeg for at most `timeout` s; its log. ProxyError on a timeout, a cancel or (`check`) a failure."""
        with tempfile.TemporaryFile() as log:  # a file, so ffmpeg's messages never fill a pipe
            with self._lock:
                if self._cancelled:
                    raise ProxyError("the preview is closing")
                self._proc = proc = spawn(args, stdout=subprocess.DEVNULL, stderr=log)
            try:
                code = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                stop(proc)
                raise ProxyError(f"could not {what} in {timeout:g} s") from None
            finally:
                stop(proc)
                with self._lock:
                    self._proc = None
            log.seek(0)
            text = log.read().decode(errors="replace")
        if self._cancelled:
            raise ProxyError("the preview is closing")
        if check and code != 0:
            raise ProxyError(f"could not {what} ({exit_text(code)}): {tail(text)}")
        return text
