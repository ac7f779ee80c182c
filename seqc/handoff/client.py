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
  the same use-case as in-process (`seqc.app.render.render_storyboard`), so the output,
  the cache entries and the up-to-date stamp are what an in-process render would make. The watch
  process takes a job only if its environment (seqc's code, the interpreter, the variables seqc
  reads: `seqc.outputs.stamp.environment`) is the client's; otherwise the client renders itself.
- The protocol is JSON lines: one request (the RenderRequest), then the job's progress events
  (seqc.render.progress `to_dict`) and one final `done` or `error`; the client hands each event
  to its own progress bars (`from_dict`), so the user sees the same progress and the same `--json`.

This module is the client's end, the socket's place and the protocol; the watch process's end is
seqc.handoff.listener.
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
from typing import TYPE_CHECKING

from seqc.render.progress import Begin, Reporter, Worked, Working, from_dict

if TYPE_CHECKING:
    from seqc.app.render import RenderOutcome, RenderRequest
    from seqc.errors import Problem

PROTOCOL = 3  # 2: the request carries the executor's settings; every progress event is sent; 3: --frame-format
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


def connect(path: Path) -> socket.socket:
    """A socket connected to the watch process listening at `path` (OSError if none: a refused
    connection or a missing file is a stale socket, anything else one we cannot use)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(CONNECT_TIMEOUT)
    try:
        sock.connect(str(path))
    except BaseException:
        sock.close()
        raise
    return sock


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



def request_message(cache_root: Path, request: RenderRequest) -> dict:
    """The job as the client sends it: the request with absolute paths, and who sends it."""
    from seqc.outputs.stamp import environment

    def absolute(path: Path | None) -> str | None:
        return str(Path(path).absolute()) if path is not None else None

    return {"op": "render", "protocol": PROTOCOL, "env": environment(), "pid": os.getpid(),
            "file": str(Path(request.file).absolute()), "cache": str(Path(cache_root).absolute()),
            "draft": request.draft, "output": absolute(request.output), "frames": absolute(request.frames),
            "frame_format": request.frame_format,
            "options": dataclasses.asdict(request.options), "executor": request.executor,
            "ray_address": request.ray_address, "workers": request.workers}


def request_from(message: dict) -> RenderRequest:
    """The RenderRequest a job message asks for; ValueError if this seqc cannot read it as one."""
    from seqc.app.render import RenderRequest
    from seqc.render.options import RenderOptions

    def path(key: str) -> Path | None:
        return Path(message[key]) if message.get(key) else None

    try:
        return RenderRequest(str(message["file"]), str(message["cache"]), RenderOptions(**message["options"]),
                             draft=bool(message.get("draft")), output=path("output"), frames=path("frames"),
                             frame_format=message.get("frame_format", "png"),
                             executor=message.get("executor", "local"), ray_address=message.get("ray_address"),
                             workers=message.get("workers"))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a render request: {exc}") from None


# ---------------------------------------------------------------------------------------------
# The client: `seqc render`.


def try_render(cache_root: Path, request: RenderRequest, *, quiet: bool, as_json: bool) -> RenderOutcome | None:
    """Hand the job to the watch process of this cache; its outcome, or None when there is none (or
    it cannot take the job) and the caller renders in-process. Raises the job's error."""
    path = socket_path(cache_root)
    try:
        st = os.lstat(path)
    except OSError:
        return None  # the usual case: no watcher
    if not stat.S_ISSOCK(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None  # not a socket of ours, or not private: never send a job there
    try:
        sock = connect(path)
    except (ConnectionRefusedError, FileNotFoundError):
        _remove_stale(path, st)
        return None
    except OSError:
        return None
    with sock:
        if peer_uid(sock) != os.getuid():
            return None
        try:
            send(sock, request_message(cache_root, request))
            sock.settimeout(REPLY_TIMEOUT)
            lines = Lines(sock)
            answer = lines.next()
        except (OSError, ValueError):
            return None
        talk = not quiet and not as_json
        if answer is None or answer.get("ev") != "accepted":
            if answer is not None and talk:
                from seqc.ui import console

                console.info(f"the running seqc watch cannot take this render ({answer.get('why', 'declined')}); "
                             "rendering here")
            return None
        sock.settimeout(None)  # the job may wait for the watcher's own render to finish
        if answer.get("busy") and talk:
            from seqc.ui import console

            console.info(f"the running seqc watch (pid {answer.get('pid')}) is rendering; this render starts after it")
        return _follow(lines, request.file, answer, quiet or as_json, str(Path(cache_root).absolute()))


def _remove_stale(path: Path, seen: os.stat_result) -> None:
    """Remove a socket nobody listens on (a killed watcher's), if it is still the one we tried."""
    with contextlib.suppress(OSError):
        if os.lstat(path).st_ino == seen.st_ino:
            path.unlink()


def _follow(lines: Lines, file: str, answer: dict, quiet: bool, cache: str) -> RenderOutcome:
    """Show the job's progress events on this terminal's bars; the outcome, or raise its error."""
    from seqc.app.render import RenderOutcome
    from seqc.errors import RenderError
    from seqc.ui import console
    from seqc.ui.progress import ProgressReporter

    reporter = Reporter(warn=console.warn) if quiet else ProgressReporter()
    step_open = False  # a Working step without its Worked yet: closed if the job ends in between
    try:
        while True:
            try:
                message = lines.next()
            except (OSError, ValueError):
                message = None
            if message is None:
                raise RenderError("the seqc watch process rendering this job stopped before it finished "
                                  "(what it published is whole; run the command again, or pass --no-server)")
            if message.get("ev") == "done":
                return RenderOutcome(message["result"], _problems(message.get("warnings", []), file), cache)
            if message.get("ev") == "error":
                raise _error(message, file)
            try:
                event = from_dict(message)
            except ValueError:
                continue  # nothing this client shows
            if isinstance(event, Begin) and event.todo and not quiet:  # said once there is something to render
                console.info(f"rendering in the running seqc watch (pid {answer.get('pid')}), model loaded")
            step_open = isinstance(event, Working) or (step_open and not isinstance(event, Worked))
            reporter.report(event)
    finally:
        if step_open:
            reporter.report(Worked())


def _problems(items: list, file: str) -> list[Problem]:
    """The job's problems, naming the storyboard as this command did (the job had its absolute path)."""
    from seqc.errors import Problem

    given = str(Path(file).absolute())
    found = [Problem(**item) for item in items]
    return [dataclasses.replace(p, file=file) if p.file == given else p for p in found]


def _error(message: dict, file: str) -> Exception:
    """The job's error as the in-process render would have raised it."""
    from seqc.errors import SeqcError, SpecError

    if message.get("problems"):
        return SpecError(_problems(message["problems"], file))
    error = SeqcError(message.get("message", "the render failed"))
    error.exit_code = int(message.get("exit_code", 1))
    return error


def answers(path: Path) -> bool:
    """Whether a live process listens on the socket at `path`."""
    try:
        connect(path).close()
    except OSError:
        return False
    return True


def status(cache_root: Path) -> dict | None:
    """What the watch process of this cache says about itself (pid, loaded models, busy), or None."""
    try:
        with connect(socket_path(cache_root)) as sock:
            send(sock, {"op": "status"})
            return Lines(sock).next()
    except (OSError, ValueError):
        return None
