"""The only module that runs ffmpeg: write clips, concatenate them, probe and decode videos.

ffmpeg is imageio-ffmpeg's bundled binary, so no system ffmpeg is needed. Rules kept here:

- ffmpeg gets argument lists, never a shell, and always `-nostdin -hide_banner`.
- Every path handed to ffmpeg is absolute and prefixed with `file:`, so a file named `-y.mp4`,
  `concat:a.mp4|b.mp4` or `file:x.mp4` is only ever a file (never an option or a protocol).
- Every clip is encoded with `ENCODER_SETTINGS`: same codec, pixel format, colour tags, no
  B-frames, bit-exact flags and a fixed thread count. So every clip starts on an IDR frame, all
  clips of one size and fps share their SPS/PPS, the output is a concat-demuxer stream copy
  (never a re-encode) and two renders of the same frames give byte-identical files.
- Frame counts are checked by counting the video packets of the written file (one packet per
  frame in MP4/MOV/MKV); an exit code of 0 alone is not trusted.
- ffmpeg runs in its own process group (POSIX: its own session). A Ctrl-C in a terminal goes
  to the foreground process group, so only Python sees it: the KeyboardInterrupt unwinds
  through `ClipWriter`/`subprocess.run`, which kill ffmpeg, wait for it and delete the partial
  file. ffmpeg never half-finishes a file on its own behalf. If Python itself dies without
  unwinding (SIGKILL), ffmpeg reads EOF on its stdin and exits; what it wrote is a temp file
  named with the dead pid, which `fsutil.remove_dead_temps` deletes.
"""

from __future__ import annotations

import collections
import contextlib
import math
import numbers
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO

import numpy as np

from seqc import fsutil
from seqc.errors import RenderError

