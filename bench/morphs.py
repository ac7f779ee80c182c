"""Scenario 11: `method: morph` against `slerp` and a pixel crossfade on `builtin-emoji` (issue 27).

Eight prompt pairs drawn with a fixed seed from the prompts the model knows, leaving out the
prompts the morph's settings were tried on (TUNED). For each pair, one segment rendered by seqc in
this process (the model loaded once) with `slerp` and with `morph`, and the pixel crossfade of
slerp's two end frames; each video decoded and measured as `seqc analyze` measures a segment
(seqc.inspect.artifacts, 64-pixel thumbnails, the end keyframe included):

- smoothness: AID's 1 - Gini of the adjacent-frame distances (1: every step alike);
- largest step: the largest adjacent-frame distance, levels;
- ghosting: the mean crossfade residual of the middle frames (0: a double exposure of the ends);
- cost: render seconds per frame, morph against slerp, side by side in one run.

And four pairs of painted pictures (tools.paint, not the model's): image-to-image (`slerp`) against
`morph` by inversion, with how far each video's ends are from the pictures.

Targets (averaged over the pairs): smoothness at least 0.05 above slerp's, or the largest step at
most 0.7 of slerp's; the crossfade residual at least 0.8 of slerp's; the cost at most 2.5 times.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np

TUNED = {"cat face", "dog face", "black sun with rays", "snowman without snow", "koala", "ghost", "helicopter",
         "parrot"}
PAIRS_SEED = 2027
PAIRS = 8
PICTURE_PAIRS = [("summer", "winter"), ("autumn", "spring"), ("night", "summer"), ("winter", "autumn")]


def pairs(known: list[str], count: int = PAIRS, seed: int = PAIRS_SEED) -> list[tuple[str, str]]:
    """`count` pairs of distinct prompts not in TUNED, drawn with `seed`."""
    pool = [p for p in known if p not in TUNED]
    picked = np.random.default_rng(seed).choice(len(pool), size=2 * count, replace=False)
    return [(pool[a], pool[b]) for a, b in zip(picked[::2], picked[1::2], strict=True)]


def write_story(folder: Path, pair: tuple[str, str], method: str, frames: int, field: str = "prompt") -> Path:
    """A one-segment storyboard from a to b; `field: image` makes the pair two picture files."""
    folder.mkdir(parents=True, exist_ok=True)
    story = folder / f"{method}.yaml"
    story.write_text("# written by bench/run.py\nversion: 1\n"
                     f"output: {{path: out/{method}.mp4, size: [64, 64], fps: 24}}\nmodel: builtin-emoji\n"
                     f"defaults: {{frames: {frames}, method: {method}}}\n"
                     f"keyframes:\n  a: {{{field}: \"{pair[0]}\"}}\n  b: {{{field}: \"{pair[1]}\"}}\n"
                     "segments:\n  - {from: a, to: b}\n")
    return story


def render(backend, story: Path, cache_dir: Path) -> tuple[float, np.ndarray]:
    """seqc's in-process render from an empty clip folder: (seconds, the video's frames)."""
    from bench.inprocess import preloaded
    from seqc.media.reader import read_frames
    from seqc.outputs.produce import VideoOutput, produce
    from seqc.plan import compile_plan
    from seqc.render.options import RenderOptions
    from seqc.render.progress import Reporter
    from seqc.spec import load_storyboard
    from seqc.store import Cache

    for kind in ("clips", "trajectories"):  # a cold render: a morph's stored ends are part of its cost
        shutil.rmtree(cache_dir / kind, ignore_errors=True)
    cache = Cache(cache_dir)
    plan = compile_plan(load_storyboard(story), cache, precision=backend.precision)
    output = story.parent / "out" / f"{story.stem}.mp4"
    started = time.perf_counter()
    produce(plan, cache, RenderOptions(device="cpu"), VideoOutput(output), Reporter(), session=preloaded(backend))
    seconds = time.perf_counter() - started
    return seconds, np.stack(list(read_frames(output)))


def measures(frames: np.ndarray) -> dict:
    """What `seqc analyze` measures of a segment whose frames (ends included) these are."""
    from seqc.inspect import artifacts
    from seqc.render import metrics

    steps = metrics.changes(frames)
    fit = artifacts.crossfade_fit(metrics.shrink(frames))
    return {"smoothness": artifacts.smoothness(steps), "largest_step": float(steps.max()),
            "residual": float(fit.residual.mean()) if fit.residual.size else float("nan")}


def crossfade(frames: np.ndarray) -> np.ndarray:
    """The pixel crossfade of a video's first and last frames, as many frames."""
    t = np.linspace(0.0, 1.0, len(frames))[:, None, None, None]
    return np.rint(frames[0] * (1.0 - t) + frames[-1] * t).astype(np.uint8)


def picture_pairs(backend, root: Path, frames: int, chosen: list[tuple[str, str]]) -> list[dict]:
    """slerp and morph between painted pictures: what `measures` says, the cost, and how far the
    video's first and last frames are from the two pictures (mean absolute levels)."""
    from PIL import Image

    from tools.paint import save_set

    folder = root / "pictures"
    save_set(folder, sorted({name for pair in chosen for name in pair}), (64, 64), 0)
    rows = []
    for index, pair in enumerate(chosen):
        files = [folder / f"{name}.png" for name in pair]
        pictures = [np.asarray(Image.open(f).convert("RGB"), np.float64) for f in files]
        row: dict = {"pair": list(pair)}
        for method in ("slerp", "morph"):
            where = root / f"picture-pair{index}"
            story = write_story(where, (str(files[0]), str(files[1])), method, frames, field="image")
            seconds, video = render(backend, story, where / "cache")
            off = np.mean([np.abs(video[i].astype(np.float64) - p).mean() for i, p in ((0, pictures[0]),
                                                                                       (-1, pictures[1]))])
            row[method] = {**measures(video), "seconds_per_frame": seconds / len(video), "off_pictures": float(off)}
        rows.append(row)
    return rows


