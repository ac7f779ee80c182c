"""`seqc analyze` (seqc/inspect/analyze.py) end to end with the built-in model: per-segment changes,
latent figures, the plot, and verdicts that judge only what the storyboard does not ask for."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from renderkit import paint_seasons, run_seqc, write_story

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "audio"))
from audiokit import storyboard  # noqa: E402

from seqc.inspect.analyze import SegmentReport, asked_jumps  # noqa: E402
from seqc.inspect.artifacts import measure  # noqa: E402
from seqc.render.metrics import frame_distance  # noqa: E402
from seqc.spec import load_storyboard  # noqa: E402

# Issue 24 item 9: a cut and steps(4) were called "jarring: consider more frames". They are what the
# storyboard asks for; an ease-in-expo that leaves most of the change to its last frames is not.
SEGMENTS = ("segments:\n"
            "  - {from: summer, to: night, frames: 12, easing: linear, method: slerp, pacing: even}\n"
            "  - {from: night, to: autumn, frames: 12, method: cut}\n"
            "  - {from: autumn, to: summer, frames: 12, easing: steps(4)}\n"
            "  - {from: summer, to: night, frames: 12, easing: ease-in-expo}\n"
            "  - {from: night, to: winter, frames: 12, method: crossfade}\n"
            "  - {from: winter, to: winter, frames: 6}\n")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return paint_seasons(tmp_path_factory.mktemp("analyze"))


@pytest.mark.slow  # real renders in subprocesses: run with the full suite, not the inner loop
def test_analyze_judges_only_the_jumps_not_asked_for_and_plots(project, tmp_path):
    story = write_story(project, "analyze", SEGMENTS)
    plot = tmp_path / "plot.png"
    proc = run_seqc("analyze", str(story), "--json", "--plot", str(plot), "--cache-dir", str(project / "cache"))
    report = json.loads(proc.stdout)
    segments = report["segments"]
    assert [len(s["changes"]) for s in segments] == [12, 12, 12, 12, 12, 6]
    smooth, cut, steps, expo, fade, hold = segments
    assert cut["max_at_frame"] == 11 and cut["max_change"] > 20  # the jump is there, and big
    assert cut["asked_jumps"] == [11] and cut["verdict"] == "a cut as asked (frame 11)"
    assert [(a["kind"], a["frames"], a["asked"]) for a in cut["artifacts"]] == [("jump", [11], True)]
    assert steps["asked_jumps"] == [2, 5, 8, 11] and "4 steps as asked (frames 2, 5, 8, 11)" in steps["verdict"]
    assert min(steps["changes"][i] for i in (2, 5, 8, 11)) > 5 * max(steps["changes"][i] for i in (0, 1, 3))
    assert [a["frames"] for a in steps["artifacts"] if a["kind"] == "jump"] == [[2], [5], [8], [11]]
    assert all(a["asked"] for a in steps["artifacts"] if a["kind"] == "jump")  # the steps are no defect
    assert expo["verdict"].startswith("jarring: jump") and expo["asked_jumps"] == []  # a real jump is still one
    assert [a["frames"] for a in expo["artifacts"] if a["kind"] == "jump" and not a["asked"]][-1] == [11]
    assert report["jarring"] == [3] and 1 not in report["defects"] and 3 in report["defects"]
    assert not any(a["kind"] == "jump" for a in smooth["artifacts"]) and smooth["latent_angle"] > 0
    assert smooth["smoothness"] > 0.9 and smooth["consistency"] > 1  # pacing: even spreads the change
    # A crossfade is a double exposure, and asked for; a hold has nothing to blend or jump.
    [ghost] = fade["artifacts"]
    assert ghost["kind"] == "ghosting" and ghost["asked"] and ghost["severity"] > 0.5 and 4 not in report["defects"]
    assert fade["ghost_residual"] < 0.1 and fade["verdict"].startswith("a double exposure as asked (crossfade")
    assert hold["verdict"] == "a hold" and not hold["crossfade_measured"] and hold["artifacts"] == []
    assert Image.open(plot).size == (900, 420)
    # What a user reads: the table says the same.
    table = run_seqc("analyze", str(story), "--cache-dir", str(project / "cache")).stdout
    assert "a cut as asked (frame 11)" in table and "4 steps as asked" in table
    assert "a double exposure as asked" in table and "smooth-" in table and "consis-" in table
    assert table.count("jarring") == 1


def test_asked_jumps_are_the_cut_and_the_steps_where_the_renderer_puts_them(tmp_path):
    story = load_storyboard(storyboard(tmp_path, (
        "segments:\n  - {from: a, to: b, frames: 8, method: cut}\n"
        "  - {from: b, to: a, frames: 8, easing: steps(4)}\n"
        "  - {from: a, to: b, frames: 8, easing: 'steps(2, jump-start)', method: cut}\n"
        "  - {from: b, to: a, frames: 4, easing: steps(12)}\n"
        "  - {from: a, to: b, frames: 8, easing: ease-in-out}\n"), "", name="asked"))

    def asked(index: int, steps: int) -> list[int]:
        job = SimpleNamespace(segment=story.segments[index], window=None)
        return [int(i) for i in np.nonzero(asked_jumps(job, steps))[0]]  # type: ignore[arg-type]

    assert asked(0, 8) == [7]  # the last step, into the next clip's first frame
    assert asked(1, 8) == [1, 3, 5, 7]  # steps(4) over 8 frames: 0, 0, .25, .25, .5, .5, .75, .75, then 1
    assert asked(2, 8) == [3]  # jump-start reaches 1 at frame 4: the cut comes there
    assert asked(3, 4) == []  # steps finer than the frames: no holds, just motion, judged as such
    assert asked(4, 7) == []  # the last segment of a loop, or a smooth easing: nothing asked
    assert asked(0, 7) == []  # a timeline that loops: its last segment has no step into a next clip


def test_a_jump_asked_for_is_not_jarring_and_one_not_asked_for_is():
    changes = np.array([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 90.0])
    cut = np.zeros(8, dtype=bool)
    cut[7] = True
    asked = SegmentReport(1, "a", "b", 8, "cut", "linear", 1.0, 30.0, changes, 0, cut)
    assert not asked.jarring and asked.verdict == "a cut as asked (frame 7)"
    assert asked.as_dict()["asked_jumps"] == [7]
    unasked = SegmentReport(1, "a", "b", 8, "slerp", "ease-in-expo", 1.0, 30.0, changes, 0, np.zeros(8, dtype=bool))
    assert unasked.jarring and unasked.verdict.startswith("jarring")
    # A jump where the storyboard asks for none, in a segment that also has asked ones, is still flagged.
    both = SegmentReport(1, "a", "b", 8, "slerp", "steps(2, jump-end)", 1.0, 30.0,
                         np.array([0.1, 0.1, 0.1, 40.0, 0.1, 30.0, 0.1, 40.0]), 0,
                         np.array([False, False, False, True, False, False, False, True]))
    assert both.jarring


def test_a_hold_is_never_jarring_its_one_step_is_the_codecs():
    changes = np.array([0.0, 0.0, 0.0, 2.01])  # a hold's only step: the next clip's H.264 keyframe
    hold = SegmentReport(2, "night", "night", 4, "slerp", "ease-in-out", 0.0, 0.0, changes, 10, np.zeros(4, dtype=bool))
    assert not hold.jarring and hold.verdict == "a hold"
    moving = SegmentReport(2, "dusk", "night", 4, "slerp", "ease-in-out", 1.0, 20.0, changes, 10, np.zeros(4, dtype=bool))
    assert moving.jarring


def report_on(frames: np.ndarray, method: str = "slerp", source: str = "a", target: str = "b") -> SegmentReport:
    """A segment's report measured on synthetic frames (the last one being the end keyframe)."""
    frames = np.asarray(frames, dtype=np.float32)
    changes = frame_distance(frames[:-1], frames[1:]).astype(np.float64)
    return SegmentReport(1, source, target, len(changes), method, "linear", 1.0, 30.0, changes, 0,
                         np.zeros(len(changes), dtype=bool), measure(frames))


