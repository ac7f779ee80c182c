"""Probing videos (seqc/media/probe.py): frame counts and packets without decoding, a missing file,
and a file that is not a video."""

from __future__ import annotations

import mediaprobe
import pytest
from mediakit import make_clips

from seqc import media
from seqc.errors import RenderError


def test_probe_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        mediaprobe.probe(tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all")
    with pytest.raises(RenderError) as info:
        mediaprobe.probe(junk)
    assert "\n" not in str(info.value)
    with pytest.raises(FileNotFoundError):
        media.read_frames(tmp_path / "missing.mp4")


def test_count_frames_and_packets_without_decoding(tmp_path):
    (clip,) = make_clips(tmp_path, counts=(7,), size=(32, 16), fps=12)
    assert media.count_frames(clip) == 7
    packets = mediaprobe.read_packets(clip).packets
    assert len(packets) == 7 and all(p.size > 0 for p in packets)
    assert packets[0].pts == 0 and len({p.md5 for p in packets}) == 7  # every frame differs
    info = mediaprobe.probe(clip)
    assert (info.frames, info.width, info.height, info.codec) == (7, 32, 16, "h264")
    assert info.fps == pytest.approx(12)