def scenario_morph_quality(bench) -> dict:
    """slerp, morph and the crossfade on eight pairs, side by side, with the cost per frame."""
    from bench.scenarios import figure, r
    from seqc.backends import load_backend
    from seqc.models import builtin_path, known_prompts, resolve_model

    # 1. The model, the pairs; a warm-up render (kernels, the conditioning cache).
    s = bench.settings
    frames = {"smoke": 8, "quick": 16}.get(s.name, 48)
    count = 2 if s.name == "smoke" else PAIRS
    ref = resolve_model("builtin-emoji", builtin_path("builtin-emoji"))
    backend = load_backend(ref, "cpu", "float32")
    chosen = pairs(known_prompts(ref), count)
    root = bench.folder("s11")
    render(backend, write_story(root / "warm", chosen[0], "slerp", 4), root / "warm" / "cache")

    # 2. Each pair with each method, measured; the crossfade from slerp's ends.
    rows = []
    for index, pair in enumerate(chosen):
        folder = root / f"pair{index}"
        row: dict = {"pair": list(pair)}
        for method in ("slerp", "morph"):
            seconds, video = render(backend, write_story(folder, pair, method, frames), folder / "cache")
            row[method] = {**measures(video), "seconds_per_frame": seconds / len(video)}
            if method == "slerp":
                row["crossfade"] = measures(crossfade(video))
        rows.append(row)

    # 3. Pairs of pictures the model never drew (tools.paint): image-to-image (slerp) against a
    #    morph by inversion; how far each video's ends are from the pictures.
    picture_rows = picture_pairs(backend, root, frames, PICTURE_PAIRS[:1] if s.name == "smoke" else PICTURE_PAIRS)

    # 4. Averages and the targets.
    def mean(method: str, name: str, table: list[dict] = rows) -> float:
        return float(np.mean([row[method][name] for row in table]))

    smooth_gain = mean("morph", "smoothness") - mean("slerp", "smoothness")
    step_ratio = mean("morph", "largest_step") / mean("slerp", "largest_step")
    ghost_ratio = mean("morph", "residual") / mean("slerp", "residual")
    cost = mean("morph", "seconds_per_frame") / mean("slerp", "seconds_per_frame")
    smoother = smooth_gain >= 0.05 or step_ratio <= 0.7
    return {
        "title": "morph vs slerp vs crossfade on builtin-emoji: smoothness, largest step, ghosting, cost",
        "figures": [
            figure("smoothness (1 - Gini): slerp / morph / crossfade",
                   f"{mean('slerp', 'smoothness'):.3f} / {mean('morph', 'smoothness'):.3f} / "
                   f"{mean('crossfade', 'smoothness'):.3f}", "", None, f"averaged over {len(rows)} pairs"),
            figure("largest step, levels: slerp / morph / crossfade",
                   f"{mean('slerp', 'largest_step'):.1f} / {mean('morph', 'largest_step'):.1f} / "
                   f"{mean('crossfade', 'largest_step'):.1f}"),
            figure("morph smoother than slerp (gain >= 0.05 or step ratio <= 0.7)", smoother, "", ("==", True),
                   f"smoothness +{smooth_gain:.3f}; largest step {step_ratio:.2f}x slerp's"),
            figure("crossfade residual of the middle frames, morph / slerp", r(ghost_ratio), "x", (">=", 0.8),
                   f"slerp {mean('slerp', 'residual'):.3f}, morph {mean('morph', 'residual'):.3f}, "
                   f"pixel crossfade {mean('crossfade', 'residual'):.3f} (0 is a double exposure)"),
            figure("cost per frame, morph / slerp", r(cost), "x", ("<=", 2.5),
                   f"{frames} frames + the final one; morph's probes and end trajectories included"),
            figure("picture pairs: ends off the pictures, levels: slerp / morph",
                   f"{mean('slerp', 'off_pictures', picture_rows):.1f} / {mean('morph', 'off_pictures', picture_rows):.1f}",
                   "", None, f"{len(picture_rows)} pairs of painted pictures; image-to-image redraws them, "
                   "inversion keeps them"),
            figure("picture pairs: smoothness / largest step, slerp -> morph",
                   f"{mean('slerp', 'smoothness', picture_rows):.3f} / {mean('slerp', 'largest_step', picture_rows):.1f}"
                   f" -> {mean('morph', 'smoothness', picture_rows):.3f} / "
                   f"{mean('morph', 'largest_step', picture_rows):.1f}", "", None,
                   f"residual {mean('slerp', 'residual', picture_rows):.3f} -> "
                   f"{mean('morph', 'residual', picture_rows):.3f}; cost "
                   f"{mean('morph', 'seconds_per_frame', picture_rows) / mean('slerp', 'seconds_per_frame', picture_rows):.2f}x"),
        ],
        "details": {"frames": frames, "pairs_seed": PAIRS_SEED, "tuned_on": sorted(TUNED), "rows": rows,
                    "picture_rows": picture_rows},
    }
