"""The frames output (seqc/outputs/frames.py): `write_frames` writes the plan's frames from the cached
clips in timeline order, and removes the frame_NNNNNN.<ext> files beyond the count that a longer
export in the same format left, and nothing else; png16/tiff16 hold the clips' full depth, exr their
linear light in half floats; RGBA files in every format when the plan's clips keep an alpha plane."""

from __future__ import annotations

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
from outputkit import fill_cache, golden_project, plan_of
from PIL import Image

from seqc import media
from seqc.media.clips import write_clip
from seqc.media.encode import has_alpha
from seqc.outputs.frames import linear_light, write_frames


def test_write_frames_writes_every_frame_in_timeline_order(tmp_path):
    story, cache = golden_project(tmp_path)
    plan = plan_of(story, cache)
    clips = fill_cache(plan, cache)
    folder = tmp_path / "new" / "frames"  # made if missing
    assert write_frames(plan, clips, folder) == plan.total_frames == 12 + 3 + 13
    assert sorted(p.name for p in folder.iterdir()) == [f"frame_{i:06d}.png" for i in range(28)]
    video = [frame for job in plan.clip_jobs for frame in media.read_frames(clips[job.key])]
    for index in (0, 11, 12, 14, 15, 27):  # each segment's first and last frames
        with Image.open(folder / f"frame_{index:06d}.png") as image:
            assert image.size == (32, 32)
            assert np.array_equal(np.asarray(image.convert("RGB")), video[index]), index


def test_write_frames_removes_frames_beyond_the_count_and_leaves_other_files(tmp_path):
    story, cache = golden_project(tmp_path)
    plan = plan_of(story, cache)
    clips = fill_cache(plan, cache)
    folder = tmp_path / "frames"
    folder.mkdir()
    stale = ["frame_000028.png", "frame_000040.png", "frame_1000000.png"]  # a longer export's
    kept = ["notes.txt", "frame_28.png", "frame_000028.png.bak", "frame_000030.jpg", "my_frame_000029.png",
            "cover.png"]
    for name in stale + kept:
        (folder / name).write_bytes(b"old " + name.encode())
    (folder / "frame_000005.png").write_bytes(b"old")  # within the count: overwritten
    (folder / "frame_000050.png.d").mkdir()  # not a frame file name: left alone

    assert write_frames(plan, clips, folder) == 28
    names = {p.name for p in folder.iterdir()}
    assert names == {f"frame_{i:06d}.png" for i in range(28)} | set(kept) | {"frame_000050.png.d"}
    for name in kept:
        assert (folder / name).read_bytes() == b"old " + name.encode()
    with Image.open(folder / "frame_000005.png") as image:
        assert image.size == (32, 32)


def video_of(plan, clips) -> np.ndarray:
    """The plan's frames in timeline order, 8 bits, as the video holds them."""
    return np.stack([frame for job in plan.clip_jobs for frame in media.read_frames(clips[job.key])])


@pytest.mark.parametrize("frame_format, suffix", [("png16", ".png"), ("tiff16", ".tif")])
def test_16_bit_frames_of_h264_clips_are_the_8_bit_ones_widened(tmp_path, frame_format, suffix):
    story, cache = golden_project(tmp_path)
    plan = plan_of(story, cache)
    clips = fill_cache(plan, cache)
    folder = tmp_path / "frames"
    assert write_frames(plan, clips, folder, frame_format) == 28
    assert sorted(p.name for p in folder.iterdir()) == [f"frame_{i:06d}{suffix}" for i in range(28)]
    video = video_of(plan, clips)
    for index in (0, 11, 12, 27):
        path = folder / f"frame_{index:06d}{suffix}"
        assert np.array_equal(read_image(path, (32, 32)), video[index].astype(np.uint16) * 257), index
    if suffix == ".png":
        assert png_depth(folder / "frame_000000.png") == (16, 2)  # 16 bits per channel, RGB
    else:
        with Image.open(folder / "frame_000000.tif") as image:
            assert image.tag_v2[258] == (16, 16, 16)


