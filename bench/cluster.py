"""Scenario `cluster`: segments on Ray workers (`--executor ray`), issue 15.

Measured in this process, on one local Ray (127.0.0.1, as many CPUs as the machine has):

1. Ray's fixed start-up: `ray.init`, then a pool of 1 worker (actor creation plus model load;
   the model load in the worker is reported apart), then the pool of 2 used below.
2. In rounds (the fastest of each kept; the machine is shared, so they alternate): the local
   executor with one torch thread, T_local; the pool of 2 with one worker left idle, T_1; the pool
   of 2, T_2. Each renders the same missing segments into a fresh copy of a cache holding the
   keyframe latents, so only the segments are timed. The speed-up is T_1 / T_2; all must give
   the same bytes.
3. Ray's cost per segment: (T_1 - T_local) / N, which includes the worker finishing each clip
   before it answers (the local executor overlaps that with the next decode); and the round trip
   of a job whose clip is cached (the call, the worker's check of the clip, the answer).
4. The remote cache's pull against rendering (bench/remote.py).
"""

from __future__ import annotations

import logging
import os
import shutil
import statistics
import time
from pathlib import Path

from bench.workload import plan_project


def _settings(bench) -> dict:
    """16 segments of 24 frames at 128x128 with the model benched (smoke: 4 tiny ones, one round)."""
    if bench.settings.name == "smoke":
        return {"segments": 4, "size": 32, "frames": 2, "rounds": 1}
    return {"segments": 16, "size": 128, "frames": 24, "rounds": 2}


def _render(project, cache: Path, options, out: Path, executor=None):
    """Plan and render in this process, writing the video: (seconds of the render step, result).
    `executor` None renders locally."""
    from seqc.backends.precision import planned_precision
    from seqc.outputs.produce import VideoOutput, produce
    from seqc.plan import compile_plan
    from seqc.spec import load_storyboard
    from seqc.store import Cache

    store = Cache(cache)
    plan = compile_plan(load_storyboard(project.story, images=store), store,
                        precision=planned_precision(options.device, options.dtype))
    started = time.perf_counter()
    result = produce(plan, store, options, VideoOutput(out), executor=executor)
    return time.perf_counter() - started, result, plan


def _clips(cache: Path) -> dict[str, bytes]:
    return {p.stem: p.read_bytes() for p in (cache / "clips").rglob("*.mp4") if not p.name.startswith(".")}


def _without_clips(source: Path, target: Path) -> Path:
    """A copy of a cache with its latents but none of its clips: only the segments are left to render."""
    shutil.copytree(source, target)
    shutil.rmtree(target / "clips", ignore_errors=True)
    for stamp in (target / "runs").glob("*.stamp.json"):
        stamp.unlink()
    return target


