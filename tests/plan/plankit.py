"""Helpers for the planner tests: plan the golden storyboard, pretend it rendered, edit it."""

from __future__ import annotations

from pathlib import Path

from seqc.plan import compile_plan
from seqc.spec import load_storyboard
from seqc.store import Cache

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"


def plan_of(story: Path, cache: Cache):
    return compile_plan(load_storyboard(story), cache)


def publish_all(plan, cache: Cache) -> None:
    """Pretend a render happened: a clip entry per segment and the final frame and the run record."""
    for job in plan.clip_jobs:
        cache.put_bytes("clips", job.key, b"clip " + job.key.encode(), job.inputs)
    cache.write_run(plan.run_id, plan.record())


def edit(story: Path, old: str, new: str) -> None:
    text = story.read_text()
    assert old in text
    story.write_text(text.replace(old, new))
