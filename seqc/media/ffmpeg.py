"""The one place that starts ffmpeg: find the binary, start it, and report its failures in one line.

ffmpeg is imageio-ffmpeg's bundled binary, so no system ffmpeg is needed. Every ffmpeg seqc starts
goes through `spawn` (`run` and `capture` wait for it; `ClipWriter`, `encode_batch`, the frame reader
and the audio decoder all start theirs here; tests/media/test_ffmpeg.py checks nothing else does).
Rules kept here:

- ffmpeg gets argument lists, never a shell, and always `-nostdin -hide_banner`.
- Every path handed to ffmpeg is absolute and prefixed with `file:` (`ff_path`), so a file named
  `-y.mp4`, `concat:a.mp4|b.mp4` or `file:x.mp4` is only ever a file (never an option or a protocol).
- ffmpeg runs in its own session. A Ctrl-C in a terminal goes to the foreground process group, so
  only Python sees it: the KeyboardInterrupt unwinds through the caller, which kills ffmpeg, waits
  for it and deletes the partial file. Ctrl-C is held back while ffmpeg starts, so no interrupt can
  land between the fork and the caller holding the process (an ffmpeg nobody owns). If Python itself
  dies without unwinding (SIGKILL), ffmpeg reads EOF on its stdin and exits; what it wrote is a temp
  file named with the dead pid, which the store's `remove_dead_temps` deletes.
"""

from __future__ import annotations

import functools
import os
import platform
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

from seqc import interrupts
from seqc.errors import RenderError

_ADDRESS = re.compile(r" @ 0x[0-9a-fA-F]+")


def ffmpeg_exe() -> str:
    """The ffmpeg binary seqc uses: imageio-ffmpeg's bundled one (or IMAGEIO_FFMPEG_EXE)."""
    import imageio_ffmpeg

    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as exc:
        raise RenderError(f"cannot find ffmpeg: {exc}") from None


@functools.cache
def ffmpeg_version() -> str:
    """ffmpeg's version, e.g. "n9.0.2-17-g2a571b6068-20260930" (asked once per process)."""
    result = run(["-version"], "report its version")
    line = result.stdout.decode(errors="replace").splitlines()[0].strip()
    words = line.split()
    return words[2] if words[:2] == ["ffmpeg", "version"] and len(words) > 2 else line


@functools.cache
def encoder_build() -> str:
    """Which ffmpeg (with its built-in x264) writes the clips, for the clip keys, without starting it.

    Another build may write clips that cannot be stream-copied onto older ones, so an upgrade must
    re-render them. imageio-ffmpeg's release and the platform name its bundled binary exactly, and
    reading them costs no process (the plan and a no-op start none); a binary chosen with
    IMAGEIO_FFMPEG_EXE is asked for its version instead.
    """
    chosen = os.environ.get("IMAGEIO_FFMPEG_EXE")
    if chosen:
        return f"{chosen} {ffmpeg_version()}"
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("imageio-ffmpeg")
    except PackageNotFoundError:  # pragma: no cover - a dependency of seqc
        return ffmpeg_version()
    return f"imageio-ffmpeg {release} {sys.platform}-{platform.machine()}"


def ff_path(path: Path | str) -> str:
    """An absolute `file:` URL for ffmpeg, so no file name is read as an option or protocol."""
    return "file:" + os.path.abspath(os.fspath(path))


def tail(stderr: bytes | str) -> str:
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


def exit_text(returncode: int) -> str:
    """'exit 1' or 'killed by SIGKILL' for a process's return code."""
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit {returncode}"


Stream = int | IO[bytes]  # subprocess.PIPE / DEVNULL, or an open file


def spawn(args: list[str], *, stdin: Stream = subprocess.DEVNULL, stdout: Stream = subprocess.PIPE,
          stderr: Stream = subprocess.PIPE) -> subprocess.Popen[bytes]:
    """Start ffmpeg with `args` in its own session, Ctrl-C held back until the caller holds it.

    An interrupt inside Popen would leave an ffmpeg nobody owns, writing a temp file after its
    owner cleaned up; a signal held meanwhile is acted on once ffmpeg has started, and then this
    kills it and waits before the interrupt goes on. RenderError if it cannot be started.
    """
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", *args]
    proc: subprocess.Popen[bytes] | None = None
    held = interrupts.hold()
    try:
        proc = subprocess.Popen(cmd, stdin=stdin, stdout=stdout, stderr=stderr, start_new_session=True)
    except OSError as exc:
        raise RenderError(f"cannot start ffmpeg: {exc}") from None
    finally:
        try:
            interrupts.release(held)
        except BaseException:
            if proc is not None:
                stop(proc)
            raise
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill ffmpeg if it still runs and wait for it (no zombie)."""
    if proc.poll() is None:
        try:
            proc.kill()
        except OSError:
            pass
    proc.wait()


def capture(args: list[str]) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg with `args` to the end and capture its output, whatever its exit status.

    On any exception (KeyboardInterrupt included) ffmpeg is killed and waited for.
    """
    proc = spawn(args)
    with proc:
        try:
            stdout, stderr = proc.communicate()
        except BaseException:
            stop(proc)
            raise
    return subprocess.CompletedProcess(proc.args, proc.wait(), stdout, stderr)


def run(args: list[str], what: str) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg with `args`, capture its output, and raise RenderError if it fails."""
    result = capture(args)
    if result.returncode != 0:
        raise RenderError(
            f"ffmpeg could not {what} ({exit_text(result.returncode)}): {tail(result.stderr)}"
        )
    return result
