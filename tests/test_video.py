"""Tests for seqc.video: real ffmpeg, real files, real subprocesses (small frames, few of them)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from seqc import media
from seqc.errors import RenderError
from seqc.store.atomic import pid_alive

REPO = Path(__file__).resolve().parents[1]


def gradient_frames(n: int, width: int = 64, height: int = 48, phase: float = 0.0) -> np.ndarray:
    """n smooth RGB frames [n,H,W,3] with a pattern that moves from frame to frame."""
    x = np.linspace(0.0, 1.0, width)[None, :]
    y = np.linspace(0.0, 1.0, height)[:, None]
    frames = []
    for i in range(n):
        t = phase + i / 8
        r = 0.5 + 0.5 * np.sin(2 * np.pi * (x + t)) + 0 * y
        g = y + 0 * x
        b = 0.5 + 0.5 * np.cos(2 * np.pi * (0.5 * x + 0.5 * y - t))
        frames.append(np.stack([r, g, b], axis=-1))
    return (np.stack(frames) * 255).round().astype(np.uint8)


def files_in(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def packet_list(path: Path) -> list[tuple[int, str]]:
    return [(p.size, p.md5) for p in media.read_packets(path).packets]


# ----------------------------------------------------------------------------- clips


@pytest.mark.parametrize(
    ("width", "height", "fps", "n"),
    [(64, 48, 24, 12), (256, 256, 29.97, 5)],
)
def test_clip_roundtrip(tmp_path, width, height, fps, n):
    frames = gradient_frames(n, width, height)
    path = tmp_path / "clip.mp4"
    with media.ClipWriter(path, (width, height), fps) as writer:
        writer.write(frames[:2])  # a batch
        for frame in frames[2:]:  # and single frames
            writer.write(frame)
    assert writer.frames_written == n

    info = media.probe(path)
    assert info == media.VideoInfo(frames=n, width=width, height=height, fps=info.fps, codec="h264")
    assert info.fps == pytest.approx(fps, abs=1e-6)

    decoded = np.stack(list(media.read_frames(path))).astype(np.int16)
    assert decoded.shape == frames.shape
    error = np.abs(decoded - frames).mean(axis=(1, 2, 3))
    assert error.max() < 4.0, error  # lossy, and these gradients are steep for 64x48
    # The frames come back in order: each is far closer to its own input than to the next one.
    to_next = np.abs(decoded[:-1] - frames[1:]).mean(axis=(1, 2, 3))
    assert (to_next > 3 * error[:-1]).all()


def test_exact_ntsc_rate(tmp_path):
    path = tmp_path / "ntsc.mp4"
    assert media.write_clip([gradient_frames(3)], path, (64, 48), Fraction(30000, 1001)) == 3
    assert media.probe(path).fps == pytest.approx(30000 / 1001, abs=1e-9)


def test_every_clip_starts_on_a_keyframe_without_b_frames(tmp_path):
    path = tmp_path / "clip.mp4"
    media.write_clip([gradient_frames(6)], path, (64, 48), 24)
    shown = subprocess.run(
        [media.ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "info",
         "-i", "file:" + str(path), "-vf", "showinfo", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    frames = [line for line in shown.splitlines() if " n:" in line and "iskey:" in line]
    assert len(frames) == 6
    assert "iskey:1" in frames[0] and "type:I" in frames[0]
    assert not any("type:B" in line for line in frames)
    # No reordering: decode order is display order, from 0 (what makes the joins clean).
    packets = media.read_packets(path).packets
    assert [p.dts for p in packets] == [p.pts for p in packets]
    assert packets[0].pts == 0


def test_encoder_settings_drive_the_arguments():
    json.dumps(media.ENCODER_SETTINGS)  # it goes into cache keys: must be plain data
    args = media.encode_args((64, 48), Fraction(24), Path("/tmp/x.mp4"))
    joined = " ".join(args)
    for name, value in media.ENCODER_SETTINGS.items():
        if name in ("recipe", "bitexact"):
            continue
        assert str(value) in joined, name
    for flag in ("-fflags", "+bitexact", "-flags:v", "-map_metadata"):
        assert flag in args
    assert args[args.index("-threads") + 1] == str(media.ENCODER_SETTINGS["threads"])


def test_invalid_arguments(tmp_path):
    with pytest.raises(ValueError, match="even"):
        media.ClipWriter(tmp_path / "a.mp4", (63, 48), 24)
    with pytest.raises(ValueError, match="positive"):
        media.ClipWriter(tmp_path / "a.mp4", (64, 48), 0)
    with pytest.raises(ValueError, match=r"\.mp4"):
        media.ClipWriter(tmp_path / "a.mkv", (64, 48), 24)
    assert files_in(tmp_path) == set()


def test_zero_frames_is_an_error(tmp_path):
    path = tmp_path / "empty.mp4"
    with pytest.raises(ValueError, match="no frames"):
        with media.ClipWriter(path, (64, 48), 24):
            pass
    assert files_in(tmp_path) == set()


# ----------------------------------------------------------------------------- concat


def make_clips(folder: Path, counts=(1, 5, 3), size=(64, 48), fps=24) -> list[Path]:
    clips = []
    for i, n in enumerate(counts):
        path = folder / f"clip{i}.mp4"
        media.write_clip([gradient_frames(n, *size, phase=i / 3)], path, size, fps)
        clips.append(path)
    return clips


def test_concat_copies_packets(tmp_path):
    clips = make_clips(tmp_path)
    output = tmp_path / "out" / "video.mp4"
    media.concat(clips, output)

    info = media.probe(output)
    assert (info.frames, info.width, info.height, info.fps) == (9, 64, 48, 24.0)
    # No re-encode: the output's packets are the clips' packets, byte for byte.
    assert packet_list(output) == [pkt for clip in clips for pkt in packet_list(clip)]
    # Timestamps run on without gaps or repeats across the joins.
    packets = media.read_packets(output).packets
    assert [p.dts for p in packets] == [i * packets[0].duration for i in range(9)]
    # And it decodes to the clips' frames, in order.
    joined = np.stack(list(media.read_frames(output)))
    parts = np.concatenate([np.stack(list(media.read_frames(c))) for c in clips])
    assert np.array_equal(joined, parts)
    # Only the output was published: no list file or temp left beside it.
    assert files_in(output.parent) == {"video.mp4"}


@pytest.mark.parametrize("suffix", [".mov", ".mkv"])
def test_concat_other_containers(tmp_path, suffix):
    clips = make_clips(tmp_path, counts=(2, 3))
    output = tmp_path / f"video{suffix}"
    media.concat(clips, output)
    info = media.probe(output)
    assert (info.frames, info.width, info.height, info.codec) == (5, 64, 48, "h264")
    assert info.fps == pytest.approx(24.0)
    assert packet_list(output) == [pkt for clip in clips for pkt in packet_list(clip)]


@pytest.mark.parametrize(("suffix", "codec"), [(".gif", "gif"), (".webm", "vp9")])
def test_concat_reencodes_gif_and_webm(tmp_path, suffix, codec):
    clips = make_clips(tmp_path, counts=(2, 3))
    output = tmp_path / f"video{suffix}"
    media.concat(clips, output)
    info = media.probe(output)
    assert (info.frames, info.width, info.height, info.codec) == (5, 64, 48, codec)
    frames = list(media.read_frames(output))
    original = list(media.read_frames(clips[1]))
    assert len(frames) == 5
    # Close to the clips (the GIF's 256 dithered colours cost some levels on steep gradients).
    assert np.abs(frames[2].astype(int) - original[0].astype(int)).mean() < 20
    assert files_in(tmp_path) == {"clip0.mp4", "clip1.mp4", f"video{suffix}"}


def test_concat_refuses_bad_input(tmp_path):
    with pytest.raises(ValueError):
        media.concat([], tmp_path / "out.mp4")
    clips = make_clips(tmp_path, counts=(2,))
    with pytest.raises(ValueError, match="unsupported"):
        media.concat(clips, tmp_path / "out.avi")
    with pytest.raises(FileNotFoundError):
        media.concat([tmp_path / "missing.mp4"], tmp_path / "out.mp4")
    # Clips of another size cannot be stream-copied together: refused before ffmpeg runs.
    other = tmp_path / "other.mp4"
    media.write_clip([gradient_frames(2, 32, 32)], other, (32, 32), 24)
    with pytest.raises(RenderError, match="without re-encoding"):
        media.concat([clips[0], other], tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()
    assert files_in(tmp_path) == {"clip0.mp4", "other.mp4"}


def test_concat_replaces_output_atomically(tmp_path):
    clips = make_clips(tmp_path, counts=(2, 2))
    output = tmp_path / "video.mp4"
    output.write_bytes(b"old")
    media.concat(clips, output)
    assert media.probe(output).frames == 4


# ----------------------------------------------------------------------------- determinism


def test_byte_identical_renders(tmp_path):
    frames = gradient_frames(8)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for run in ("a", "b"):
        media.write_clip([frames[:4]], tmp_path / run / "c0.mp4", (64, 48), 24)
        media.write_clip([frames[4:]], tmp_path / run / "c1.mp4", (64, 48), 24)
        clips = [tmp_path / run / "c0.mp4", tmp_path / run / "c1.mp4"]
        media.concat(clips, tmp_path / run / "out.mp4")
    for name in ("c0.mp4", "c1.mp4", "out.mp4"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


CHILD_ONE_CPU = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    from seqc import media
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    media.write_clip([np.load(sys.argv[1])], sys.argv[2], (64, 48), 24)
    """
)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs sched_setaffinity")
def test_bytes_do_not_depend_on_cpu_count(tmp_path):
    frames = gradient_frames(6)
    np.save(tmp_path / "frames.npy", frames)
    media.write_clip([frames], tmp_path / "here.mp4", (64, 48), 24)
    subprocess.run(
        [sys.executable, "-c", CHILD_ONE_CPU, str(tmp_path / "frames.npy"),
         str(tmp_path / "one_cpu.mp4")],
        check=True, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert (tmp_path / "here.mp4").read_bytes() == (tmp_path / "one_cpu.mp4").read_bytes()


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
        assert media.probe(Path(name)).frames == 8

    assert files_in(work) == set(decoys) | set(names) | set(outputs)
    for name, data in decoys.items():
        assert (work / name).read_bytes() == data
    for name in names:
        assert media.probe(work / name).frames == 2
    assert len(list(media.read_frames(Path("concat:a.mp4|b.mp4")))) == 2


# ----------------------------------------------------------------------------- failures


def test_exception_in_block_cleans_up(tmp_path):
    path = tmp_path / "clip.mp4"
    with pytest.raises(KeyError):
        with media.ClipWriter(path, (64, 48), 24) as writer:
            writer.write(gradient_frames(3))
            pid = writer.pid
            raise KeyError("boom")
    assert files_in(tmp_path) == set()
    assert not pid_alive(pid)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((48, 32, 3), np.uint8),  # wrong width
        np.zeros((2, 32, 64, 3), np.uint8),  # wrong height
        np.zeros((48, 64, 4), np.uint8),  # RGBA
        np.zeros((48, 64, 3), np.float32),  # not uint8
    ],
)
def test_wrong_frames_raise_and_clean_up(tmp_path, bad):
    path = tmp_path / "clip.mp4"
    with pytest.raises(ValueError):
        with media.ClipWriter(path, (64, 48), 24) as writer:
            writer.write(gradient_frames(2))
            pid = writer.pid
            writer.write(bad)
    assert files_in(tmp_path) == set()
    assert not pid_alive(pid)


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


