"""Producing an output (seqc/outputs/produce.py): fill, write and remember under one lease, and
re-plan when the model loads in another precision than the plan's keys were computed for."""

from __future__ import annotations

import mediaprobe
from outputkit import golden_project

from seqc import media
from seqc.outputs.produce import VideoOutput, produce, rendered
from seqc.plan import compile_plan
from seqc.render.options import RenderOptions
from seqc.render.progress import Reporter
from seqc.render.session import Session
from seqc.spec import load_storyboard


def test_a_wrong_precision_guess_is_replanned_before_anything_renders(tmp_path):
    session = Session()
    story_path, cache = golden_project(tmp_path)
    story = load_storyboard(story_path)
    # The planner guessed a CUDA GPU (float16) for --dtype auto; on this CPU the model loads in float32.
    guessed = compile_plan(story, cache, precision="float16")
    warnings: list[str] = []
    result = produce(guessed, cache, RenderOptions(device="cpu"), VideoOutput(tmp_path / "video.mp4"),
                     Reporter(warn=warnings.append), session=session)
    assert len(warnings) == 1 and "planned as float16" in warnings[0] and "float32" in warnings[0]
    assert mediaprobe.probe(tmp_path / "video.mp4").frames == result.frames == story.total_frames
    # Only float32 clips were published, and the session's next plan starts from float32.
    right = compile_plan(story, cache, precision="float32")
    assert all(not job.needs_render for job in right.clip_jobs)
    assert all(cache.status("clips", job.key) == "missing" for job in guessed.clip_jobs)
    assert session.models.precision("cpu", "auto") == "float32"


def test_writing_the_output_is_announced_while_it_runs(tmp_path):
    story_path, cache = golden_project(tmp_path)
    plan = compile_plan(load_storyboard(story_path), cache)
    output = tmp_path / "video.mp4"
    seen: list[tuple[str, bool]] = []

    class Recorder(Reporter):
        def working(self, text):
            seen.append((text, output.exists()))
            return super().working(text)

    produce(plan, cache, RenderOptions(device="cpu"), VideoOutput(output), Recorder())
    assert seen == [(f"writing video.mp4 from {len(plan.clip_jobs)} clips", False)]  # before the join ran


def test_preview_and_analyze_read_the_clips_under_the_renders_lease(tmp_path):
    """`rendered` keeps the plan's clips leased while the caller reads them: a gc meanwhile spares them."""
    story_path, cache = golden_project(tmp_path)
    plan = compile_plan(load_storyboard(story_path), cache)
    with rendered(plan, cache, RenderOptions(device="cpu")) as (used, result):
        cache.gc(max_size=0)
        assert all(path.exists() for path in result.clips.values())
        assert [job.key for job in used.clip_jobs] == list(result.clips)
    cache.gc(max_size=0)
    assert not any(path.exists() for path in result.clips.values())


def test_a_render_starts_no_ffmpeg_per_clip_beyond_its_encoders(tmp_path, monkeypatch):
    """Frame counts and stream parameters are read in-process at publish and recorded, so neither the
    clip writer nor the join launches an ffmpeg per clip to measure them; short clips share one encoder
    process (seqc.media.batch)."""
    import subprocess

    story_path, cache = golden_project(tmp_path)
    plan = compile_plan(load_storyboard(story_path), cache)
    # imageio-ffmpeg checks its binary with `ffmpeg -version` once per process, on first use: do
    # that before counting, so the count does not depend on which tests ran before this one.
    media.ffmpeg_exe()
    # A held clip is also flushed once it has waited 0.5 s, which a loaded machine can reach between
    # two of these tiny segments: this test counts launches, not the timing of flushes.
    monkeypatch.setattr("seqc.render.finish.BATCH_SECONDS", 600.0)
    launches: list[list[str]] = []
    real = subprocess.Popen

    class Counting(real):
        def __init__(self, args, *rest, **kwargs):
            launches.append(list(args))
            super().__init__(args, *rest, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", Counting)
    produce(plan, cache, RenderOptions(device="cpu"), VideoOutput(tmp_path / "video.mp4"))
    clips = len(plan.clip_jobs)
    encoders, join = launches[:-1], launches[-1]
    assert sum(args.count("rawvideo") for args in encoders) == clips  # one raw input per clip
    assert clips > 1 and len(encoders) == 1, launches  # the golden clips are short: one batch
    assert "concat" in join
    # The records are in the sidecars: a second join (the output deleted) needs just its own ffmpeg.
    launches.clear()
    (tmp_path / "video.mp4").unlink()
    produce(compile_plan(load_storyboard(story_path), cache), cache, RenderOptions(device="cpu"),
            VideoOutput(tmp_path / "video.mp4"))
    assert len(launches) == 1 and "concat" in launches[0]
    assert all(cache.read_facts("clips", job.key)["track"]["frames"] == job.segment.frames for job in plan.clip_jobs)
