"""`seqc render --executor ray` from the command line: one-line errors for a missing extra, an
unreachable address and a misused option (nothing rendered or written), and a render on the
private local Ray that seqc starts itself (no --ray-address), byte-identical to a local render.

The cluster tests that join a running cluster are in tests/cluster/ (one Ray per pytest process).
"""

from __future__ import annotations

import importlib.util
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
