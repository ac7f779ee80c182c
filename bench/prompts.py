"""Scenario 10: a prompt morph on the built-in text-to-image model (`model: builtin-emoji`).

Two prompt keyframes, one segment. Both sides run in this process with the model loaded and
the prompts' conditionings computed, so the ratio measures what seqc adds around the model:

- the ceiling: the model's own `StableDiffusionPipeline.__call__` for the same frames (the
  same starting noise and conditioning per frame as seqc's renderer makes them, every frame in
  one call, decoded to pixels), nothing else;
- seqc: `seqc.outputs.produce.produce()` of the plan (render into the cache, then the concat)
  with that loaded model handed in, from an empty clip folder.

Alternated twice `repeats` times (single runs of either move by 10% on a shared 2-core machine,
and the ceiling's two-thread call more than seqc's one-thread calls), the fastest of each kept. Beside it, the user's figure: a cold
`seqc render` of a 48-frame morph in a fresh process (start, model load, render, video).
"""

from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path

import numpy as np

from bench.measure import Timing, run_seqc, timed

PROMPTS = {"cat": "cat face", "dog": "dog face"}
CLI_FRAMES = 48


def write_project(folder: Path, frames: int) -> Path:
    """storyboard.yaml: cat face -> dog face in `frames` frames (plus the final one) at 64x64, 24 fps."""
    folder.mkdir(parents=True, exist_ok=True)
    story = folder / "storyboard.yaml"
    keyframes = "\n".join(f"  {name}: {{prompt: {prompt}}}" for name, prompt in PROMPTS.items())
    story.write_text("# written by bench/run.py\nversion: 1\n"
                     "output: {path: out/bench.mp4, size: [64, 64], fps: 24}\nmodel: builtin-emoji\n"
                     f"defaults: {{frames: {frames}, easing: ease-in-out, method: slerp}}\n"
                     f"keyframes:\n{keyframes}\nsegments:\n  - {{from: cat, to: dog}}\n")
    return story


def frame_inputs(backend, plan) -> list[tuple[np.ndarray, dict, dict]]:
    """Per clip job: the starting noise and conditioning of each frame, as seqc.render.frames makes them."""
    from seqc.motion.interp import slerp
    from seqc.motion.methods import get_method
    from seqc.render.frames import segment_times

    story = plan.storyboard
    conds, noises = {}, {}
    for name, kf in story.keyframes.items():
        conds[name] = backend.encode_prompt(kf.prompt, kf.negative_prompt or "")
        noises[name] = backend.initial_noise(int(kf.seed or 0), story.output.size)
    inputs = []
    for job in plan.clip_jobs:
        seg = job.segment
        t = segment_times(job)
        path = get_method(seg.method).path
        cond = {k: path(None, conds[seg.source][k], conds[seg.target][k], None, t) for k in conds[seg.source]}
        inputs.append((slerp(noises[seg.source], noises[seg.target], t), cond, seg.generation))
    return inputs


def pipeline_ceiling(backend, inputs, size: tuple[int, int]) -> Timing:
    """The pipeline's own call on every job's frames (one call per job), to pixels."""
    import torch

    def run() -> None:
        with torch.inference_mode():
            for noise, cond, gen in inputs:
                tensors = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in cond.items()}
                backend.pipe(prompt_embeds=tensors["prompt_embeds"],
                             negative_prompt_embeds=tensors["negative_prompt_embeds"],
                             latents=torch.from_numpy(np.ascontiguousarray(noise, dtype=np.float32)),
                             num_inference_steps=gen["steps"], guidance_scale=gen["guidance"],
                             height=size[1], width=size[0], output_type="np")

    return timed(run)[0]


