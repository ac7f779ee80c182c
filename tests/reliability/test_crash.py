"""Crashes and interrupts: SIGKILL at random points, Ctrl-C mid-render, corrupt clips, ffmpeg dying.

Renders run as real child processes (see `reliabilitykit.ForkServer`); the checks read the
real cache and output files and run the real `seqc cache verify`. Figures are printed with `-s`.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from reliabilitykit import (
    ffmpeg_processes_using,
    kill,
    published_clips,
    storyboard,
    temps,
    wait_until,
)

from seqc import media
from seqc.store import Cache, atomic

pytestmark = pytest.mark.slow  # real renders in subprocesses: run with the full suite, not the inner loop

TRIALS = 20
SEED = 20240611


def render_args(story: Path, cache: Path, *extra: str) -> list[str]:
    return ["render", str(story), "--cache-dir", str(cache), "--json", *extra]


def plan_keys(server, story: Path, cache: Path) -> list[dict]:
    child = server.run("plan", str(story), "--cache-dir", str(cache), "--json", cwd=story.parent)
    assert child.rc == 0, child.err()
    return json.loads(child.out())["segments"]


def digests(cache: Path, keys) -> dict[str, str]:
    return {k: hashlib.sha256((cache / "clips" / k[:2] / f"{k}.mp4").read_bytes()).hexdigest() for k in keys}


@pytest.mark.slow
# Clips of 8 frames at 128x128 stream into an ffmpeg each and are published one by one; at 32x32 they
# are short, held and published together by one batch (seqc.media.batch), so a kill finds all or none.
@pytest.mark.parametrize(("size", "outcomes"), [(128, 3), (32, 2)], ids=["streamed", "batched"])
def test_sigkill_at_random_points_loses_nothing_finished(forkserver, tiny_vae, tmp_path, size, outcomes):
    story = storyboard(tmp_path, tiny_vae, keyframes=5, frames=8, size=size)
    planned = 4 * 8 + 1
    out = tmp_path / "out"
    output = out / "video.mp4"
    # Calibrate: how long one whole render takes in a child of the fork server (the faster of the
    # last two of 3: the first is cold, and a slow one under load would make most kills land late).
    spans = []
    for attempt in range(3):
        t0 = time.monotonic()
        first = forkserver.run(*render_args(story, tmp_path / f"calibration-{attempt}"), cwd=tmp_path)
        spans.append(time.monotonic() - t0)
        assert first.rc == 0, first.err()
    span = min(spans[1:])
    final_key = json.loads(forkserver.run("plan", str(story), "--cache-dir", str(tmp_path / "calibration-0"),
                                          "--json", cwd=tmp_path).out())["final_frame"]["key"]
    rng = random.Random(SEED)
    figures = {"trials": TRIALS, "render_s": round(span, 2), "killed": 0, "finished_before_kill": 0,
               "clips_done_at_kill": [], "temps_left_by_kill": 0, "unfinished_entries_after_kill": 0,
               "failures": 0}
    for trial in range(TRIALS):
        cache = tmp_path / f"cache-{trial}"
        # stratified over 120% of the render, so some kills land late (a finished trial exits 0)
        delay = 1.2 * span * (trial + rng.random()) / TRIALS
        child = forkserver.start(*render_args(story, cache), cwd=tmp_path)
        time.sleep(delay)
        kill(child, signal.SIGKILL)
        rc = forkserver.wait(child)
        assert rc in (-signal.SIGKILL, 0), child.err()
        figures["killed" if rc else "finished_before_kill"] += 1

        # 1. No entry that looks valid is partial: every entry with a sidecar passes its digest;
        #    the only allowed problem is an unfinished write (content without its sidecar).
        bad = Cache(cache, warn=lambda m: None).verify()
        assert all("sidecar missing" in problem for _, problem in bad), bad
        figures["unfinished_entries_after_kill"] += len(bad)
        # The output is absent (first trial) or the previous trial's whole video.
        if output.exists():
            assert media.count_frames(output) == planned
        figures["temps_left_by_kill"] += len(temps(cache, out))
        done = published_clips(cache)
        figures["clips_done_at_kill"].append(len(done))
        before = digests(cache, done)

        # 2. The next render completes, reuses every clip finished before the kill, cleans up.
        rerun = forkserver.run(*render_args(story, cache), cwd=tmp_path)
        assert rerun.rc == 0, rerun.err()
        result = rerun.json()
        segments_done = done - {final_key}  # the final frame is a clip, not a segment
        assert result["cached"] == len(segments_done) and result["rendered"] == 4 - len(segments_done), (
            trial, result, done)
        assert result["rendered_final_frame"] == (final_key not in done)
        assert digests(cache, done) == before
        assert temps(cache, out) == []
        assert sum(1 for _ in media.read_frames(output)) == planned
        verify = forkserver.run("cache", "verify", "--cache-dir", str(cache), cwd=tmp_path)
        assert verify.rc == 0, verify.err()
    # The kills must have landed all over the render, not only before or after it.
    assert figures["killed"] >= TRIALS // 2
    assert len(set(figures["clips_done_at_kill"])) >= outcomes, figures
    print("\nSIGKILL figures:", json.dumps(figures))


def test_next_render_removes_dead_temps_but_never_a_live_one(forkserver, tiny_vae, tmp_path):
    story = storyboard(tmp_path, tiny_vae, keyframes=2, frames=4)
    cache, output = tmp_path / "cache", tmp_path / "out" / "video.mp4"
    dead_proc = subprocess.Popen(["true"])
    dead_proc.wait()
    live_proc = subprocess.Popen(["sleep", "120"])
    try:
        made = {}
        for who, pid in (("dead", dead_proc.pid), ("live", live_proc.pid)):
            for final in (cache / "clips" / "ab" / ("ab" * 32 + ".mp4"), cache / "latents" / "cd" / ("cd" * 32 + ".json"),
                          output):
                tmp = final.with_name(f".{final.stem}{atomic.TEMP_MARK}{pid}-0123abcd{final.suffix}")
                tmp.parent.mkdir(parents=True, exist_ok=True)
                tmp.write_bytes(b"half a file")
                made.setdefault(who, []).append(tmp)
        child = forkserver.run(*render_args(story, cache), cwd=tmp_path)
        assert child.rc == 0, child.err()
        assert not any(p.exists() for p in made["dead"])
        assert all(p.exists() for p in made["live"])
    finally:
        live_proc.kill()
        live_proc.wait()


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code", "said"), [(signal.SIGINT, 130, "seqc: interrupted"),
                                                  (signal.SIGTERM, 143, "seqc: stopped (SIGTERM)")])
def test_ctrl_c_during_segment_3_of_5(forkserver, tiny_vae, tmp_path, sig, code, said):
    """Ctrl-C, or a `kill` (SIGTERM), mid-render: the finished clips kept, nothing half-written."""
    story = storyboard(tmp_path, tiny_vae, keyframes=6, frames=48, size=64)
    cache = tmp_path / "cache"
    output = tmp_path / "out" / "video.mp4"
    output.parent.mkdir()
    output.write_bytes(b"the previous version")
    child = forkserver.start(*render_args(story, cache, "--batch-size", "1", "--quiet"), cwd=tmp_path)
    assert wait_until(lambda: len(published_clips(cache)) >= 2, timeout=300, interval=0.002)
    kill(child, sig)
    assert forkserver.wait(child) == code, child.err()
    assert said in child.err() and "Traceback" not in child.err()
    assert len(published_clips(cache)) == 2  # the interrupt landed in segment 3
    assert ffmpeg_processes_using(cache) == []
    assert temps(cache, output.parent) == []
    assert output.read_bytes() == b"the previous version"
    status = [s["status"] for s in plan_keys(forkserver, story, cache)]
    assert status == ["cached", "cached", "missing", "missing", "missing"]
    rerun = forkserver.run(*render_args(story, cache), cwd=tmp_path)
    assert rerun.rc == 0, rerun.err()
    assert (rerun.json()["rendered"], rerun.json()["cached"]) == (3, 2)
    assert media.count_frames(output) == 5 * 48 + 1


@pytest.fixture
def rendered_project(forkserver, tiny_vae, tmp_path):
    story = storyboard(tmp_path, tiny_vae, keyframes=4, frames=6)
    cache = tmp_path / "cache"
    child = forkserver.run(*render_args(story, cache), cwd=tmp_path)
    assert child.rc == 0, child.err()
    return story, cache, tmp_path / "out" / "video.mp4"


@pytest.mark.parametrize("damage", ["three_bytes_written_in", "one_byte_clip", "one_byte_clip_forged_sidecar"])
def test_damaged_clip_never_reaches_the_output(forkserver, rendered_project, damage):
    story, cache, output = rendered_project
    planned = 3 * 6 + 1
    good_output = output.read_bytes()
    key = plan_keys(forkserver, story, cache)[1]["key"]
    clip = cache / "clips" / key[:2] / f"{key}.mp4"
    data = bytearray(clip.read_bytes())
    if damage == "three_bytes_written_in":
        data[len(data) // 2: len(data) // 2 + 3] = b"\x00\xff\x00"
    else:
        data = bytearray(b"x")
    clip.write_bytes(bytes(data))
    if damage == "one_byte_clip_forged_sidecar":  # a hostile cache: size and digest made to match
        sidecar = clip.with_suffix(".json")
        meta = json.loads(sidecar.read_text())
        meta.update(size=1, sha256=hashlib.sha256(b"x").hexdigest())
        sidecar.write_text(json.dumps(meta))
    output.unlink()
    child = forkserver.run(*render_args(story, cache), cwd=story.parent)
    if damage == "one_byte_clip_forged_sidecar":
        # The digest is right, so only ffmpeg can tell: a clean failure, no output.
        assert child.rc == 1, child.err()
        assert not output.exists() and temps(cache, output.parent) == []
        assert len(child.err().strip().splitlines()) == 1 and "Traceback" not in child.err()
        return
    assert child.rc == 0, child.err()
    assert "warning" in child.err() and key in child.err()
    assert child.json()["rendered"] == 1
    assert sum(1 for _ in media.read_frames(output)) == planned
    assert output.read_bytes() == good_output  # the re-rendered clip is byte-identical
    assert forkserver.run("cache", "verify", "--cache-dir", str(cache), cwd=story.parent).rc == 0


def test_ffmpeg_killed_mid_clip_fails_cleanly(forkserver, tiny_vae, tmp_path):
    story = storyboard(tmp_path, tiny_vae, keyframes=3, frames=400, size=64)
    cache = tmp_path / "cache"
    child = forkserver.start(*render_args(story, cache, "--batch-size", "1"), cwd=tmp_path)

    def encoder():
        return [pid for pid in ffmpeg_processes_using(cache / "clips")
                if b"pipe:0" in Path(f"/proc/{pid}/cmdline").read_bytes()]

    assert wait_until(lambda: bool(encoder()) or child.stdout.stat().st_size > 0, timeout=300)
    pids = encoder()
    assert pids, "the render finished before ffmpeg could be killed"
    kill(type(child)(pids[0], child.stdout, child.stderr), signal.SIGKILL)
    assert forkserver.wait(child) == 1
    err = child.err().strip().splitlines()
    assert len(err) == 1 and "ffmpeg" in err[0] and "seqc: error:" in err[0], err
    assert published_clips(cache) == set()
    assert temps(cache) == []
    assert Cache(cache).verify() == []
    assert not (tmp_path / "out" / "video.mp4").exists()


def _mount_tmpfs(folder: Path, size: str) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        return False
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
    return proc.returncode == 0


def test_full_disk_fails_with_one_line_and_publishes_nothing_partial(forkserver, tiny_vae, tmp_path):
    story = storyboard(tmp_path, tiny_vae, keyframes=3, frames=120, size=128)
    cache = tmp_path / "small"
    if not _mount_tmpfs(cache, "160k"):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        child = forkserver.run(*render_args(story, cache), cwd=tmp_path)
        assert child.rc == 1, (child.out(), child.err())
        # What matters most first: nothing half-written is published, no temp is left, no output.
        assert temps(cache) == []
        assert Cache(cache).verify() == []  # what was published (latents, maybe a clip) is whole
        assert not (tmp_path / "out" / "video.mp4").exists()
        err = child.err().strip().splitlines()
        assert len(err) == 1 and "seqc: error:" in err[0], err
        print("\nENOSPC message:", err[0])
    finally:
        subprocess.run(["umount", str(cache)], check=False)
