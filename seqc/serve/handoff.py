"""Warm renders: `seqc render` hands its job to a running `seqc watch` on the same cache, whose
process has torch, diffusers and the model loaded already, over a Unix socket in the cache folder.

- The socket is `<cache>/watch.sock` (or, when that path is too long for a socket address, a name
  derived from it in a private `seqc-<uid>` folder in the runtime or temp folder). It is bound under
  a temp name, made owner-only (0600), listening, and only then renamed into place, so nobody ever
  connects to a socket with looser permissions. Both ends check the other's uid (SO_PEERCRED), and
  the client checks the socket file's owner and mode before connecting.
- A stale socket (its watcher was killed) refuses the connection at once: the client removes it
  and renders in-process. A watcher that finds one at start-up does the same; one that finds a
  live one leaves it to that watcher.
- The job runs in the watcher's main thread between its own renders (`Watcher.post`), through
  the same `seqc render` code path as in-process (`seqc.cli.commands.render.run`), so the output,
  the cache entries and the up-to-date stamp are what an in-process render would make. The watch
  process takes a job only if its environment (seqc's code, the interpreter, the variables seqc
  reads: `seqc.outputs.stamp.environment`) is the client's; otherwise the client renders itself.
- The protocol is JSON lines: one request, then the job's events (begin, stage, segment, advance,
  warn, working) and one final `done` or `error`, which the client replays on its own progress
  bars, so the user sees the same progress and the same `--json`.

This module is the client's end, the socket's place and the protocol; the watch process's end is
seqc.serve.listener.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import socket
import stat
import struct
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, cast

from seqc.render.render import Reporter

if TYPE_CHECKING:
    from seqc.plan import Plan, SegmentJob

PROTOCOL = 1
SOCKET_NAME = "watch.sock"
MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes on Linux, 104 on macOS
CONNECT_TIMEOUT = 2.0
REPLY_TIMEOUT = 10.0  # for the first answer; the job itself may wait behind a render of the watcher
SEND_TIMEOUT = 30.0  # a client that stops reading this long is gone
MAX_REQUEST = 1 << 20


def socket_path(cache_root: Path) -> Path:
    """Where the watch process of this cache listens."""
    path = Path(cache_root).absolute() / SOCKET_NAME
    if len(os.fsencode(str(path))) <= MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:20]
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()) / f"seqc-{os.getuid()}"
    return base / f"{digest}.sock"


def peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process at the other end (Linux SO_PEERCRED; getpeereid elsewhere)."""
    if hasattr(socket, "SO_PEERCRED"):
        _pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                               struct.calcsize("3i")))
        return uid
    getpeereid = getattr(sock, "getpeereid", None)
    return getpeereid()[0] if getpeereid else None


def send(conn: socket.socket, message: dict) -> None:
    conn.sendall(json.dumps(message, separators=(",", ":")).encode() + b"\n")


class Lines:
    """JSON lines read from a socket."""

    def __init__(self, conn: socket.socket):
        self.reader = conn.makefile("rb")

    def next(self) -> dict | None:
        line = self.reader.readline(MAX_REQUEST)
        if not line or not line.endswith(b"\n"):
            return None
        message = json.loads(line)
        return message if isinstance(message, dict) else None


# ---------------------------------------------------------------------------------------------
# The client: `seqc render`.


class HandoffLost(Exception):
    """The watch process went away (or failed) in the middle of the job."""