# The fixed encoding of every clip. It goes into the cache key of every clip, so everything
# that changes a clip's bytes is in here, and `_encode_args` builds ffmpeg's arguments from
# this dict alone. Bump "recipe" when `_encode_args` changes in a way the fields don't show.
ENCODER_SETTINGS: dict = {
    "recipe": 1,
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
    # RGB -> YUV with BT.709 coefficients, limited range, and the stream tagged to match.
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


@dataclass(frozen=True)
class OutputFormat:
    """How to write one kind of output file, chosen by its suffix.

    `stream_copy` formats take the clips' H.264 packets as they are (concat with `-c copy`).
    The others (GIF, WebM) re-encode the joined clips with their own `muxer_args`.
    """

    muxer: str
    muxer_args: tuple[str, ...] = ()
    stream_copy: bool = True


OUTPUT_FORMATS: dict[str, OutputFormat] = {
    ".mp4": OutputFormat("mp4", ("-movflags", "+faststart")),
    ".mov": OutputFormat("mov", ("-movflags", "+faststart")),
    ".mkv": OutputFormat("matroska"),
    # Re-encoded from the cached clips: a GIF with a palette made for this video (better than
    # the web-safe default), looping forever; WebM as VP9 at constant quality.
    ".gif": OutputFormat("gif", (
        "-filter_complex", "[0:v]split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse=dither=sierra2_4a",
        "-loop", "0",
    ), stream_copy=False),
    ".webm": OutputFormat("webm", (
        "-c:v", "libvpx-vp9", "-crf", "32", "-b:v", "0", "-row-mt", "1", "-pix_fmt", "yuv420p",
        "-threads", "2",
    ), stream_copy=False),
}


@dataclass(frozen=True)
class VideoInfo:
    """What `probe` reports about a video's first video stream."""

    frames: int  # number of video packets (one per frame)
    width: int
    height: int
    fps: float
    codec: str  # ffmpeg's codec name, e.g. "h264"


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


# ----------------------------------------------------------------------------- helpers

_ADDRESS = re.compile(r" @ 0x[0-9a-fA-F]+")


def ffmpeg_exe() -> str:
    """The ffmpeg binary seqc uses: imageio-ffmpeg's bundled one (or IMAGEIO_FFMPEG_EXE)."""
    import imageio_ffmpeg

    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as exc:
        raise RenderError(f"cannot find ffmpeg: {exc}") from None


def ffmpeg_version() -> str:
    """ffmpeg's version line, e.g. "ffmpeg version n9.0.2-...".

    Not part of `ENCODER_SETTINGS` (which stays a fixed, pure-data dict); a caller that wants
    clips re-rendered after an ffmpeg upgrade can add this to its keys.
    """
    result = _run(["-version"], "report its version")
    return result.stdout.decode(errors="replace").splitlines()[0].strip()


def _ff_path(path: Path | str) -> str:
    """An absolute `file:` URL for ffmpeg, so no file name is read as an option or protocol."""
    return "file:" + os.path.abspath(os.fspath(path))


def _popen_kwargs() -> dict:
    """Start ffmpeg in its own process group so a terminal's Ctrl-C reaches only Python."""
    if sys.platform.startswith("win"):
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


def _tail(stderr: bytes | str) -> str:
    """ffmpeg's stderr squeezed onto one line: its first two and last two non-empty lines.

    ffmpeg's threads print the cause first ("high profile doesn't support lossless") and
    generic "Terminating thread" lines last, so both ends are kept.
    """
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
    lines = [_ADDRESS.sub("", line).strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return "(no output from ffmpeg)"
    if len(lines) > 4:
        lines = [*lines[:2], "...", *lines[-2:]]
    return " | ".join(lines)


def _exit_text(returncode: int) -> str:
    """'exit 1' or 'killed by SIGKILL' for a process's return code."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit {returncode}"


def _run(args: list[str], what: str) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg with `args`, capture its output, and raise RenderError if it fails.

    On any exception (KeyboardInterrupt included) `subprocess.run` kills ffmpeg and waits.
    """
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", *args]
    result = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, **_popen_kwargs())
    if result.returncode != 0:
        raise RenderError(
            f"ffmpeg could not {what} ({_exit_text(result.returncode)}): {_tail(result.stderr)}"
        )
    return result


def _rate(fps: float | Fraction) -> Fraction:
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


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    """Validate (width, height): positive ints, even (yuv420p halves the chroma planes)."""
    try:
        width, height = size
    except (TypeError, ValueError):
        raise ValueError(f"size must be (width, height), got {size!r}") from None
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if value % 2:
            raise ValueError(f"{name} must be even for {ENCODER_SETTINGS['pix_fmt']}, got {value}")
    return int(width), int(height)


def _as_batch(frames: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """Check frames are uint8 [H,W,3] or [B,H,W,3] (of `size` if given); return [B,H,W,3]."""
    arr = np.asarray(frames)
    if arr.dtype != np.uint8:
        raise ValueError(f"frames must be uint8, got {arr.dtype}")
    if arr.ndim == 3:
        arr = arr[np.newaxis]
    if arr.ndim != 4 or arr.shape[3] != 3:
        raise ValueError(f"frames must have shape [H,W,3] or [B,H,W,3], got {list(arr.shape)}")
    if size is not None and (arr.shape[2], arr.shape[1]) != size:
        raise ValueError(
            f"frame size {arr.shape[2]}x{arr.shape[1]} does not match the clip's "
            f"{size[0]}x{size[1]} (width x height)"
        )
    return np.ascontiguousarray(arr)


def _encode_args(size: tuple[int, int], rate: Fraction, output: Path) -> list[str]:
    """ffmpeg arguments that read raw RGB frames from stdin and write one clip to `output`."""
    s = ENCODER_SETTINGS
    width, height = size
    scale = (
        f"scale=out_color_matrix={s['color_matrix']}:out_range={s['color_range']}"
        f":flags={s['scale_flags']},format={s['pix_fmt']}"
    )
    args = [
        "-loglevel", "error",
        "-filter_threads", "1",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
        "-r", f"{rate.numerator}/{rate.denominator}",
        "-i", "pipe:0",
        "-map", "0:v:0",
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
    args += ["-f", s["container"], "-y", _ff_path(output)]
    return args


def _output_format(output: Path) -> OutputFormat:
    """The OutputFormat for a path's suffix, or ValueError naming the supported ones."""
    suffix = Path(output).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        known = ", ".join(sorted(OUTPUT_FORMATS))
        raise ValueError(
            f"unsupported output format {suffix or '(none)'!r} for {output}: use {known}"
        )
    return OUTPUT_FORMATS[suffix]


# ----------------------------------------------------------------------------- packets & probe

_HEADER_FPS = re.compile(r"Video: .*?, (\d+(?:\.\d+)?)(k?) fps")


def read_packets(path: Path) -> StreamPackets:
    """List the packets of the first video stream without decoding (`-c copy -f framemd5`).

    This is how seqc counts frames: one packet is one frame in MP4/MOV/MKV, and copying
    packets is fast and exact (no decoder that might drop or duplicate frames). The per-packet
    md5s also prove that `concat` copied the clips' packets unchanged.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such video: {path}")
    result = _run(
        ["-loglevel", "info", "-nostats", "-i", _ff_path(path),
         "-map", "0:v:0", "-c", "copy", "-f", "framemd5", "pipe:1"],
        f"read the packets of {path}",
    )  # fmt: skip
    header: dict[str, str] = {}
    packets = []
    for line in result.stdout.decode(errors="replace").splitlines():
        if line.startswith("#"):
            key, sep, value = line[1:].partition(":")
            if sep:
                header[key.strip()] = value.strip()
            if line.startswith("#extradata"):
                header["extradata"] = line.rsplit(",", 1)[-1].strip()
            continue
        fields = [field.strip() for field in line.split(",")]
        if len(fields) != 6:
            continue
        _, dts, pts, duration, size, md5 = fields
        packets.append(Packet(int(dts), int(pts), int(duration), int(size), md5))
    try:
        width, height = (int(v) for v in header["dimensions 0"].split("x"))
        time_base = Fraction(header["tb 0"])
        codec = header["codec_id 0"]
    except (KeyError, ValueError):
        raise RenderError(
            f"cannot read the video stream of {path}: unexpected ffmpeg output"
        ) from None
    match = _HEADER_FPS.search(result.stderr.decode(errors="replace"))
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
    )


def count_frames(path: Path) -> int:
    """Number of frames (video packets) in a video, without decoding."""
    return len(read_packets(path).packets)


def probe(path: Path) -> VideoInfo:
    """Frame count, size, fps and codec of a video's first video stream, read by ffmpeg.

    frames: the number of video packets (see `read_packets`). width, height, codec: from the
    stream parameters. fps: exact from the most common packet duration and the time base
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
    )


# ----------------------------------------------------------------------------- writing


def _hold_interrupts():
    """Record SIGINT/SIGTERM instead of acting on them (main thread only); return what to restore."""
    if threading.current_thread() is not threading.main_thread():
        return None
    caught: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: caught.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    return previous, caught


def _release_interrupts(state) -> None:
    """Restore the handlers saved by `_hold_interrupts`, then act on a signal that came meanwhile."""
    if state is None:
        return
    previous, caught = state
    for sig, handler in previous.items():
        signal.signal(sig, handler)
    if caught:
        if caught[0] == signal.SIGINT and previous[signal.SIGINT] is signal.default_int_handler:
            raise KeyboardInterrupt
        os.kill(os.getpid(), caught[0])  # deliver it again, now to the restored handler


class ClipWriter:
    """Stream frames into one clip file with `ENCODER_SETTINGS` (a context manager).

        with ClipWriter(tmp_path, (width, height), fps) as writer:
            writer.write(frames)          # uint8 [H,W,3] or [B,H,W,3], RGB

    Frames go to ffmpeg as raw rgb24 over its stdin. On a clean exit the writer closes stdin,
    waits, checks the exit code and that the file holds exactly the frames written, and
    raises RenderError otherwise. On any exception in the block (KeyboardInterrupt included)
    or ffmpeg dying, it kills ffmpeg, waits for it and deletes the partial file. It writes
    `path` directly, so pass a temp path and publish it afterwards (`fsutil.atomic_path`).
    """

    def __init__(self, path: Path, size: tuple[int, int], fps: float | Fraction):
        self.path = Path(os.path.abspath(os.fspath(path)))
        if self.path.suffix.lower() != CLIP_SUFFIX:
            raise ValueError(f"clip path must end in {CLIP_SUFFIX}, got {self.path.name!r}")
        self.size = _check_size(size)
        self.rate = _rate(fps)
        self.frames_written = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._done = False

    @property
    def pid(self) -> int | None:
        """ffmpeg's process id once started (for tests and diagnostics)."""
        return self._proc.pid if self._proc is not None else None

    @property
    def returncode(self) -> int | None:
        """ffmpeg's exit status once it has ended (negative: killed by that signal)."""
        return self._proc.returncode if self._proc is not None else None

    def __enter__(self) -> ClipWriter:
        # An interrupt that lands after ffmpeg started but before the block runs would skip
        # __exit__ and leave ffmpeg writing a temp file after its owner is gone: clean up here.
        try:
            self.start()
        except BaseException:
            self.abort()
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False

    def start(self) -> None:
        """Start ffmpeg; its stderr goes to an unnamed temp file so the pipe never fills."""
        if self._proc is not None or self._done:
            raise RuntimeError("ClipWriter can only be started once")
        cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner",
               *_encode_args(self.size, self.rate, self.path)]  # fmt: skip
        self._stderr = tempfile.TemporaryFile()
        # Hold Ctrl-C back while ffmpeg starts: an interrupt inside Popen would leave an ffmpeg
        # nobody owns, writing the temp file after its owner cleaned up. A held signal is acted on
        # once `_proc` is set, so `__enter__`'s cleanup kills ffmpeg and removes the file.
        held = _hold_interrupts()
        try:
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=self._stderr,
                **_popen_kwargs(),
            )
        except OSError as exc:
            self._stderr.close()
            self._done = True
            raise RenderError(f"cannot start ffmpeg: {exc}") from None
        finally:
            _release_interrupts(held)

    def write(self, frames: np.ndarray) -> None:
        """Send one frame [H,W,3] or a batch [B,H,W,3] of uint8 RGB frames to ffmpeg.

        Wrong dtype/shape/size -> ValueError (nothing is sent). ffmpeg gone -> RenderError
        with its stderr, after cleaning up.
        """
        if self._proc is None or self._done:
            raise RuntimeError("ClipWriter is not running (use it as a context manager)")
        batch = _as_batch(frames, self.size)
        if len(batch) == 0:
            return
        try:
            assert self._proc.stdin is not None
            self._proc.stdin.write(memoryview(batch).cast("B"))
        except (BrokenPipeError, ConnectionResetError):
            raise self._failure("ffmpeg stopped accepting frames") from None
        self.frames_written += len(batch)

    def close(self) -> int:
        """Finish the clip: close stdin, wait, check the exit code and frame count.

        Returns the number of frames written. Any failure (or interrupt) removes the file.
        """
        if self._done:
            return self.frames_written
        if self._proc is None:
            raise RuntimeError("ClipWriter was never started")
        try:
            if self.frames_written == 0:
                raise ValueError(f"no frames were written to {self.path}")
            assert self._proc.stdin is not None
            try:
                self._proc.stdin.close()
            except (BrokenPipeError, ConnectionResetError):
                raise self._failure("ffmpeg stopped accepting frames") from None
            returncode = self._proc.wait()
            if returncode != 0:
                raise self._failure(f"ffmpeg failed ({_exit_text(returncode)})")
            info = read_packets(self.path)
            if len(info.packets) != self.frames_written:
                raise self._failure(
                    f"wrote {self.frames_written} frames but the clip has {len(info.packets)}",
                    with_stderr=False,
                )
            if (info.width, info.height) != self.size:
                raise self._failure(
                    f"the clip is {info.width}x{info.height}, expected "
                    f"{self.size[0]}x{self.size[1]}",
                    with_stderr=False,
                )
        except BaseException:
            self.abort()
            raise
        self._finish()
        return self.frames_written

    def abort(self) -> None:
        """Kill ffmpeg if it runs, wait for it (no zombie), and delete the partial file."""
        proc = self._proc
        if proc is not None:
            if proc.poll() is None:
                with contextlib.suppress(OSError):
                    proc.kill()
            if proc.stdin is not None:
                # Flushing buffered bytes into a dead pipe raises; the fd is closed anyway.
                with contextlib.suppress(OSError, ValueError):
                    proc.stdin.close()
            proc.wait()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._finish()

    def _stderr_text(self) -> str:
        if self._stderr is None or self._stderr.closed:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def _failure(self, what: str, with_stderr: bool = True) -> RenderError:
        """Clean up after a failure and build the RenderError to raise."""
        if self._proc is not None and self._proc.poll() is None:
            # Let ffmpeg print why it stopped, if it is exiting on its own.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=2)
        stderr = self._stderr_text()
        self.abort()
        message = f"cannot write clip {self.path.name}: {what}"
        if with_stderr:
            message += f": {_tail(stderr)}"
        return RenderError(message)

    def _finish(self) -> None:
        self._done = True
        if self._stderr is not None:
            self._stderr.close()


