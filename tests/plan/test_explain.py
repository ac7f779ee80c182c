"""Why a segment re-renders (seqc/plan/explain.py): one edit gives one reason on the segment it
changed, a changed image names its keyframe, and a changed size is the root cause."""

from __future__ import annotations

import shutil

import pytest
from plankit import edit, plan_of, publish_all

from seqc.store import Cache


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
