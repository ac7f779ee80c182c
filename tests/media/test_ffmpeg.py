"""Running ffmpeg (seqc/media/ffmpeg.py): hostile file names are plain files, never options or
protocols; ffmpeg killed, interrupted by Ctrl-C or failing is one clear line and leaves no file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import mediaprobe
import pytest
from mediakit import files_in, gradient_frames

from seqc import media
from seqc.errors import RenderError
from seqc.store.atomic import pid_alive

REPO = Path(__file__).resolve().parents[2]


# ----------------------------------------------------------------------------- hostile names


def test_hostile_names_are_plain_files(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    # Decoys that a misread name would read or overwrite.
    decoys = {"a.mp4": b"decoy a", "b.mp4": b"decoy b", "x.mp4": b"decoy x", "out.mp4": b"o"}
    for name, data in decoys.items():
        (work / name).write_bytes(data)

    names = ["-y.mp4", "concat:a.mp4|b.mp4", "file:x.mp4", "it's.mp4"]
    clips = []
    for i, name in enumerate(names):
        media.write_clip([gradient_frames(2, phase=i)], Path(name), (64, 48), 24)
        clips.append(Path(name))
    outputs = ["-y-out.mp4", "concat:out.mp4|x.mp4", "file:out.mp4"]
    for name in outputs:
        media.concat(clips, Path(name))
        assert mediaprobe.probe(Path(name)).frames == 8

    assert files_in(work) == set(decoys) | set(names) | set(outputs)
    for name, data in decoys.items():
        assert (work / name).read_bytes() == data
    for name in names:
        assert mediaprobe.probe(work / name).frames == 2
    assert len(list(media.read_frames(Path("concat:a.mp4|b.mp4")))) == 2


# ----------------------------------------------------------------------------- failures


def test_ffmpeg_killed_while_writing(tmp_path):
    path = tmp_path / "clip.mp4"
    frame = gradient_frames(1)
    with pytest.raises(RenderError) as info:
        with media.ClipWriter(path, (64, 48), 24) as writer:
            writer.write(frame)
            os.kill(writer.pid, signal.SIGKILL)
            for _ in range(500):
                writer.write(frame)
                time.sleep(0.002)
    assert "\n" not in str(info.value)
    assert files_in(tmp_path) == set()


def test_ffmpeg_killed_before_close(tmp_path):
    path = tmp_path / "clip.mp4"
    with pytest.raises(RenderError, match="SIGKILL"):
        with media.ClipWriter(path, (64, 48), 24) as writer:
            writer.write(gradient_frames(2))
            os.kill(writer.pid, signal.SIGKILL)
            time.sleep(0.1)
    assert files_in(tmp_path) == set()


CHILD_CTRL_C = textwrap.dedent(
    """
    import os, signal, sys, time
    import numpy as np
    from seqc.media import ClipWriter
    signal.signal(signal.SIGINT, signal.default_int_handler)
    frame = np.zeros((48, 64, 3), np.uint8)
    writer = ClipWriter(sys.argv[1], (64, 48), 24)
    try:
        with writer:
            writer.write(frame)
            print(writer.pid, flush=True)
            while True:
                writer.write(frame)
                time.sleep(0.01)
    except KeyboardInterrupt:
        print("ffmpeg returncode", writer.returncode, flush=True)
        try:
            os.waitpid(writer.pid, os.WNOHANG)
            print("ffmpeg not reaped", flush=True)
        except ChildProcessError:
            print("ffmpeg reaped", flush=True)
        sys.exit(130)
    """
)


@pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX process groups")
def test_ctrl_c_stops_ffmpeg_and_removes_the_file(tmp_path):
    path = tmp_path / "clip.mp4"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_CTRL_C, str(path)],
        stdout=subprocess.PIPE, text=True, cwd=REPO, start_new_session=True,
    )  # fmt: skip
    try:
        ffmpeg_pid = int(child.stdout.readline())
        deadline = time.monotonic() + 10
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert path.exists()  # ffmpeg is writing
        # A terminal's Ctrl-C: SIGINT to the whole foreground process group.
        os.killpg(child.pid, signal.SIGINT)
        out, _ = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130
    assert "ffmpeg reaped" in out
    # Killed by seqc, not stopped by the SIGINT: ffmpeg is outside the terminal's group.
    assert f"ffmpeg returncode {-signal.SIGKILL}" in out
    assert not pid_alive(ffmpeg_pid)
    assert files_in(tmp_path) == set()


def test_ffmpeg_error_is_one_clear_line(tmp_path):
    path = tmp_path / "missing-folder" / "clip.mp4"
    with pytest.raises(RenderError) as info:
        with media.ClipWriter(path, (64, 48), 24) as writer:
            for _ in range(100):
                writer.write(gradient_frames(1))
                time.sleep(0.002)
    message = str(info.value)
    assert "\n" not in message
    assert "clip.mp4" in message and "No such file or directory" in message
    assert files_in(tmp_path) == set()


def test_the_encoder_build_is_named_without_starting_ffmpeg(monkeypatch):
    """The clip keys name the ffmpeg build; with the bundled binary that costs no process (a plan
    and a no-op render start none), with IMAGEIO_FFMPEG_EXE the chosen binary is asked."""
    import subprocess
    from importlib.metadata import version

    from seqc.media import ffmpeg

    launches = []
    real = subprocess.Popen
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: launches.append(a) or real(*a, **k))
    monkeypatch.delenv("IMAGEIO_FFMPEG_EXE", raising=False)
    ffmpeg.encoder_build.cache_clear()
    bundled = ffmpeg.encoder_build()
    assert bundled.startswith(f"imageio-ffmpeg {version('imageio-ffmpeg')} ") and launches == []
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", ffmpeg.ffmpeg_exe())
    ffmpeg.encoder_build.cache_clear()
    ffmpeg.ffmpeg_version.cache_clear()
    chosen = ffmpeg.encoder_build()
    assert chosen != bundled and chosen.endswith(ffmpeg.ffmpeg_version()) and launches
    ffmpeg.encoder_build.cache_clear()


# ----------------------------------------------------------------------------- one spawn


def test_ffmpeg_is_started_only_by_the_ffmpeg_module():
    """Every ffmpeg (clips, batches, the frame reader, audio decoding, packet listings) starts in
    seqc/media/ffmpeg.py, so each gets its session and Ctrl-C held back while it starts."""
    import ast

    spawning = {"Popen", "run", "call", "check_call", "check_output", "getoutput", "getstatusoutput"}
    allowed = {"seqc/media/ffmpeg.py", "seqc/inspect/diff.py"}  # diff.py runs git, not ffmpeg
    found = []
    for path in sorted((REPO / "seqc").rglob("*.py")):
        name = path.relative_to(REPO).as_posix()
        for node in ast.walk(ast.parse(path.read_text(), name)):
            call = node.func if isinstance(node, ast.Call) else None
            if isinstance(call, ast.Attribute) and isinstance(call.value, ast.Name):
                module, attr = call.value.id, call.attr
                if (module == "subprocess" and attr in spawning) or (module == "os" and attr.startswith(
                        ("system", "spawn", "exec", "popen", "posix_spawn"))) or (
                        module == "imageio_ffmpeg" and attr != "get_ffmpeg_exe"):
                    found.append(f"{name}:{node.lineno} {module}.{attr}")
            elif isinstance(node, ast.ImportFrom) and node.module in ("subprocess", "imageio_ffmpeg"):
                found.append(f"{name}:{node.lineno} from {node.module} import ...")
    assert [hit for hit in found if hit.split(":")[0] not in allowed] == []


def test_an_interrupt_while_ffmpeg_starts_stops_it(monkeypatch):
    """Ctrl-C landing inside Popen is held until ffmpeg has started, then acted on: the ffmpeg is
    killed and reaped before the KeyboardInterrupt goes on (no ffmpeg nobody owns)."""
    from seqc.media import ffmpeg

    started = []
    real = subprocess.Popen

    def popen_then_ctrl_c(*args, **kwargs):
        proc = real(*args, **kwargs)
        started.append(proc)
        os.kill(os.getpid(), signal.SIGINT)
        return proc

    monkeypatch.setattr(ffmpeg.subprocess, "Popen", popen_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        ffmpeg.spawn(["-f", "lavfi", "-i", "nullsrc", "-f", "null", "-"], stdout=subprocess.DEVNULL)
    (proc,) = started
    assert proc.returncode == -signal.SIGKILL and not pid_alive(proc.pid)