def write_clip(
    frames: Iterable[np.ndarray], path: Path, size: tuple[int, int], fps: float | Fraction
) -> int:
    """Write all `frames` (each [H,W,3] or [B,H,W,3]) to one clip; return the frame count."""
    with ClipWriter(path, size, fps) as writer:
        for batch in frames:
            writer.write(batch)
    return writer.frames_written


def _concat_quote(path: str) -> bytes:
    """Quote a path for a concat-demuxer script: inside '...', a quote is written '\\''."""
    if "\n" in path or "\r" in path:
        raise ValueError(f"a clip path cannot contain a line break: {path!r}")
    return b"'" + os.fsencode(path).replace(b"'", b"'\\''") + b"'"


def _stream_key(info: StreamPackets) -> tuple:
    """What must be equal for two clips to be joined by a stream copy."""
    return (info.codec, info.width, info.height, info.time_base, info.extradata_md5)


def _describe(info: StreamPackets) -> str:
    setup = info.extradata_md5[:8] or "none"
    return f"{info.codec} {info.width}x{info.height}, time base {info.time_base}, setup {setup}"


def concat(clips: list[Path], output: Path) -> None:
    """Join clips into `output`: a stream copy (`-c copy`) for mp4/mov/mkv, a re-encode for gif/webm.

    1. Read every clip's packets: count its frames and check all clips share codec, size,
       time base and SPS/PPS (otherwise a stream copy would give a broken video).
    2. Write the list file (absolute `file:` paths, quoted) to a temp file.
    3. Run ffmpeg into a temp file beside `output`, muxer chosen from the suffix.
    4. Check the output has exactly the sum of the clips' frames, then publish it atomically,
       so a reader never sees half a video.
    """
    if not clips:
        raise ValueError("concat needs at least one clip")
    output = Path(os.path.abspath(os.fspath(output)))
    fmt = _output_format(output)
    paths = [Path(os.path.abspath(os.fspath(clip))) for clip in clips]

    # 1. Frame counts and compatibility.
    expected = 0
    first: StreamPackets | None = None
    for path in paths:
        info = read_packets(path)
        if first is None:
            first = info
        else:
            if _stream_key(info) != _stream_key(first):
                raise RenderError(
                    f"cannot join {path.name} ({_describe(info)}) to {paths[0].name} "
                    f"({_describe(first)}) without re-encoding: re-render the clips"
                )
        expected += len(info.packets)

    # 2. The list file.
    script = b"ffconcat version 1.0\n" + b"".join(
        b"file " + _concat_quote("file:" + str(path)) + b"\n" for path in paths
    )
    list_fd, list_name = tempfile.mkstemp(prefix="seqc-concat-", suffix=".txt")
    if fmt.stream_copy:
        codec_args = ["-map", "0:v:0", "-c", "copy"]
    else:
        codec_args = [] if "-filter_complex" in fmt.muxer_args else ["-map", "0:v:0"]
        codec_args += ["-flags:v", "+bitexact"]
    try:
        with os.fdopen(list_fd, "wb") as fh:
            fh.write(script)

        # 3. ffmpeg into a temp file, 4. check and publish.
        with fsutil.atomic_path(output) as tmp:
            _run(
                ["-loglevel", "error",
                 "-f", "concat", "-safe", "0", "-auto_convert", "0", "-i", _ff_path(list_name),
                 *codec_args,
                 "-fflags", "+bitexact", "-map_metadata", "-1", "-map_chapters", "-1",
                 *fmt.muxer_args, "-f", fmt.muxer, "-y", _ff_path(tmp)],
                f"join {len(paths)} clips into {output.name}",
            )  # fmt: skip
            got = count_frames(tmp)
            if got != expected:
                raise RenderError(
                    f"joining {len(paths)} clips into {output.name} gave {got} frames, "
                    f"expected {expected}"
                )
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(list_name)


