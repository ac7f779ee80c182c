"""The preview's HTTP server: the page, its state, the event stream and the artifacts, nothing else.

Standard library only (`http.server.ThreadingHTTPServer`, a thread per connection): it starts in
milliseconds, adds no dependency to a no-op render, and what it must do is small (five routes, one
Range form). Security for a local dev server (docs/PREVIEW.md has the reasons):

- bound to 127.0.0.1 unless `--host` says otherwise (then the command warns);
- every request needs the token (`?token=`, compared in constant time), else 403;
- `Host` must be one of this server's own names with its port (DNS rebinding), else 403; an
  `Origin` header, where a browser sends one, must be this server's origin, and a request the
  browser marks cross-site (`Sec-Fetch-Site`) is refused;
- artifacts are looked up by name and version in `Artifacts`, never by a path from the URL: the
  URL is not even unquoted, so `..`, `%2e%2e` and anything unknown are 404;
- one `Range: bytes=a-b` per request (206), so the video seeks; several ranges get the whole file;
- every response: `Cache-Control: no-store`, `X-Content-Type-Options: nosniff`, no referrer; the
  page gets a Content-Security-Policy with a fresh nonce for its one script and one style.
"""

from __future__ import annotations

import errno
import hmac
import http.server
import ipaddress
import json
import re
import secrets
import socket
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from seqc.errors import SeqcError
from seqc.serve.artifacts import NAMES, Artifacts
from seqc.serve.events import EventBus

KEEPALIVE_SECONDS = 15.0  # an SSE comment this often keeps proxies and the browser from timing out
MAX_STREAMS = 16  # event streams at once (each holds a thread)
CHUNK = 64 * 1024
PAGE = Path(__file__).with_name("page.html")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class ServeError(SeqcError):
    """The preview server cannot start (a port in use, an address that cannot be bound)."""


class PreviewServer:
    """Serve the preview of one watch session; `start()` returns the page's URL, `close()` stops it."""

    def __init__(self, bus: EventBus, artifacts: Artifacts, host: str = "127.0.0.1", port: int = 0,
                 token: str | None = None, on_error=None):
        self.bus, self.artifacts = bus, artifacts
        self.host, self.port = host, port
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


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler, family, preview: PreviewServer):
        self.address_family = family
        self.preview = preview
        super().__init__(address, handler)

    def handle_error(self, request, client_address) -> None:
        """A browser that went away is normal; anything else is one line, never a traceback."""
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, socket.timeout)):
            return
        self.preview.on_error(f"preview: request failed: {type(exc).__name__}: {exc}")


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "seqc-preview"
    sys_version = ""
    timeout = 60  # an idle keep-alive connection is closed after this

    server: _HTTPServer

    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's name
        """No access log: the watcher's terminal is for the watcher."""

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
        self._dispatch(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch(head=False)

    def _refuse_method(self) -> None:
        self._plain(405, "method not allowed", {"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse_method  # noqa: N815

    # -- routing --------------------------------------------------------------------------------

    def _dispatch(self, head: bool) -> None:
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
        """The file, or the one byte range asked for (206; 416 if it lies outside the file)."""
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed below; the artifact may be gone
        except OSError:
            self._plain(404, "no such version")
            return
        with handle:
            size = path.stat().st_size
            start, end, status = 0, size - 1, 200
            wanted = self.headers.get("Range")
            if wanted is not None and "," not in wanted and _RANGE.match(wanted.strip()):
                # (several ranges, or another unit: the whole file, as RFC 9110 allows)
                span = _parse_range(wanted.strip(), size)
                if span is None:
                    self._send(416, b"", "text/plain", head, {"Content-Range": f"bytes */{size}"})
                    return
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
            self._plain(503, "too many event streams")
            return
        try:
            self.send_response(200)
            self._common_headers()
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            last = _int(self.headers.get("Last-Event-ID"))
            resume = last is not None and 0 <= last <= bus.last_id and bus.after(last, 0) is not None
            self.wfile.write(b"retry: 1000\n\n")
            if not resume:
                last = self._send_state()
            self.wfile.flush()
            while True:
                events = bus.after(last, KEEPALIVE_SECONDS)
                if events is None:  # fell out of the history: start again from the state
                    last = self._send_state()
                elif events:
                    self.wfile.write(b"".join(e.sse() for e in events))
                    last = events[-1].id
                elif bus.closed:
                    return
                else:
                    self.wfile.write(b": keep-alive\n\n")
                self.wfile.flush()
        except (ConnectionError, TimeoutError):
            return  # the browser went away mid-stream: nothing to do
        finally:
            preview.close_stream()

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


def _parse_range(value: str, size: int) -> tuple[int, int] | None:
    """`bytes=a-b`, `bytes=a-` or `bytes=-n` as an inclusive (start, end) within the file, or None."""
    match = _RANGE.match(value)
    if match is None or size == 0:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":  # the last n bytes
        n = int(last)
        return (max(0, size - n), size - 1) if n > 0 else None
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return None
    return start, end


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None
