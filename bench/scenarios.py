"""The seven scenarios. Each returns a dict: title, figures (value, target, pass), details.

A figure's target is (operator, threshold); `pass` is None for figures that are reported
only. Every scenario records the load average before and after it: the machine is shared.
"""

from __future__ import annotations

import gc
import math
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from bench import cluster, codecs, inprocess, morphs, prompts, speedups, warm
from bench.measure import (
    median,
    plan_in_fresh_process,
    run_python,
    run_seqc,
    run_seqc_peak_rss,
    run_seqc_probe,
)
from bench.workload import (
    Project,
    keyframe_picture,
    plan_project,
    sd15_autoencoder,
    single_segment_project,
    timeline_project,
)

MIB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """Sizes of one benchmark mode. `full` is the reference; the others say how they differ."""

    name: str = "full"
    size: int = 256
    fps: float = 24
    segment_seconds: float = 2.0
    keyframes: int = 10
    batch_size: int | None = None  # None: render's own default for the device (8 on a GPU, 1 on the CPU)
    repeats: int = 3  # ceiling/render pairs in scenario 1, alternated (the fastest of each is kept)
    plan_sizes: tuple[int, ...] = (10, 100, 1000)
    plan_runs: int = 3
    noop_runs: int = 5
    memory_frames: tuple[int, int] = (60, 600)
    session_edits: int = 5
    speedup_frames: int = 48
    overlap_segments: int = 3
    overlap_rounds: int = 2
    import_breakdown: bool = True  # scenario 2: one more process start, under -X importtime
    gpu_size: int = 512
    scale_segments: int = 1000  # scenario 8: distinct 2-frame segments ...
    scale_size: int = 32  # ... at this size, with the tiny random autoencoder
    scale_small: int = 10  # the short storyboard the memory figure compares with
    # scenario 12: mezzanine codecs rendered once each besides the alternated h264/prores rounds
    codec_extras: tuple[str, ...] = ("dnxhr", "ffv1")

    @property
    def frames_per_segment(self) -> int:
        return max(1, round(self.segment_seconds * self.fps))

    def changes(self) -> dict:
        """What this mode changes from the full run: {field: [full value, this value]}."""
        full = Settings()
        return {f.name: [getattr(full, f.name), getattr(self, f.name)] for f in fields(self)
                if f.name != "name" and getattr(full, f.name) != getattr(self, f.name)}


FULL = Settings()
# Quick keeps scenario 5's 60 vs 600 frames: with fewer, the short render ends before the
# allocator's heap has grown to its steady size and the ratio measures that instead.
QUICK = replace(FULL, name="quick", fps=12, segment_seconds=1.0, repeats=2, noop_runs=3,
                plan_runs=2, session_edits=2, speedup_frames=16, overlap_segments=2, overlap_rounds=1,
                import_breakdown=False)
SMOKE = replace(FULL, name="smoke", size=64, fps=8, segment_seconds=0.5, keyframes=6, plan_sizes=(5, 10, 20),
                repeats=1, plan_runs=1, noop_runs=1, memory_frames=(8, 24), session_edits=1, speedup_frames=8,
                overlap_segments=2, overlap_rounds=1, import_breakdown=False, gpu_size=64,
                scale_segments=20, scale_small=4, codec_extras=("ffv1",))  # dnxhr: >= 256x120
MODES = {"full": FULL, "quick": QUICK, "smoke": SMOKE}


@dataclass
class Bench:
    """What every scenario needs: the mode, the model, the device, a scratch folder, shared state."""

    settings: Settings
    model: str | Path  # "builtin" or a folder
    model_label: str
    device: str
    dtype: str
    workdir: Path
    state: dict = field(default_factory=dict)  # e.g. the scenario 2 project, reused by 3 and 6

    def folder(self, name: str) -> Path:
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def render_args(self, project: Project, *extra: str) -> list[str]:
        batch = ["--batch-size", str(self.settings.batch_size)] if self.settings.batch_size else []
        return ["render", str(project.story), "--cache-dir", str(project.cache), "--json", "--quiet",
                "--device", self.device, "--dtype", self.dtype, *batch, *extra]


