"""The preview's HTTP server: the page, its state, the event stream and the artifacts, nothing else.

Standard library only (`http.server.ThreadingHTTPServer`, a thread per connection): it starts in
milliseconds, adds no dependency to a no-op render, and what it must do is small (five routes, one
Range form). Bounded: at most 64 connections are served at once (more wait in a listen backlog of
128), a connection that sends no request for 10 s is closed, and an event stream notices within
half a second that its page went away, so a reloading page always finds a free stream.
Security for a local dev server (docs/PREVIEW.md has the reasons):

- bound to 127.0.0.1 unless `--host` says otherwise (then the command warns);
- every request needs the token (`?token=`, compared in constant time), else 403;
- `Host` must be one of this server's own names with its port (DNS rebinding), else 403; an
  `Origin` header, where a browser sends one, must be this server's origin, and a request the
  browser marks cross-site (`Sec-Fetch-Site`) is refused;
- artifacts are looked up by name and version in `Artifacts`, never by a path from the URL: the
  URL is not even unquoted, so `..`, `%2e%2e` and anything unknown are 404;
- one `Range: bytes=a-b` per request (206), so the video seeks; several ranges or another unit get
  the whole file; a malformed or unsatisfiable byte range is 416 (numbers of any length: no int(); seqc.page.ranges);
- every response: `Cache-Control: no-store`, `X-Content-Type-Options: nosniff`, no referrer; the
  page gets a Content-Security-Policy with a fresh nonce for its one script and one style.
"""

from __future__ import annotations

import contextlib
import errno
import hmac
import http.server
import ipaddress
import json
import secrets
import socket
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from seqc.errors import SeqcError
from seqc.page.artifacts import NAMES, Artifacts
from seqc.page.bus import EventBus
from seqc.page.ranges import WHOLE, parse_range

KEEPALIVE_SECONDS = 15.0  # an SSE comment this often keeps proxies and the browser from timing out
STREAM_POLL_SECONDS = 0.5  # how often a quiet event stream checks that its page is still there
MAX_STREAMS = 16  # event streams at once (each holds a connection and its thread)
MAX_CONNECTIONS = 64  # connections served at once, a thread each; more wait in the listen backlog
BACKLOG = 128  # connections the kernel queues before accept (a burst of connects never stalls)
IDLE_SECONDS = 10.0  # a connection that sends no request (or no next one) this long is closed
SEND_SECONDS = 60.0  # a client that takes nothing of a response this long is dropped
CHUNK = 64 * 1024
PAGE = Path(__file__).with_name("page.html")


class ServeError(SeqcError):
    """The preview server cannot start (a port in use, an address that cannot be bound)."""