def seqc_render(backend, story: Path, cache_dir: Path) -> tuple[Timing, dict]:
    """seqc's in-process render of the whole plan with the loaded model, from an empty clip folder."""
    from bench.inprocess import preloaded
    from seqc.outputs.produce import VideoOutput, produce
    from seqc.plan import compile_plan
    from seqc.render.options import RenderOptions
    from seqc.render.progress import Reporter
    from seqc.spec import load_storyboard
    from seqc.store import Cache

    shutil.rmtree(cache_dir / "clips", ignore_errors=True)
    output = story.parent / "out" / "bench.mp4"
    with contextlib.suppress(FileNotFoundError):
        output.unlink()
    cache = Cache(cache_dir)
    plan = compile_plan(load_storyboard(story), cache, precision=backend.precision)
    options = RenderOptions(device="cpu")
    timing, result = timed(lambda: produce(plan, cache, options, VideoOutput(output), Reporter(),
                                           session=preloaded(backend)))
    return timing, result.as_dict()


def scenario_prompt_morph(bench) -> dict:
    """seqc's prompt morph against the pipeline's own call for the same frames; a cold 48-frame CLI render."""
    from bench.scenarios import figure, r
    from seqc.backends import load_backend
    from seqc.plan import compile_plan
    from seqc.spec import load_storyboard
    from seqc.store import Cache

    # 1. The project, the model (load timed, reported only), the frames' inputs; a warm-up render.
    s = bench.settings
    frames = s.speedup_frames
    folder = bench.folder("s10")
    story = write_project(folder, frames)
    load_timing, backend = timed(lambda: load_backend(load_storyboard(story).model_ref, "cpu", "float32"))
    plan = compile_plan(load_storyboard(story), Cache(folder / "cache"), precision=backend.precision)
    inputs = frame_inputs(backend, plan)
    seqc_render(backend, story, folder / "cache")  # fills the conditioning cache; first calls pick kernels

    # 2. Alternate: the pipeline's own call, then seqc's render; keep the fastest of each.
    runs, best_ceiling, best_render, result = [], None, None, {}
    for _ in range(2 * s.repeats):
        ceiling = pipeline_ceiling(backend, inputs, (64, 64))
        render, result = seqc_render(backend, story, folder / "cache")
        runs.append({"ceiling_s": r(ceiling.wall), "render_s": r(render.wall)})
        best_ceiling = ceiling if best_ceiling is None or ceiling.wall < best_ceiling.wall else best_ceiling
        best_render = render if best_render is None or render.wall < best_render.wall else best_render
    assert best_ceiling is not None and best_render is not None
    total = sum(len(i[0]) for i in inputs)

    # 3. The user's figure: a cold CLI render of a 48-frame morph (8 in smoke mode).
    cli_frames = CLI_FRAMES if s.name != "smoke" else 8
    cli_story = write_project(bench.folder("s10_cli"), cli_frames)
    started = time.perf_counter()
    cli = run_seqc(["render", str(cli_story), "--cache-dir", str(cli_story.parent / "cache"), "--json", "--quiet"],
                   cli_story.parent)
    cli_wall = time.perf_counter() - started
    ratio = best_render.wall / best_ceiling.wall
    return {
        "title": "Prompt morph on builtin-emoji: seqc's render vs the pipeline's own call",
        "figures": [
            figure("pipeline's own call (ceiling)", r(total / best_ceiling.wall, 2), "frames/s"),
            figure("seqc in-process render", r(total / best_render.wall, 2), "frames/s"),
            figure("render time / pipeline time", r(ratio), "x", ("<=", 1.10),
                   f"seqc's own share {100 * (ratio - 1):.1f}% (fastest of {len(runs)} alternated runs each)"),
            figure(f"cold CLI render of a {cli_frames}-frame morph", r(cli_wall, 2), "s",
                   ("<=", 60.0) if cli_frames == CLI_FRAMES else None,
                   "a fresh `seqc render`: start, model load, 25 steps a frame, video"),
        ],
        "details": {"frames": total, "model_load_s": r(load_timing.wall), "runs": runs, "result": result,
                    "cli": cli.json()},
    }
