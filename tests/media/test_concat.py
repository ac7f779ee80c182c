"""Joining clips (seqc/media/concat.py): a packet copy for mp4/mov/mkv, a re-encode for gif/webm,
refusals before ffmpeg runs, and the output replaced atomically."""

from __future__ import annotations

import mediaprobe
import numpy as np
import pytest
from mediakit import files_in, gradient_frames, make_clips, packet_list

from seqc import media
from seqc.errors import RenderError


def test_concat_copies_packets(tmp_path):
    clips = make_clips(tmp_path)
    output = tmp_path / "out" / "video.mp4"
    media.concat(clips, output)

    info = mediaprobe.probe(output)
    assert (info.frames, info.width, info.height, info.fps) == (9, 64, 48, 24.0)
    # No re-encode: the output's packets are the clips' packets, byte for byte.
    assert packet_list(output) == [pkt for clip in clips for pkt in packet_list(clip)]
    # Timestamps run on without gaps or repeats across the joins.
    packets = mediaprobe.read_packets(output).packets
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
    info = mediaprobe.probe(output)
    assert (info.frames, info.width, info.height, info.codec) == (5, 64, 48, "h264")
    assert info.fps == pytest.approx(24.0)
    assert packet_list(output) == [pkt for clip in clips for pkt in packet_list(clip)]


@pytest.mark.parametrize(("suffix", "codec"), [(".gif", "gif"), (".webm", "vp9")])
def test_concat_reencodes_gif_and_webm(tmp_path, suffix, codec):
    clips = make_clips(tmp_path, counts=(2, 3))
    output = tmp_path / f"video{suffix}"
    media.concat(clips, output)
    info = mediaprobe.probe(output)
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
    assert mediaprobe.probe(output).frames == 4


BT709_TV = ("tv", "bt709", "bt709", "bt709")


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv", ".webm"])
def test_every_yuv_output_is_tagged_bt709_and_limited_range(tmp_path, suffix):
    """Primaries, transfer, matrix and range, all four: with primaries and transfer unknown, Chromium
    decodes the video as BT.601 and the colours come out wrong."""
    clips = make_clips(tmp_path)
    assert all(mediaprobe.probe(clip).color == BT709_TV for clip in clips)
    output = tmp_path / f"video{suffix}"
    media.concat(clips, output)
    assert mediaprobe.probe(output).color == BT709_TV


def test_decoded_colours_match_the_source_frames(tmp_path):
    """Flat patches of known colours (the demo's grass among them) survive encode and decode."""
    colours = [(126, 184, 169), (200, 30, 40), (20, 60, 220), (240, 240, 240), (16, 16, 16)]
    frames = np.stack([np.full((48, 64, 3), c, dtype=np.uint8) for c in colours])
    clip = tmp_path / "flat.mp4"
    media.write_clip([frames], clip, (64, 48), 24)
    decoded = np.stack(list(media.read_frames(clip))).astype(np.float64)
    means = decoded.reshape(len(colours), -1, 3).mean(axis=1)
    assert np.abs(means - np.array(colours)).max() < 2.0, means.round(1)


WATCHER = """\
#!{python}
import subprocess, sys, time
proc = subprocess.Popen([{ffmpeg!r}, *sys.argv[1:]])
peak = 0
while proc.poll() is None:
    try:
        with open(f"/proc/{{proc.pid}}/status") as fh:
            peak = max([peak] + [int(l.split()[1]) for l in fh if l.startswith("VmHWM:")])
    except OSError:
        pass
    time.sleep(0.002)
with open({log!r}, "a") as fh:
    fh.write(f"{{peak}}\\t{{' '.join(sys.argv[1:])}}\\n")
sys.exit(proc.returncode)
"""


def _gif_runs(tmp_path, frames: int) -> list[tuple[int, str]]:
    """(peak memory in KiB, arguments) of each ffmpeg run that joins `frames` frames (128x128) into
    a GIF, measured by a stand-in for ffmpeg that watches the real one's VmHWM."""
    import os
    import subprocess
    import sys

    clip = tmp_path / f"long{frames}.mp4"
    # The same 40 frames over and over: as many colours in a long GIF as in a short one (palettegen's
    # histogram and paletteuse's colour cache grow with the colours, not with the frames).
    media.write_clip((gradient_frames(40, 128, 128) for _ in range(frames // 40)), clip, (128, 128), 24)
    log = tmp_path / f"runs{frames}.log"
    watcher = tmp_path / "ffmpeg-watcher"
    watcher.write_text(WATCHER.format(python=sys.executable, ffmpeg=media.ffmpeg_exe(), log=str(log)))
    watcher.chmod(0o755)
    code = "import sys; from pathlib import Path; from seqc import media; media.concat([Path(sys.argv[1])], Path(sys.argv[2]))"
    subprocess.run([sys.executable, "-c", code, str(clip), str(tmp_path / f"v{frames}.gif")], check=True,
                   timeout=300, env={**os.environ, "IMAGEIO_FFMPEG_EXE": str(watcher)})
    assert mediaprobe.probe(tmp_path / f"v{frames}.gif").frames == frames
    return [(int(peak), args) for peak, args in (line.split("\t", 1) for line in log.read_text().splitlines())]


@pytest.mark.slow
def test_a_gif_is_made_in_two_passes_so_memory_does_not_grow_with_its_length(tmp_path):
    """One pass with `split` buffered every decoded frame until the palette existed: 800 frames of
    128x128 took 2.4x the memory of 40. With a palette pass, then a pass that uses it, no frame is
    held back; what growth is left is ffmpeg's own palettegen/paletteuse state (about 1.35x here)."""
    short, long = _gif_runs(tmp_path, 40), _gif_runs(tmp_path, 800)
    joins = [args for _, args in long if "paletteuse" in args or "palettegen" in args]
    assert len(joins) == 2 and "split" not in " ".join(joins)
    peak = {n: max(p for p, args in runs if "palette" in args) for n, runs in (("short", short), ("long", long))}
    assert peak["long"] / peak["short"] < 1.6, peak
