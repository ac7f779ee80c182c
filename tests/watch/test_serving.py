"""`seqc watch --serve --open` and `--host`, as a user runs them (seqc/watch/serving.py)."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest
from servekit import ServeWatch, make_project, story_text

pytestmark = pytest.mark.slow


def test_open_hands_the_printed_url_to_the_users_browser(tmp_path: Path, monkeypatch):
    """--open opens the URL with its token in the browser Python's webbrowser picks, here $BROWSER."""
    folder = make_project(tmp_path)
    (folder / "story.yaml").write_text(story_text([("dawn", "noon", 8)]))
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\nprintf "%s" "$1" > "{opened}"\n')
    browser.chmod(0o755)
    monkeypatch.setenv("BROWSER", f"{browser} %s")
    watch = ServeWatch(folder, "--open")
    try:
        url = watch.wait_url()
        deadline = time.monotonic() + 30
        while not (opened.exists() and opened.read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert opened.read_text() == url
        watch.wait_render(timeout=240)
        assert watch.interrupt() == 130
    finally:
        watch.close()


def test_another_host_is_served_with_a_warning(tmp_path: Path):
    """--host ADDR listens there (another loopback address here), warns that others may reach it, and
    accepts that address in Host; the token is still required."""
    folder = make_project(tmp_path)
    (folder / "story.yaml").write_text(story_text([("dawn", "noon", 8)]))
    watch = ServeWatch(folder, "--host", "127.0.0.2")
    try:
        _, line = watch.wait_for(r"preview: http://127\.0\.0\.2:\d+/\?token=", timeout=60)
        match = re.search(r"http://127\.0\.0\.2:(\d+)/\?token=(\S+)", line)
        assert match is not None
        port, token = int(match.group(1)), match.group(2)
        assert any("not only this machine" in text for text in watch.since(0))
        host = {"Host": f"127.0.0.2:{port}"}
        assert _get("127.0.0.2", port, f"/?token={token}", host) == 200
        assert _get("127.0.0.2", port, "/", host) == 403
        watch.wait_render(timeout=240)
        assert watch.interrupt() == 130
    finally:
        watch.close()


def _get(address: str, port: int, path: str, headers: dict) -> int:
    import http.client

    conn = http.client.HTTPConnection(address, port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()



def test_ctrl_c_at_any_moment_of_the_first_render_exits_130_and_removes_the_socket(tmp_path: Path):
    """Early in the first render the watcher is importing torch and diffusers and loading the model:
    a Ctrl-C landing there (inside an import, a class definition) still stops it, with exit 130."""
    from seqc.handoff.client import socket_path

    for attempt, delay in enumerate((0.2, 0.7, 1.2, 1.7, 2.2)):
        folder = make_project(tmp_path / f"attempt{attempt}")
        (folder / "story.yaml").write_text(story_text([("dawn", "noon", 8), ("noon", "dusk", 8)]))
        watch = ServeWatch(folder)
        try:
            watch.wait_url()
            time.sleep(delay)
            assert watch.interrupt() == 130, watch.output_tail()
        finally:
            watch.close()
        assert watch.lines[-1] == "seqc: interrupted", watch.output_tail()
        assert not socket_path((folder / "cache").absolute()).exists()


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_kill_or_a_closed_terminal_stops_the_watcher_as_ctrl_c_does(tmp_path: Path, sig, code):
    """`kill PID` (SIGTERM) and a closed terminal (SIGHUP): the preview and the warm-render socket
    close, exit 128 + the signal."""
    from seqc.handoff.client import socket_path

    folder = make_project(tmp_path)
    (folder / "story.yaml").write_text(story_text([("dawn", "noon", 8)]))
    watch = ServeWatch(folder)
    try:
        watch.wait_url()
        watch.wait_render(timeout=240)
        sock = socket_path((folder / "cache").absolute())
        assert sock.exists()
        assert watch.interrupt(sig=sig) == code, watch.output_tail()
    finally:
        watch.close()
    assert watch.lines[-1] == f"seqc: stopped ({signal.Signals(sig).name})"
    assert not sock.exists()
    with pytest.raises(ConnectionRefusedError):
        _get("127.0.0.1", watch.port, f"/?token={watch.token}", {"Host": f"127.0.0.1:{watch.port}"})
