"""The watch process's end of warm renders: listen on the cache's socket, take a `seqc render` job
that this process can run as the client would (same protocol, cache and environment), run it in
the watcher's main thread through `seqc.cli.commands.render.run`, and stream its progress back.
The client's end, the socket's place and the protocol are in seqc.serve.handoff."""

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
from seqc.render.options import RenderOptions
from seqc.render.render import Reporter
from seqc.serve.handoff import (
    PROTOCOL,
    REPLY_TIMEOUT,
    SEND_TIMEOUT,
    Lines,
    answers,
    peer_uid,
    send,
    socket_path,
)


class SocketReporter(Reporter):
    """The render's progress callbacks, sent to the client as events (a gone client stops the render)."""

    def __init__(self, conn: socket.socket):
        super().__init__()
        self.conn = conn

    def _event(self, **message) -> None:
        send(self.conn, message)

    def begin(self, plan, todo, frames_to_render) -> None:
        self._event(ev="begin", count=plan.count(todo), todo=len(todo), frames=frames_to_render)

    def stage(self, text: str) -> None:
        self._event(ev="stage", text=text)

    def segment_begin(self, job, frames: int) -> None:
        self._event(ev="segment_begin", label=job.label, frames=frames)

    def advance(self, frames: int) -> None:
        self._event(ev="advance", frames=frames)

    def segment_end(self, job) -> None:
        self._event(ev="segment_end", label=job.label)

    def end(self) -> None:
        self._event(ev="end")

    def warn(self, message: str) -> None:
        self._event(ev="warn", message=message)

    @contextlib.contextmanager
    def working(self, text: str):
        self._event(ev="working", text=text)
        yield
        self._event(ev="worked")


class HandoffListener:
    """Listen on the cache's socket and run each job through `post` (the watcher's main thread)."""

    def __init__(self, cache_root: Path, post: Callable[[Callable[[], None]], None],
                 log: Callable[[str], None], models: Callable[[], list[str]] | None = None,
                 watcher_busy: Callable[[], bool] | None = None):
        self.cache_root = Path(cache_root).absolute()
        self.path = socket_path(self.cache_root)
        self.post, self.log = post, log
        self.models = models or (lambda: [])
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
                    send(conn, {"ev": "status", "pid": os.getpid(), "models": self.models(), "busy": self.busy})
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
            RenderOptions(**request.get("options", {}))
        except (TypeError, ValueError):
            return "its render options differ from this seqc's"
        return None

    def _job(self, request: dict, conn: socket.socket, finished: threading.Event) -> None:
        """Run one handed-over render in the main thread; never raises but KeyboardInterrupt."""
        from seqc.cli.commands import render as render_command
        from seqc.errors import SeqcError, SpecError

        started = time.monotonic()
        name = Path(request["file"]).name
        self.busy = True
        outcome = "failed"
        try:
            if self._closed.is_set():
                return
            options = RenderOptions(**request["options"])

            def path(key: str) -> Path | None:
                return Path(request[key]) if request.get(key) else None

            def report(result: dict, warnings: list) -> None:
                nonlocal outcome
                send(conn, {"ev": "done", "result": result, "warnings": [w.as_dict() for w in warnings]})
                outcome = f"{result['rendered']} of {result['segments']} segments rendered"

            render_command.run(request["file"], request["cache"], options, draft=bool(request.get("draft")),
                               output=path("output"), frames=path("frames"), quiet=True, no_server=True,
                               reporter=SocketReporter(conn), report=report)
        except SpecError as exc:
            outcome = "invalid storyboard"
            with contextlib.suppress(OSError):
                send(conn, {"ev": "error", "problems": [p.as_dict() for p in exc.problems]})
        except SeqcError as exc:
            interrupts.raise_if_interrupted(exc)  # a Ctrl-C a library wrapped stops the watcher
            with contextlib.suppress(OSError):
                send(conn, {"ev": "error", "message": str(exc), "exit_code": exc.exit_code})
        except (OSError, ValueError) as exc:
            interrupts.raise_if_interrupted(exc)
            outcome = "stopped: the client went away" if isinstance(exc, (ConnectionError, TimeoutError)) else \
                f"failed: {exc}"
            with contextlib.suppress(OSError):
                send(conn, {"ev": "error", "message": str(exc), "exit_code": 1})
        except Exception as exc:  # noqa: BLE001 - the watcher goes on; the client gets the message
            interrupts.raise_if_interrupted(exc)
            with contextlib.suppress(OSError):
                send(conn, {"ev": "error", "message": f"{type(exc).__name__}: {exc}", "exit_code": 1})
        finally:
            self.busy = False
            finished.set()
            self.log(f"served: seqc render {name} (pid {request.get('pid')}): {outcome} "
                     f"in {time.monotonic() - started:.2f} s")
