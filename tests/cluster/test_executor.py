"""`RayExecutor` against the local executor, on one real local Ray cluster (conftest's
`ray_cluster`: started once per pytest process, 2 CPUs, 127.0.0.1): the same bytes, the same
counts, incremental edits, a worker killed mid-segment (a test's worker class), a worker with
another model, progress, the pool kept between renders, and the CLI joining the cluster with
--ray-address.

Every Ray test of this process is in this file, so pytest-xdist (`--dist loadfile`) starts one
cluster. Renders are tiny (32x32 or 64x64, a few frames) to keep the whole file near a minute.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
from renderkit import five_keyframe_storyboard, render_json, run_seqc, write_image

from seqc.backends.precision import planned_precision
from seqc.media.mp4 import read_track
from seqc.outputs.produce import VideoOutput, produce
from seqc.plan import compile_plan
from seqc.render.execute import Executor
from seqc.render.options import RenderOptions
from seqc.render.progress import Reporter
from seqc.spec import load_storyboard
from seqc.store import Cache

pytestmark = pytest.mark.slow  # real renders on real Ray workers

LOCAL = RenderOptions(device="cpu")


class Recorder(Reporter):
    """Every progress callback, for the assertions."""

    def __init__(self):
        super().__init__()
        self.workers: list[tuple[int, str | None]] = []
        self.frames = 0
        self.warnings: list[str] = []

    def worker(self, worker, job):
        self.workers.append((worker, None if job is None else job.label))

    def advance(self, frames):
        self.frames += frames

    def warn(self, message):
        self.warnings.append(message)


def render_with(story: Path, cache_dir: Path, options: RenderOptions, out: Path, reporter: Reporter | None = None,
                executor: Executor | None = None):
    """What `seqc render` does, in this process (so the Ray session of the fixture is used); the
    executor None renders locally."""
    cache = Cache(cache_dir)
    plan = compile_plan(load_storyboard(story, images=cache), cache,
                        precision=planned_precision(options.device, options.dtype))
    return produce(plan, cache, options, VideoOutput(out), reporter, executor=executor)


def crashing_worker(marker: str) -> type:
    """A SegmentWorker whose process exits after writing the first batch of frames of a segment,
    mid-segment (its clip's encoder running), as a crash would: in the first worker to create the
    file `marker` only; the others carry on. Defined in a function, so Ray's cloudpickle sends both
    classes by value (a worker process cannot import this test module)."""
    from seqc.cluster.worker import SegmentWorker

    class DyingModel:
        """The worker's model, which kills the process at the second decode of a segment."""

        def __init__(self, backend):
            self.backend, self.decodes = backend, 0

        def __getattr__(self, name):
            return getattr(self.backend, name)

        def decode(self, latents):
            self.decodes += 1
            if self.decodes == 2:  # one batch is in the clip's encoder: die now, once per cluster
                try:
                    os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                except FileExistsError:
                    return self.backend.decode(latents)
                os._exit(70)
            return self.backend.decode(latents)

    class CrashingWorker(SegmentWorker):
        def render(self, task):
            if self.backend is not None:
                model = self.backend if isinstance(self.backend, DyingModel) else DyingModel(self.backend)
                model.decodes = 0
                self.backend = model
            return super().render(task)

    return CrashingWorker


def clip_bytes(cache_dir: Path) -> dict[str, bytes]:
    """Every clip in a cache by key (not temp files: hidden, pid-stamped names)."""
    return {path.stem: path.read_bytes() for path in (cache_dir / "clips").rglob("*.mp4")
            if not path.name.startswith(".")}


@pytest.fixture(scope="module")
def tiny_project(tmp_path_factory, tiny_vae) -> Path:
    """The five-keyframe storyboard at 32x32, 6 fps, with the tiny random autoencoder (read-only)."""
    folder = tmp_path_factory.mktemp("tiny")
    return five_keyframe_storyboard(folder, tiny_vae, size=32, fps=6)


@pytest.fixture(scope="module")
def tiny_local(tiny_project, tmp_path_factory) -> tuple[Path, object]:
    """The local executor's render of `tiny_project`: (cache folder, result)."""
    cache = tmp_path_factory.mktemp("tiny-local-cache")
    return cache, render_with(tiny_project, cache, LOCAL, tiny_project.parent / "out" / "local.mp4")


@pytest.mark.parametrize("model", ["builtin", "tiny"])
def test_ray_renders_the_same_bytes_and_counts_as_local(model, ray_executors, tmp_path, tiny_vae):
    story = five_keyframe_storyboard(tmp_path / "p", "builtin" if model == "builtin" else tiny_vae,
                                     size=64 if model == "builtin" else 32, fps=4)
    local = render_with(story, tmp_path / "local", LOCAL, tmp_path / "local.mp4")
    recorder = Recorder()
    ray = ray_executors()
    on_ray = render_with(story, tmp_path / "ray", LOCAL, tmp_path / "ray.mp4", recorder, ray)
    assert (on_ray.rendered, on_ray.cached, on_ray.frames) == (local.rendered, local.cached, local.frames) == (
        4, 0, local.frames)
    assert (tmp_path / "ray.mp4").read_bytes() == (tmp_path / "local.mp4").read_bytes()
    assert clip_bytes(tmp_path / "ray") == clip_bytes(tmp_path / "local")
    # Progress: every clip (4 segments and the final frame) was shown on a worker, and its frames counted.
    shown = [label for _, label in recorder.workers if label is not None]
    assert len(shown) == len(set(shown)) == 5 and "final frame: k4" in shown, shown
    assert {worker for worker, _ in recorder.workers} <= {1, 2}
    assert recorder.frames == local.frames
    # Nothing missing: a second render on Ray renders nothing and starts no worker.
    fresh = ray_executors()
    again = render_with(story, tmp_path / "ray", LOCAL, tmp_path / "ray.mp4", executor=fresh)
    assert (again.rendered, again.cached) == (0, 4) and fresh.pool is None


def test_a_prores_4444_master_with_alpha_on_ray_is_the_local_bytes(ray_executors, tmp_path):
    """Workers encode with the recipe the clip key names (16-bit frames, the keyframes' alpha eased)."""
    import numpy as np
    from PIL import Image

    folder = tmp_path / "p"
    write_image(folder / "a.png", 1, (256, 128))
    colour = np.asarray(Image.open(write_image(folder / "b.png", 2, (256, 128))).convert("RGB"))
    alpha = np.tile(np.linspace(0, 255, 256, dtype=np.uint8), (128, 1))
    Image.fromarray(np.dstack([colour, alpha]), "RGBA").save(folder / "b.png")
    story = folder / "master.yaml"
    story.write_text("version: 1\noutput: {path: out/m.mov, size: [256, 128], fps: 4, codec: prores4444}\n"
                     "keyframes:\n  a: {image: a.png}\n  b: {image: b.png}\nsegments:\n  - {from: a, to: b, frames: 3}\n")
    local = render_with(story, tmp_path / "local", LOCAL, tmp_path / "local.mov")
    on_ray = render_with(story, tmp_path / "ray", LOCAL, tmp_path / "ray.mov", executor=ray_executors())
    assert (on_ray.rendered, on_ray.frames) == (local.rendered, local.frames) == (1, 4)
    assert (tmp_path / "ray.mov").read_bytes() == (tmp_path / "local.mov").read_bytes()
    assert clip_bytes(tmp_path / "ray") == clip_bytes(tmp_path / "local")
    assert read_track(tmp_path / "ray.mov").codec == "ap4h"


def test_a_morph_on_ray_uses_the_ends_the_driver_stored(ray_executors, tmp_path):
    """The driver traces a prompt's end and inverts a picture's once and stores them; the workers
    get them with the keyframes and draw the same bytes as a local render."""
    write_image(tmp_path / "p" / "photo.png", 5)
    story = tmp_path / "p" / "morph.yaml"
    story.write_text("version: 1\noutput: {path: out/m.mp4, size: [64, 64], fps: 4}\nmodel: builtin-emoji\n"
                     "defaults: {frames: 4, method: morph, steps: 6}\nkeyframes:\n  a: {prompt: cat face}\n"
                     "  b: {image: photo.png}\n  c: {prompt: dog face}\n"
                     "segments:\n  - {from: a, to: b}\n  - {from: b, to: c}\n")
    local = render_with(story, tmp_path / "local", LOCAL, tmp_path / "local.mp4")
    on_ray = render_with(story, tmp_path / "ray", LOCAL, tmp_path / "ray.mp4", executor=ray_executors())
    assert (on_ray.rendered, on_ray.frames) == (local.rendered, local.frames) == (2, 9)
    assert clip_bytes(tmp_path / "ray") == clip_bytes(tmp_path / "local")
    stored = sorted(p.name for p in (tmp_path / "ray" / "trajectories").rglob("*.safetensors"))
    assert len(stored) == 3  # a, b and c, once each: b is shared by both segments


def test_loras_and_a_controlnet_on_ray_draw_the_local_bytes(ray_executors, tmp_path):
    """The workers get each keyframe's LoRA weights and control picture with its endpoint, load the
    files from the same paths, and draw what a local render draws."""
    from controlkit import make_tiny_controlnet
    from lorakit import write_lora
    from tinysd import make_tiny_sd

    sd = make_tiny_sd(tmp_path / "p" / "tiny-sd")
    write_lora(sd, tmp_path / "p" / "style.safetensors")
    make_tiny_controlnet(sd, tmp_path / "p" / "cn")
    write_image(tmp_path / "p" / "photo.png", 5)
    story = tmp_path / "p" / "styled.yaml"
    story.write_text("version: 1\noutput: {path: out/s.mp4, size: [64, 64], fps: 4}\nmodel: ./tiny-sd\n"
                     "controlnet: ./cn\ndefaults: {frames: 4, steps: 2, method: morph, control: {scale: 0.8}}\n"
                     "keyframes:\n  a: {prompt: cat face}\n  b: {image: photo.png, lora: [{path: style.safetensors}]}\n"
                     "  c: {prompt: dog face, seed: 3}\nsegments:\n  - {from: a, to: b}\n  - {from: b, to: c}\n")
    local = render_with(story, tmp_path / "local", LOCAL, tmp_path / "local.mp4")
    on_ray = render_with(story, tmp_path / "ray", LOCAL, tmp_path / "ray.mp4", executor=ray_executors())
    assert (on_ray.rendered, on_ray.frames) == (local.rendered, local.frames) == (2, 9)
    assert clip_bytes(tmp_path / "ray") == clip_bytes(tmp_path / "local")


def test_an_edit_rerenders_only_the_touched_segments_on_ray(ray_executors, tiny_project, tiny_local, tmp_path):
    import shutil

    folder = tmp_path / "p"
    shutil.copytree(tiny_project.parent, folder, symlinks=True)
    story, cache = folder / tiny_project.name, tmp_path / "cache"
    shutil.copytree(tiny_local[0], cache)
    ray = ray_executors()
    assert render_with(story, cache, LOCAL, folder / "out" / "a.mp4", executor=ray).rendered == 0
    assert ray.pool is None  # nothing was missing: no worker was started
    write_image(folder / "kf" / "k2.png", seed=99)  # the third keyframe: segments 1 and 2 touch it
    on_ray = render_with(story, cache, LOCAL, folder / "out" / "ray.mp4", executor=ray)
    assert on_ray.rendered_segments == [1, 2] and on_ray.cached == 2
    local = render_with(story, tmp_path / "local", LOCAL, folder / "out" / "local.mp4")
    assert (folder / "out" / "ray.mp4").read_bytes() == (folder / "out" / "local.mp4").read_bytes()
    assert local.rendered == 4


def test_ray_and_local_clips_are_the_same_bytes_after_an_edit_whatever_the_thread_count(ray_executors, tmp_path):
    """Issue 24 item 1: Ray's CPU workers run one torch thread, this process two, and the keys name
    neither. The model and picture (tests/threadkit.py, found by search) round differently in bare
    torch with one thread and with two; every clip must still be the same bytes under the same key."""
    import torch
    from PIL import Image, ImageOps
    from threadkit import make_tiny_kl

    story = five_keyframe_storyboard(tmp_path / "p", make_tiny_kl(tmp_path / "kl"), size=64, fps=4)
    local, ray = tmp_path / "local", tmp_path / "ray"
    executor = ray_executors()
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        for edit in (False, True):
            if edit:  # invert the third keyframe: segments 1 and 2 render again
                picture = story.parent / "kf" / "k2.png"
                ImageOps.invert(Image.open(picture).convert("RGB")).save(picture)
            render_with(story, local, LOCAL, tmp_path / "local.mp4")
            render_with(story, ray, LOCAL, tmp_path / "ray.mp4", executor=executor)
            assert clip_bytes(ray) == clip_bytes(local)
            assert (tmp_path / "ray.mp4").read_bytes() == (tmp_path / "local.mp4").read_bytes()
    finally:
        torch.set_num_threads(before)
    assert len(clip_bytes(local)) == 5 + 2


def test_the_pool_is_kept_between_renders(ray_executors, tiny_project, tiny_local, tmp_path):
    """`seqc watch` renders many times with one executor (kept in its session): the workers (and
    their loaded models) stay, whichever cache a render uses, until the executor is closed."""
    executor = ray_executors()
    render_with(tiny_project, tmp_path / "a", LOCAL, tmp_path / "a.mp4", executor=executor)
    pool = executor.pool
    assert pool is not None
    pids = [info["pid"] for info in pool.info]
    assert render_with(tiny_project, tmp_path / "b", LOCAL, tmp_path / "b.mp4", executor=executor).rendered == 4
    assert executor.pool is pool and [info["pid"] for info in pool.info] == pids  # no model loaded again
    assert (tmp_path / "b.mp4").read_bytes() == (tiny_project.parent / "out" / "local.mp4").read_bytes()
    executor.close()
    assert executor.pool is None and pool.actors == [None] * pool.size


def test_a_worker_killed_mid_segment_is_replaced_and_nothing_partial_is_published(
        ray_executors, tiny_vae, tmp_path):
    # 128x128: every segment's clip streams into an ffmpeg of its own (a temp file on disk) when it dies.
    story = five_keyframe_storyboard(tmp_path / "p", tiny_vae, size=128, fps=6)
    local = render_with(story, tmp_path / "local", LOCAL, tmp_path / "local.mp4")
    marker = tmp_path / "crashed"
    dying = ray_executors(batch_size=1, worker_class=crashing_worker(str(marker)))  # the first one past a batch exits
    recorder = Recorder()
    cache = tmp_path / "cache"
    result = render_with(story, cache, LOCAL, tmp_path / "ray.mp4", recorder, dying)
    assert marker.exists(), "no worker crashed: the test's worker class did not run"
    assert any("died while rendering" in w for w in recorder.warnings), recorder.warnings
    assert (result.rendered, result.cached) == (local.rendered, local.cached) == (4, 0)
    assert (tmp_path / "ray.mp4").read_bytes() == (tmp_path / "local.mp4").read_bytes()
    assert clip_bytes(cache) == clip_bytes(tmp_path / "local")
    # The cache verifies and holds exactly the plan's clips: what the dead worker wrote is at most a
    # temp file (a hidden, pid-stamped name no reader takes), which the next render removes.
    assert Cache(cache).verify() == []
    assert run_seqc("cache", "verify", "--cache-dir", str(cache)).returncode == 0
    entries = {p.name.split(".")[0] for p in (cache / "clips").rglob("*") if p.is_file() and not p.name.startswith(".")}
    assert entries == set(clip_bytes(tmp_path / "local"))
    dying.close()
    assert render_with(story, cache, LOCAL, tmp_path / "again.mp4", executor=ray_executors()).rendered == 0
    assert not [p for p in (cache / "clips").rglob(".*") if p.is_file()]


def test_a_worker_whose_model_differs_refuses(tiny_vae, tmp_path):
    """Unit level (no Ray): the worker checks the model it finds at the path against the plan's."""
    from seqc.cluster.worker import SegmentWorker, Task, WorkerRefused
    from seqc.models import resolve_model

    story = five_keyframe_storyboard(tmp_path / "p", tiny_vae, size=32, fps=4)
    cache = Cache(tmp_path / "cache")
    plan = compile_plan(load_storyboard(story, images=cache), cache)
    worker = SegmentWorker()
    ref = resolve_model(str(tiny_vae), tmp_path)
    root = str(tmp_path / "cache")
    with pytest.raises(WorkerRefused, match="another model at .*same model folder at the same path"):
        worker.load(ref, "cpu", "auto", "0" * 64, root)
    assert worker.load(ref, "cpu", "auto", plan.model, root)["precision"] == "float32"
    task = Task(plan.jobs[0], "f" * 64, plan.precision, None, None, None, None, (32, 32), 4.0, 1, root)
    with pytest.raises(WorkerRefused, match="planned with ffffffffffff"):
        worker.render(task)
    # Another ffmpeg build (it is in every clip key) is refused too.
    other = dataclasses.replace(plan.jobs[0], inputs={**plan.jobs[0].inputs, "encoder": {
        **plan.jobs[0].inputs["encoder"], "ffmpeg": "imageio-ffmpeg 0.0.1 elsewhere"}})
    with pytest.raises(WorkerRefused, match="install the same imageio-ffmpeg release"):
        worker.render(dataclasses.replace(task, job=other, model=plan.model))
    assert not list((tmp_path / "cache").rglob("*.mp4"))  # refused before rendering anything


def test_the_cli_joins_the_cluster_with_ray_address(ray_cluster, tiny_project, tiny_local, tmp_path):
    cache = tmp_path / "cache"
    out = tmp_path / "cli.mp4"
    result = render_json(tiny_project, cache, "--executor", "ray", "--ray-address", ray_cluster,
                         "--workers", "2", "--device", "cpu", "-o", str(out))
    assert (result["rendered"], result["cached"]) == (4, 0)
    assert out.read_bytes() == (tiny_project.parent / "out" / "local.mp4").read_bytes()


def test_importing_seqc_never_imports_ray():
    code = ("import sys\n"
            "import seqc.cli.main, seqc.render.driver, seqc.render.execute, seqc.outputs.produce, seqc.cluster\n"
            "import seqc.cluster.executor, seqc.render.session\n"
            "import seqc.watch.watcher, seqc.ui.progress\n"
            "print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120,
                         env={**os.environ})
    assert out.stdout.strip() == "False"


def test_the_progress_display_has_a_line_per_worker(tiny_project):
    """seqc.ui.progress: what `worker(n, job)` shows: the segment a worker renders, then idle, filled."""
    import io

    from rich.console import Console
    from rich.progress import Progress

    from seqc.ui.progress import ProgressReporter

    cache = Cache(tiny_project.parent / "progress-cache")
    plan = compile_plan(load_storyboard(tiny_project, images=cache), cache)
    progress = Progress(console=Console(file=io.StringIO(), width=200))
    reporter = ProgressReporter(progress=progress)
    reporter.begin(plan, list(plan.clip_jobs), plan.total_frames)
    reporter.worker(1, plan.jobs[1])
    reporter.worker(2, plan.jobs[0])
    lines = {task.description.strip(): (task.completed, task.total) for task in progress.tasks}
    assert lines["worker 1: segment 1: k1 -> k2"] == (0, 10)
    assert lines["worker 2: segment 0: k0 -> k1"] == (0, 6)
    reporter.worker(1, None)
    reporter.advance(10)
    lines = {task.description.strip(): (task.completed, task.total) for task in progress.tasks}
    assert lines["worker 1: idle"] == (10, 10)
    assert progress.tasks[0].completed == 10  # the whole render's bar


def test_workers_push_to_the_remote_and_a_teammate_renders_nothing(ray_executors, tiny_project, tiny_local,
                                                                    tmp_path):
    """With --remote, each worker pushes its clip; a fresh cache (another machine) then fetches every
    clip instead of rendering it."""
    pytest.importorskip("fsspec")
    remote = f"file://{tmp_path / 'remote'}"
    (tmp_path / "remote").mkdir()
    with_remote = dataclasses.replace(LOCAL, remote=remote)
    first = render_with(tiny_project, tmp_path / "a", with_remote, tmp_path / "a.mp4",
                        executor=ray_executors(remote=remote))
    assert first.rendered == 4
    teammate = render_with(tiny_project, tmp_path / "b", dataclasses.replace(LOCAL, remote=remote), tmp_path / "b.mp4")
    assert (teammate.rendered, teammate.cached, teammate.fetched) == (0, 4, 4)
    assert (tmp_path / "b.mp4").read_bytes() == (tiny_project.parent / "out" / "local.mp4").read_bytes()


def test_a_clip_the_driver_cannot_find_is_a_clear_error(tiny_project, tmp_path):
    """A worker on another machine, with neither a shared cache folder nor a remote (unit level)."""
    from seqc.cluster.executor import locate
    from seqc.errors import RenderError

    cache = Cache(tmp_path / "empty")
    plan = compile_plan(load_storyboard(tiny_project, images=cache), cache)
    with pytest.raises(RenderError, match=r"rendered by a Ray worker on gpu-7, but its clip is not in this "
                                          r"machine's cache .*share the cache folder .* or pass --remote URL"):
        locate(cache, plan.jobs[0], {"host": "gpu-7"}, None)


def test_joining_ray_keeps_seqcs_sigterm_handler(ray_cluster, tmp_path):
    """ray.init installs its own SIGTERM handler (sys.exit(15)); `kill` must still stop a Ray render
    the way it stops any seqc command (seqc.interrupts, exit 143)."""
    code = ("import signal\n"
            "from seqc import interrupts\n"
            "from seqc.cluster.connect import connect\n"
            "with interrupts.stop_signals():\n"
            "    ours = signal.getsignal(signal.SIGTERM)\n"
            f"    connect({ray_cluster!r})\n"
            "    print(signal.getsignal(signal.SIGTERM) is ours)\n")
    child = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "True"
