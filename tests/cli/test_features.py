"""The features that set seqc apart, end to end with the built-in model: loops, even pacing, splines,
drafts and GIF/WebM outputs (contact sheets and `seqc analyze`: tests/inspect/)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mediaprobe
import numpy as np
import pytest
from renderkit import paint_seasons, plan_json, render_json, run_seqc, write_story

from seqc import media
from seqc.render import metrics

pytestmark = pytest.mark.slow  # real renders in subprocesses: run with the full suite, not the inner loop


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return paint_seasons(tmp_path_factory.mktemp("features"))


def frames_of(result: dict) -> list[np.ndarray]:
    return list(media.read_frames(Path(result["output"])))


def test_loop_adds_the_closing_segment_and_never_repeats_the_first_frame(project):
    story = write_story(project, "loop", "loop: {frames: 4, easing: linear}\nsegments:\n"
                        "  - {from: summer, to: autumn, frames: 6}\n  - {from: autumn, to: winter, frames: 6}\n")
    plan = plan_json(story, project / "cache")
    assert [(s["from"], s["to"], s["frames"]) for s in plan["segments"]] == [
        ("summer", "autumn", 6), ("autumn", "winter", 6), ("winter", "summer", 4)]
    assert plan["total_frames"] == 16  # no end frame: the video wraps to its first frame
    result = render_json(story, project / "cache")
    frames = frames_of(result)
    assert len(frames) == 16
    first, last = frames[0].astype(float), frames[-1].astype(float)
    assert np.abs(first - last).mean() > 1.0  # the last frame leads into the first, it is not a copy


def cv_of(result: dict) -> float:
    return metrics.coefficient_of_variation(metrics.changes(frames_of(result)))


def test_even_pacing_evens_out_the_change_and_keeps_frames_and_endpoints(project):
    body = "segments:\n  - {from: summer, to: night, frames: 24, easing: linear, method: slerp PACING}\n"
    plain = render_json(write_story(project, "plain", body.replace(" PACING", "")), project / "cache")
    even = render_json(write_story(project, "even", body.replace(" PACING", ", pacing: even")), project / "cache")
    assert plain["frames"] == even["frames"] == 25
    a, b = frames_of(plain), frames_of(even)
    # The same keyframes at both ends (up to H.264: a P-frame depends on the frames before it).
    assert np.array_equal(a[0], b[0])
    assert np.abs(a[-1].astype(float) - b[-1].astype(float)).mean() < 3
    assert cv_of(even) < cv_of(plain)


def test_a_spline_keyframe_edit_rerenders_the_segments_it_shapes(project, tmp_path):
    folder = tmp_path / "spline"
    shutil.copytree(project / "kf", folder / "kf")
    body = ("defaults: {frames: 4, method: spline}\nsegments:\n  - {from: summer, to: autumn}\n"
            "  - {from: autumn, to: winter}\n  - {from: winter, to: spring}\n  - {from: spring, to: night}\n")
    story = write_story(folder, "spline", body)
    assert render_json(story, folder / "cache")["rendered"] == 4
    shutil.copy(folder / "kf" / "summer.png", folder / "kf" / "winter.png")  # the middle keyframe
    plan = plan_json(story, folder / "cache")
    assert [s["status"] for s in plan["segments"]] == ["missing"] * 4
    assert "neighbouring keyframe 'winter'" in plan["segments"][0]["reason"]
    assert render_json(story, folder / "cache")["rendered"] == 4
    shutil.copy(folder / "kf" / "autumn.png", folder / "kf" / "night.png")  # the last keyframe
    plan = plan_json(story, folder / "cache")
    assert [s["index"] for s in plan["segments"] if s["status"] != "cached"] == [2, 3]


def test_draft_is_half_size_half_fps_and_cached_apart(project):
    story = write_story(project, "draftable", "segments:\n  - {from: summer, to: autumn, duration: 2}\n")
    proc = run_seqc("render", str(story), "--cache-dir", str(project / "cache"), "--draft", "--json")
    draft = json.loads(proc.stdout.strip().splitlines()[-1])
    assert draft["output"].endswith("draftable.draft.mp4")
    info = mediaprobe.probe(Path(draft["output"]))
    assert (info.width, info.height, info.fps, info.frames) == (32, 32, 4, 9)
    full = render_json(story, project / "cache")
    assert full["rendered"] == 1 and mediaprobe.probe(Path(full["output"])).frames == 17


@pytest.mark.parametrize(("suffix", "codec"), [(".gif", "gif"), (".webm", "vp9")])
def test_gif_and_webm_outputs_from_cached_clips(project, tmp_path, suffix, codec):
    story = write_story(project, "formats", "segments:\n  - {from: summer, to: autumn, frames: 5}\n")
    out = tmp_path / f"out{suffix}"
    result = render_json(story, project / "cache", "-o", str(out))
    info = mediaprobe.probe(out)
    assert (info.codec, info.frames) == (codec, result["frames"]) == (codec, 6)
