"""Reading videos back (seqc/media/reader.py): frames through ffmpeg, at 8 bits or the clip's full
depth, RGB or RGBA (a ProRes 4444 clip's straight alpha), one-line errors, ffmpeg stopped when the
reader is closed early; a PNG sequence written from frame batches, numbered from `start`; 16-bit
PNG/TIFF and half-float EXR sequences through ffmpeg, RGB or RGBA, each file whole or absent."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from framekit import (
    exr_channels,
    png_depth,
    read_image,
    smooth_frames16,
    smooth_frames_rgba16,
    tiff_samples,
    write_prores,
)
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


def test_sixteen_bits_of_an_h264_clip_are_its_eight_bits_widened(tmp_path):
    (clip,) = make_clips(tmp_path, counts=(4,), size=(32, 16), fps=12)
    deep = np.stack(list(media.read_frames(clip, depth=16)))
    assert deep.dtype == np.uint16 and deep.shape == (4, 16, 32, 3)
    assert np.array_equal(deep, np.stack(list(media.read_frames(clip))).astype(np.uint16) * 257)


def test_sixteen_bits_of_a_10_bit_prores_clip_keep_its_10_bits(tmp_path):
    source = smooth_frames16(5)
    clip = write_prores(tmp_path / "deep.mov", source)
    deep = np.stack(list(media.read_frames(clip, depth=16)))
    shallow = np.stack(list(media.read_frames(clip)))
    assert deep.dtype == np.uint16 and deep.shape == source.shape
    assert (deep % 257 != 0).mean() > 0.5  # not 8-bit values widened: the finer steps survive
    assert len(np.unique(deep[..., 1])) > 2 * len(np.unique(shallow[..., 1]))
    assert np.abs(deep.astype(int) - source).max() < 65535 * 0.01  # 4:2:2 and 10 bits from the source
    assert np.abs(deep / 257 - shallow).max() <= 1.5  # the same picture as the 8-bit read


def test_read_frames_refuses_another_depth(tmp_path):
    (clip,) = make_clips(tmp_path, counts=(1,), size=(32, 16))
    with pytest.raises(ValueError, match="depth"):
        media.read_frames(clip, depth=10)


@pytest.mark.parametrize("kind", ["png16", "tiff16"])
def test_a_16_bit_sequence_holds_the_frames_exactly(tmp_path, kind):
    frames = smooth_frames16(3, width=24, height=16)
    folder = tmp_path / "50% done"  # a `%` in the folder is no part of ffmpeg's file pattern
    assert reader.write_image_sequence(iter(frames), folder, kind, start=7) == 3
    suffix = ".png" if kind == "png16" else ".tif"
    assert files_in(folder) == {f"frame_{i:06d}{suffix}" for i in (7, 8, 9)}
    for i, frame in enumerate(frames):
        path = folder / f"frame_{i + 7:06d}{suffix}"
        assert np.array_equal(read_image(path, (24, 16)), frame)
    if kind == "png16":
        assert png_depth(folder / "frame_000007.png") == (16, 2)  # 16 bits per channel, RGB
    else:
        with Image.open(folder / "frame_000007.tif") as image:
            assert image.tag_v2[258] == (16, 16, 16)  # BitsPerSample


def test_an_exr_sequence_holds_half_floats(tmp_path):
    rng = np.random.default_rng(0)
    frames = [rng.uniform(0, 1, (16, 24, 3)).astype(np.float32) for _ in range(2)]
    assert reader.write_image_sequence(frames, tmp_path, "exr") == 2
    for i, frame in enumerate(frames):
        path = tmp_path / f"frame_{i:06d}.exr"
        assert exr_channels(path) == {"R": 1, "G": 1, "B": 1}  # 1: HALF
        stored = read_image(path, (24, 16), "gbrpf16le")  # the halves as stored
        assert np.array_equal(stored, frame.astype(np.float16).astype(np.float32))  # each rounded to the nearest
        assert np.allclose(read_image(path, (24, 16), "gbrpf32le"), frame, atol=2e-3)  # as a float reader sees it
    # 3 half channels, zip-compressed: far less than 32-bit floats would take.
    assert (tmp_path / "frame_000000.exr").stat().st_size < 16 * 24 * 3 * 4


def test_a_wrong_frame_writes_nothing_and_stops_ffmpeg(tmp_path, monkeypatch):
    started = []
    real = ffmpeg.spawn
    monkeypatch.setattr(reader, "spawn", lambda *a, **k: started.append(real(*a, **k)) or started[-1])
    eight_bits = gradient_frames(2, 24, 16)
    with pytest.raises(ValueError, match="uint16"):
        reader.write_image_sequence(list(eight_bits), tmp_path, "png16")
    assert files_in(tmp_path) == set()
    (proc,) = started
    assert proc.returncode is not None and not pid_alive(proc.pid)


def test_an_interrupted_sequence_leaves_whole_files_only(tmp_path):
    frames = smooth_frames16(300, width=64, height=48)

    def stopping():  # Ctrl-C once ffmpeg has written a few files (its encoder threads hold some frames)
        for frame in frames:
            yield frame
            if (tmp_path / "frame_000002.png").exists():
                raise KeyboardInterrupt
            time.sleep(0.002)
        raise AssertionError("ffmpeg wrote no files while it was sent 300 frames")

    with pytest.raises(KeyboardInterrupt):
        reader.write_image_sequence(stopping(), tmp_path, "png16")
    names = sorted(files_in(tmp_path))
    assert len(names) >= 3 and all(name.endswith(".png") for name in names)  # no .tmp left behind
    for name in names:  # each one there is whole
        assert np.array_equal(read_image(tmp_path / name, (64, 48)), frames[int(name[6:12])])


def test_a_prores_4444_clip_reads_back_its_straight_alpha(tmp_path):
    source = smooth_frames_rgba16(4)  # 256x128, alpha a ramp from 0 at the left edge, moving right
    clip = write_prores(tmp_path / "alpha.mov", source)
    deep = np.stack(list(media.read_frames(clip, depth=16, alpha=True)))
    assert deep.dtype == np.uint16 and deep.shape == (4, 128, 256, 4)
    assert np.abs(deep[..., 3].astype(int) - source[..., 3]).max() < 65535 * 0.002  # 16-bit alpha, read at 12
    assert (deep[:, :, 0, 3] < 65535 * 0.002).all() and (deep[0, :, -1, 3] > 65535 * 0.998).all()
    assert deep[0, :, 96, 3].mean() > deep[3, :, 96, 3].mean() + 65535 * 0.3  # the ramp moves from frame to frame
    # Straight, not premultiplied: the colour stays where the alpha is 0.
    assert np.abs(deep[..., :3].astype(int) - source[..., :3]).max() < 65535 * 0.005
    transparent = source[..., 3] == 0
    assert transparent.sum() > 10000 and deep[..., :3][transparent].min() > 65535 * 0.25
    # The colours are the ones the RGB read gives; 8 bits agree with 16.
    assert np.array_equal(deep[..., :3], np.stack(list(media.read_frames(clip, depth=16))))
    shallow = np.stack(list(media.read_frames(clip, alpha=True)))
    assert shallow.dtype == np.uint8 and shallow.shape == (4, 128, 256, 4)
    assert np.abs(shallow - source / 257).max() <= 1.5
    assert np.array_equal(shallow[..., :3], np.stack(list(media.read_frames(clip))))


@pytest.mark.parametrize("depth", [8, 16])
def test_a_clip_without_alpha_reads_as_opaque(tmp_path, depth):
    (clip,) = make_clips(tmp_path, counts=(3,), size=(32, 16), fps=12)
    rgba = np.stack(list(media.read_frames(clip, depth=depth, alpha=True)))
    assert rgba.shape == (3, 16, 32, 4)
    assert (rgba[..., 3] == np.iinfo(rgba.dtype).max).all()
    assert np.array_equal(rgba[..., :3], np.stack(list(media.read_frames(clip, depth=depth))))


def test_a_pam_frame_is_parsed_and_a_wrong_one_refused():
    pixels = bytes(range(16))
    header = b"P7\nWIDTH 2\nHEIGHT 2\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n"
    stream = io.BytesIO(header + pixels + header.replace(b"255", b"65535") + bytes(32))
    first = reader._next_frame(stream)
    assert first is not None and first.shape == (2, 2, 4) and first.ravel().tolist() == list(range(16))
    second = reader._next_frame(stream)
    assert second is not None and second.dtype == ">u2" and second.shape == (2, 2, 4)
    assert reader._next_frame(stream) is None
    for wrong in (header.replace(b"DEPTH 4", b"DEPTH 3") + pixels, header.replace(b"RGB_ALPHA", b"GRAYSCALE") + pixels,
                  header.replace(b"MAXVAL 255", b"MAXVAL 1023") + pixels,
                  header.replace(b"ENDHDR\n", b"") + b"X\n" * 20 + pixels,  # no end to the header
                  header.replace(b"WIDTH 2", b"WIDTH two") + pixels, header + pixels[:15]):  # a frame cut short
        with pytest.raises(ValueError):
            reader._next_frame(io.BytesIO(wrong))


def test_write_png_sequence_keeps_rgba(tmp_path):
    frames = (smooth_frames_rgba16(3, 32, 16) // 257).astype(np.uint8)
    assert media.write_png_sequence([frames[:2], frames[2]], tmp_path) == 3
    for i in range(3):
        with Image.open(tmp_path / f"frame_{i:06d}.png") as image:
            assert image.mode == "RGBA" and np.array_equal(np.asarray(image), frames[i])
    assert png_depth(tmp_path / "frame_000000.png") == (8, 6)  # 8 bits per channel, RGBA


@pytest.mark.parametrize("kind", ["png16", "tiff16"])
def test_a_16_bit_rgba_sequence_holds_the_frames_exactly(tmp_path, kind):
    frames = smooth_frames_rgba16(2, 24, 16)
    assert reader.write_image_sequence(list(frames), tmp_path, kind) == 2
    suffix = ".png" if kind == "png16" else ".tif"
    for i, frame in enumerate(frames):  # straight alpha: the colour kept where the alpha is 0
        assert np.array_equal(read_image(tmp_path / f"frame_{i:06d}{suffix}", (24, 16), "rgba64le"), frame)
    if kind == "png16":
        assert png_depth(tmp_path / "frame_000000.png") == (16, 6)  # 16 bits per channel, RGBA
    else:
        assert tiff_samples(tmp_path / "frame_000000.tif") == (4, (2,))  # RGBA, alpha unassociated (straight)


def test_an_rgba_exr_sequence_stores_rgb_times_alpha_in_half_floats(tmp_path):
    rng = np.random.default_rng(1)
    frames = [rng.uniform(0, 1, (16, 24, 4)).astype(np.float32) for _ in range(2)]
    assert reader.write_image_sequence(frames, tmp_path, "exr") == 2
    for i, frame in enumerate(frames):
        path = tmp_path / f"frame_{i:06d}.exr"
        assert exr_channels(path) == {"A": 1, "B": 1, "G": 1, "R": 1}  # 1: HALF
        stored = read_image(path, (24, 16), "gbrapf16le")  # the halves as stored
        premultiplied = frame[..., :3] * frame[..., 3:]  # OpenEXR's convention: multiplied once, rounded once
        assert np.array_equal(stored[..., :3], premultiplied.astype(np.float16).astype(np.float32))
        assert np.array_equal(stored[..., 3], frame[..., 3].astype(np.float16).astype(np.float32))


def test_frames_of_another_channel_count_are_refused(tmp_path):
    frames = list(smooth_frames_rgba16(2, 24, 16))
    with pytest.raises(ValueError, match="shape"):
        reader.write_image_sequence([frames[0], frames[1][..., :3]], tmp_path, "png16")
    assert not any(tmp_path.glob("*.tmp"))
