"""Helpers for the output tests: the golden storyboard planned, and its clips written by
`seqc.media.clips.write_clip` into a real `seqc.store.Cache` (no model run, no torch)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from seqc.media.clips import write_clip
from seqc.plan import Plan, compile_plan
from seqc.spec import load_storyboard
from seqc.store import Cache

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"


def golden_project(folder: Path) -> tuple[Path, Cache]:
    """A copy of tests/data/golden (32x32 at 24 fps: 12 + 3 + 13 frames) and a cache beside it."""
    shutil.copytree(GOLDEN, folder / "p")
    return folder / "p" / "storyboard.yaml", Cache(folder / "p" / "cache")


def plan_of(story: Path, cache: Cache) -> Plan:
    return compile_plan(load_storyboard(story), cache)


def fill_cache(plan: Plan, cache: Cache) -> dict[str, Path]:
    """A clip per segment and one for the final frame, each frame a different picture, published in
    the cache; {key: clip}."""
    size, fps = plan.storyboard.output.size, plan.storyboard.output.fps
    width, height = size
    rng = np.random.default_rng(0)
    clips = {}
    for job in plan.clip_jobs:
        n = job.segment.frames
        # Smooth, different frames: a moving gradient plus a level per frame (H.264 keeps them apart).
        x = np.linspace(0, 255, width)[None, :, None]
        frames = np.stack([np.broadcast_to((x + 40 * i + rng.integers(0, 60)) % 256, (height, width, 3))
                           for i in range(n)]).astype(np.uint8)
        tmp = cache.temp_path("clips", job.key)
        assert write_clip([frames], tmp, size, fps) == n
        clips[job.key] = cache.put("clips", job.key, tmp, job.inputs)
    return clips