def try_render(cache_root: Path, file: str, options, *, draft: bool, output: Path | None,
               frames: Path | None, quiet: bool, as_json: bool) -> tuple[dict, list] | None:
    """Hand the job to the watch process of this cache; its (result, warnings), or None when there is
    none (or it cannot take the job) and the caller renders in-process. Raises the job's error."""
    path = socket_path(cache_root)
    try:
        st = os.lstat(path)
    except OSError:
        return None  # the usual case: no watcher
    if not stat.S_ISSOCK(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None  # not a socket of ours, or not private: never send a job there
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with sock:
        sock.settimeout(CONNECT_TIMEOUT)
        try:
            sock.connect(str(path))
        except (ConnectionRefusedError, FileNotFoundError):
            _remove_stale(path, st)
            return None
        except OSError:
            return None
        if peer_uid(sock) != os.getuid():
            return None
        from seqc.outputs.stamp import environment

        request = {"op": "render", "protocol": PROTOCOL, "env": environment(), "pid": os.getpid(),
                   "file": str(Path(file).absolute()), "cache": str(Path(cache_root).absolute()),
                   "draft": draft, "output": str(output.absolute()) if output else None,
                   "frames": str(frames.absolute()) if frames else None,
                   "options": dataclasses.asdict(options)}
        try:
            send(sock, request)
            sock.settimeout(REPLY_TIMEOUT)
            lines = Lines(sock)
            answer = lines.next()
        except (OSError, ValueError):
            return None
        if answer is None or answer.get("ev") != "accepted":
            if answer is not None and not quiet and not as_json:
                from seqc.ui import console

                console.info(f"the running seqc watch cannot take this render ({answer.get('why', 'declined')}); "
                             "rendering here")
            return None
        sock.settimeout(None)  # the job may wait for the watcher's own render to finish
        if answer.get("busy") and not quiet and not as_json:
            from seqc.ui import console

            console.info(f"the running seqc watch (pid {answer.get('pid')}) is rendering; this render starts after it")
        return _follow(lines, file, answer, quiet or as_json)


def _remove_stale(path: Path, seen: os.stat_result) -> None:
    """Remove a socket nobody listens on (a killed watcher's), if it is still the one we tried."""
    with contextlib.suppress(OSError):
        if os.lstat(path).st_ino == seen.st_ino:
            path.unlink()


def _follow(lines: Lines, file: str, answer: dict, quiet: bool) -> tuple[dict, list]:
    """Replay the job's events on this terminal's progress bars; the result, or raise its error."""
    from seqc.errors import Problem, RenderError, SeqcError, SpecError
    from seqc.ui import console
    from seqc.ui.progress import ProgressReporter

    given = str(Path(file).absolute())

    def problems(items: list) -> list[Problem]:
        found = [Problem(**item) for item in items]
        return [Problem(**{**p.as_dict(), "file": file}) if p.file == given else p for p in found]

    reporter = Reporter(warn=console.warn) if quiet else ProgressReporter()
    working: contextlib.ExitStack | None = None
    try:
        while True:
            try:
                event = lines.next()
            except (OSError, ValueError):
                event = None
            if event is None:
                raise RenderError("the seqc watch process rendering this job stopped before it finished "
                                  "(what it published is whole; run the command again, or pass --no-server)")
            kind = event.get("ev")
            if kind == "begin":
                if event["todo"] and not quiet:  # said once there is something to render
                    console.info(f"rendering in the running seqc watch (pid {answer.get('pid')}), model loaded")
                # stand-ins with what the progress bars read of a plan and its jobs
                reporter.begin(cast("Plan", _Count(event["count"])), cast("list[SegmentJob]", [None] * event["todo"]),
                               event["frames"])
            elif kind == "stage":
                reporter.stage(event["text"])
            elif kind == "segment_begin":
                reporter.segment_begin(cast("SegmentJob", _Job(event["label"])), event["frames"])
            elif kind == "advance":
                reporter.advance(event["frames"])
            elif kind == "segment_end":
                reporter.segment_end(cast("SegmentJob", _Job(event["label"])))
            elif kind == "end":
                reporter.end()
            elif kind == "warn":
                reporter.warn(event["message"])
            elif kind == "working":
                working = contextlib.ExitStack()
                working.enter_context(reporter.working(event["text"]))
            elif kind == "worked" and working is not None:
                working.close()
                working = None
            elif kind == "done":
                return event["result"], problems(event.get("warnings", []))
            elif kind == "error":
                if event.get("problems"):
                    raise SpecError(problems(event["problems"]))
                error = SeqcError(event.get("message", "the render failed"))
                error.exit_code = int(event.get("exit_code", 1))
                raise error
    finally:
        if working is not None:
            working.close()


class _Count:
    """Stands for the plan in `Reporter.begin` on the client: only its count text is shown."""

    def __init__(self, text: str):
        self.text = text

    def count(self, _jobs) -> str:
        return self.text


class _Job:
    """Stands for a segment job on the client: only its label is shown."""

    def __init__(self, label: str):
        self.label = label
        self.end = False


def answers(path: Path) -> bool:
    """Whether a live process listens on the socket at `path`."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with sock:
        sock.settimeout(CONNECT_TIMEOUT)
        try:
            sock.connect(str(path))
        except OSError:
            return False
        return True


def status(cache_root: Path) -> dict | None:
    """What the watch process of this cache says about itself (pid, loaded models, busy), or None."""
    path = socket_path(cache_root)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with sock:
        sock.settimeout(CONNECT_TIMEOUT)
        try:
            sock.connect(str(path))
            send(sock, {"op": "status"})
            return Lines(sock).next()
        except (OSError, ValueError):
            return None
