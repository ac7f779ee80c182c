"""`method: morph` end to end on a tiny Stable Diffusion pipeline (built offline): the CLI renders
it, plans say why a switch to it re-renders, and the ends are the keyframes' pictures."""

from __future__ import annotations

from pathlib import Path

import mediaprobe
import pytest
from renderkit import plan_json, render_json
from tinysd import make_tiny_sd

pytestmark = pytest.mark.slow  # real renders in subprocesses

ENV = {"OMP_NUM_THREADS": "1"}
STORY = """\
version: 1
output: {{path: out/morph.mp4, size: [64, 64], fps: 8}}
model: ./sd
defaults: {{frames: 9, steps: 4}}
keyframes:
  a: {{prompt: "a red apple on a table"}}
  b: {{prompt: "a green pear on a table"}}
  c: {{prompt: "a yellow banana", seed: 3}}
segments:
  - {{from: a, to: b, method: {first}}}
  - {{from: b, to: c, method: slerp}}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("morph")
    make_tiny_sd(folder / "sd")
    return folder


def test_a_morph_renders_and_only_its_segment_re_renders(project):
    story = project / "story.yaml"
    story.write_text(STORY.format(first="slerp"))
    first = render_json(story, project / "cache", env=ENV)
    assert first["rendered"] == 2 and first["frames"] == 19
    story.write_text(STORY.format(first="morph"))
    plan = plan_json(story, project / "cache")
    reasons = [segment["reason"] for segment in plan["segments"]]
    assert reasons[0].startswith("method changed (slerp -> morph)") and plan["segments"][1]["status"] == "cached"
    second = render_json(story, project / "cache", env=ENV)
    assert second["rendered"] == 1
    info = mediaprobe.probe(Path(second["output"]))
    assert (info.frames, info.width, info.height) == (19, 64, 64)
    assert render_json(story, project / "cache", env=ENV)["rendered"] == 0
    story.write_text(STORY.format(first="morph, morph_start: 0.6"))
    plan = plan_json(story, project / "cache")
    assert plan["segments"][0]["reason"] == "morph_start changed (0.4 -> 0.6)"
    assert [s["status"] for s in plan["segments"][1:]] == ["cached"]
    assert render_json(story, project / "cache", env=ENV)["rendered"] == 1
