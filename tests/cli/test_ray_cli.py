"""`seqc render --executor ray` from the command line: one-line errors for a missing extra, an
unreachable address and a misused option (nothing rendered or written), and a render on the
private local Ray that seqc starts itself (no --ray-address), byte-identical to a local render.

The cluster tests that join a running cluster are in tests/cluster/ (one Ray per pytest process).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
from pathlib import Path

import pytest
from renderkit import five_keyframe_storyboard, render_json, run_seqc

pytestmark = pytest.mark.slow  # real renders in subprocesses


def closed_port() -> int:
    """A loopback port nothing listens on (bound and released at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def written(cache: Path) -> list[Path]:
    return [p for p in cache.rglob("*") if p.is_file()] if cache.exists() else []


@pytest.fixture
def project(tmp_path, tiny_vae) -> Path:
    return five_keyframe_storyboard(tmp_path / "p", tiny_vae, size=32, fps=4)


def test_an_unreachable_ray_address_is_one_line_and_exit_1(project, tmp_path):
    cache = tmp_path / "cache"
    address = f"127.0.0.1:{closed_port()}"
    proc = run_seqc("render", str(project), "--cache-dir", str(cache), "--executor", "ray", "--ray-address", address,
                    check=False, timeout=120)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot reach the Ray cluster at {address}" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert written(cache) == [] and not (project.parent / "out").exists()


def test_ray_address_auto_reads_ray_address_from_the_environment(project, tmp_path):
    address = f"127.0.0.1:{closed_port()}"
    proc = run_seqc("render", str(project), "--cache-dir", str(tmp_path / "cache"), "--executor", "ray",
                    "--ray-address", "auto", check=False, timeout=120, env={"RAY_ADDRESS": address})
    assert proc.returncode == 1 and f"cannot reach the Ray cluster at {address}" in proc.stderr, proc.stderr


def test_a_malformed_ray_address_is_exit_2(project, tmp_path):
    proc = run_seqc("render", str(project), "--cache-dir", str(tmp_path / "cache"), "--executor", "ray",
                    "--ray-address", "nohostport", check=False, timeout=120)
    assert proc.returncode == 2 and "is not 'auto' or HOST:PORT" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_without_ray_installed_the_error_names_the_extra(project, tmp_path):
    blocker = tmp_path / "noray"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['ray'] = None  # as if not installed\n")
    cache = tmp_path / "cache"
    proc = run_seqc("render", str(project), "--cache-dir", str(cache), "--executor", "ray", check=False,
                    timeout=120, env={"PYTHONPATH": str(blocker)})
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'seqc[ray]'" in lines[0], proc.stderr
    assert written(cache) == []


def test_ray_options_without_the_ray_executor_are_refused(project, tmp_path):
    proc = run_seqc("render", str(project), "--cache-dir", str(tmp_path / "cache"), "--workers", "2", check=False,
                    timeout=120)
    assert proc.returncode == 2 and "add --executor ray" in proc.stderr, proc.stderr


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed: pip install -e '.[dev,ray]'")
def test_a_render_on_the_local_ray_seqc_starts_matches_the_local_render(project, tmp_path):
    env = {"RAY_AUTH_MODE": "disabled"}  # no token written into the home folder by the test
    local = render_json(project, tmp_path / "local", "--device", "cpu", "-o", str(tmp_path / "local.mp4"))
    on_ray = render_json(project, tmp_path / "ray", "--device", "cpu", "-o", str(tmp_path / "ray.mp4"),
                         "--executor", "ray", "--workers", "2", env=env)
    assert (on_ray["rendered"], on_ray["cached"], on_ray["frames"]) == (local["rendered"], local["cached"],
                                                                        local["frames"])
    assert (tmp_path / "ray.mp4").read_bytes() == (tmp_path / "local.mp4").read_bytes()
    assert run_seqc("cache", "verify", "--cache-dir", str(tmp_path / "ray")).returncode == 0
    # Nothing missing: nothing is rendered again.
    again = run_seqc("render", str(project), "--cache-dir", str(tmp_path / "ray"), "--device", "cpu", "-o",
                     str(tmp_path / "ray.mp4"), "--executor", "ray", "--workers", "2", "--json", env=env)
    assert '"rendered": 0' in again.stdout


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (the local Ray a command started, and its workers)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        if stat[0] != "Z":
            parents[int(entry.name)] = int(stat[1])
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        children = [child for child, ppid in parents.items() if ppid == parent and child not in found]
        found.update(children)
        todo.extend(children)
    return found


def segment_workers(pid: int) -> set[int]:
    """The Ray workers (`ray::SegmentWorker` processes) a command started."""
    from watchutil import processes_mentioning

    return descendants(pid) & set(processes_mentioning("SegmentWorker"))


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="Ray is not installed: pip install -e '.[dev,ray]'")
def test_watch_on_ray_keeps_its_workers_and_rerenders_only_the_edit(project, tmp_path):
    from renderkit import write_image
    from watchutil import WatchProcess, wait_until

    watch = WatchProcess(project.parent, "--executor", "ray", "--workers", "1", story=project.name)
    try:
        _, first = watch.wait_render(timeout=300)
        assert (first.rendered, first.cached) == (4, 0), watch.output_tail()
        workers = segment_workers(watch.proc.pid)
        assert len(workers) == 1, workers
        mark = watch.mark()
        write_image(project.parent / "kf" / "k2.png", seed=99)  # the third keyframe: segments 1 and 2
        _, second = watch.wait_render(since=mark, timeout=120)
        assert (second.indices, second.cached) == ([1, 2], 2), watch.output_tail()
        assert segment_workers(watch.proc.pid) == workers  # the same worker: the model was not loaded again
        assert watch.interrupt() == 130
        # Ctrl-C stops the private Ray with the watcher: no worker is left behind.
        wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers), 30, "the workers to exit")
    finally:
        watch.close()


