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
    # Segments 0 and 2 use 'a', and so does the final frame (the timeline ends on it).
    assert [(j.segment.index, j.end) for j in plan.missing] == [(0, False), (2, False), (3, True)]
    assert all(j.reason == "keyframe 'a' image changed" for j in plan.missing)


def test_changed_size_is_the_root_cause(project, tmp_path):
    cache = Cache(tmp_path / "cache")
    publish_all(plan_of(project, cache), cache)
    edit(project, "size: [32, 32]", "size: [40, 40]")
    plan = plan_of(project, cache)
    assert all(j.reason.startswith("size changed") for j in plan.jobs)
    assert not any("preprocessing" in c for j in plan.jobs for c in j.changes)


PING_PONG = """segments:
  - {from: a, to: b, easing: ease-in-out}
  - {from: b, to: a}
  - {from: a, to: b, easing: linear}
"""


def _ping_pong(project):
    text = project.read_text()
    project.write_text(text[:text.index("segments:")] + PING_PONG)


def test_a_repeated_pair_is_explained_against_its_own_record(project, tmp_path):
    """Two segments join a -> b: an edit of the second is compared with the second's record."""
    _ping_pong(project)
    cache = Cache(tmp_path / "cache")
    publish_all(plan_of(project, cache), cache)
    edit(project, "easing: linear", "easing: ease-in")
    (job,) = plan_of(project, cache).missing
    assert job.segment.index == 2
    assert job.reason == "easing changed (linear -> ease-in)"
    assert job.changes == ("easing changed (linear -> ease-in)",)


def test_an_appended_segment_is_new_and_the_others_keep_their_records(project, tmp_path):
    _ping_pong(project)
    cache = Cache(tmp_path / "cache")
    publish_all(plan_of(project, cache), cache)
    # Another a -> b at the end, and the first one's easing edited: matched by pair and occurrence.
    edit(project, "easing: ease-in-out}", "easing: ease-out}")
    project.write_text(project.read_text() + "  - {from: b, to: a}\n  - {from: a, to: b, frames: 4}\n")
    plan = plan_of(project, cache)
    reasons = {j.segment.index: j.reason for j in plan.missing}
    assert reasons[0] == "easing changed (ease-in-out -> ease-out)"
    assert plan.jobs[3].status == "cached"  # the same b -> a as segment 1: the same clip
    assert reasons[4] == "new"  # a third a -> b: the last render had two
    assert not any("end frame" in r for i, r in reasons.items() if i != 2)


def test_a_spline_whose_neighbour_goes_away_never_names_none(project, tmp_path):
    text = project.read_text()
    project.write_text(text[:text.index("segments:")] + "segments:\n"
                       "  - {from: b, to: a, method: spline}\n  - {from: a, to: b, method: spline}\n")
    cache = Cache(tmp_path / "cache")
    publish_all(plan_of(project, cache), cache)
    # Drop the first segment: the remaining spline loses the neighbour before it.
    project.write_text(text[:text.index("segments:")] + "segments:\n  - {from: a, to: b, method: spline}\n")
    (job,) = plan_of(project, cache).missing
    assert "None" not in job.reason and not any("None" in c for c in job.changes)
    assert any("neighbour before it changed (the timeline now starts here)" in c for c in job.changes)
