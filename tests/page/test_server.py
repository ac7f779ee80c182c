"""The preview server over real HTTP: its checks (token, Host, Origin, the artifact allow-list,
Range, no-store) against a server in this process, then `seqc watch --serve` in a subprocess:
events after a save, the video URL changing only once the new video is published, errors, a port
in use, a browser leaving mid-stream, Ctrl-C. Also the bounds: streams freed as soon as their page
goes, at most MAX_CONNECTIONS threads, a deep listen backlog, idle connections closed, and Range
headers of any length answered."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from pathlib import Path

import pytest
from renderkit import run_seqc
from servekit import ServeWatch, SSEClient, make_project, open_stream, request, story_text
from watchutil import save_by_rename

from seqc.handoff.client import socket_path
from seqc.page.artifacts import KEEP, Artifacts
from seqc.page.bus import EventBus
from seqc.page.server import MAX_CONNECTIONS, MAX_STREAMS, PreviewServer, ServeError

VIDEO = bytes(range(256)) * 40  # 10,240 bytes whose content says where each byte is


@pytest.fixture
def served(tmp_path: Path):
    """A running server with one published video; yields (server, artifact, bus)."""
    source = tmp_path / "video.mp4"
    source.write_bytes(VIDEO)
    bus, artifacts = EventBus(), Artifacts()
    artifact = artifacts.publish("video", source)
    bus.publish("render-finished", {"summary": "test", "video": artifact.as_dict()})
    server = PreviewServer(bus, artifacts)
    server.start()
    yield server, artifact, bus
    server.close()
    artifacts.close()


def get(server: PreviewServer, path: str, headers: dict | None = None, token: bool = True, method: str = "GET"):
    if token:
        path += ("&" if "?" in path else "?") + f"token={server.token}"
    return request(server.port, path, headers, method)


# -- the checks -----------------------------------------------------------------------------------


def test_the_page_needs_the_token(served):
    server, _, _ = served
    assert get(server, "/", token=False).status == 403
    assert request(server.port, "/?token=wrong").status == 403
    assert request(server.port, "/state?token=").status == 403
    page = get(server, "/")
    assert page.status == 200 and b"seqc preview" in page.body
    assert get(server, "/a/video?v=x", token=False).status == 403
    assert get(server, "/events", token=False).status == 403


def test_a_foreign_host_is_refused(served):
    """DNS rebinding: a page of evil.example resolving to 127.0.0.1 sends its own Host."""
    server, _, _ = served
    for host in (f"evil.example:{server.port}", "127.0.0.1", f"127.0.0.1:{server.port + 1}", "", None):
        assert get(server, "/", {"Host": host}).status == 403, host
    for host in (f"localhost:{server.port}", f"LOCALHOST:{server.port}", f"[::1]:{server.port}"):
        assert get(server, "/", {"Host": host}).status == 200, host


def test_a_foreign_origin_or_a_cross_site_request_is_refused(served):
    server, artifact, _ = served
    assert get(server, "/state", {"Origin": "http://evil.example"}).status == 403
    assert get(server, "/events", {"Origin": f"http://localhost.evil.example:{server.port}"}).status == 403
    assert get(server, artifact.url, {"Sec-Fetch-Site": "cross-site"}).status == 403
    assert get(server, "/state", {"Origin": f"http://127.0.0.1:{server.port}"}).status == 200
    assert get(server, "/state", {"Sec-Fetch-Site": "same-origin"}).status == 200


@pytest.mark.parametrize("path", [
    "/a/../seqc/page/server.py", "/a/%2e%2e/%2e%2e/etc/passwd", "/a/%2E%2E%2Fetc%2Fpasswd",
    "/a/video/../../etc/passwd", "/a/..%2fvideo", "//etc/passwd", "/etc/passwd", "/a/nope", "/a/VIDEO",
    "/a/video%00", "/a/", "/a", "/page.html", "/../", "/state/..",
])
def test_paths_outside_the_allow_list_are_404(served, path):
    server, artifact, _ = served
    response = get(server, path + f"?v={artifact.version}")
    assert response.status == 404, (path, response.status)
    assert response.headers["cache-control"] == "no-store"


def test_only_published_versions_are_served(served, tmp_path):
    server, artifact, _ = served
    assert get(server, "/a/video?v=0123456789abcdef").status == 404
    assert get(server, "/a/video").status == 404
    assert get(server, "/a/sheet?v=" + artifact.version).status == 404  # that version is the video's
    assert get(server, artifact.url).body == VIDEO


def test_a_single_range_is_206_with_the_right_bytes(served):
    server, artifact, _ = served
    size = len(VIDEO)
    r = get(server, artifact.url, {"Range": "bytes=1000-1099"})
    assert r.status == 206 and r.body == VIDEO[1000:1100]
    assert r.headers["content-range"] == f"bytes 1000-1099/{size}"
    assert r.headers["content-length"] == "100" and r.headers["accept-ranges"] == "bytes"
    assert get(server, artifact.url, {"Range": "bytes=10000-"}).body == VIDEO[10000:]
    assert get(server, artifact.url, {"Range": "bytes=-7"}).body == VIDEO[-7:]
    assert get(server, artifact.url, {"Range": f"bytes=10-{size * 2}"}).body == VIDEO[10:]
    unsatisfiable = get(server, artifact.url, {"Range": f"bytes={size}-"})
    assert unsatisfiable.status == 416 and unsatisfiable.headers["content-range"] == f"bytes */{size}"
    several = get(server, artifact.url, {"Range": "bytes=0-9,20-29"})  # several ranges: the whole file
    assert several.status == 200 and several.body == VIDEO
    assert get(server, artifact.url, {"Range": "pages=1-2"}).status == 200
    head = get(server, artifact.url, method="HEAD")
    assert head.status == 200 and head.body == b"" and head.headers["content-length"] == str(size)


def test_a_range_of_any_length_or_form_gets_an_answer(served):
    """Issue 24 item 6: `bytes=<5,000 digits>-` closed the connection (int() refuses 4,300 digits)
    and printed a ValueError on the watcher's terminal. RFC 9110: a first byte past the end is 416;
    a last byte past the end or a suffix longer than the file is clipped; a malformed byte range is
    416; another unit is ignored."""
    server, artifact, _ = served
    errors: list[str] = []
    server.on_error = errors.append
    size, huge = len(VIDEO), "9" * 5000
    for value in (f"bytes={huge}-", f"bytes={huge}-{huge}", f"bytes={size}-{huge}", "bytes=abc", "bytes=5-3",
                  "bytes=--1", "bytes=1-2-3", "bytes=-0", "bytes=-", "bytes=", "bytes=0x10-", "bytes=\u00b2-"):
        response = get(server, artifact.url, {"Range": value})
        assert response.status == 416, (value[:40], response.status)
        assert response.headers["content-range"] == f"bytes */{size}"
    for value, body in ((f"bytes=0-{huge}", VIDEO), (f"bytes=-{huge}", VIDEO), (f"bytes={'0' * 5000}1-2", VIDEO[1:3]),
                        ("Bytes = 5 - 9", VIDEO[5:10])):
        response = get(server, artifact.url, {"Range": value})
        assert response.status == 206 and response.body == body, value[:40]
    assert get(server, artifact.url, {"Range": f"items={huge}-"}).status == 200  # another unit: ignored
    assert get(server, artifact.url, {"Range": f"bytes={huge}-", "Last-Event-ID": huge}, method="HEAD").status == 416
    assert not errors, errors


def test_a_stream_frees_its_slot_as_soon_as_its_page_goes(served):
    """Issue 24 item 5: a reloaded page's stream held its slot until the next 15 s keep-alive, so
    16 quick reloads took every slot and the next page got 503 for good."""
    server, _, bus = served
    streams = [open_stream(server.port, server.token) for _ in range(MAX_STREAMS)]
    assert server.streams == MAX_STREAMS
    refused = get(server, "/events")
    assert refused.status == 503 and refused.headers["retry-after"]
    assert get(server, "/state").status == 200  # the page's fallback still answers
    for stream in streams:
        stream.close()
    deadline = time.monotonic() + 2.0  # a quiet stream looks every 0.5 s
    while server.streams and time.monotonic() < deadline:
        time.sleep(0.05)
    again = [open_stream(server.port, server.token) for _ in range(MAX_STREAMS)]  # none refused
    for stream in again:
        stream.close()
    bus.publish("storyboard-loaded", {})  # wakes the streams (now gone) at once; nothing breaks
    deadline = time.monotonic() + 2.0
    while (server.streams or server.connections) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.streams == 0 and server.connections == 0


def test_connections_are_bounded_and_idle_ones_closed(tmp_path):
    """Issue 24 item 7: a thread per connection with no cap (300 idle connections: 311 threads), a
    listen backlog of 5 (connects stalled 1 s at 100 at once), idle connections kept for 60 s."""
    bus, artifacts = EventBus(), Artifacts()
    server = PreviewServer(bus, artifacts, idle_timeout=1.0)
    server.start()
    base = threading.active_count()
    try:
        # 300 clients connect at once and send nothing: never more than MAX_CONNECTIONS threads
        # serve them (the rest wait in the backlog; each idle one is closed after 1 s).
        idle: list[socket.socket] = []

        def connect() -> None:
            with contextlib.suppress(OSError):
                idle.append(socket.create_connection(("127.0.0.1", server.port), timeout=10))

        clients = [threading.Thread(target=connect) for _ in range(300)]
        for client in clients:
            client.start()
        most = 0
        while any(client.is_alive() for client in clients):
            ours = sum(1 for t in threading.enumerate() if t in clients)
            most = max(most, threading.active_count() - ours - base)
            time.sleep(0.02)
        assert len(idle) == 300
        assert 0 < most <= MAX_CONNECTIONS, most
        assert server.connections <= MAX_CONNECTIONS
        for conn in idle:
            conn.close()
        # A request after them is answered, and the threads are given back.
        assert get(server, "/state").status == 200
        deadline = time.monotonic() + 5
        while server.connections and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.connections == 0
        # Idle connections are closed by the server: one that sends nothing, one kept alive after a request.
        silent = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        kept = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        kept.sendall(f"GET /state?token={server.token} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode())
        started = time.monotonic()
        for conn in (silent, kept):
            with conn:
                received = b""
                while chunk := conn.recv(65536):  # to the server's FIN (a timeout here is 5 s)
                    received += chunk
                assert received.startswith(b"HTTP/1.1 200") if conn is kept else received == b""
        assert time.monotonic() - started < 3.0
    finally:
        server.close()
        artifacts.close()


def test_a_burst_of_connects_never_stalls(served):
    """With every slot taken, 100 more connects at once complete at once: they wait in the listen
    backlog (a backlog of 5 dropped the rest, whose clients retried after 1 s)."""
    server, _, _ = served
    held = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(MAX_CONNECTIONS)]
    deadline = time.monotonic() + 10  # a connect returns once the kernel has it, before the server accepts:
    while server.connections < MAX_CONNECTIONS and time.monotonic() < deadline:  # under load, wait for that
        time.sleep(0.01)
    assert server.connections == MAX_CONNECTIONS
    times: list[float] = []
    burst: list[socket.socket] = []

    def connect() -> None:
        started = time.monotonic()
        with contextlib.suppress(OSError):
            burst.append(socket.create_connection(("127.0.0.1", server.port), timeout=5))
        times.append(time.monotonic() - started)

    try:
        threads = [threading.Thread(target=connect) for _ in range(100)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(burst) == 100 and max(times) < 0.5, sorted(times)[-5:]
        assert server.connections <= MAX_CONNECTIONS
    finally:
        for conn in held + burst:
            conn.close()
    assert get(server, "/state").status == 200


def test_every_response_is_no_store_and_the_page_has_a_policy(served):
    server, artifact, _ = served
    for path, token in (("/", True), ("/state", True), (artifact.url, True), ("/", False), ("/nope", True)):
        response = get(server, path, token=token)
        assert response.headers["cache-control"] == "no-store", path
        assert response.headers["x-content-type-options"] == "nosniff"
    page = get(server, "/")
    policy = page.headers["content-security-policy"]
    nonce = policy.split("'nonce-")[1].split("'")[0]
    assert page.body.count(f'nonce="{nonce}"'.encode()) == 2 and b"{{NONCE}}" not in page.body
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert get(server, "/", method="POST").status == 405


def test_events_stream_state_then_each_event_and_resume(served):
    server, artifact, bus = served
    client = SSEClient(f"http://127.0.0.1:{server.port}/?token={server.token}")
    try:
        first = client.wait("state", timeout=10)
        assert first.data["video"]["version"] == artifact.version and first.data["status"] == "idle"
        published = bus.publish("render-failed", {"message": "boom"})
        arrived = client.wait("render-failed", timeout=10)
        assert arrived.id == published.id and arrived.data["message"] == "boom"
        assert arrived.at - published.t < 1.0
    finally:
        client.close()
    # A page that reconnects with Last-Event-ID gets what it missed, not the whole state.
    missed = bus.publish("storyboard-loaded", {})
    conn = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    with conn:
        conn.sendall(f"GET /events?token={server.token} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                     f"Last-Event-ID: {missed.id - 1}\r\n\r\n".encode())
        received = b""
        deadline = time.monotonic() + 5
        while b"event: storyboard-loaded" not in received and time.monotonic() < deadline:
            received += conn.recv(65536)
        assert b"event: storyboard-loaded" in received and b"event: state" not in received


def test_a_port_in_use_is_one_line(served):
    server, _, _ = served
    other = PreviewServer(EventBus(), Artifacts(), port=server.port)
    with pytest.raises(ServeError) as caught:
        other.start()
    assert "\n" not in str(caught.value) and str(server.port) in str(caught.value)
    assert "in use" in str(caught.value)


@pytest.mark.parametrize(("host", "every"), [("0.0.0.0", True), ("::", True), ("127.0.0.1", False),
                                              ("::1", False), ("localhost", False), ("studio.lan", False)])
def test_only_the_any_address_accepts_this_machines_other_names(host, every):
    """Served on every interface (asked for with --host), Host may name the machine as others reach it."""
    from seqc.page.server import _unspecified

    assert _unspecified(host) is every


def test_an_empty_host_is_refused_before_anything_starts(tmp_path):
    """`--host ""` would bind every interface unasked: exit 2, one line, nothing written."""
    folder = make_project(tmp_path)
    (folder / "story.yaml").write_text(story_text([("dawn", "noon", 4)]))
    proc = run_seqc("watch", "story.yaml", "--serve", "--host", " ", "--cache-dir", "cache", check=False,
                    cwd=folder, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "--host: expected an address to listen on" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (folder / "cache").exists() and not (folder / "out").exists()


def test_a_version_keeps_its_bytes_after_the_output_changes(tmp_path):
    artifacts = Artifacts()
    try:
        out = tmp_path / "video.mp4"
        versions = []
        for i in range(KEEP + 1):
            tmp = tmp_path / "new.mp4"
            tmp.write_bytes(bytes([i]) * (100 + i))
            tmp.replace(out)  # as the render publishes: rename over
            versions.append(artifacts.publish("video", out))
        assert len({a.version for a in versions}) == KEEP + 1
        assert artifacts.lookup("video", versions[0].version) is None  # only the last KEEP are kept
        for i, artifact in enumerate(versions[1:], start=1):
            assert artifacts.lookup("video", artifact.version).path.read_bytes() == bytes([i]) * (100 + i)
        assert oct(artifacts.folder.stat().st_mode & 0o777) == "0o700"
    finally:
        artifacts.close()
    assert not artifacts.folder.exists()


# -- seqc watch --serve ----------------------------------------------------------------------------


@pytest.mark.slow
def test_watch_serve_pushes_events_and_swaps_the_video_only_after_publish(tmp_path):
    folder = make_project(tmp_path)
    story = folder / "story.yaml"
    story.write_text(story_text([("dawn", "noon", 6), ("noon", "dusk", 6)]))
    watch = ServeWatch(folder)
    try:
        url = watch.wait_url()
        client = SSEClient(url)
        first = client.wait("render-finished", timeout=240)
        v1 = first.data["video"]
        assert request(watch.port, watch.path(v1["url"])).body == (folder / "out/video.mp4").read_bytes()
        assert first.data["video"]["frames"] == 13
        # A save: events arrive; until render-finished the page's video stays the old one.
        mark = client.mark()
        save_by_rename(story, story_text([("dawn", "noon", 6), ("noon", "dusk", 10, "ease-in")]))
        started = client.wait("render-started", mark, timeout=60)
        rows = started.data["plan"]["rows"]
        assert [r["status"] for r in rows[:2]] == ["cached", "missing"]
        assert rows[1]["reason"].startswith("duration changed") and rows[1]["easing"] == "ease-in"
        state = request(watch.port, watch.path("/state"))
        assert json.loads(state.body)["state"]["video"]["version"] == v1["version"]
        finished = client.wait("render-finished", mark, timeout=120)
        between = client.since(mark)
        between = between[:between.index(finished)]
        assert {"segment-started", "segment-done"} <= {e.kind for e in between}
        assert all("video" not in e.data for e in between)
        v2 = finished.data["video"]
        assert v2["version"] != v1["version"] and v2["url"] != v1["url"] and v2["frames"] == 17
        assert request(watch.port, watch.path(v2["url"])).body == (folder / "out/video.mp4").read_bytes()
        assert request(watch.port, watch.path(v1["url"])).status == 200  # a page still playing it may seek
        assert finished.at - finished.data["t"] < 1.0  # pushed at once
        extras = client.wait("extras", mark, timeout=120, **{"for": v2["version"]})
        assert extras.data["state"] == "ready"
        sheet = request(watch.port, watch.path(extras.data["sheet"]["url"]))
        assert sheet.status == 200 and sheet.body.startswith(b"\x89PNG")
        # An invalid save: the problems with their line:col, the last good video stays.
        mark = client.mark()
        save_by_rename(story, story_text([("dawn", "noon", 6)]).replace("linear", "lineer"))
        invalid = client.wait("storyboard-invalid", mark, timeout=60)
        texts = [p["text"] for p in invalid.data["problems"]]
        assert any(t.startswith("story.yaml:3:") and "lineer" in t for t in texts), texts
        state = json.loads(request(watch.port, watch.path("/state")).body)["state"]
        assert state["video"]["version"] == v2["version"] and state["problems"]
        client.close()
        assert watch.interrupt() == 130
        assert not socket_path(folder / "cache").exists()
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", watch.port), timeout=2).close()
    finally:
        watch.close()
    assert "Traceback" not in watch.output()


@pytest.mark.slow
def test_a_port_in_use_and_a_browser_leaving_never_stop_the_watcher(tmp_path):
    folder = make_project(tmp_path)
    story = folder / "story.yaml"
    story.write_text(story_text([("dawn", "noon", 24)]))
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    with contextlib.closing(taken):
        watch = ServeWatch(folder, "--port", str(port))
        try:
            _, line = watch.wait_for(r"preview: cannot listen", timeout=60)
            assert f"127.0.0.1:{port}" in line and "in use" in line
            watch.wait_render(timeout=240)  # the watcher goes on without the page
            assert watch.interrupt() == 130
        finally:
            watch.close()
    # A browser that leaves in the middle of a stream and of a video download.
    save_by_rename(story, story_text([("dawn", "noon", 40)]))
    watch = ServeWatch(folder)
    try:
        watch.wait_url()
        client = SSEClient(watch.url)
        client.wait("render-started", timeout=240)
        client.response.close()
        client.close()  # gone mid-render
        finished = watch.wait_render(timeout=240)[1]
        assert finished.frames == 41
        client = SSEClient(watch.url)
        video = client.wait("state", timeout=10).data["video"]
        if video is None:  # the terminal's summary comes just before the page's render-finished
            video = client.wait("render-finished", timeout=30).data["video"]
        conn = socket.create_connection(("127.0.0.1", watch.port), timeout=5)
        conn.sendall(f"GET {watch.path(video['url'])} HTTP/1.1\r\nHost: 127.0.0.1:{watch.port}\r\n\r\n".encode())
        conn.recv(100)
        conn.close()  # gone mid-download
        huge = request(watch.port, watch.path(video["url"]), {"Range": "bytes=" + "9" * 5000 + "-"})
        assert huge.status == 416  # issue 24 item 6: was no answer and a ValueError on the terminal
        mark = watch.mark()
        save_by_rename(story, story_text([("dawn", "noon", 30)]))
        assert watch.wait_render(mark, timeout=120)[1].frames == 31
        client.close()
        assert watch.interrupt() == 130
    finally:
        watch.close()
    assert "Traceback" not in watch.output() and "request failed" not in watch.output()
