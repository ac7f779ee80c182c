"""The planner (seqc/plan/plan.py): a segment job per segment in timeline order, statuses from the
cache (cached, missing, invalid), and a run record per storyboard file."""

from __future__ import annotations

import shutil

from plankit import plan_of, publish_all

from seqc.plan import CACHED, INVALID, MISSING
from seqc.store import Cache


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