# ----------------------------------------------------------------------------- reading


def read_frames(path: Path) -> Iterator[np.ndarray]:
    """Decode a video's first video stream to uint8 RGB frames [H,W,3], one by one.

    Uses imageio-ffmpeg's reader (which also runs ffmpeg in its own process group and stops
    it when the iterator is closed or interrupted). For tests and previews.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such video: {path}")
    return _decode(path)


def _decode(path: Path) -> Iterator[np.ndarray]:
    import imageio_ffmpeg

    # Full-resolution chroma upsampling with accurate rounding: swscale's default fast path
    # costs ~3 levels of error per channel on smooth gradients.
    convert = "scale=flags=bicubic+accurate_rnd+full_chroma_int,format=rgb24"
    reader = imageio_ffmpeg.read_frames(
        _ff_path(path), output_params=["-map", "0:v:0", "-vf", convert]
    )
    try:
        try:
            meta = next(reader)
        except (OSError, RuntimeError) as exc:
            raise RenderError(f"cannot read {path}: {_tail(str(exc))}") from None
        width, height = meta["size"]
        while True:
            try:
                data = next(reader)
            except StopIteration:
                return
            except RuntimeError as exc:
                raise RenderError(f"cannot decode {path}: {_tail(str(exc))}") from None
            yield np.frombuffer(data, dtype=np.uint8).reshape(height, width, 3)
    finally:
        reader.close()


def write_png_sequence(frames: Iterable[np.ndarray], folder: Path, start: int = 0) -> int:
    """Write frames as `frame_000000.png`, `frame_000001.png`, ... into `folder`.

    Numbering starts at `start`; each file is written atomically (temp file + rename), so a
    reader never sees half a PNG. Accepts [H,W,3] frames or [B,H,W,3] batches; returns how
    many frames were written. For `seqc render --frames DIR`.
    """
    from PIL import Image

    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    index = start
    for item in frames:
        for frame in _as_batch(item, None):
            with fsutil.atomic_path(folder / f"frame_{index:06d}.png") as tmp:
                Image.fromarray(frame).save(tmp, format="PNG")
            index += 1
    return index - start
