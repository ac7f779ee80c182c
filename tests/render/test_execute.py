"""The executor seam (seqc/render/execute.py): render() hands its Work to whatever Executor the
caller passes, so a new executor needs no change to seqc/render; every executor renders a segment
through `render_segment`, so the local executor and a cluster worker make the same clip bytes;
the recorded track is read from the sidecar in one place."""

from __future__ import annotations

from pathlib import Path

import pytest
from renderkit import five_keyframe_storyboard

from seqc.plan import compile_plan
from seqc.render.driver import render
from seqc.render.execute import LocalExecutor, Work, recorded_track, render_segment
from seqc.render.finish import ClipFinisher, Published
from seqc.render.options import RenderOptions
from seqc.spec import load_storyboard
from seqc.store import Cache

pytestmark = pytest.mark.slow  # real renders with the tiny random autoencoder


class Backwards:
    """A third executor, written outside seqc/render: the segments in reverse order, each through
    render_segment into a finisher of its own. It records the Work it was given."""

    def __init__(self) -> None:
        self.works: list[Work] = []
        self.closed = False

    def run(self, work: Work) -> Published:
        self.works.append(work)
        story, ends = work.plan.storyboard, work.endpoints
        published: Published = {}
        for job in reversed(work.todo):
            seg = job.segment
            with ClipFinisher(work.cache, batch=False) as finisher:
                render_segment(work.backend, job, ends[seg.source], ends[seg.target], ends.get(seg.before or ""),
                               ends.get(seg.after or ""), finisher=finisher, batch_size=2,
                               size=story.output.size, fps=story.output.fps)
                published.update(finisher.wait())
        return published

    def close(self) -> None:
        self.closed = True


def clip_bytes(cache_dir: Path) -> dict[str, bytes]:
    """Every clip in a cache by key (not temp files: hidden, pid-stamped names)."""
    return {path.stem: path.read_bytes() for path in (cache_dir / "clips").rglob("*.mp4")
            if not path.name.startswith(".")}


@pytest.fixture
def story(tmp_path, tiny_vae) -> Path:
    return five_keyframe_storyboard(tmp_path / "p", tiny_vae, size=32, fps=4)


def plan_in(story: Path, cache: Cache):
    return compile_plan(load_storyboard(story, images=cache), cache)


def test_a_custom_executor_gets_the_work_and_its_clips_are_the_result(story, tmp_path):
    local_cache = Cache(tmp_path / "local")
    local = render(plan_in(story, local_cache), local_cache, RenderOptions(device="cpu"))
    cache = Cache(tmp_path / "custom")
    plan = plan_in(story, cache)
    executor = Backwards()
    result = render(plan, cache, RenderOptions(device="cpu"), executor=executor)
    # It was handed the whole Work: every missing clip (four segments and the final frame), once.
    (work,) = executor.works
    assert work.plan is plan and work.cache is cache
    assert [job.key for job in work.todo] == list(dict.fromkeys(job.key for job in plan.clip_jobs))
    assert not executor.closed  # the caller owns it
    # What it published is the render's result, with the tracks it recorded, and the same bytes.
    assert result.rendered == local.rendered == 4 and set(result.clips) == set(local.clips)
    assert all(result.clips[key] == cache.get("clips", key) for key in result.clips)
    assert result.tracks == local.tracks
    assert clip_bytes(tmp_path / "custom") == clip_bytes(tmp_path / "local")
    # Nothing missing: the executor is not asked again.
    assert render(plan_in(story, cache), cache, RenderOptions(device="cpu"), executor=executor).rendered == 0
    assert len(executor.works) == 1


def test_the_local_executor_and_a_cluster_worker_make_the_same_clip_bytes(story, tmp_path, tiny_vae):
    """Both go through render_segment: the worker (no Ray here, the plain class) publishes into a
    cache of its own the same bytes the local executor published."""
    from seqc.cluster.worker import SegmentWorker, Task
    from seqc.models import resolve_model

    works: list[Work] = []

    class Recording(LocalExecutor):
        def run(self, work: Work) -> Published:
            works.append(work)
            return super().run(work)

    cache = Cache(tmp_path / "local")
    plan = plan_in(story, cache)
    render(plan, cache, RenderOptions(device="cpu"), executor=Recording())
    (work,) = works
    worker = SegmentWorker()
    root = str(tmp_path / "worker")
    worker.load(resolve_model(str(tiny_vae), story.parent), "cpu", "auto", plan.model, root)
    ends, size, fps = work.endpoints, plan.storyboard.output.size, plan.storyboard.output.fps
    for job in work.todo:
        seg = job.segment
        answer = worker.render(Task(job, plan.model, plan.precision, ends[seg.source], ends[seg.target],
                                    ends.get(seg.before or ""), ends.get(seg.after or ""), size, fps, 3, root))
        assert answer["rendered"] and answer["key"] == job.key
    assert clip_bytes(tmp_path / "worker") == clip_bytes(tmp_path / "local")
    assert len(clip_bytes(tmp_path / "local")) == 5


