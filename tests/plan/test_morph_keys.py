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


ENDS = """\
version: 1
output: {{path: out/e.mp4, size: [64, 64], fps: 8}}
model: builtin-emoji
defaults: {{frames: {frames}, method: morph, morph_damping: {damping}, pacing: {pacing}, guidance: {guidance}}}
keyframes:
  a: {{prompt: cat face, seed: {seed}}}
  b: {{prompt: dog face}}
  p: {{image: p.png, seed: {seed}}}
segments:
  - {{from: a, to: b, morph_start: {start}}}
  - {{from: b, to: a}}
  - {{from: a, to: p}}
"""
BASE = {"frames": 8, "damping": 0.6, "pacing": "even", "guidance": 7.5, "seed": 1, "start": 0.4}


def traces(tmp_path: Path, **changes) -> tuple[list[tuple[str, str]], dict]:
    """Each segment's two end keys at its step k, and the plan's stored-end jobs."""
    from renderkit import write_image

    write_image(tmp_path / "p.png", 3)
    story = tmp_path / "ends.yaml"
    story.write_text(ENDS.format(**{**BASE, **changes}))
    plan = compile_plan(load_storyboard(story), Cache(tmp_path / "cache"))
    assert all(("trajectories", key) in plan.leased_keys() for key in plan.trajectories)  # gc keeps them
    return [job.traces for job in plan.jobs], plan.trajectories


def test_a_morphs_ends_are_keyed_by_what_shapes_them_alone(tmp_path):
    ends, jobs = traces(tmp_path)
    (a, b), (b2, a2), (a3, p) = ends
    assert (b2, a2, a3) == (b, a, a) and len(jobs) == 3  # one entry per end, shared by its segments
    assert [jobs[key].inputs["mode"] for key in (a, b, p)] == ["denoise", "denoise", "invert"]
    # A new frame count, pacing or damping reuses every end; so does an image keyframe's seed.
    for change in ({"frames": 12}, {"pacing": "linear"}, {"damping": 0.2}):
        assert traces(tmp_path, **change)[0] == ends, change
    seeded = traces(tmp_path, seed=2)[0]
    assert seeded[2][1] == p and seeded[0][0] != a  # the image is inverted, a prompt's noise is seeded
    # Another start step re-keys that segment's ends only; another guidance every end (it denoises
    # a prompt's noise and redraws an inverted picture).
    started = traces(tmp_path, start=0.6)[0]
    assert started[0][0] != a and started[1:] == ends[1:]
    assert all(key not in jobs for pair in traces(tmp_path, guidance=5.0)[0] for key in pair)


def test_the_final_frame_after_a_morph_is_the_picture_itself(tmp_path):
    # A morph ends on the keyframe's own picture; the final frame's hold must too, not image-to-image.
    from renderkit import write_image

    for name, seed in (("p", 3), ("q", 4)):
        write_image(tmp_path / f"{name}.png", seed)
    story = tmp_path / "last.yaml"
    for method, strength in (("morph", 0.0), ("slerp", 0.5)):
        story.write_text("version: 1\noutput: {path: out/l.mp4, size: [64, 64], fps: 8}\nmodel: builtin-emoji\n"
                         f"defaults: {{frames: 8, method: {method}}}\n"
                         "keyframes:\n  p: {image: p.png}\n  q: {image: q.png}\nsegments:\n  - {from: q, to: p}\n")
        plan = compile_plan(load_storyboard(story), Cache(tmp_path / "cache"))
        assert plan.end is not None and plan.end.segment.target == "p"
        assert plan.end.segment.generation["strength"] == strength