def test_16_bit_frames_of_10_bit_clips_keep_the_10_bits(tmp_path):
    story, cache = golden_project(tmp_path)
    plan = plan_of(story, cache)
    # ProRes clips in place of the cached H.264 ones (the clips map is all write_frames reads).
    clips = {job.key: write_prores(tmp_path / f"clip{i}.mov", smooth_frames16(job.segment.frames))
             for i, job in enumerate(plan.clip_jobs)}
    folder = tmp_path / "frames"
    assert write_frames(plan, clips, folder, "png16") == 28
    frames = np.stack([read_image(folder / f"frame_{i:06d}.png", (32, 32)) for i in range(28)])
    assert (frames % 257 != 0).mean() > 0.5  # not 8-bit values widened
    deep = np.stack([f for job in plan.clip_jobs for f in media.read_frames(clips[job.key], depth=16)])
    assert np.array_equal(frames, deep)


def test_exr_frames_are_half_float_linear_light(tmp_path):
    story, cache = golden_project(tmp_path)
    plan = plan_of(story, cache)
    clips = fill_cache(plan, cache)
    folder = tmp_path / "frames"
    assert write_frames(plan, clips, folder, "exr") == 28
    assert sorted(p.name for p in folder.iterdir()) == [f"frame_{i:06d}.exr" for i in range(28)]
    video = video_of(plan, clips)
    for index in (0, 13, 27):
        path = folder / f"frame_{index:06d}.exr"
        assert exr_channels(path) == {"R": 1, "G": 1, "B": 1}  # 1: HALF
        stored = read_image(path, (32, 32), "gbrpf16le")
        encoded = video[index] / 255.0
        linear = np.where(encoded <= 0.04045, encoded / 12.92, ((encoded + 0.055) / 1.055) ** 2.4)
        assert np.allclose(stored, linear, rtol=2**-11, atol=1e-7), index  # the sRGB EOTF, to half precision
        assert np.abs(stored - encoded).mean() > 0.05  # not the display-encoded values


def test_a_mid_grey_exr_frame_is_0_216_not_0_5(tmp_path):
    story, cache = golden_project(tmp_path)
    plan = plan_of(story, cache)
    clips = {}
    for i, job in enumerate(plan.clip_jobs):  # flat grey 128 (H.264 keeps a flat 128 as 128)
        frames = np.full((job.segment.frames, 32, 32, 3), 128, np.uint8)
        clips[job.key] = tmp_path / f"grey{i}.mp4"
        write_clip([frames], clips[job.key], (32, 32), 24)
    folder = tmp_path / "frames"
    assert write_frames(plan, clips, folder, "exr") == 28
    for index in (0, 27):
        back = read_image(folder / f"frame_{index:06d}.exr", (32, 32), "gbrpf32le")  # as a float reader sees it
        assert np.allclose(back, 0.2158605, atol=2e-3)
    assert linear_light(np.array([0, 128 * 257, 65535], np.uint16)).tolist() == pytest.approx([0, 0.2158605, 1])


def test_a_shorter_export_removes_the_extra_frames_of_its_format_only(tmp_path):
    story, cache = golden_project(tmp_path)
    plan = plan_of(story, cache)
    clips = fill_cache(plan, cache)
    folder = tmp_path / "frames"
    folder.mkdir()
    for name in ("frame_000028.exr", "frame_000099.exr", "frame_000003.exr.tmp"):  # a longer export's
        (folder / name).write_bytes(b"old")
    kept = ["frame_000040.png", "frame_000040.tif", "frame_000040.exr.bak", "shot.exr"]  # not this format's
    for name in kept:
        (folder / name).write_bytes(b"mine")
    assert write_frames(plan, clips, folder, "exr") == 28
    assert {p.name for p in folder.iterdir()} == {f"frame_{i:06d}.exr" for i in range(28)} | set(kept)


