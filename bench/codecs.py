"""Scenario 12 (issue 29): a ProRes render against an H.264 one, side by side, on scenario 2's project.

A mezzanine codec (`output: {codec: prores}`) writes its clips and the output as QuickTime and hands
the model's frames to the encoder at 16 bits per channel (rgb48le) instead of 8 (rgb24): more bytes
through the pipe, a heavier encoder, a bigger file. Each render is a fresh `python -m seqc render`
in a fresh cache, under the wrapper that reads its peak RSS (as scenario 5), the codecs alternating
round by round; the fastest wall and the largest peak of each are kept and compared as ratios.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from bench.measure import run_seqc_peak_rss
from bench.workload import Project, timeline_project

MIB = 1024 * 1024
BASE, MEZZANINE = "h264", "prores"
# The bench's own limits (the issue promises none), set where the measured ratios held with room on
# the 2-core CPU (bench/README.md): 16-bit frames must not make a render much slower or hold frames.
TIME_LIMIT, MEMORY_LIMIT = 1.5, 1.2


def codec_project(folder: Path, model, size: int, fps: float, keyframes: int, frames: int, codec: str) -> Project:
    """Scenario 2's storyboard (same generator, size, fps and segments) with `output.codec` set."""
    project = timeline_project(folder, model, size, fps, keyframes, frames)
    suffix = "mp4" if codec == BASE else "mov"  # ProRes, DNxHR and FFV1 have no MP4 mapping
    text = project.story.read_text()
    old = "output: {path: out/bench.mp4,"
    assert old in text, text  # the generator's output line (bench/workload.py)
    project.story.write_text(text.replace(old, f"output: {{path: out/bench.{suffix}, codec: {codec},"))
    return project


def render_once(bench, project: Project) -> dict:
    """One full CLI render into an empty cache and output folder: wall, peak RSS, the file it wrote."""
    from seqc.media.mp4 import read_track

    shutil.rmtree(project.cache, ignore_errors=True)
    shutil.rmtree(project.folder / "out", ignore_errors=True)
    timing, peak, report = run_seqc_peak_rss(bench.render_args(project), project.folder)
    result = json.loads(report["stdout"].strip().splitlines()[-1])
    output = Path(result["output"])
    track = read_track(output)
    return {"wall_s": timing.wall, "cpu_s": timing.cpu, "render_s": float(result["seconds"]), "peak_rss": peak,
            "bytes": output.stat().st_size, "frames": int(result["frames"]), "track_codec": track.codec,
            "track_frames": track.frames, "rendered": result["rendered"]}


def _best(runs: list[dict]) -> dict:
    """The fastest wall, render and CPU seconds, the largest peak RSS; the file of the last run."""
    return {"wall_s": min(x["wall_s"] for x in runs), "render_s": min(x["render_s"] for x in runs),
            "cpu_s": min(x["cpu_s"] for x in runs),
            "peak_rss": max(x["peak_rss"] for x in runs), "bytes": runs[-1]["bytes"], "frames": runs[-1]["frames"],
            "track_codec": runs[-1]["track_codec"], "runs": len(runs)}


