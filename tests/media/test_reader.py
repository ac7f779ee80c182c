"""Reading videos back (seqc/media/reader.py): frames through ffmpeg, one-line errors, ffmpeg stopped
when the reader is closed early; a PNG sequence written from frame batches, numbered from `start`."""

from __future__ import annotations

import numpy as np
import pytest
from mediakit import files_in, gradient_frames, make_clips
from PIL import Image

from seqc import media
from seqc.errors import RenderError
from seqc.media import ffmpeg, reader
from seqc.store.atomic import pid_alive


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


def test_reading_a_file_that_is_no_video_is_one_line(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all")
    with pytest.raises(RenderError, match="cannot read") as info:
        list(media.read_frames(junk))
    assert "\n" not in str(info.value)


def test_a_reader_closed_early_stops_ffmpeg(tmp_path, monkeypatch):
    (clip,) = make_clips(tmp_path, counts=(6,), size=(32, 16), fps=12)
    started = []
    real = ffmpeg.spawn
    monkeypatch.setattr(reader, "spawn", lambda *a, **k: started.append(real(*a, **k)) or started[-1])
    frames = media.read_frames(clip)
    first = next(frames)
    assert first.shape == (16, 32, 3) and first.dtype == np.uint8
    frames.close()
    (proc,) = started
    assert proc.returncode is not None and not pid_alive(proc.pid)
    assert len(list(media.read_frames(clip))) == 6
