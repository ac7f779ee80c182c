"""Reading an MP4's video track in-process (seqc/media/mp4.py): the same frame count, size, codec and
time base as ffmpeg reports, for clips and for joined outputs, and a clear refusal of anything else."""

from __future__ import annotations

import mediaprobe
import pytest
from mediakit import gradient_frames, make_clips

from seqc import media
from seqc.media.mp4 import Mp4Error, TrackInfo, read_track


@pytest.mark.parametrize("suffix", [".mp4", ".mov"])
def test_the_track_matches_what_ffmpeg_reports(tmp_path, suffix):
    clips = make_clips(tmp_path, counts=(3, 5, 1))
    joined = tmp_path / f"joined{suffix}"
    media.concat(clips, joined)
    for path in [*clips, joined]:
        track, packets = read_track(path), mediaprobe.read_packets(path)
        assert track.frames == len(packets.packets)
        assert (track.codec, track.width, track.height) == (packets.codec, packets.width, packets.height)
        assert track.time_base == packets.time_base
        assert len(track.setup) == 32
    # One encoder setting: every clip and the stream copy share one H.264 setup record.
    assert len({read_track(path).setup for path in [*clips, joined]}) == 1


def test_another_size_has_another_setup(tmp_path):
    small, large = tmp_path / "small.mp4", tmp_path / "large.mp4"
    media.write_clip([gradient_frames(2, 32, 32)], small, (32, 32), 24)
    media.write_clip([gradient_frames(2, 64, 48)], large, (64, 48), 24)
    a, b = read_track(small), read_track(large)
    assert (a.width, a.height, b.width, b.height) == (32, 32, 64, 48)
    assert a.setup != b.setup


def test_a_track_survives_the_sidecar_round_trip(tmp_path):
    (clip,) = make_clips(tmp_path, counts=(4,))
    track = read_track(clip)
    assert TrackInfo.from_dict(track.as_dict()) == track


def test_files_that_are_not_whole_mp4s_are_refused(tmp_path):
    (clip,) = make_clips(tmp_path, counts=(4,))
    data = clip.read_bytes()
    cases = {"png.mp4": b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "empty.mp4": b"",
             "cut.mp4": data[: len(data) // 2]}  # the moov box comes last and is gone
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(Mp4Error):
            read_track(tmp_path / name)