def figure(label: str, value, unit: str = "", target: tuple[str, object] | None = None, note: str = "") -> dict:
    """One reported number with its target and whether it meets it (None: reported only)."""
    passed = None
    if target is not None and value is not None:
        op, limit = target
        if isinstance(value, float) and math.isnan(value):
            passed = False
        elif op == "<=":
            passed = value <= limit
        elif op == ">=":
            passed = value >= limit
        elif op == "==":
            passed = value == limit
        else:
            raise ValueError(f"unknown operator {op!r}")
    return {"label": label, "value": value, "unit": unit,
            "target": None if target is None else [target[0], target[1]], "pass": passed, "note": note}


def r(x: float, digits: int = 3) -> float:
    return round(float(x), digits)


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("nan")


# ---------------------------------------------------------------------------------------------
# 1. Throughput vs the model's own limit


def measure_throughput(bench: Bench, project: Project, device: str, dtype: str, repeats: int,
                       backend=None) -> dict:
    """Scenario 1's measurement on one project: decode ceiling vs in-process render.

    1. Load the model, encode the keyframe latents into the cache, warm up (not timed).
    2. Alternate `repeats` times: the pure decode loop, then render() of every segment;
       keep the fastest of each. The render is instrumented to say where its time went.
    """
    loaded = inprocess.load(project, device, dtype, bench.settings.batch_size, backend)
    ceiling = render = None
    breakdown = None
    runs = []
    for _ in range(repeats):
        c = inprocess.decode_ceiling(loaded)
        b = inprocess.Breakdown()
        t = inprocess.render_segments(loaded, b)
        runs.append({"ceiling_s": r(c.wall, 3), "render_s": r(t.wall, 3)})
        if ceiling is None or c.wall < ceiling.wall:
            ceiling = c
        if render is None or t.wall < render.wall:
            render, breakdown = t, b
    assert ceiling is not None and render is not None and breakdown is not None
    return {"loaded": loaded, "ceiling": ceiling, "render": render, "breakdown": breakdown, "runs": runs}


def throughput_figures(m: dict, prefix: str = "") -> tuple[list[dict], dict]:
    loaded, ceiling, render = m["loaded"], m["ceiling"], m["render"]
    frames = loaded.frames
    ratio = _ratio(render.wall, ceiling.wall)
    parts = m["breakdown"].seconds
    decode_in_render = parts.get("model decode", 0.0)
    own = sum(v for k, v in parts.items() if k != "model decode")
    unaccounted = render.wall - decode_in_render - own
    figures = [
        figure(f"{prefix}decode ceiling (model alone)", r(frames / ceiling.wall, 2), "frames/s"),
        figure(f"{prefix}in-process render", r(frames / render.wall, 2), "frames/s"),
        figure(f"{prefix}render time / decode time", r(ratio), "x", ("<=", 1.10),
               f"seqc's overhead {100 * (ratio - 1):.1f}% of the model's time (fastest of "
               f"{len(m['runs'])} alternated runs each)"),
        figure(f"{prefix}same, in CPU seconds", r(_ratio(render.cpu, ceiling.cpu)), "x",
               note="ffmpeg's CPU included"),
        figure(f"{prefix}seqc's own work / model decode, inside the render", r(_ratio(own, decode_in_render)),
               "x", ("<=", 0.10),
               f"interpolation, writes, clip checks, publish, concat; +{unaccounted:.2f} s elsewhere; "
               "same time window, so load hits both alike"),
    ]
    details = {
        "frames": frames, "batch_size": loaded.batch_size, "device": loaded.device,
        "model_load_s": r(loaded.load_seconds), "ceiling": ceiling.as_dict(), "render": render.as_dict(),
        "render_breakdown": m["breakdown"].as_dict(), "runs": m["runs"],
        "median_ratio": r(_ratio(median([x["render_s"] for x in m["runs"]]),
                                 median([x["ceiling_s"] for x in m["runs"]]))),
    }
    return figures, details


def scenario_throughput(bench: Bench) -> dict:
    """A full render of 10 keyframes / 9 segments, in process, against the decode ceiling."""
    s = bench.settings
    project = timeline_project(bench.folder("s1"), bench.model, s.size, s.fps, s.keyframes, s.frames_per_segment)
    m = measure_throughput(bench, project, bench.device, bench.dtype, s.repeats)
    bench.state["loaded"] = m["loaded"]  # the speed-up comparisons reuse the model and latents
    bench.state["render_s"] = m["render"].wall
    figures, details = throughput_figures(m)
    details.update(segments=s.keyframes - 1, frames_per_segment=s.frames_per_segment, size=s.size, fps=s.fps)
    return {"title": f"Throughput: {s.keyframes - 1} segments in process vs the model's decode loop",
            "figures": figures, "details": details}


