"""Two renders on one cache, and `seqc cache gc` while a render runs (real processes, real locks)."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time

import pytest
from reliabilitykit import (
    REPO,
    published_clips,
    storyboard,
    temps,
    wait_until,
)

from seqc import media
from seqc.store import Cache, atomic

pytestmark = pytest.mark.slow  # real renders in subprocesses: run with the full suite, not the inner loop


def seqc(*args: str, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seqc", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}, timeout=300)


ROUNDS = 3


@pytest.mark.slow
def test_two_renders_of_one_storyboard_at_once(forkserver, tiny_vae, tmp_path):
    story = storyboard(tmp_path, tiny_vae, keyframes=4, frames=6)
    planned = 3 * 6 + 1
    output = tmp_path / "out" / "video.mp4"
    for round_ in range(ROUNDS):
        cache = tmp_path / f"cache-{round_}"
        args = ["render", str(story), "--cache-dir", str(cache), "--json"]
        a = forkserver.start(*args, cwd=tmp_path)
        b = forkserver.start(*args, cwd=tmp_path)
        for child in (a, b):
            assert forkserver.wait(child) == 0, child.err()
            result = child.json()
            assert result["rendered"] + result["cached"] == 3
        assert sum(1 for _ in media.read_frames(output)) == planned
        assert Cache(cache).verify() == []
        assert len(published_clips(cache)) == 3 + 1  # the segments and the final frame
        assert temps(cache, output.parent) == []


@pytest.mark.slow
def test_gc_with_a_cap_while_a_render_runs(forkserver, tiny_vae, tmp_path):
    story = storyboard(tmp_path, tiny_vae, keyframes=5, frames=96, size=64)
    cache = tmp_path / "cache"
    output = tmp_path / "out" / "video.mp4"
    render = forkserver.start("render", str(story), "--cache-dir", str(cache), "--json", "--batch-size", "1",
                              cwd=tmp_path)
    other = subprocess.Popen(["sleep", "300"])  # another live process with a temp file in the cache
    try:
        assert wait_until(lambda: len(published_clips(cache)) >= 1, timeout=300)
        live_tmp = cache / "clips" / "ab" / f".{'ab' * 32}{atomic.TEMP_MARK}{other.pid}-0badc0de.mp4"
        live_tmp.parent.mkdir(parents=True, exist_ok=True)
        live_tmp.write_bytes(b"someone else's half clip")
        gc = seqc("cache", "gc", "--max-size", "1", "--cache-dir", str(cache))
        still_running = render.rc is None and os.path.exists(f"/proc/{render.pid}")
        assert gc.returncode == 0, gc.stderr
        assert live_tmp.exists()
        assert forkserver.wait(render) == 0, render.err()
        assert sum(1 for _ in media.read_frames(output)) == 4 * 96 + 1
        assert Cache(cache).verify() == []
        if still_running:
            # Everything the running render had was leased: gc says why it stayed over the cap.
            assert "still over the cap" in gc.stdout, gc.stdout
        # With the render gone nothing is leased: gc reaches the cap, and still spares the live temp.
        again = seqc("cache", "gc", "--max-size", "1", "--cache-dir", str(cache))
        assert again.returncode == 0, again.stderr
        assert Cache(cache).total_size() <= 1
        assert live_tmp.exists()
        print("\ngc during render:", json.dumps({"first_gc": gc.stdout.strip().splitlines(),
                                                "render_running_during_gc": still_running}))
    finally:
        other.kill()
        other.wait()


def test_second_gc_fails_fast_naming_the_lock(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    lock = cache / ".gc.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # "the first gc", held by this process
        started = time.monotonic()
        proc = seqc("cache", "gc", "--cache-dir", str(cache))
        elapsed = time.monotonic() - started
    finally:
        os.close(fd)
    assert proc.returncode != 0
    assert str(lock) in proc.stderr.replace("\n", "") and "Traceback" not in proc.stderr
    assert elapsed < 30  # no waiting on the lock: only interpreter start-up on a busy machine
