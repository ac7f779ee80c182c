"""The PNG output (seqc/outputs/pngs.py): `write_frames` writes the plan's frames from the cached
clips in timeline order, and removes the frame_NNNNNN.png files beyond the count that a longer
export left, and nothing else."""

from __future__ import annotations

import numpy as np
from outputkit import fill_cache, golden_project, plan_of
from PIL import Image

from seqc import media
from seqc.outputs.pngs import write_frames


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