def test_the_recorded_track_is_read_from_the_sidecar_or_none(story, tmp_path):
    cache = Cache(tmp_path / "cache")
    plan = plan_in(story, cache)
    result = render(plan, cache, RenderOptions(device="cpu"))
    key = plan.jobs[0].key
    assert recorded_track(cache, key) == result.tracks[key]
    assert recorded_track(cache, "0" * 64) is None  # no such entry


PROMPT_STORY = """\
version: 1
output: {{path: out/m.mp4, size: [64, 64], fps: 8}}
model: {model}
defaults: {{frames: 11, steps: 2, method: slerp}}
keyframes:
  a: {{prompt: "a red apple"}}
  b: {{prompt: "a green pear"}}
  c: {{prompt: "a yellow banana", seed: 3}}
segments:
  - {{from: a, to: b}}
  - {{from: b, to: c, frames: 2}}
"""


def test_short_pipeline_jobs_denoise_beside_the_long_ones_with_the_same_bytes(tmp_path, monkeypatch):
    """On the CPU, a pipeline job that fits one call (here the 2-frame segment and the final frame)
    denoises on a side thread while the long segment renders; the clips are the bytes an executor
    making one segment after another (Backwards, another batch size) makes."""
    import threading

    pytest.importorskip("transformers")
    from tinysd import make_tiny_sd

    from seqc.backends.pipeline import PipelineBackend

    story = tmp_path / "p" / "story.yaml"
    story.parent.mkdir()
    story.write_text(PROMPT_STORY.format(model=make_tiny_sd(tmp_path / "sd")))
    threads: dict[int, set[str]] = {}
    generate = PipelineBackend.generate

    def recording(self, noise, *args, **kwargs):
        threads.setdefault(len(noise), set()).add(threading.current_thread().name.split("_")[0])
        return generate(self, noise, *args, **kwargs)

    monkeypatch.setattr(PipelineBackend, "generate", recording)
    cache = Cache(tmp_path / "local")
    result = render(plan_in(story, cache), cache, RenderOptions(device="cpu"))
    assert result.rendered == 2 and len(clip_bytes(tmp_path / "local")) == 3  # and the final frame
    assert threads[2] == threads[1] == {"seqc-side"} and "seqc-side" not in threads[11]
    other = Cache(tmp_path / "other")
    render(plan_in(story, other), other, RenderOptions(device="cpu"), executor=Backwards())
    assert clip_bytes(tmp_path / "other") == clip_bytes(tmp_path / "local")


def test_a_failing_side_job_fails_the_render_and_leaves_nothing_running(tmp_path, monkeypatch):
    pytest.importorskip("transformers")
    from tinysd import make_tiny_sd

    from seqc.backends.pipeline import PipelineBackend
    from seqc.errors import ModelError

    story = tmp_path / "p" / "story.yaml"
    story.parent.mkdir()
    story.write_text(PROMPT_STORY.format(model=make_tiny_sd(tmp_path / "sd")))
    generate = PipelineBackend.generate

    def failing(self, noise, *args, **kwargs):
        if len(noise) < 3:
            raise ModelError("the side job broke")
        return generate(self, noise, *args, **kwargs)

    monkeypatch.setattr(PipelineBackend, "generate", failing)
    cache = Cache(tmp_path / "cache")
    with pytest.raises(ModelError, match="side job broke"):
        render(plan_in(story, cache), cache, RenderOptions(device="cpu"))
    assert not [t for t in threading_names() if t.startswith(("seqc-side", "seqc-finish"))]
    assert len(clip_bytes(tmp_path / "cache")) == 1  # the long segment, published before the broken one


def threading_names() -> list[str]:
    import threading

    return [thread.name for thread in threading.enumerate()]