# ---------------------------------------------------------------------------------------------
# 2. Incremental edit (CLI)


_MODEL_START = """\
import json, sys, time
t0 = time.perf_counter()
from seqc.backends import load_backend
from seqc.spec import load_storyboard
ref = load_storyboard(sys.argv[1]).model_ref
t1 = time.perf_counter()
load_backend(ref, sys.argv[2], sys.argv[3])
t2 = time.perf_counter()
print(json.dumps({"imports_s": t1 - t0, "load_s": t2 - t1}))
"""


def scenario_incremental(bench: Bench) -> dict:
    """Full CLI render, then replace one middle keyframe's image and render again."""
    s = bench.settings
    # 1. A fresh project and cache: the full render (CLI), as a user's first render.
    project = timeline_project(bench.folder("s2"), bench.model, s.size, s.fps, s.keyframes, s.frames_per_segment)
    segments = s.keyframes - 1
    full = run_seqc(bench.render_args(project), project.folder)
    assert full.json()["rendered"] == segments, full.json()
    # 2. Replace the image of a middle keyframe (it ends one segment and starts the next).
    index = (s.keyframes - 1) // 2
    project.set_image(project.keyframes[index], keyframe_picture(index, s.size, variant=1))
    edit = run_seqc(bench.render_args(project), project.folder)
    assert edit.json()["rendered"] == 2, edit.json()
    bench.state["project"] = project
    frames = segments * s.frames_per_segment + 1
    # 4. The same edit in scenario 1's process, model loaded (what `seqc watch` does on a save).
    inproc = None
    if "loaded" in bench.state:
        loaded = bench.state["loaded"]
        name = loaded.project.keyframes[index]
        inproc, result = inprocess.render_edit(loaded, name, keyframe_picture(index, s.size, variant=1))
        assert result["rendered"] == 2, result
    ratio = _ratio(edit.timing.wall, full.timing.wall)
    touched = 2 * s.frames_per_segment
    figures = [
        figure("full render (CLI wall)", r(full.timing.wall, 2), "s",
               note=f"{frames / full.timing.wall:.2f} frames/s end to end, start-up included"),
        figure("edit re-render (CLI wall)", r(edit.timing.wall, 2), "s",
               note=f"2 of {segments} segments re-rendered"),
        figure("edit / full", r(ratio), "x", ("<=", 0.25),
               f"the edit touches {touched / frames:.2f} of the frames"),
    ]
    details = {"full": full.timing.as_dict(), "edit": edit.timing.as_dict(),
               "edited_keyframe": project.keyframes[index], "frames": frames, "frames_rerendered": touched}
    if inproc is not None:
        figures.append(figure("edit / full, in process (model stays loaded, as in seqc watch)",
                              r(_ratio(inproc.wall, bench.state["render_s"])), "x", ("<=", 0.25),
                              f"{inproc.wall:.2f} s vs scenario 1's {bench.state['render_s']:.2f} s; "
                              "keyframe encode, 2 segments, concat"))
        details["edit_in_process"] = inproc.as_dict()
    # 3. What any render process pays before its first frame: Python, torch, diffusers, the
    #    model (skipped in --smoke: one more process start). Which packages the imports cost.
    if s.name != "smoke":
        probe_args = ["-c", _MODEL_START, str(project.story), bench.device, bench.dtype]
        start = run_python(probe_args, project.folder)
        info = start.json()
        by_package = {}
        note = f"imports {info['imports_s']:.2f} s, model load (with torch and diffusers) {info['load_s']:.2f} s"
        if s.import_breakdown:
            by_package = import_costs(run_python(["-X", "importtime", *probe_args], project.folder).stderr)
            note += "; imports by package: " + ", ".join(f"{k} {v:.1f} s" for k, v in list(by_package.items())[:6])
        figures += [
            figure("process start-up (imports + model load)", r(start.timing.wall, 2), "s",
                   note=f"every render that renders anything pays it; {note}"),
            figure("edit / full, start-up taken out of both", r(_ratio(edit.timing.wall - start.timing.wall,
                                                                      full.timing.wall - start.timing.wall)),
                   "x", note="what the cache itself achieves"),
        ]
        details["startup"] = {**start.timing.as_dict(), **info,
                              "import_s_by_package": dict(list(by_package.items())[:15])}
    return {"title": "Incremental edit: one middle keyframe replaced, CLI re-render vs full CLI render",
            "figures": figures, "details": details}