def test_fps_types(tmp_path):
    path = tmp_path / "clip.mp4"
    media.write_clip([gradient_frames(2)], path, (64, 48), np.float32(25.0))
    assert media.probe(path).fps == 25.0
    for bad in (float("nan"), float("inf"), -1, "24", True):
        with pytest.raises(ValueError):
            media.ClipWriter(path, (64, 48), bad)


def test_probe_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        media.probe(tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all")
    with pytest.raises(RenderError) as info:
        media.probe(junk)
    assert "\n" not in str(info.value)
    with pytest.raises(FileNotFoundError):
        media.read_frames(tmp_path / "missing.mp4")


# ----------------------------------------------------------------------------- PNG sequence


def test_write_png_sequence(tmp_path):
    frames = gradient_frames(4, 32, 16)
    folder = tmp_path / "frames"
    count = media.write_png_sequence([frames[:3], frames[3]], folder, start=5)
    assert count == 4
    assert files_in(folder) == {f"frame_{i:06d}.png" for i in range(5, 9)}
    for i in range(4):
        with Image.open(folder / f"frame_{i + 5:06d}.png") as image:
            assert image.mode == "RGB"
            assert np.array_equal(np.asarray(image), frames[i])


# ----------------------------------------------------------------------------- imports


def test_import_does_not_load_torch():
    code = "import sys, seqc.media; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.strip() == "False"
