"""The planner: statuses from the cache, and the reason for each segment that must render."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from seqc.plan import CACHED, INVALID, MISSING, compile_plan
from seqc.spec import load_storyboard
from seqc.store import Cache

GOLDEN = Path(__file__).parent / "data" / "golden"


@pytest.fixture
def project(tmp_path) -> Path:
    target = tmp_path / "p"
    shutil.copytree(GOLDEN, target)
    return target / "storyboard.yaml"


def plan_of(story: Path, cache: Cache):
    return compile_plan(load_storyboard(story), cache)


def publish_all(plan, cache: Cache) -> None:
    """Pretend a render happened: a clip entry per segment and the run record."""
    for job in plan.jobs:
        cache.put_bytes("clips", job.key, b"clip " + job.key.encode(), job.inputs)
    cache.write_run(plan.run_id, plan.record())


def edit(story: Path, old: str, new: str) -> None:
    text = story.read_text()
    assert old in text
    story.write_text(text.replace(old, new))


def test_first_plan_is_all_new_in_timeline_order(project, tmp_path):
    plan = plan_of(project, Cache(tmp_path / "cache"))
    assert [j.status for j in plan.jobs] == [MISSING] * 3
    assert [j.reason for j in plan.jobs] == ["new"] * 3
    assert [j.segment.index for j in plan.jobs] == [0, 1, 2]
    # 0.5 s at 24 fps = 12 frames, then 3, then 12 plus the end frame
    assert [j.segment.first_frame for j in plan.jobs] == [0, 12, 15]
    assert plan.total_frames == 12 + 3 + 13


def test_cached_after_render(project, tmp_path):
    cache = Cache(tmp_path / "cache")
    publish_all(plan_of(project, cache), cache)
    plan = plan_of(project, cache)
    assert [j.status for j in plan.jobs] == [CACHED] * 3
    assert plan.missing == []


@pytest.mark.parametrize(
    ("old", "new", "index", "reason"),
    [
        ('easing: "cubic-bezier(0.1, 0.7, 1, 0.1)", ', "", 2, "easing changed"),
        ("method: cut", "method: crossfade", 1, "method changed (cut -> crossfade)"),
        ("frames: 3", "frames: 5", 1, "duration changed (3 frames -> 5 frames)"),
    ],
)
def test_one_edit_one_reason(project, tmp_path, old, new, index, reason):
    cache = Cache(tmp_path / "cache")
    publish_all(plan_of(project, cache), cache)
    edit(project, old, new)
    plan = plan_of(project, cache)
    missing = plan.missing
    assert [j.segment.index for j in missing] == [index]
    assert missing[0].reason.startswith(reason)


def test_changed_image_names_the_keyframe(project, tmp_path):
    cache = Cache(tmp_path / "cache")
    publish_all(plan_of(project, cache), cache)
    shutil.copy(project.parent / "b.png", project.parent / "a.png")
    plan = plan_of(project, cache)
    assert [j.segment.index for j in plan.missing] == [0, 2]
    assert all(j.reason == "keyframe 'a' image changed" for j in plan.missing)


def test_changed_size_is_the_root_cause(project, tmp_path):
    cache = Cache(tmp_path / "cache")
    publish_all(plan_of(project, cache), cache)
    edit(project, "size: [32, 32]", "size: [40, 40]")
    plan = plan_of(project, cache)
    assert all(j.reason.startswith("size changed") for j in plan.jobs)
    assert not any("preprocessing" in c for j in plan.jobs for c in j.changes)


def test_corrupt_and_deleted_entries(project, tmp_path):
    cache = Cache(tmp_path / "cache")
    plan = plan_of(project, cache)
    publish_all(plan, cache)
    cache.path("clips", plan.jobs[0].key).write_bytes(b"x")  # wrong size
    cache.sidecar("clips", plan.jobs[1].key).unlink()
    cache.path("clips", plan.jobs[1].key).unlink()
    again = plan_of(project, cache)
    assert (again.jobs[0].status, again.jobs[0].reason) == (INVALID, "cache entry corrupt")
    assert again.jobs[1].status == MISSING
    assert again.jobs[1].reason.startswith("cache entry missing")
    assert again.jobs[2].status == CACHED


def test_a_different_storyboard_file_has_its_own_record(project, tmp_path):
    cache = Cache(tmp_path / "cache")
    plan = plan_of(project, cache)
    publish_all(plan, cache)
    copy = project.with_name("copy.yaml")
    shutil.copy(project, copy)
    assert plan_of(copy, cache).run_id != plan.run_id
