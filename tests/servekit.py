"""Helpers for tests/page, tests/handoff and tests/watch/test_serving.py: a `seqc watch --serve` subprocess, an SSE client, plain HTTP requests,
and small storyboards on the built-in model."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from watchutil import WatchProcess, png_bytes

URL_RE = re.compile(r"preview: (http://127\.0\.0\.1:(\d+)/\?token=(\S+))")
KEYFRAMES = ("dawn", "noon", "dusk", "night")


def make_project(folder: Path, size: int = 64) -> Path:
    """kf/<name>.png for each painted keyframe."""
    (folder / "kf").mkdir(parents=True, exist_ok=True)
    for name in KEYFRAMES:
        (folder / "kf" / f"{name}.png").write_bytes(png_bytes(name, size=(size, size)))
    return folder


def story_text(segments: list[tuple], output: str = "out/video.mp4", size: int = 64, fps: int = 8) -> str:
    """A storyboard on the built-in model; segments: (from, to, frames[, easing])."""
    names = dict.fromkeys(n for seg in segments for n in seg[:2])
    lines = ["version: 1", f"output: {{path: {output}, size: [{size}, {size}], fps: {fps}}}",
             "defaults: {easing: linear, method: lerp}", "keyframes:",
             *(f"  {name}: {{image: kf/{name}.png}}" for name in names), "segments:"]
    for seg in segments:
        easing = f", easing: {seg[3]}" if len(seg) > 3 else ""
        lines.append(f"  - {{from: {seg[0]}, to: {seg[1]}, frames: {seg[2]}{easing}}}")
    return "\n".join(lines) + "\n"


class ServeWatch(WatchProcess):
    """`seqc watch --serve --quiet` in a subprocess, with its preview URL once printed."""

    def __init__(self, folder: Path, *extra: str, story: str = "story.yaml", serve: bool = True):
        super().__init__(folder, *(["--serve"] if serve else []), *extra, story=story)
        self.url = self.port = self.token = None

    def wait_url(self, timeout: float = 60.0) -> str:
        _, line = self.wait_for(URL_RE, timeout=timeout)
        match = URL_RE.search(line)
        assert match is not None
        self.url, self.port, self.token = match.group(1), int(match.group(2)), match.group(3)
        return self.url

    def path(self, route: str) -> str:
        """A route with this server's token."""
        return route + ("&" if "?" in route else "?") + f"token={self.token}"


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes


def request(port: int, path: str, headers: dict | None = None, method: str = "GET") -> Response:
    """One HTTP request to 127.0.0.1:port, the path sent exactly as given."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        headers = {"Host": f"127.0.0.1:{port}", **(headers or {})}
        for name, value in headers.items():
            if value is not None:
                conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        body = response.read()
        return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, body)
    finally:
        conn.close()


@dataclass
class Received:
    id: int | None
    kind: str
    data: dict
    at: float  # time.time() when it arrived


class SSEClient:
    """Reads an event stream in a thread; `wait(kind)` returns the next event of that kind."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        self.conn.request("GET", f"/events?{parts.query}")
        self.response = self.conn.getresponse()
        assert self.response.status == 200, self.response.status
        self.events: list[Received] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        kind, data, ident = "message", [], None
        try:
            for raw in self.response:
                line = raw.decode().rstrip("\n")
                if line == "":
                    if data:
                        event = Received(ident, kind, json.loads("\n".join(data)), time.time())
                        with self._cond:
                            self.events.append(event)
                            self._cond.notify_all()
                    kind, data = "message", []
                elif line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif line.startswith("id: "):
                    ident = int(line[4:])
        except (OSError, ValueError):
            pass

    def mark(self) -> int:
        with self._cond:
            return len(self.events)

    def wait(self, kind: str, since: int = 0, timeout: float = 120.0, **match) -> Received:
        """The first event of `kind` at or after `since` whose data has the `match` values."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.events[since:]:
                    if event.kind == kind and all(event.data.get(k) == v for k, v in match.items()):
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {kind!r} event within {timeout:.0f} s; got "
                                         f"{[e.kind for e in self.events[since:]]}")
                self._cond.wait(remaining)

    def since(self, mark: int) -> list[Received]:
        with self._cond:
            return list(self.events[mark:])

    def close(self) -> None:
        """Leave as a browser tab does: the connection ends (FIN) at once. Closing the socket alone
        would not, while the reader thread is still in recv on it."""
        if self.conn.sock is not None:
            with contextlib.suppress(OSError):
                self.conn.sock.shutdown(socket.SHUT_RDWR)
        self.conn.close()


def open_stream(port: int, token: str, timeout: float = 10.0) -> socket.socket:
    """A raw event-stream connection that has received its first event (the state), left open."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    conn.sendall(f"GET /events?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    received = b""
    while b"event: state" not in received:
        chunk = conn.recv(65536)
        received += chunk
        refused = b"\r\n\r\n" in received and not received.startswith(b"HTTP/1.1 200")
        if not chunk or refused:
            conn.close()
            raise AssertionError(f"no event stream: {received[:200]!r}")
    return conn
