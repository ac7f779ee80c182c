"""A morph's settings are in its clip key and nowhere else: changing `morph_start` re-renders the
morph segment, not the final frame it ends on (a hold, which no morph setting shapes)."""

from __future__ import annotations

from pathlib import Path

from seqc.plan import compile_plan
from seqc.spec import load_storyboard
from seqc.store import Cache

STORY = """\
version: 1
output: {{path: out/m.mp4, size: [64, 64], fps: 8}}
model: builtin-emoji
defaults: {{frames: 8}}
keyframes:
  a: {{prompt: cat face}}
  b: {{prompt: dog face}}
segments:
  - {{from: a, to: b, method: slerp}}
  - {{from: b, to: a, method: morph, morph_start: {start}}}
"""


def keys(tmp_path: Path, start: float) -> tuple[list[str], str]:
    story = tmp_path / f"s{start}.yaml"
    story.write_text(STORY.format(start=start))
    plan = compile_plan(load_storyboard(story), Cache(tmp_path / "cache"))
    return [job.key for job in plan.clip_jobs], plan.clip_jobs[-1].key if plan.clip_jobs[-1].end else ""


def test_morph_start_re_keys_only_its_segment(tmp_path):
    before, after = keys(tmp_path, 0.4), keys(tmp_path, 0.6)
    assert len(before[0]) == 3 and before[1] == before[0][-1]  # two segments and the final frame
    assert [a == b for a, b in zip(before[0], after[0], strict=True)] == [True, False, True]
