"""Writing one clip (seqc/media/clips.py): frames in batches or one at a time come back in order,
arguments are checked, and a failed block leaves no file and no ffmpeg behind."""

from __future__ import annotations

import mediaprobe
import numpy as np
import pytest
from mediakit import files_in, gradient_frames

from seqc import media
from seqc.store.atomic import pid_alive


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

    info = mediaprobe.probe(path)
    assert info == mediaprobe.VideoInfo(frames=n, width=width, height=height, fps=info.fps, codec="h264",
                                   color=("tv", "bt709", "bt709", "bt709"))
    assert info.fps == pytest.approx(fps, abs=1e-6)

    decoded = np.stack(list(media.read_frames(path))).astype(np.int16)
    assert decoded.shape == frames.shape
    error = np.abs(decoded - frames).mean(axis=(1, 2, 3))
    assert error.max() < 4.0, error  # lossy, and these gradients are steep for 64x48
    # The frames come back in order: each is far closer to its own input than to the next one.
    to_next = np.abs(decoded[:-1] - frames[1:]).mean(axis=(1, 2, 3))
    assert (to_next > 3 * error[:-1]).all()


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
        np.zeros((48, 64, 2), np.uint8),  # two channels (RGB or RGBA only)
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
