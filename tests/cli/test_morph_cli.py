"""`method: morph` end to end: on a tiny Stable Diffusion pipeline (built offline) the CLI renders it
and plans say why a switch to it re-renders; on the built-in model two of the user's pictures
morph into each other by inversion and keep their looks, and the inverted ends are stored."""

from __future__ import annotations

from pathlib import Path

import mediaprobe
import numpy as np
import pytest
from renderkit import paint_seasons, plan_json, render_json, run_seqc
from tinysd import make_tiny_sd

from seqc.inspect import artifacts
from seqc.render import metrics

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


PICTURES = """\
version: 1
output: {{path: out/{name}.mp4, size: [64, 64], fps: 8}}
model: builtin-emoji
defaults: {{frames: {frames}, method: {method}}}
keyframes:
  a: {{image: kf/summer.png}}
  b: {{image: kf/winter.png}}
  c: {{prompt: black sun with rays}}
segments:
  - {{from: a, to: b}}
  - {{from: b, to: c}}
"""


def _frames_of(path: Path) -> np.ndarray:
    """Every frame of a video, as float pixels."""
    from seqc.media.reader import read_frames

    return np.stack(list(read_frames(path))).astype(np.float64)


def test_two_pictures_morph_into_each_other_and_keep_their_looks(tmp_path):
    # The user's own pictures (not the model's): inverted, so the morph starts and ends on them and
    # passes through what the model draws between; image-to-image (slerp) redraws them instead.
    from PIL import Image

    paint_seasons(tmp_path)
    pictures = [np.asarray(Image.open(tmp_path / "kf" / f"{n}.png").convert("RGB"), np.float64)
                for n in ("summer", "winter")]
    videos = {}
    for method in ("morph", "slerp"):
        story = tmp_path / f"{method}.yaml"
        body = PICTURES.format(name=method, frames=12, method=method)
        story.write_text(body if method == "morph" else body.replace("  - {from: b, to: c}\n", ""))
        result = render_json(story, tmp_path / "cache", env=ENV)
        videos[method] = _frames_of(Path(result["output"]))[:13]  # a -> b, and b
    morph = videos["morph"]
    off = {m: [float(np.abs(v[i] - p).mean()) for i, p in ((0, pictures[0]), (12, pictures[1]))]
           for m, v in videos.items()}
    assert max(off["morph"]) < 12  # the pictures themselves, through the model's VAE and H.264
    assert min(off["slerp"]) > 3 * max(off["morph"])  # image-to-image draws its own version of them
    steps = metrics.changes(morph.astype(np.uint8))
    assert steps[0] < np.median(steps) and steps[-1] < np.median(steps)  # no jump off either picture
    fit = artifacts.crossfade_fit(metrics.shrink(morph.astype(np.uint8)))
    assert fit.residual.mean() > 0.1  # drawn by the model, not a double exposure of the two

    # Another frame count re-renders the segment from the stored inverted ends: nothing is inverted again.
    story = tmp_path / "morph.yaml"
    story.write_text(story.read_text().replace("  - {from: a, to: b}", "  - {from: a, to: b, frames: 16}"))
    proc = run_seqc("render", str(story), "--cache-dir", str(tmp_path / "cache"), env=ENV)
    assert "rendered 1 of 2 segments" in proc.stdout + proc.stderr
    assert "inverting keyframe" not in proc.stdout + proc.stderr and "tracing keyframe" not in proc.stdout + proc.stderr