def import_costs(importtime_stderr: str) -> dict[str, float]:
    """Seconds of `-X importtime` self time per top-level package, largest first."""
    totals: dict[str, float] = {}
    for line in importtime_stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[0].startswith("import time:"):
            continue
        try:
            self_us = int(parts[0].split(":")[1])
        except ValueError:
            continue
        package = parts[2].strip().split(".")[0]
        totals[package] = totals.get(package, 0.0) + self_us / 1e6
    return {k: round(v, 3) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])}


# ---------------------------------------------------------------------------------------------
# 3. No-op (CLI)


def scenario_noop(bench: Bench) -> dict:
    """Render the unchanged storyboard again: wall seconds, and proof torch never loaded."""
    project: Project = bench.state["project"]
    # 1. The last render (scenario 2's edit) left the output and the run record current.
    before = project.output.stat().st_mtime_ns
    # 2. The no-op, as a user runs it, several times; a bare interpreter start for scale.
    walls, cpus = [], []
    for _ in range(bench.settings.noop_runs):
        run = run_seqc(bench.render_args(project), project.folder)
        assert run.json()["rendered"] == 0, run.json()
        walls.append(run.timing.wall)
        cpus.append(run.timing.cpu)
    bare = run_python(["-c", "pass"], project.folder).timing
    imports = import_costs(run_python(["-X", "importtime", "-m", "seqc", *bench.render_args(project)],
                                      project.folder).stderr)
    # 3. Once more through seqc.cli.main, then look at sys.modules.
    probe, report = run_seqc_probe(bench.render_args(project), project.folder)
    assert report["rc"] == 0, report
    rewritten = project.output.stat().st_mtime_ns != before
    return {
        "title": "No-op: the unchanged storyboard rendered again (CLI)",
        "figures": [
            figure("no-op render (CLI wall, median)", r(median(walls), 3), "s", ("<=", 0.5),
                   f"fastest {min(walls):.3f} s of {len(walls)}; CPU {median(cpus):.3f} s; "
                   f"bare `python -c pass` {bare.wall:.3f} s"),
            figure("imports of a no-op (-X importtime, self time)", r(sum(imports.values()), 3), "s",
                   note=", ".join(f"{k} {v:.2f}" for k, v in list(imports.items())[:5])),
            figure("torch imported", report["torch_imported"], "", ("==", False),
                   "seqc.cli.main.main() then 'torch' in sys.modules"),
            figure("output file rewritten", rewritten, "", ("==", False)),
        ],
        "details": {"walls_s": [r(w, 4) for w in walls], "cpu_s": [r(c, 4) for c in cpus],
                    "bare_python": bare.as_dict(), "probe": {**probe.timing.as_dict(), **report},
                    "import_s_by_package": dict(list(imports.items())[:15])},
    }


# ---------------------------------------------------------------------------------------------
# 4. Plan at scale


