"""The watch process's end of warm renders: listen on the cache's socket, take a `seqc render` job
that this process can run as the client would (same protocol, cache and environment), run it in
the watcher's main thread through `seqc.app.render.render_storyboard` with the watch's session (its
model stays loaded), and stream its progress events back. The client's end, the socket's place and
the protocol are in seqc.handoff.client."""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

from seqc import interrupts
from seqc.handoff.client import (
    PROTOCOL,
    REPLY_TIMEOUT,
    SEND_TIMEOUT,
    Lines,
    answers,
    peer_uid,
    request_from,
    send,
    socket_path,
)
from seqc.render.progress import ProgressEvent, Reporter, to_dict
from seqc.render.session import Session


class SocketReporter(Reporter):
    """The render's progress events, sent to the client (a gone client stops the render)."""

    def __init__(self, conn: socket.socket):
        super().__init__()
        self.conn = conn

    def report(self, event: ProgressEvent) -> None:
        send(self.conn, to_dict(event))


class HandoffListener:
    """Listen on the cache's socket and run each job through `post` (the watcher's main thread),
    with `session` (the watch's: its loaded model; None: a fresh one, nothing kept)."""

    def __init__(self, cache_root: Path, post: Callable[[Callable[[], None]], None],
                 log: Callable[[str], None], session: Session | None = None,
                 watcher_busy: Callable[[], bool] | None = None):
        self.cache_root = Path(cache_root).absolute()
        self.path = socket_path(self.cache_root)
        self.post, self.log = post, log
        self.session = session if session is not None else Session()
        self.watcher_busy = watcher_busy or (lambda: False)
        self._sock: socket.socket | None = None
        self._inode: int | None = None
        self._closed = threading.Event()
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.busy = False

    def start(self) -> bool:
        """Take the socket (removing a stale one); False, with one line, if another watcher has it."""
        if self.path.parent != self.cache_root:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            st = os.lstat(self.path.parent)
            if st.st_uid != os.getuid() or st.st_mode & 0o077:
                self.log(f"warm renders: off ({self.path.parent} is not private to this user)")
                return False
        if answers(self.path):
            self.log("warm renders: another seqc watch already takes this cache's renders")
            return False
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISSOCK(os.lstat(self.path).st_mode):
                self.path.unlink()  # a killed watcher's socket
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(str(tmp))
            os.chmod(tmp, 0o600)
            sock.listen(16)
            os.replace(tmp, self.path)
            self._inode = os.lstat(self.path).st_ino
        except OSError as exc:
            sock.close()
            with contextlib.suppress(OSError):
                tmp.unlink()
            self.log(f"warm renders: off (cannot listen on {self.path}: {exc.strerror or exc})")
            return False
        sock.settimeout(0.25)
        self._sock = sock
        threading.Thread(target=self._accept, name="seqc-handoff", daemon=True).start()
        return True

    def close(self) -> None:
        """Stop listening, drop waiting clients, and remove the socket file if it is still ours."""
        self._closed.set()
        if self._sock is not None:
            self._sock.close()
        with self._lock:
            for conn in list(self._conns):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        if self._inode is not None:
            with contextlib.suppress(OSError):
                if os.lstat(self.path).st_ino == self._inode:
                    self.path.unlink()
            self._inode = None

    def _accept(self) -> None:
        assert self._sock is not None  # set before this thread starts, never unset
        while not self._closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), name="seqc-handoff-job", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with self._lock:
            self._conns.add(conn)
        try:
            with conn:
                if peer_uid(conn) != os.getuid():
                    return
                conn.settimeout(REPLY_TIMEOUT)
                request = Lines(conn).next()
                if request is None:
                    return
                if request.get("op") == "status":
                    send(conn, {"ev": "status", "pid": os.getpid(), "models": self.session.models.names(),
                                "busy": self.busy})
                    return
                why = self._decline(request)
                if why is not None:
                    send(conn, {"ev": "declined", "why": why})
                    return
                send(conn, {"ev": "accepted", "pid": os.getpid(), "busy": self.busy or self.watcher_busy()})
                conn.settimeout(SEND_TIMEOUT)
                finished = threading.Event()
                self.post(lambda: self._job(request, conn, finished))
                while not finished.wait(0.25) and not self._closed.is_set():
                    pass
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                self._conns.discard(conn)

    def _decline(self, request: dict) -> str | None:
        from seqc.outputs.stamp import environment

        if request.get("op") != "render" or request.get("protocol") != PROTOCOL:
            return "another version of the protocol"
        if Path(request.get("cache", "")) != self.cache_root:
            return "another cache"
        mine = environment()
        theirs = request.get("env") or {}
        differ = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
        if differ:
            return "its environment differs: " + ", ".join(differ)
        try:
            request_from(request)
        except ValueError:
            return "its render options differ from this seqc's"
        return None

    def _job(self, message: dict, conn: socket.socket, finished: threading.Event) -> None:
        """Run one handed-over render in the main thread; never raises but KeyboardInterrupt."""
        started = time.monotonic()
        self.busy = True
        outcome = "failed"
        try:
            if not self._closed.is_set():
                outcome = self._render(message, conn)
        finally:
            self.busy = False
            finished.set()
            self.log(f"served: seqc render {Path(message['file']).name} (pid {message.get('pid')}): {outcome} "
                     f"in {time.monotonic() - started:.2f} s")

    def _render(self, message: dict, conn: socket.socket) -> str:
        """Render the job, sending its events and its result or error; what became of it, in words."""
        from seqc.app.render import render_storyboard
        from seqc.errors import SeqcError, SpecError

        try:
            done = render_storyboard(request_from(message), self.session, reporter=SocketReporter(conn))
            send(conn, {"ev": "done", "result": done.result, "warnings": [w.as_dict() for w in done.warnings]})
            return f"{done.result['rendered']} of {done.result['segments']} segments rendered"
        except SpecError as exc:
            _answer(conn, {"ev": "error", "problems": [p.as_dict() for p in exc.problems]})
            return "invalid storyboard"
        except SeqcError as exc:
            interrupts.raise_if_interrupted(exc)  # a Ctrl-C a library wrapped stops the watcher
            _answer(conn, {"ev": "error", "message": str(exc), "exit_code": exc.exit_code})
            return "failed"
        except (OSError, ValueError) as exc:
            interrupts.raise_if_interrupted(exc)
            _answer(conn, {"ev": "error", "message": str(exc), "exit_code": 1})
            gone = isinstance(exc, (ConnectionError, TimeoutError))
            return "stopped: the client went away" if gone else f"failed: {exc}"
        except Exception as exc:  # noqa: BLE001 - the watcher goes on; the client gets the message
            interrupts.raise_if_interrupted(exc)
            _answer(conn, {"ev": "error", "message": f"{type(exc).__name__}: {exc}", "exit_code": 1})
            return "failed"


def _answer(conn: socket.socket, message: dict) -> None:
    """Send the job's last message, if the client is still there to read it."""
    with contextlib.suppress(OSError):
        send(conn, message)
