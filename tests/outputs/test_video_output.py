"""The video output (seqc/outputs/video.py): `write_video` joins the cached clips, skips the join
when the output is current (the same size and mtime as the run record says) and redoes it when
the output was touched, replaced or removed; `check_output` refuses what `-o` may not name."""

from __future__ import annotations

import os

import mediaprobe
import pytest
from outputkit import fill_cache, golden_project, plan_of

from seqc.errors import InputError
from seqc.outputs import video
from seqc.outputs.produce import remember
from seqc.outputs.video import check_output, write_video


@pytest.fixture
def joins(monkeypatch) -> list:
    """The outputs `write_video` ran the concat for (the real concat still runs)."""
    calls = []
    real = video.concat

    def spy(clips, output, tracks=None):
        calls.append(output)
        real(clips, output, tracks)

    monkeypatch.setattr(video, "concat", spy)
    return calls


def test_write_video_joins_the_clips_and_records_the_output(tmp_path, joins):
    story, cache = golden_project(tmp_path)
    plan = plan_of(story, cache)
    clips = fill_cache(plan, cache)
    output = tmp_path / "out" / "video.mp4"
    record = write_video(plan, clips, output)
    assert joins == [output]
    st = output.stat()
    assert record == {"path": str(output), "clips": [job.key for job in plan.clip_jobs], "size": st.st_size,
                      "mtime_ns": st.st_mtime_ns}
    assert mediaprobe.probe(output).frames == plan.total_frames == 28


def test_write_video_skips_the_join_when_the_output_is_current_and_redoes_it_when_touched(tmp_path, joins):
    story, cache = golden_project(tmp_path)
    plan = plan_of(story, cache)
    clips = fill_cache(plan, cache)
    output = tmp_path / "video.mp4"
    record = write_video(plan, clips, output)
    remember(cache, plan, record)  # what a render does after writing the output
    inode = output.stat().st_ino

    # Current: same clips, same size and mtime as the run record.
    assert write_video(plan_of(story, cache), clips, output) == record
    assert joins == [output] and output.stat().st_ino == inode

    # Touched (the mtime moved on, the bytes may be anything): joined again.
    st = output.stat()
    os.utime(output, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    again = write_video(plan_of(story, cache), clips, output)
    assert joins == [output, output] and output.stat().st_ino != inode
    assert again["mtime_ns"] == output.stat().st_mtime_ns
    assert mediaprobe.probe(output).frames == 28
    remember(cache, plan_of(story, cache), again)
    assert write_video(plan_of(story, cache), clips, output) == again and len(joins) == 2

    # Removed: joined again.
    output.unlink()
    write_video(plan_of(story, cache), clips, output)
    assert len(joins) == 3 and mediaprobe.probe(output).frames == 28


def test_write_video_without_a_run_record_always_joins(tmp_path, joins):
    story, cache = golden_project(tmp_path)
    plan = plan_of(story, cache)
    clips = fill_cache(plan, cache)
    output = tmp_path / "video.mp4"
    write_video(plan, clips, output)
    write_video(plan_of(story, cache), clips, output)  # nothing remembered: not known to be current
    assert joins == [output, output]


def test_check_output_refuses_what_the_output_may_not_be(tmp_path):
    story, cache = golden_project(tmp_path)
    board = plan_of(story, cache).storyboard
    check_output(board, tmp_path / "fine.mp4", cache)  # no error
    for target, fragment in [(cache.root / "x.mp4", "inside the cache folder"),
                             (story.parent / "a.png", "overwrite keyframe 'a'"),
                             (tmp_path / "x.avi", "unsupported output type '.avi' (use one of .mp4")]:
        with pytest.raises(InputError, match=fragment.replace("(", r"\(").replace(".", r"\.")):
            check_output(board, target, cache)
