"""Several short clips from one ffmpeg (seqc/media/batch.py): each clip is the same bytes as when
encoded alone, holds exactly its frames, and a failure leaves no output and no raw file."""

from __future__ import annotations

import os
from fractions import Fraction

import numpy as np
import pytest
from mediakit import files_in, gradient_frames

from seqc import media
from seqc.errors import RenderError
from seqc.media.batch import HeldClip, encode_batch


@pytest.mark.parametrize(("size", "fps", "counts"), [((32, 32), 24, (2, 1, 5, 2)),
                                                     ((64, 48), Fraction(30000, 1001), (3, 7)),
                                                     ((16, 16), 12, (1,))])
def test_each_clip_is_byte_identical_to_its_own_encode(tmp_path, size, fps, counts):
    held, alone = [], []
    for i, n in enumerate(counts):
        frames = gradient_frames(n, *size, phase=i / 5)
        clip = HeldClip(tmp_path / f"batch{i}.mp4", size, fps)
        for frame in frames:  # one frame at a time, as a render writes a batch of 1
            clip.write(frame)
        held.append(clip)
        alone.append(tmp_path / f"alone{i}.mp4")
        media.write_clip([frames], alone[-1], size, fps)
    tracks = encode_batch(held)
    assert [t.frames for t in tracks] == list(counts)
    assert all((t.width, t.height) == size for t in tracks)
    for clip, single in zip(held, alone, strict=True):
        assert clip.path.read_bytes() == single.read_bytes()
    assert not any(name.endswith(".raw") for name in files_in(tmp_path))


def test_clips_of_other_sizes_or_rates_cannot_share_a_batch(tmp_path):
    a = HeldClip(tmp_path / "a.mp4", (16, 16), 24)
    b = HeldClip(tmp_path / "b.mp4", (16, 16), 25)
    a.write(gradient_frames(1, 16, 16))
    b.write(gradient_frames(1, 16, 16))
    with pytest.raises(ValueError, match="share"):
        encode_batch([a, b])
    assert files_in(tmp_path) == set()


def test_held_frames_are_checked_like_a_writers(tmp_path):
    clip = HeldClip(tmp_path / "a.mp4", (16, 16), 24)
    with pytest.raises(ValueError, match="uint8"):
        clip.write(np.zeros((16, 16, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="does not match"):
        clip.write(np.zeros((8, 16, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="must end in"):
        HeldClip(tmp_path / "a.mkv", (16, 16), 24)
    assert clip.frames_written == 0 and clip.nbytes == 0


def test_a_failed_ffmpeg_leaves_no_clip_and_no_raw_file(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "ffmpeg"
    fake.parent.mkdir()
    # Writes a partial output where the first clip goes, then fails, as a crashing encoder would.
    fake.write_text(f'#!/bin/sh\necho partial > {tmp_path}/a.mp4\necho "x264 exploded" >&2\nexit 3\n')
    fake.chmod(0o755)
    monkeypatch.setattr("seqc.media.ffmpeg.ffmpeg_exe", lambda: str(fake))
    clips = []
    for name in ("a", "b"):
        clip = HeldClip(tmp_path / f"{name}.mp4", (16, 16), 24)
        clip.write(gradient_frames(2, 16, 16))
        clips.append(clip)
    with pytest.raises(RenderError, match=r"cannot write 2 clips: ffmpeg failed \(exit 3\): x264 exploded"):
        encode_batch(clips)
    assert files_in(tmp_path) == {"bin"}


def test_a_clip_with_missing_frames_is_refused(tmp_path, monkeypatch):
    """An exit code of 0 is not trusted: each output's frame count is read back."""
    clip = HeldClip(tmp_path / "a.mp4", (16, 16), 24)
    clip.write(gradient_frames(3, 16, 16))
    real_open = open

    def truncating_open(path, mode="r", *args, **kwargs):  # loses the last frame on its way to disk
        handle = real_open(path, mode, *args, **kwargs)
        if str(path).endswith(".raw"):
            handle.writelines = lambda chunks: handle.write(b"".join(chunks)[: 2 * 16 * 16 * 3])
        return handle

    monkeypatch.setattr("builtins.open", truncating_open)
    with pytest.raises(RenderError, match="wrote 3 frames but the clip has 2"):
        encode_batch([clip])
    assert os.listdir(tmp_path) == []