def test_a_crossfade_ghosts_as_asked_and_a_latent_method_that_blends_is_told_so():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0, 255, (2, 32, 32, 3))
    t = np.linspace(0, 1, 25)[:, None, None, None]
    frames = np.rint(a * (1 - t) + b * t)
    fade = report_on(frames, "crossfade")
    assert fade.defects == [] and fade.verdict == "a double exposure as asked (crossfade, 83% of frames)"
    data = fade.as_dict()
    assert data["artifacts"] == [{"kind": "ghosting", "frames": [3, 21], "severity": 0.8261, "asked": True}]
    assert data["ghost_share"] == 0.8261 and data["ghost_residual"] < 0.01 and data["smoothness"] > 0.99
    assert len(data["crossfade_alpha"]) == len(data["crossfade_residual"]) == 23
    slerp = report_on(frames, "slerp")  # the same frames where a latent path should draw new pictures
    assert [a.kind for a in slerp.defects] == ["ghosting"] and slerp.verdict == "ghosting 83% of frames"
    held = report_on(frames, "slerp", "a", "a")  # a hold is never judged for ghosting or jumps
    assert held.artifacts == [] and held.verdict == "a hold"


def test_a_video_file_report_has_no_keyframes():
    frames = np.repeat(np.random.default_rng(1).uniform(0, 255, (1, 16, 16, 3)), 5, axis=0)
    changes = np.zeros(4)
    video = SegmentReport(0, None, None, 5, None, None, float("nan"), float("nan"), changes, 0, None,
                          measure(frames), file="clip.mp4")
    data = video.as_dict()
    assert (data["from"], data["to"], data["method"], data["file"]) == (None, None, None, "clip.mp4")
    assert data["latent_rms"] is None and video.label == "clip.mp4" and not video.hold
    assert video.artifacts == [] and video.verdict == "smooth"  # a picture that never changes: nothing wrong