def test_an_unknown_frame_format_is_refused(tmp_path):
    story, cache = golden_project(tmp_path)
    plan = plan_of(story, cache)
    with pytest.raises(ValueError, match="png, png16, exr, tiff16"):
        write_frames(plan, {}, tmp_path / "frames", "jpeg")
    assert not (tmp_path / "frames").exists()


def alpha_project(tmp_path):
    """The golden storyboard as ProRes 4444 with b.png made transparent (its left half), planned, and
    ProRes 4444 clips of RGBA gradients (alpha a ramp moving from frame to frame) in place of the
    cached ones: (plan, clips)."""
    story, cache = golden_project(tmp_path)
    story.write_text(story.read_text().replace("output: {path: out/golden.mp4,",
                                               "output: {path: out/golden.mov, codec: prores4444,"))
    with Image.open(story.parent / "b.png") as image:
        pixels = np.asarray(image.convert("RGBA")).copy()
    pixels[:, :16, 3] = 0
    Image.fromarray(pixels, "RGBA").save(story.parent / "b.png")
    plan = plan_of(story, cache)
    assert all(has_alpha(job.encoding) for job in plan.clip_jobs)
    clips = {job.key: write_prores(tmp_path / f"clip{i}.mov", smooth_frames_rgba16(job.segment.frames, 32, 32))
             for i, job in enumerate(plan.clip_jobs)}
    return plan, clips


@pytest.mark.parametrize("frame_format", ["png", "png16", "tiff16", "exr"])
def test_frames_of_alpha_clips_are_rgba_in_every_format(tmp_path, frame_format):
    plan, clips = alpha_project(tmp_path)
    folder = tmp_path / "frames"
    assert write_frames(plan, clips, folder, frame_format) == 28
    suffix = {"png": ".png", "png16": ".png", "tiff16": ".tif", "exr": ".exr"}[frame_format]
    assert sorted(p.name for p in folder.iterdir()) == [f"frame_{i:06d}{suffix}" for i in range(28)]
    depth = 8 if frame_format == "png" else 16
    video = np.stack([f for job in plan.clip_jobs for f in media.read_frames(clips[job.key], depth, alpha=True)])
    assert video[0, :, 0, 3].max() < 0.01 * np.iinfo(video.dtype).max < video[0, :, 16, 3].min()  # a real ramp
    for index in (0, 11, 12, 27):
        path = folder / f"frame_{index:06d}{suffix}"
        if frame_format == "png":
            with Image.open(path) as image:
                assert image.mode == "RGBA" and np.array_equal(np.asarray(image), video[index]), index
        elif frame_format == "exr":
            assert exr_channels(path) == {"A": 1, "B": 1, "G": 1, "R": 1}  # 1: HALF
            stored = read_image(path, (32, 32), "gbrapf16le")
            alpha = video[index, ..., 3] / 65535  # coverage: scaled to 0..1, not linearised
            assert np.allclose(stored[..., 3], alpha, rtol=2**-11, atol=1e-7), index
            encoded = video[index, ..., :3] / 65535
            light = np.where(encoded <= 0.04045, encoded / 12.92, ((encoded + 0.055) / 1.055) ** 2.4)
            # Linear light, premultiplied by the alpha as OpenEXR stores it.
            assert np.allclose(stored[..., :3], light * alpha[..., None], rtol=2**-10, atol=1e-7), index
        else:
            assert np.array_equal(read_image(path, (32, 32), "rgba64le"), video[index]), index
    if frame_format in ("png", "png16"):
        assert png_depth(folder / "frame_000000.png") == (depth, 6)  # RGBA
    if frame_format == "tiff16":
        assert tiff_samples(folder / "frame_000000.tif") == (4, (2,))  # RGBA, straight alpha


def test_the_alpha_of_an_exr_frame_is_not_linearised():
    frame = np.array([[[128 * 257, 128 * 257, 128 * 257, 128 * 257]]], np.uint16)
    assert linear_light(frame).ravel().tolist() == pytest.approx([0.2158605, 0.2158605, 0.2158605, 128 / 255])
    assert linear_light(frame[..., :3]).shape == (1, 1, 3)