def scenario_plan(bench: Bench) -> dict:
    """`seqc plan` on storyboards of 10, 100 and 1,000 segments, warm (keyframe hashes memoised)."""
    s = bench.settings
    # 1. The storyboards: N segments over N + 1 distinct keyframe files.
    projects = {n: plan_project(bench.folder(f"s4_{n}"), bench.model, n, s.size) for n in s.plan_sizes}
    # 2. Warm: wait until the files are older than the memo's racy window, then plan once.
    time.sleep(2.2)
    for project in projects.values():
        run_seqc(["plan", str(project.story), "--cache-dir", str(project.cache)], project.folder)
    # 3. Time the CLI and the in-process work (a fresh process each, imports excluded).
    rows = {}
    for n, project in projects.items():
        cli = [run_seqc(["plan", str(project.story), "--cache-dir", str(project.cache)], project.folder).timing.wall
               for _ in range(s.plan_runs)]
        inproc = [plan_in_fresh_process(project.story, project.cache) for _ in range(s.plan_runs)]
        best = min(inproc, key=lambda x: x["total_s"])
        rows[n] = {"cli_s": min(cli), "cli_runs_s": [r(x, 4) for x in cli], "compile_s": best["total_s"],
                   "load_s": best["load_s"], "keys_s": best["compile_s"]}
    small, mid, big = s.plan_sizes[0], s.plan_sizes[-2], s.plan_sizes[-1]
    growth = math.log(rows[big]["compile_s"] / rows[mid]["compile_s"]) / math.log(big / mid)
    figures = []
    for n in s.plan_sizes:
        row = rows[n]
        figures.append(figure(f"{n} segments: CLI wall", r(row["cli_s"], 3), "s",
                              ("<=", 1.0) if n == big else None,
                              f"{1000 * row['cli_s'] / n:.2f} ms/segment"))
        figures.append(figure(f"{n} segments: in-process plan", r(row["compile_s"], 4), "s",
                              ("<=", 0.3) if n == big and big >= 1000 else None,
                              note=f"{1000 * row['compile_s'] / n:.3f} ms/segment (validate "
                                   f"{row['load_s']:.3f} s + keys {row['keys_s']:.3f} s)"))
    figures.append(figure(f"growth exponent, {mid} -> {big} segments (in process)", r(growth, 2), "",
                          ("<=", 1.2), "1.0 is linear"))
    cli_growth = _ratio(rows[big]["cli_s"] - rows[small]["cli_s"], (big - small))
    return {"title": "Plan at scale: seqc plan, warm", "figures": figures,
            "details": {"rows": {str(n): {k: (r(v, 4) if isinstance(v, float) else v) for k, v in row.items()}
                                 for n, row in rows.items()},
                        "cli_marginal_ms_per_segment": r(1000 * cli_growth, 3)}}


# ---------------------------------------------------------------------------------------------
# 5. Memory vs length


def scenario_memory(bench: Bench) -> dict:
    """Peak RSS of a CLI render of a short and a ten times longer video (one segment each)."""
    s = bench.settings
    peaks, walls = {}, {}
    for frames in s.memory_frames:
        project = single_segment_project(bench.folder(f"s5_{frames}"), bench.model, s.size, s.fps, frames)
        timing, peak, report = run_seqc_peak_rss(bench.render_args(project), project.folder)
        peaks[frames], walls[frames] = peak, timing.wall
    short, long = s.memory_frames
    ratio = _ratio(peaks[long], peaks[short])
    return {
        "title": f"Memory vs length: peak RSS rendering {short} vs {long} frames (CLI)",
        "figures": [
            figure(f"peak RSS, {short} frames", r(peaks[short] / MIB, 1), "MiB"),
            figure(f"peak RSS, {long} frames", r(peaks[long] / MIB, 1), "MiB"),
            figure("long / short", r(ratio), "x", ("<=", 1.1), "frames are streamed"),
        ],
        "details": {"peak_rss_bytes": {str(k): v for k, v in peaks.items()},
                    "wall_s": {str(k): r(v, 3) for k, v in walls.items()}},
    }


# ---------------------------------------------------------------------------------------------
# 6. A session of edits: seqc vs the peers' way (everything re-rendered)


def scenario_session(bench: Bench) -> dict:
    """Five successive single-keyframe edits, each rendered incrementally and with --no-cache."""
    s = bench.settings
    project: Project = bench.state["project"]
    inner = list(range(1, s.keyframes - 1))  # keyframes inside the timeline touch two segments
    order = [inner[(3 * i + 1) % len(inner)] for i in range(s.session_edits)]
    incremental, full, edits = [], [], []
    for step, index in enumerate(order):
        name = project.keyframes[index]
        project.set_image(name, keyframe_picture(index, s.size, variant=2 + step))
        inc = run_seqc(bench.render_args(project), project.folder)
        assert inc.json()["rendered"] == 2, inc.json()
        peer = run_seqc(bench.render_args(project, "--no-cache"), project.folder)
        assert peer.json()["rendered"] == s.keyframes - 1, peer.json()
        incremental.append(inc.timing.wall)
        full.append(peer.timing.wall)
        edits.append(name)
    ratio = _ratio(sum(incremental), sum(full))
    return {
        "title": f"A session of {len(order)} single-keyframe edits: seqc vs re-rendering everything",
        "figures": [
            figure("seqc, incremental (total CLI wall)", r(sum(incremental), 2), "s"),
            figure("peers' way, --no-cache (total CLI wall)", r(sum(full), 2), "s"),
            figure("seqc / peers", r(ratio), "x", ("<=", 0.25),
                   f"{_ratio(sum(full), sum(incremental)):.1f}x faster; same target as scenario 2"),
        ],
        "details": {"edited": edits, "incremental_s": [r(x, 3) for x in incremental],
                    "no_cache_s": [r(x, 3) for x in full]},
    }


