"""The mezzanine encodings (seqc/media/encode.py MEZZANINE): each codec writes clips an edit takes
(10 bits, its pixel format, BT.709 tags, a QuickTime container under the cache's clip name), 16-bit
frames keep more than 8 bits, alpha travels in ProRes 4444, the bytes are deterministic, a batch
writes the same bytes as a clip alone, and the clips join by a stream copy."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from seqc.errors import RenderError
from seqc.media import concat
from seqc.media.batch import HeldClip, encode_batch
from seqc.media.clips import ClipWriter, as_batch, write_clip
from seqc.media.encode import (
    CODECS,
    MEZZANINE,
    codec_name,
    depth,
    encoding,
    has_alpha,
    input_format,
)
from seqc.media.ffmpeg import ffmpeg_exe
from seqc.media.mp4 import read_track

SIZE = (256, 128)  # DNxHR's smallest is 256x120


def smooth_frames(n: int, wide: bool = True, alpha: bool = False, grey: bool = False) -> np.ndarray:
    """n frames of a slow horizontal ramp drifting per frame (`grey`: R = G = B, so YUV keeps its levels)."""
    width, height = SIZE
    ramp = np.linspace(0.2, 0.6, width, dtype=np.float64)
    frames = []
    for i in range(n):
        level = np.broadcast_to(ramp + 0.01 * i, (height, width))
        colour = [level] * 3 if grey else [level, level * 0.9, 1.0 - level]
        channels = colour + ([np.linspace(0, 1, width)[None].repeat(height, 0)] if alpha else [])
        frames.append(np.stack(channels, axis=-1))
    top = 65535 if wide else 255
    return np.rint(np.stack(frames) * top).astype(np.uint16 if wide else np.uint8)


def decode(path: Path, pix_fmt: str, channels: int) -> np.ndarray:
    """Every frame of a file through ffmpeg as 16-bit RGB(A)."""
    raw = subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt",
                          pix_fmt, "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, "<u2").reshape(-1, SIZE[1], SIZE[0], channels)


def frame_formats(path: Path) -> list[str]:
    """The pixel format of every decoded frame, as ffmpeg's showinfo prints it."""
    err = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path), "-map", "0:v", "-vf", "showinfo",
                          "-f", "null", "-"], capture_output=True, text=True).stderr
    return re.findall(r"fmt:(\w+)", err)


def test_every_recipe_is_plain_data_and_names_its_codec():
    for codec in CODECS:
        recipe = encoding(codec)
        json.dumps(recipe)  # it goes into clip keys
        assert codec_name({**recipe, "ffmpeg": "any"}) == codec
        assert depth(recipe) == (8 if codec == "h264" else 16)
    assert encoding("h264") == encoding()  # the default is H.264, whose recipe did not change
    assert not has_alpha(encoding("prores")) and not has_alpha(encoding("prores", alpha=True))
    assert has_alpha(encoding("prores4444", alpha=True)) and input_format(encoding("prores4444", True)) == "rgba64le"
    with pytest.raises(ValueError, match="unknown codec 'hevc'"):
        encoding("hevc")


@pytest.mark.parametrize(("codec", "fourcc", "pix_fmt"), [("prores", "apch", "yuv422p10le"),
                                                          ("prores4444", "ap4h", "yuv444p12le"),
                                                          ("dnxhr", "AVdh", "yuv422p10le"),
                                                          ("ffv1", "FFV1", "yuv444p10le")])
def test_a_mezzanine_clip_is_ten_bits_in_a_quicktime_file(tmp_path, codec, fourcc, pix_fmt):
    clip = tmp_path / "c.mp4"  # the cache's name for every clip
    assert write_clip([smooth_frames(3)], clip, SIZE, 24, encoding(codec)) == 3
    track = read_track(clip)
    assert (track.codec, track.width, track.height, track.frames) == (fourcc, *SIZE, 3)
    assert clip.read_bytes()[4:12] == b"ftypqt  "  # QuickTime, whatever the name says
    assert frame_formats(clip) == [pix_fmt] * 3  # ProRes 4444 decodes at 12 bits
    header = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(clip)], capture_output=True, text=True).stderr
    assert re.search(r"yuva?4\d\dp1[02]le\((tv, )?bt709", header)  # FFV1 leaves the (default) range unsaid