# -- A cluster with Ray's token authentication (issue 24 item 18) --

def _kill_processes_under(marker: str) -> None:
    """SIGKILL every process whose command line names `marker` (the head's own temp folder: only
    the processes that head started)."""
    import signal

    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ValueError):
            continue


@pytest.fixture(scope="module")
def token_head(tmp_path_factory):
    """A Ray head on 127.0.0.1 started as a user does (`ray start --head`) with RAY_AUTH_MODE=token:
    (address, token, environment without a token). Its own temp folder and HOME; stopped by
    process group, so no other Ray on the machine is touched."""
    import secrets
    import shutil
    import signal
    import subprocess
    import sys
    import tempfile
    import time

    if importlib.util.find_spec("ray") is None:
        pytest.skip("Ray is not installed: pip install -e '.[dev,ray]'")
    home = tmp_path_factory.mktemp("home")  # no ~/.ray/auth_token of the user's
    temp = tempfile.mkdtemp(prefix="seqc-ray-", dir="/tmp")  # short: Ray's socket paths have a limit
    port, token = closed_port(), secrets.token_hex(16)
    base = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    base.update(HOME=str(home), RAY_USAGE_STATS_ENABLED="0", RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0", COLUMNS="200")
    head = subprocess.Popen([str(Path(sys.executable).parent / "ray"), "start", "--head", "--block", f"--port={port}",
                             "--node-ip-address=127.0.0.1", "--num-cpus=1", "--include-dashboard=false",
                             "--disable-usage-stats", f"--temp-dir={temp}"],
                            env={**base, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if head.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the token-authenticated Ray head did not start")
                time.sleep(0.5)
        time.sleep(2)  # the GCS answers before the head node has registered
        yield f"127.0.0.1:{port}", token, base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGKILL)
        head.wait(timeout=15)
        _kill_processes_under(temp)
        shutil.rmtree(temp, ignore_errors=True)


JOIN = ("import sys\nfrom seqc.cluster.connect import connect\n"
        "ray = connect(sys.argv[1])\n"
        "print('JOINED', ray.cluster_resources().get('CPU'))\n")


def _join(address: str, env: dict):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-c", JOIN, address], capture_output=True, text=True, timeout=120,
                          env=env)


def test_a_token_cluster_that_gets_no_token_is_one_line_with_the_cause_and_the_fix(project, tmp_path, token_head):
    import time

    address, _, env = token_head
    started = time.monotonic()
    proc = run_seqc("render", str(project), "--cache-dir", str(tmp_path / "cache"), "--executor", "ray",
                    "--ray-address", address, check=False, timeout=300, env=env)
    took = time.monotonic() - started
    assert proc.returncode == 1, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("seqc: error:")]
    assert errors == [f"seqc: error: the Ray cluster at {address} requires token authentication (InvalidAuthToken) "
                      "and seqc sent no token: set RAY_AUTH_MODE=token and put the cluster's token in RAY_AUTH_TOKEN "
                      "(or in ~/.ray/auth_token, or in a file named by RAY_AUTH_TOKEN_PATH; `ray get-auth-token` "
                      "on the head node prints it); --ray-address auto does this by itself for a cluster started "
                      "on this machine"], proc.stderr
    assert proc.stderr.count("InvalidAuthToken") == 1, proc.stderr  # not Ray's warning on every retry
    assert "Traceback" not in proc.stderr
    assert took < 20 + 60, took  # Ray alone retries for 20 s before it gives up
    assert not (project.parent / "out").exists()


def test_with_the_clusters_token_seqc_joins_and_a_wrong_one_is_named(token_head):
    address, token, env = token_head
    joined = _join(address, {**env, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token})
    assert joined.returncode == 0 and "JOINED 1.0" in joined.stdout, joined.stderr
    wrong = _join(address, {**env, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "0" * 32})
    assert wrong.returncode == 1
    assert f"the Ray cluster at {address} refused this machine's authentication token" in wrong.stderr, wrong.stderr
    # `auto` (the address from $RAY_ADDRESS) with no token on this machine: the same cause.
    auto = _join("auto", {**env, "RAY_ADDRESS": address})
    assert auto.returncode == 1 and "requires token authentication" in auto.stderr, auto.stderr
    assert "this machine has no token" in auto.stderr