# ---------------------------------------------------------------------------------------------
# 7. GPU


def scenario_gpu(bench: Bench) -> dict:
    """Scenario 1 on CUDA at 512x512: an SD 1.5-architecture VAE (random weights) and the bench's model.

    Skipped without CUDA. --smoke runs the same code path on the CPU with a tiny KL autoencoder
    at 64x64, so the path cannot rot on machines without a GPU.
    """
    import torch

    s = bench.settings
    if torch.cuda.is_available():
        device, smoke = "cuda", False
    elif s.name == "smoke":
        device, smoke = "cpu", True
    else:
        return {"title": "GPU: scenario 1 on CUDA at 512x512", "figures": [],
                "skipped": "no CUDA GPU on this machine (torch.cuda.is_available() is False)"}
    models = [("SD 1.5 VAE architecture, random weights",
               sd15_autoencoder(bench.folder("s7_sd15_model"), tiny=smoke)),
              (bench.model_label, bench.model)]
    figures, details = [], {"device": device, "size": s.gpu_size}
    if device == "cuda":
        details["gpu"] = torch.cuda.get_device_name(0)
    else:
        details["note"] = "smoke: the GPU scenario's code path, run on the CPU with a tiny AutoencoderKL"
    for i, (label, model) in enumerate(models):
        project = timeline_project(bench.folder(f"s7_{i}"), model, s.gpu_size, s.fps, s.keyframes,
                                   s.frames_per_segment)
        m = measure_throughput(bench, project, device, "auto", s.repeats)
        f, d = throughput_figures(m, prefix=f"{label}: ")
        d["dtype"] = str(m["loaded"].backend.dtype)
        figures += f
        details[label] = d
        del m
        gc.collect()
        if device == "cuda":
            torch.cuda.empty_cache()
    return {"title": f"GPU: scenario 1 on {details.get('gpu', device)} at {s.gpu_size}x{s.gpu_size}",
            "figures": figures, "details": details}


# ---------------------------------------------------------------------------------------------
# Speed-ups


def scenario_speedups(bench: Bench) -> dict:
    """Before/after pairs for each speed-up, measured in this run (see bench/speedups.py)."""
    s = bench.settings
    loaded = bench.state["loaded"]
    frames = min(s.speedup_frames, loaded.frames)
    results = [
        speedups.batching(loaded, frames),
        speedups.autograd(loaded, frames),
        speedups.channels_last(loaded, frames),
        speedups.conversion(loaded, frames),
        speedups.backend_before_after(loaded, frames),
        speedups.blas_free_norms(loaded, s.overlap_rounds),
    ]
    # Overlap: whole renders of a shorter timeline, as it is vs with a writer thread.
    project = timeline_project(bench.folder("sx_overlap"), bench.model, s.size, s.fps, s.overlap_segments + 1,
                               s.frames_per_segment)
    small = inprocess.load(project, bench.device, bench.dtype, s.batch_size, backend=loaded.backend)
    results.append(speedups.overlap(small, s.overlap_rounds))
    results.append(speedups.background_finish(small, s.overlap_rounds))
    results.append(speedups.batched_clips(bench.folder("sx_batch"), rounds=s.overlap_rounds + 1))
    results.append(speedups.numpy_free_planner(bench.folder("sx_imports"), runs=s.noop_runs))
    figures = []
    for x in results:
        if x["frames"] == 1:  # not a frame rate: one command or import, timed
            note = f"{x['before']['s']:.3f} -> {x['after']['s']:.3f} s; {x['where']}"
        else:
            note = f"{x['before']['fps']:.1f} -> {x['after']['fps']:.1f} frames/s; {x['where']}"
        if "blocked_in_writes_share" in x:
            note += f"; blocked in writes: {100 * x['blocked_in_writes_share']:.1f}% of the render (the most it can save)"
        if "finish_share" in x:
            note += f"; clip finish + publish: {100 * x['finish_share']:.1f}% of the render (the most it can save)"
        if "ms_per_clip_before" in x:
            note += (f"; {x['ms_per_clip_before']} -> {x['ms_per_clip_after']} ms per clip, "
                     f"identical clips: {x['identical_clips']}")
        if "share_of_decode" in x:
            note += f"; the old conversion was {100 * x['share_of_decode']:.1f}% of decode time"
        figures.append(figure(f"{x['name']}: {x['before']['label']} -> {x['after']['label']}", r(x["speedup"], 2),
                              "x", note=note))
    return {"title": "Speed-ups: before/after, each pair measured in this run", "figures": figures,
            "details": {"comparisons": results}}