def scenario_codecs(bench) -> dict:
    """H.264 and ProRes full CLI renders of scenario 2's project, alternated; the other mezzanine
    codecs (settings.codec_extras) once each, in the last round, against that round's H.264."""
    from bench.measure import median
    from bench.scenarios import _ratio, figure, r

    s = bench.settings
    segments = s.keyframes - 1
    codecs = [BASE, MEZZANINE, *s.codec_extras]
    projects = {c: codec_project(bench.folder(f"s12_{c}"), bench.model, s.size, s.fps, s.keyframes,
                                 s.frames_per_segment, c) for c in codecs}
    # 1. Rounds of h264, prores (the extras after them in the last round: the first round's first
    #    render is the slowest, cold files), each render from scratch.
    runs: dict[str, list[dict]] = {c: [] for c in codecs}
    for round_ in range(s.repeats):
        for codec in codecs if round_ == s.repeats - 1 else (BASE, MEZZANINE):
            run = render_once(bench, projects[codec])
            assert run["rendered"] == segments and run["track_frames"] == run["frames"], run
            runs[codec].append(run)
    best = {c: _best(v) for c, v in runs.items()}
    h, p = best[BASE], best[MEZZANINE]
    n = s.repeats
    paired = [_ratio(b["wall_s"], a["wall_s"]) for a, b in zip(runs[BASE], runs[MEZZANINE], strict=True)]
    # 2. Side by side: each codec's figures, then the ratios.
    figures = []
    for codec in (BASE, MEZZANINE):
        b = best[codec]
        figures += [
            figure(f"{codec}: full render (CLI wall, fastest of {n})", r(b["wall_s"], 2), "s",
                   note=f"render seconds from --json {b['render_s']:.2f} s (model load included); "
                        f"CPU {b['cpu_s']:.2f} s (seqc and its ffmpegs)"),
            figure(f"{codec}: peak RSS (max of {n})", r(b["peak_rss"] / MIB, 1), "MiB"),
            figure(f"{codec}: output size", r(b["bytes"] / MIB, 3), "MiB",
                   note=f"{b['bytes']} bytes, {b['frames']} frames, track '{b['track_codec']}'"),
            figure(f"{codec}: bytes per frame", round(b["bytes"] / b["frames"]), "B"),
        ]
    figures += [
        figure(f"{MEZZANINE} / {BASE}: CLI wall", r(_ratio(p["wall_s"], h["wall_s"])), "x", ("<=", TIME_LIMIT),
               note=f"fastest of {n} alternated each; start-up (imports, model load) in both; "
                    f"per-round ratios {', '.join(f'{x:.2f}' for x in paired)} (median {median(paired):.2f})"),
        figure(f"{MEZZANINE} / {BASE}: CPU seconds", r(_ratio(p["cpu_s"], h["cpu_s"])), "x",
               note="the render process and the ffmpegs it waited for, fewest of each; "
                    "less moved by other work on the machine than wall time"),
        figure(f"{MEZZANINE} / {BASE}: render seconds (--json)", r(_ratio(p["render_s"], h["render_s"])), "x",
               note="the process's render after the CLI's own imports; model load included"),
        figure(f"{MEZZANINE} / {BASE}: peak RSS", r(_ratio(p["peak_rss"], h["peak_rss"])), "x", ("<=", MEMORY_LIMIT),
               note="largest process waited for (seqc; its ffmpeg children are smaller)"),
        figure(f"{MEZZANINE} / {BASE}: output size", r(_ratio(p["bytes"], h["bytes"]), 2), "x"),
    ]
    # 3. The extras: one run each, against the H.264 render of the same (last) round.
    last = runs[BASE][-1]
    for codec in s.codec_extras:
        x = runs[codec][0]
        figures.append(figure(f"{codec} / {BASE}: CLI wall (one run each, last round)",
                              r(_ratio(x["wall_s"], last["wall_s"])), "x",
                              note=f"CPU {_ratio(x['cpu_s'], last['cpu_s']):.3f} x; "
                                   f"peak RSS {_ratio(x['peak_rss'], last['peak_rss']):.3f} x; "
                                   f"{round(x['bytes'] / x['frames'])} bytes per frame "
                                   f"({_ratio(x['bytes'], last['bytes']):.1f} x), track '{x['track_codec']}'"))
    details = {
        "segments": segments, "frames_per_segment": s.frames_per_segment, "size": s.size, "fps": s.fps,
        "best": {c: {k: (r(v, 4) if isinstance(v, float) else v) for k, v in b.items()} for c, b in best.items()},
        "runs": {c: [{k: (r(v, 4) if isinstance(v, float) else v) for k, v in x.items()} for x in v]
                 for c, v in runs.items()},
    }
    return {"title": f"Codecs: {MEZZANINE} vs {BASE}, full CLI renders of scenario 2's {segments} segments",
            "figures": figures, "details": details}