def test_sixteen_bit_frames_keep_more_than_eight_bits(tmp_path):
    """FFV1 is lossless: what comes back shows whether the writer kept the frames' 16 bits or
    rounded them to 8 on the way (256 levels at most across the ramp)."""
    deep, shallow = tmp_path / "deep.mp4", tmp_path / "shallow.mp4"
    frames = smooth_frames(2, grey=True)
    write_clip([frames], deep, SIZE, 24, encoding("ffv1"))
    write_clip([((frames.astype(np.uint32) + 128) // 257).astype(np.uint8)], shallow, SIZE, 24, encoding("ffv1"))
    deep_levels = np.unique(decode(deep, "rgb48le", 3)[0, 0, :, 0]).size
    shallow_levels = np.unique(decode(shallow, "rgb48le", 3)[0, 0, :, 0]).size
    assert shallow_levels <= 110 < deep_levels  # a 0.4-wide ramp: ~102 8-bit levels, ~410 10-bit ones
    back = decode(deep, "rgb48le", 3).astype(np.float64) / 65535
    assert np.abs(back - frames.astype(np.float64) / 65535).max() < 0.004  # 10-bit YUV and back


def test_alpha_travels_in_prores_4444(tmp_path):
    clip = tmp_path / "a.mp4"
    frames = smooth_frames(2, alpha=True)
    write_clip([frames], clip, SIZE, 24, encoding("prores4444", alpha=True))
    assert frame_formats(clip) == ["yuva444p12le"] * 2
    alpha = decode(clip, "rgba64le", 4)[..., 3].astype(np.float64) / 65535
    assert np.abs(alpha - frames[..., 3] / 65535).max() < 0.002
    # RGB frames into an alpha recipe are opaque; RGBA into one without alpha drop it.
    write_clip([smooth_frames(1)], clip, SIZE, 24, encoding("prores4444", alpha=True))
    assert decode(clip, "rgba64le", 4)[..., 3].min() > 65000
    assert as_batch(frames, SIZE, encoding("prores")).shape[-1] == 3


def test_eight_bit_frames_are_widened_and_sixteen_bit_ones_narrowed():
    eight = np.array([[[[0, 128, 255]]]], np.uint8)
    assert as_batch(eight, None, encoding("prores")).tolist() == [[[[0, 128 * 257, 65535]]]]
    sixteen = np.array([[[[0, 128 * 257 + 128, 128 * 257 + 129]]]], np.uint16)  # 128.498, 128.502
    assert as_batch(sixteen, None, encoding("h264")).tolist() == [[[[0, 128, 129]]]]
    with pytest.raises(ValueError, match="uint8 or uint16"):
        as_batch(eight.astype(np.float32), None)


@pytest.mark.parametrize("codec", sorted(MEZZANINE))
def test_the_bytes_are_the_same_alone_or_in_a_batch_and_twice(tmp_path, codec):
    recipe = encoding(codec, alpha=codec == "prores4444")
    frames = smooth_frames(2)
    alone, again = tmp_path / "alone.mp4", tmp_path / "again.mp4"
    write_clip([frames], alone, SIZE, 24, recipe)
    with ClipWriter(again, SIZE, 24, recipe) as writer:
        writer.write(frames[:1])
        writer.write(frames[1:])
    held = [HeldClip(tmp_path / f"held{i}.mp4", SIZE, 24, recipe) for i in range(2)]
    held[0].write(smooth_frames(1, wide=False))
    held[1].write(frames)
    tracks = encode_batch(held)
    assert [t.frames for t in tracks] == [1, 2]
    assert alone.read_bytes() == again.read_bytes() == held[1].path.read_bytes()


def test_a_batch_refuses_clips_of_two_encodings(tmp_path):
    held = [HeldClip(tmp_path / "a.mp4", SIZE, 24, encoding("prores")), HeldClip(tmp_path / "b.mp4", SIZE, 24)]
    for clip in held:
        clip.write(smooth_frames(1))
    with pytest.raises(ValueError, match="encoding"):
        encode_batch(held)


@pytest.mark.parametrize("suffix", [".mov", ".mkv"])
def test_prores_clips_join_by_a_stream_copy(tmp_path, suffix):
    clips = []
    for i, n in enumerate((2, 3)):
        clips.append(tmp_path / f"{i}.mp4")
        write_clip([smooth_frames(n)], clips[-1], SIZE, 24, encoding("prores"))
    out = tmp_path / f"joined{suffix}"
    concat(clips, out)
    assert frame_formats(out) == ["yuv422p10le"] * 5
    # the joined packets are the clips' own (no re-encode): the first frame's bytes decode the same
    assert np.array_equal(decode(out, "rgb48le", 3)[:2], decode(clips[0], "rgb48le", 3))


def test_clips_of_two_codecs_do_not_join(tmp_path):
    a, b = tmp_path / "a.mp4", tmp_path / "b.mp4"
    write_clip([smooth_frames(1)], a, SIZE, 24, encoding("prores"))
    write_clip([smooth_frames(1)], b, SIZE, 24, encoding("dnxhr"))
    with pytest.raises(RenderError, match="without re-encoding"):
        concat([a, b], tmp_path / "x.mov")