# ---------------------------------------------------------------------------------------------
# 8. Production length: the fixed cost of a segment and of a no-op


def _snapshot(*folders: Path) -> dict[str, tuple[int, int, str]]:
    """Every file under the folders: size, mtime and a hash of its bytes."""
    import hashlib

    found = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                st = path.stat()
                found[str(path)] = (st.st_size, st.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
    return found


def scenario_scale(bench: Bench) -> dict:
    """N distinct 2-frame segments against one segment of 2N frames (same tiny model and size), then
    a no-op, a plan and a one-keyframe edit at N segments, and memory at N against a few."""
    from bench.workload import tiny_autoencoder

    s = bench.settings
    n = s.scale_segments
    model = tiny_autoencoder(bench.folder("s8_model") / "vae")
    # 1. The projects: N segments over N + 1 distinct keyframes; one segment of 2N frames; a few segments.
    many = plan_project(bench.folder("s8_many"), model, n, s.scale_size, frames=2)
    one = single_segment_project(bench.folder("s8_one"), model, s.scale_size, 24, 2 * n + 1)
    few = plan_project(bench.folder("s8_few"), model, s.scale_small, s.scale_size, frames=2)

    def render(project: Project, *extra: str):
        return run_seqc_peak_rss(["render", str(project.story), "--cache-dir", str(project.cache), "--json",
                                  "--quiet", "--device", "cpu", *extra], project.folder)

    # 2. Full renders, alternated `repeats` times into fresh caches, the fastest of each kept: T_1 (one
    #    long segment) and T_N; then the few-segment one for memory.
    import shutil

    t_one = t_many = float("inf")
    for repeat in range(s.repeats):
        if repeat:
            shutil.rmtree(one.cache)
            shutil.rmtree(many.cache)
        _, _, one_report = render(one)
        many_timing, many_rss, many_report = render(many)
        t_one = min(t_one, _json_line(one_report)["seconds"])
        many_result = _json_line(many_report)
        t_many = min(t_many, many_result["seconds"])
    _, few_rss, few_report = render(few)
    assert many_result["rendered"] == n, many_result
    fixed_ms = 1000 * (t_many - t_one) / n
    # 3. At once: a no-op render and a plan, as a user runs them; nothing in the cache or output changes.
    before = _snapshot(many.cache, many.output.parent)
    noop, noop_report = run_seqc_probe(["render", str(many.story), "--cache-dir", str(many.cache), "--json",
                                        "--quiet"], many.folder)
    plan_run = run_seqc(["plan", str(many.story), "--cache-dir", str(many.cache), "--json"], many.folder)
    unchanged = _snapshot(many.cache, many.output.parent) == before
    changed = sorted(set(_snapshot(many.cache, many.output.parent).items()) ^ set(before.items()))
    # The same no-op with its full check (no stamp) against the stamp, alternated.
    noop_pair = speedups.stamp_noop(many.story, many.cache, many.folder, runs=s.noop_runs)
    # 4. The edit: a new picture for one keyframe in the middle (2 segments), then the join alone
    #    (everything cached, into a new output file) for the concat's share.
    middle = many.keyframes[n // 2]
    many.set_image(middle, keyframe_picture(3, s.scale_size, variant=1))
    edit = run_seqc(["render", str(many.story), "--cache-dir", str(many.cache), "--json", "--quiet"], many.folder)
    edit_result = edit.json()
    assert edit_result["rendered"] == 2, edit_result
    again = ["render", str(many.story), "--cache-dir", str(many.cache), "--json", "--quiet", "-o",
             str(many.folder / "out" / "again.mp4")]
    join = run_seqc(again, many.folder)
    for stale in (many.cache / "runs").glob("*.stamp.json"):  # the same command checked in full, with no join
        stale.unlink()
    noop_again = run_seqc(again, many.folder)
    join_s = max(0.0, join.timing.wall - noop_again.timing.wall)
    memory = _ratio(many_rss, few_rss)
    return {
        "title": f"Production length: {n} distinct 2-frame segments at {s.scale_size}x{s.scale_size} "
                 "(tiny random autoencoder, CLI)",
        "figures": [
            figure(f"fixed cost per segment, (T_{n} - T_1) / {n}", r(fixed_ms, 2), "ms", ("<=", 10.0),
                   f"T_{n} {t_many:.2f} s for {n} segments, T_1 {t_one:.2f} s for one of {2 * n} frames, fastest of "
                   f"{s.repeats} alternated "
                   "(render seconds from --json)"),
            figure(f"no-op right after the {n}-segment render (CLI wall)", r(noop.timing.wall, 3), "s",
                   ("<=", 0.5), f"torch imported: {noop_report['torch_imported']}"),
            figure("no-op: torch imported", noop_report["torch_imported"], "", ("==", False)),
            figure("no-op and plan: files changed in the cache or output folder", len(changed), "", ("==", 0),
                   "size, mtime and bytes of every file, before and after"),
            figure(f"no-op at {n} segments: full check -> stamp (CLI wall, fastest of {s.noop_runs} each)",
                   r(noop_pair["speedup"], 2), "x",
                   note=f"{noop_pair['before']['s']:.3f} s -> {noop_pair['after']['s']:.3f} s; same result: "
                   f"{noop_pair['same_result']}"),
            figure(f"seqc plan at {n} segments (CLI wall)", r(plan_run.timing.wall, 3), "s"),
            figure("one keyframe edited: render (CLI wall, model load included)", r(edit.timing.wall, 3), "s",
                   note=f"{edit_result['rendered']} segments rendered"),
            figure(f"joining {n} cached clips into a new output (its share of a CLI run)", r(join_s, 3), "s",
                   ("<=", 1.0), f"render -o NEW {join.timing.wall:.2f} s minus the same command again, checked in full "
                   f"{noop_again.timing.wall:.2f} s"),
            figure(f"peak memory, {n} segments / {s.scale_small}", r(memory, 3), "x", ("<=", 1.1),
                   f"{many_rss / MIB:.0f} MiB vs {few_rss / MIB:.0f} MiB"),
        ],
        "details": {"t_many_s": t_many, "t_one_s": t_one, "t_many_wall_s": r(many_timing.wall, 3),
                    "few": _json_line(few_report), "noop": {**noop.timing.as_dict(), **noop_report},
                    "unchanged": unchanged, "changed_files": [name for name, _ in changed][:20],
                    "edit": edit_result, "noop_pair": noop_pair, "join_wall_s": r(join.timing.wall, 3),
                    "noop_again_wall_s": r(noop_again.timing.wall, 3)},
    }


def _json_line(report: dict) -> dict:
    import json

    return json.loads(report["stdout"].strip().splitlines()[-1])


SCENARIOS = [
    ("1_throughput", scenario_throughput),
    ("2_incremental_edit", scenario_incremental),
    ("3_noop", scenario_noop),
    ("6_session", scenario_session),
    ("5_memory", scenario_memory),
    ("4_plan_scale", scenario_plan),
    ("speedups", scenario_speedups),
    ("7_gpu", scenario_gpu),
    ("8_scale", scenario_scale),
    ("9_warm", warm.scenario_warm),
    ("cluster", cluster.scenario_cluster),  # segments on Ray workers (bench/cluster.py, issue 15)
    ("10_prompt_morph", prompts.scenario_prompt_morph),  # builtin-emoji vs its pipeline (bench/prompts.py)
    ("11_morph_quality", morphs.scenario_morph_quality),  # method: morph vs slerp (bench/morphs.py)
    ("12_codecs", codecs.scenario_codecs),  # prores vs h264 renders, side by side (bench/codecs.py)
]


def settings_dict(settings: Settings) -> dict:
    return {**asdict(settings), "frames_per_segment": settings.frames_per_segment}
