"""Warm renders: the socket (where, its permissions, a stale one, a foreign one), then `seqc render`
handing its job to a running `seqc watch` in subprocesses: byte-identical output, the stamp, an
invalid storyboard, another environment, a watcher killed mid-render, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from renderkit import run_seqc
from servekit import make_project, story_text
from watchutil import WatchProcess, wait_until

from seqc.app.render import RenderRequest
from seqc.handoff import client as handoff
from seqc.handoff.client import socket_path, try_render
from seqc.handoff.listener import HandoffListener


def _listener(root: Path, posted: list, lines: list) -> HandoffListener:
    return HandoffListener(root, posted.append, lines.append)


def _try(root: Path, story: Path):
    return try_render(root, RenderRequest(str(story)), quiet=True, as_json=False)


# -- the socket -------------------------------------------------------------------------------------


def test_the_socket_is_in_the_cache_or_a_private_folder_when_the_path_is_too_long(tmp_path):
    assert socket_path(tmp_path) == tmp_path / "watch.sock"
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    path = socket_path(deep)
    assert len(os.fsencode(str(path))) <= handoff.MAX_SOCKET_PATH
    assert path.parent.name == f"seqc-{os.getuid()}" and path == socket_path(deep)
    assert socket_path(deep / "x") != path


def test_the_listener_owns_a_private_socket_and_removes_it(tmp_path):
    posted, lines = [], []
    listener = _listener(tmp_path, posted, lines)
    assert listener.start()
    try:
        st = os.lstat(tmp_path / "watch.sock")
        assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == os.getuid()
        assert handoff.status(tmp_path)["pid"] == os.getpid()
        second = _listener(tmp_path, [], lines)
        assert not second.start()  # one watcher takes a cache's renders
        assert "another seqc watch" in lines[-1]
    finally:
        listener.close()
    assert not (tmp_path / "watch.sock").exists()


def test_a_long_cache_path_works_through_the_private_folder(tmp_path):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    listener = _listener(deep, [], [])
    assert listener.start()
    try:
        assert stat.S_IMODE(os.lstat(listener.path.parent).st_mode) == 0o700
        assert handoff.status(deep)["pid"] == os.getpid()
    finally:
        listener.close()
    assert not listener.path.exists()


def test_a_stale_socket_is_noticed_at_once_and_removed(tmp_path):
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(tmp_path / "watch.sock"))  # as a killed watcher leaves it: bound, nobody listening
    os.chmod(tmp_path / "watch.sock", 0o600)
    dead.close()
    started = time.monotonic()
    assert _try(tmp_path, tmp_path / "story.yaml") is None
    assert time.monotonic() - started < 0.5
    assert not (tmp_path / "watch.sock").exists()
    # A watcher starting on it takes over just the same.
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(tmp_path / "watch.sock"))
    dead.close()
    listener = _listener(tmp_path, [], [])
    assert listener.start()
    listener.close()


def test_a_socket_others_could_use_or_not_a_socket_is_never_sent_a_job(tmp_path):
    posted, lines = [], []
    listener = _listener(tmp_path, posted, lines)
    assert listener.start()
    try:
        os.chmod(tmp_path / "watch.sock", 0o666)
        assert _try(tmp_path, tmp_path / "story.yaml") is None
        time.sleep(0.3)
        assert posted == []
    finally:
        listener.close()
    (tmp_path / "watch.sock").write_text("not a socket")
    assert _try(tmp_path, tmp_path / "story.yaml") is None
    assert (tmp_path / "watch.sock").read_text() == "not a socket"  # not ours to remove


def test_a_job_for_another_cache_or_protocol_is_declined(tmp_path):
    listener = _listener(tmp_path, [], [])
    from seqc.outputs.stamp import environment

    request = RenderRequest(str(tmp_path / "story.yaml"), executor="ray", workers=3, output=Path("out.mp4"))
    base = handoff.request_message(tmp_path, request)
    assert listener._decline(base) is None
    assert handoff.request_from(base) == RenderRequest(str(tmp_path / "story.yaml"), str(tmp_path), executor="ray",
                                                       workers=3, output=Path("out.mp4").absolute())
    assert "cache" in listener._decline({**base, "cache": str(tmp_path / "other")})
    assert "protocol" in listener._decline({**base, "protocol": 99})
    assert "environment" in listener._decline({**base, "env": {**environment(), "python": "2.7"}})
    assert "options" in listener._decline({**base, "options": {"device": "cpu", "colour": "red"}})
    assert "options" in listener._decline({**base, "executor": "mpi"})


# -- seqc render -> seqc watch -------------------------------------------------------------------------


def _cli(folder: Path, *args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return run_seqc(*args, "--device", "cpu", cwd=folder, env={"OMP_NUM_THREADS": "1", **(env or {})}, check=check)


def _result(proc: subprocess.CompletedProcess) -> dict:
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_handed_off_render_is_byte_identical_to_an_in_process_one(tmp_path):
    folder = make_project(tmp_path)
    (folder / "hold.yaml").write_text(story_text([("dawn", "noon", 3)], output="out/hold.mp4"))
    (folder / "b.yaml").write_text(story_text([("noon", "dusk", 8), ("dusk", "night", 6, "ease-in-out")],
                                              output="out/b.mp4"))
    watch = WatchProcess(folder, story="hold.yaml")
    try:
        watch.wait_render(timeout=240)
        watch.wait_for(r"warm renders: ", timeout=30)
        # 1. Handed off: the watch process renders it; the CLI shows where and prints the same JSON.
        mark = watch.mark()
        handed = _cli(folder, "render", "b.yaml", "--cache-dir", "cache", "--json")
        assert "rendering in the running seqc watch" not in handed.stderr  # --json: stdout only
        watch.wait_for(r"served: seqc render b\.yaml .*: 2 of 2 segments rendered", mark, timeout=30)
        result = _result(handed)
        assert (result["rendered"], result["segments"], result["frames"]) == (2, 2, 15)
        # 2. The same render in this process, into another cache: the very same bytes.
        alone = _result(_cli(folder, "render", "b.yaml", "--cache-dir", "cache2", "--no-server",
                             "-o", "out/b-alone.mp4", "--json"))
        assert (folder / "out/b.mp4").read_bytes() == (folder / "out/b-alone.mp4").read_bytes()
        assert {k: v for k, v in alone.items() if k not in ("output", "seconds", "cache")} == \
               {k: v for k, v in result.items() if k not in ("output", "seconds", "cache")}
        # 3. The stamp the watch process wrote answers the next identical command: no connection.
        mark = watch.mark()
        again = _cli(folder, "render", "b.yaml", "--cache-dir", "cache")
        assert "rendered 0 of 2 segments" in again.stderr and "running seqc watch" not in again.stderr
        time.sleep(0.5)
        assert watch.count(r"served: ", mark) == 0
        # 4. An invalid storyboard: its problems as this command names the file, exit 2.
        (folder / "bad.yaml").write_text(story_text([("noon", "dusk", 4)]).replace("linear", "lineer"))
        bad = _cli(folder, "render", "bad.yaml", "--cache-dir", "cache", check=False)
        assert bad.returncode == 2 and bad.stderr.startswith("bad.yaml:3:"), bad.stderr
        assert "lineer" in bad.stderr and "Traceback" not in bad.stderr
        # 5. Shown progress, then the same summary line as in-process.
        (folder / "c.yaml").write_text(story_text([("dawn", "dusk", 5)], output="out/c.mp4"))
        shown = _cli(folder, "render", "c.yaml", "--cache-dir", "cache")
        assert "rendering in the running seqc watch (pid" in shown.stderr
        assert "out/c.mp4: 6 frames (" in shown.stderr and "rendered 1 of 1 segment, " in shown.stderr
        # 6. Another environment: the watch process declines; this process renders.
        (folder / "d.yaml").write_text(story_text([("night", "dawn", 4)], output="out/d.mp4"))
        other = _cli(folder, "render", "d.yaml", "--cache-dir", "cache", env={"SEQC_TEST_OTHER": "1"})
        assert "cannot take this render (its environment differs: env)" in other.stderr
        assert "out/d.mp4: 5 frames (" in other.stderr and "rendered 1 of 1 segment, " in other.stderr
        # 7. Ctrl-C: exit 130, no socket left.
        assert watch.interrupt() == 130
        assert not (folder / "cache" / "watch.sock").exists()
    finally:
        watch.close()
    assert "Traceback" not in watch.output()


@pytest.mark.slow
def test_killing_the_watcher_mid_render_leaves_a_verifiable_cache_and_a_clean_error(tmp_path):
    folder = make_project(tmp_path)
    (folder / "hold.yaml").write_text(story_text([("dawn", "noon", 3)], output="out/hold.mp4"))
    (folder / "big.yaml").write_text(story_text([("noon", "dusk", 80), ("dusk", "night", 80),
                                                 ("night", "dawn", 80)], output="out/big.mp4"))
    watch = WatchProcess(folder, story="hold.yaml")
    try:
        watch.wait_render(timeout=240)
        watch.wait_for(r"warm renders: ", timeout=30)
        env = {**os.environ, "COLUMNS": "200", "OMP_NUM_THREADS": "1"}
        client = subprocess.Popen([sys.executable, "-m", "seqc", "render", "big.yaml", "--cache-dir", "cache",
                                   "--device", "cpu"], cwd=folder, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        wait_until(lambda: (handoff.status(folder / "cache") or {}).get("busy"), 60, "the handed-off job")
        wait_until(lambda: list((folder / "cache" / "clips").rglob("*.tmp-*")), 60, "a clip being written")
        watch.proc.send_signal(signal.SIGKILL)
        out, err = client.communicate(timeout=60)
        assert client.returncode == 1, (out, err)
        lines = [line for line in err.splitlines() if line.startswith("seqc: error:")]
        assert len(lines) == 1 and "stopped before it finished" in lines[0], err
        assert "Traceback" not in err
    finally:
        watch.close()
    verify = run_seqc("cache", "verify", "--cache-dir", "cache", cwd=folder, check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # The killed watcher's socket is still there: the next render notices at once and renders here.
    assert (folder / "cache" / "watch.sock").exists()
    again = _result(_cli(folder, "render", "big.yaml", "--cache-dir", "cache", "--json"))
    assert again["frames"] == 241 and again["segments"] == 3
    assert not (folder / "cache" / "watch.sock").exists()