class PreviewServer:
    """Serve the preview of one watch session; `start()` returns the page's URL, `close()` stops it."""

    def __init__(self, bus: EventBus, artifacts: Artifacts, host: str = "127.0.0.1", port: int = 0,
                 token: str | None = None, on_error=None, max_connections: int = MAX_CONNECTIONS,
                 idle_timeout: float = IDLE_SECONDS):
        self.bus, self.artifacts = bus, artifacts
        self.host, self.port = host, port
        self.max_connections, self.idle_timeout = max_connections, idle_timeout
        self.token = token or secrets.token_urlsafe(24)
        self.on_error = on_error or (lambda message: None)
        self.page = PAGE.read_text(encoding="utf-8")
        self.allowed_hosts: frozenset[str] = frozenset()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._streams = 0
        self._streams_lock = threading.Lock()

    def start(self) -> str:
        """Bind and serve in a background thread; the URL with the token. Raises ServeError."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            self._httpd = _HTTPServer((self.host, self.port), _Handler, family, self)
        except OSError as exc:
            why = "the port is in use (--port 0 picks a free one)" if exc.errno == errno.EADDRINUSE else \
                (exc.strerror or str(exc))
            raise ServeError(f"preview: cannot listen on {self.host}:{self.port}: {why}") from None
        self.port = self._httpd.server_address[1]
        names = {"127.0.0.1", "localhost", "[::1]"}
        if self.host not in ("127.0.0.1", "localhost", "::1"):
            names.add(f"[{self.host}]" if ":" in self.host else self.host)
        if _unspecified(self.host):  # every interface, asked for: the names other machines reach it by
            names |= _machine_names()
        self.allowed_hosts = frozenset(f"{name}:{self.port}".lower() for name in names)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="seqc-preview", daemon=True)
        self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/?token={self.token}"

    def close(self) -> None:
        """End the event streams, stop serving and close the socket."""
        self.bus.close()
        if self._httpd is not None:
            self._httpd.stopping.set()
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    # -- the checks every request passes ------------------------------------------------------------

    def refuse(self, headers, query: dict) -> str | None:
        """Why a request is refused (403), or None."""
        host = (headers.get("Host") or "").strip().lower()
        if host not in self.allowed_hosts:
            return "unknown Host"
        origin = headers.get("Origin")
        if origin is not None and origin.lower() not in {f"http://{h}" for h in self.allowed_hosts}:
            return "foreign Origin"
        if (headers.get("Sec-Fetch-Site") or "same-origin") not in ("same-origin", "none"):
            return "cross-site request"
        token = query.get("token", [""])[0]
        if not hmac.compare_digest(token.encode(), self.token.encode()):
            return "missing or wrong token"
        return None

    def open_stream(self) -> bool:
        with self._streams_lock:
            if self._streams >= MAX_STREAMS:
                return False
            self._streams += 1
            return True

    def close_stream(self) -> None:
        with self._streams_lock:
            self._streams -= 1

    @property
    def streams(self) -> int:
        """Event streams open now."""
        with self._streams_lock:
            return self._streams

    @property
    def connections(self) -> int:
        """Connections being served now (each has a thread)."""
        return self._httpd.connections if self._httpd is not None else 0


class _HTTPServer(http.server.ThreadingHTTPServer):
    """A thread per connection, at most `max_connections` at once: a connection is accepted only
    when a slot is free, so the rest wait in the kernel's backlog instead of each taking a thread."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = BACKLOG

    def __init__(self, address, handler, family, preview: PreviewServer):
        self.address_family = family
        self.preview = preview
        self.stopping = threading.Event()
        self._slots = threading.BoundedSemaphore(preview.max_connections)
        self._count = 0
        self._count_lock = threading.Lock()
        super().__init__(address, handler)

    @property
    def connections(self) -> int:
        with self._count_lock:
            return self._count

    def get_request(self):
        """Accept once a slot is free (checking for shutdown meanwhile, which the loop waits for)."""
        while not self._slots.acquire(timeout=0.2):
            if self.stopping.is_set():
                raise OSError("the preview server is stopping")  # the serve loop ignores it
        try:
            accepted = super().get_request()
        except BaseException:
            self._slots.release()
            raise
        with self._count_lock:
            self._count += 1
        return accepted

    def shutdown_request(self, request) -> None:
        """Close the connection and free its slot (called once per accepted connection)."""
        try:
            super().shutdown_request(request)
        finally:
            with self._count_lock:
                self._count -= 1
            self._slots.release()

    def handle_error(self, request, client_address) -> None:
        """A browser that went away is normal; anything else is one line, never a traceback."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, socket.timeout)):
            return
        self.preview.on_error(f"preview: request failed: {type(exc).__name__}: {exc}")


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "seqc-preview"
    sys_version = ""
    timeout = IDLE_SECONDS  # set per request below: idle_timeout to read one, SEND_SECONDS to answer

    server: _HTTPServer

    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's name
        """No access log: the watcher's terminal is for the watcher."""

    def handle_one_request(self) -> None:
        """Wait at most idle_timeout for the (next) request; a connection that sends none is closed
        (the base class ends the connection on the timeout), so idle ones give their slot back."""
        self.connection.settimeout(self.server.preview.idle_timeout)
        super().handle_one_request()

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self._dispatch(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch(head=False)

    def _refuse_method(self) -> None:
        self._plain(405, "method not allowed", {"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse_method  # noqa: N815

    # -- routing --------------------------------------------------------------------------------

    def _dispatch(self, head: bool) -> None:
        self.connection.settimeout(SEND_SECONDS)
        preview = self.server.preview
        parts = urlsplit(self.path)
        try:
            query = parse_qs(parts.query, keep_blank_values=True, max_num_fields=8)
        except ValueError:
            self._plain(400, "bad query")
            return
        why = preview.refuse(self.headers, query)
        if why is not None:
            self._plain(403, f"forbidden: {why}")
            return
        path = parts.path  # never unquoted: no route has an escaped character in it
        if path == "/":
            self._page(head)
        elif path == "/state":
            last, state = preview.bus.snapshot()
            self._send(200, json.dumps({"id": last, "state": state}).encode(), "application/json", head)
        elif path == "/events" and not head:
            self._events()
        elif path.startswith("/a/") and path[3:] in NAMES:
            artifact = preview.artifacts.lookup(path[3:], query.get("v", [""])[0])
            if artifact is None:
                self._plain(404, "no such version")
            else:
                self._file(artifact.path, artifact.content_type, head)
        else:
            self._plain(404, "not found")

    # -- responses ------------------------------------------------------------------------------

    def _common_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")

    def _send(self, status: int, body: bytes, content_type: str, head: bool = False,
              headers: dict | None = None) -> None:
        self.send_response(status)
        self._common_headers()
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _plain(self, status: int, text: str, headers: dict | None = None) -> None:
        self._send(status, (text + "\n").encode(), "text/plain; charset=utf-8", self.command == "HEAD", headers)

    def _page(self, head: bool) -> None:
        nonce = secrets.token_urlsafe(16)
        body = self.server.preview.page.replace("{{NONCE}}", nonce).encode()
        csp = (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
               "img-src 'self' data:; media-src 'self'; connect-src 'self'; base-uri 'none'; "
               "form-action 'none'; frame-ancestors 'none'")
        self._send(200, body, "text/html; charset=utf-8", head, {"Content-Security-Policy": csp})

    def _file(self, path: Path, content_type: str, head: bool) -> None:
        """The file, or the one byte range asked for (206; 416 if it is malformed or outside the file)."""
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed below; the artifact may be gone
        except OSError:
            self._plain(404, "no such version")
            return
        with handle:
            size = path.stat().st_size
            start, end, status = 0, size - 1, 200
            wanted = self.headers.get("Range")
            span = parse_range(wanted, size) if wanted is not None else WHOLE
            if span is None:
                self._send(416, b"", "text/plain", head, {"Content-Range": f"bytes */{size}"})
                return
            if span is not WHOLE:
                start, end, status = span[0], span[1], 206
            self.send_response(status)
            self._common_headers()
            self.send_header("Content-Type", content_type)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(end - start + 1 if size else 0))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.end_headers()
            if head or size == 0:
                return
            handle.seek(start)
            left = end - start + 1
            while left > 0:
                chunk = handle.read(min(CHUNK, left))
                if not chunk:
                    break
                self.wfile.write(chunk)
                left -= len(chunk)

    def _events(self) -> None:
        """The SSE stream: the whole state first (or what a reconnecting page missed), then each event."""
        preview = self.server.preview
        bus = preview.bus
        if not preview.open_stream():
            self._plain(503, "too many event streams", {"Retry-After": "2"})  # the page polls /state
            return
        try:
            self.send_response(200)
            self._common_headers()
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            asked = _int(self.headers.get("Last-Event-ID"))
            self.wfile.write(b"retry: 1000\n\n")
            if asked is not None and 0 <= asked <= bus.last_id and bus.after(asked, 0) is not None:
                last = asked  # resume: only what the page missed
            else:
                last = self._send_state()
            self.wfile.flush()
            keepalive = time.monotonic() + KEEPALIVE_SECONDS
            while True:
                # Wake at least every STREAM_POLL_SECONDS: a page that reloads closes its stream
                # without a word, and its slot must be free again before the new page asks for one.
                events = bus.after(last, min(STREAM_POLL_SECONDS, max(0.0, keepalive - time.monotonic())))
                if events is None:  # fell out of the history: start again from the state
                    last = self._send_state()
                elif events:
                    self.wfile.write(b"".join(e.sse() for e in events))
                    last = events[-1].id
                elif bus.closed or self._client_gone():
                    return
                elif time.monotonic() >= keepalive:
                    self.wfile.write(b": keep-alive\n\n")
                else:
                    continue
                self.wfile.flush()
                keepalive = time.monotonic() + KEEPALIVE_SECONDS
        except (ConnectionError, TimeoutError):
            return  # the browser went away mid-stream: nothing to do
        finally:
            preview.close_stream()

    def _client_gone(self) -> bool:
        """Whether the client closed its end (an EventSource sends nothing after its request, so a
        readable socket with nothing to read is the end of the connection)."""
        sock = self.connection
        try:
            sock.settimeout(0)
            return sock.recv(1, socket.MSG_PEEK) == b""
        except BlockingIOError:
            return False  # nothing to read: still connected
        except OSError:
            return True
        finally:
            with contextlib.suppress(OSError):
                sock.settimeout(SEND_SECONDS)

    def _send_state(self) -> int:
        last, state = self.server.preview.bus.snapshot()
        self.wfile.write(f"id: {last}\nevent: state\ndata: {json.dumps(state)}\n\n".encode())
        return last


def _unspecified(host: str) -> bool:
    """Whether `host` is the IPv4 or IPv6 "any address" (every interface)."""
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def _machine_names() -> set[str]:
    """This machine's host names and addresses, as a browser on another machine would put them in Host."""
    names = {socket.gethostname().lower(), socket.getfqdn().lower()}
    try:
        names |= set(socket.gethostbyname_ex(socket.gethostname())[2])
    except OSError:
        pass
    return names


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None and len(text) <= 20 else None
    except ValueError:
        return None
