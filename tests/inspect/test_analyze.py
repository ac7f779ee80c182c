"""`seqc analyze` (seqc/inspect/analyze.py) end to end with the built-in model: per-segment changes,
a cut flagged as jarring, latent figures, and the plot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from renderkit import paint_seasons, run_seqc, write_story

pytestmark = pytest.mark.slow  # real renders in subprocesses: run with the full suite, not the inner loop


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return paint_seasons(tmp_path_factory.mktemp("analyze"))


def test_analyze_flags_a_cut_and_plots(project, tmp_path):
    story = write_story(project, "analyze", "segments:\n  - {from: summer, to: night, frames: 12, easing: linear,"
                        " method: slerp, pacing: even}\n  - {from: night, to: autumn, frames: 12, method: cut}\n"
                        "  - {from: autumn, to: autumn, frames: 4}\n")
    plot = tmp_path / "plot.png"
    proc = run_seqc("analyze", str(story), "--json", "--plot", str(plot), "--cache-dir", str(project / "cache"))
    report = json.loads(proc.stdout)
    segments = report["segments"]
    assert [len(s["changes"]) for s in segments] == [12, 12, 5 - 1]
    assert segments[1]["verdict"].startswith("jarring") and segments[1]["max_at_frame"] == 11
    assert 1 in report["jarring"] and 0 not in report["jarring"]
    assert segments[0]["latent_angle"] > 0 and segments[2]["latent_rms"] == 0
    assert Image.open(plot).size == (900, 420)