def scenario_cluster(bench) -> dict:
    """1 worker against 2 on a local Ray (one torch thread each): speed-up, same bytes, overheads."""
    import importlib.util

    from bench.scenarios import figure, r

    if importlib.util.find_spec("ray") is None:
        return {"title": "Segments on Ray workers", "figures": [], "skipped": "Ray is not installed: "
                "pip install -e '.[ray]'", "details": {}}
    import torch

    from seqc.backends.precision import planned_precision
    from seqc.plan import compile_plan
    from seqc.render.options import RenderOptions
    from seqc.render.progress import Reporter
    from seqc.spec import load_storyboard
    from seqc.store import Cache

    cfg = _settings(bench)
    n = cfg["segments"]
    project = plan_project(bench.folder("cluster_project"), bench.model, n, cfg["size"], frames=cfg["frames"])
    base = RenderOptions(device="cpu", dtype=bench.dtype)
    threads = torch.get_num_threads()
    latents = bench.workdir / "cluster_latents"
    _render(project, latents, base, bench.workdir / "cluster_reference.mp4")  # latents cached, model loaded
    reference = (bench.workdir / "cluster_reference.mp4").read_bytes()
    store = Cache(latents)
    plan = compile_plan(load_storyboard(project.story, images=store), store,
                        precision=planned_precision(base.device, base.dtype))
    assert plan.storyboard.model_ref is not None
    # 1. A local Ray on the loopback interface, usage statistics off, no dashboard; the pools' start.
    os.environ.update(RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled", RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")
    import ray

    from seqc.cluster import executor
    from seqc.cluster.worker import Task

    on_ray = executor.RayExecutor(workers=2, device=base.device, dtype=base.dtype)

    started = time.perf_counter()
    ray.init(num_cpus=os.cpu_count() or 2, include_dashboard=False, logging_level=logging.WARNING,
             log_to_driver=False)
    init_s = time.perf_counter() - started
    pools: dict[int, dict] = {}
    times: dict[str, list[float]] = {"local": [], "1": [], "2": []}
    same: dict[str, bool] = {}
    round_trip_ms: list[float] = []
    try:
        for workers in (1, 2):
            spec = executor.PoolSpec(plan.storyboard.model_ref, plan.model, base.device, base.dtype, workers,
                                     str(latents))
            on_ray.close()
            t0 = time.perf_counter()
            pool = on_ray.pool_for(ray, spec, Reporter())
            pools[workers] = {"start_s": r(time.perf_counter() - t0, 3), "size": pool.size,
                              "model_load_s": [r(info["seconds"], 3) for info in pool.info]}
        # 2. The rounds: local (one torch thread), 1 worker (the other idle), 2 workers.
        for round_ in range(cfg["rounds"]):
            for variant in ("local", "1", "2"):
                cache = _without_clips(latents, bench.workdir / f"cluster_{variant}_{round_}")
                out = bench.workdir / f"cluster_{variant}_{round_}.mp4"
                if variant == "local":
                    torch.set_num_threads(1)
                    try:
                        seconds, result, _ = _render(project, cache, base, out)
                    finally:
                        torch.set_num_threads(threads)
                else:
                    pool.size = int(variant)  # T_1: the same pool with its second worker left idle
                    try:
                        seconds, result, _ = _render(project, cache, base, out, on_ray)
                    finally:
                        pool.size = len(pool.actors)
                    assert on_ray.pool is pool, "the render started another pool"
                assert result.rendered == n, result.as_dict()
                times[variant].append(seconds)
                same[f"{variant}_{round_}"] = out.read_bytes() == reference and _clips(cache) == _clips(latents)
        # 3. The round trip of a job whose clip is cached: the call, the worker's check, the answer.
        cached = bench.workdir / f"cluster_2_{cfg['rounds'] - 1}"
        for job in plan.jobs:
            task = Task(job, plan.model, plan.precision, None, None, None, None, plan.storyboard.output.size,
                        plan.storyboard.output.fps, None, str(cached))
            t0 = time.perf_counter()
            answer = ray.get(pool.actors[0].render.remote(task))
            round_trip_ms.append(1000 * (time.perf_counter() - t0))
            assert not answer["rendered"], answer
    finally:
        on_ray.close()
        ray.shutdown()
    # 3. The remote cache: pulling N clips against rendering them (bench/remote.py, by the remote cache's author).
    #    Written beside this scenario (issue 15, part 3); called as soon as it exists.
    pull = None
    if importlib.util.find_spec("bench.remote") is not None:
        from bench.remote import measure_pull_vs_render

        pull = measure_pull_vs_render(bench.folder("cluster_remote"), bench.model, n)
    t_local, t1, t2 = min(times["local"]), min(times["1"]), min(times["2"])
    speedup = t1 / t2 if t2 > 0 else float("nan")
    per_segment_ms = 1000 * (t1 - t_local) / n
    startup_s = init_s + pools[1]["start_s"]
    rounds = f"fastest of {cfg['rounds']} alternated round{'s' if cfg['rounds'] != 1 else ''}"
    figures = [
        figure(f"speed-up, 2 workers against 1 ({n} segments, one torch thread each)", r(speedup, 2), "x",
               (">=", 1.6), f"T_1 {t1:.2f} s, T_2 {t2:.2f} s, render step, {rounds}; T_1 is the pool of 2 "
                            "with one worker idle"),
        figure("same output bytes: local, 1 worker, 2 workers", all(same.values()), "", ("==", True),
               "the video and every clip, byte for byte, every round"),
        figure("Ray fixed start-up: ray.init + 1 worker (actor + model load)", r(startup_s, 2), "s",
               note=f"ray.init {init_s:.2f} s, pool of 1 {pools[1]['start_s']:.2f} s (model load in the worker "
                    f"{pools[1]['model_load_s'][0]:.2f} s), pool of 2 {pools[2]['start_s']:.2f} s"),
        figure("Ray cost per segment rendered, (T_1 - T_local) / N", r(per_segment_ms, 1), "ms",
               note=f"T_local {t_local:.2f} s (local executor, one torch thread), T_1 {t1:.2f} s, N {n}, {rounds}"),
        figure("Ray round trip of a job whose clip is cached (median)", r(statistics.median(round_trip_ms), 1), "ms",
               note=f"{len(round_trip_ms)} jobs: the call, the worker's check of the clip (hash), the answer; "
                    f"max {max(round_trip_ms):.1f} ms"),
    ]
    if pull is not None:
        figures += [
            figure(f"remote ({pull['backend']}): rendering {pull['segments']} segments / a fresh machine's render "
                   "that pulls their clips (CLI wall)", pull["ratio_render_over_pull"], "x",
                   note=f"render {pull['render_s']:.2f} s, render pulling from the remote "
                        f"{pull['render_with_remote_s']:.2f} s; same output: {pull['same_output']}"),
            figure("remote: fetching a clip against rendering it (in process)", pull["ratio_render_over_fetch"], "x",
                   note=f"{1000 * pull['fetch_s_per_clip']:.1f} ms per clip fetched and verified, "
                        f"{pull['render_s_per_segment']:.2f} s per segment rendered"),
        ]
    else:
        # CALL SITE: bench/remote.py `measure_pull_vs_render(workdir, model, n) -> dict` (the remote cache's
        # scenario part) was not there when this ran; it is called above as soon as it exists.
        figures.append(figure("remote: pull N clips vs render them", None, "", note="bench/remote.py not there yet"))
    return {
        "title": f"Segments on Ray workers: {n} segments of {cfg['frames']} frames at {cfg['size']}x{cfg['size']} "
                 f"({bench.model_label}, CPU, local Ray)",
        "figures": figures,
        "details": {"times_s": {k: [r(t, 3) for t in v] for k, v in times.items()}, "ray_init_s": r(init_s, 3),
                    "pools": pools, "same_bytes": same, "round_trip_ms": [r(t, 2) for t in round_trip_ms],
                    "settings": cfg, "remote": pull},
    }
