"""Evaluate `model: builtin-emoji` against its quality bar, through seqc's own pipeline backend.

1. Recognisable: a seeded random sample of the prompts in the model's prompts.txt (not chosen
   by hand) is drawn the way a storyboard's prompt keyframe is (seqc's default seed for the
   prompt, the model's default steps and guidance). Every emoji picture in the npm package (all
   3,786, skin tones included) is ranked by a cheap perceptual distance to the drawn one: mean
   squared CIELAB difference of 16x16 thumbnails (area-averaged over white). The bar: the
   prompt's own emoji is among the 5 nearest for at least half the sample.
2. Not a double exposure: a prompt morph (the noises slerped, the prompt conditionings along
   seqc's `lerp` or `slerp` method, as the renderer does) is compared with the best crossfade of its two end frames. Each middle
   frame F is fitted as a*A + (1-a)*B (least squares, a in [0, 1]); the relative residual is
   |F - fit| / |A - B|. Beside it, the same measure for seqc's `crossfade` method (about 0)
   and for the built-in autoencoder's latent slerp between the same two end frames.

Writes a JSON report and a PNG grid (generated | real, per sampled prompt; the morph strips).

Usage::

    python tools/eval_builtin_emoji.py --json bench/results/builtin_emoji_eval.json \\
        --grid docs/builtin-emoji-samples.png
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
import emoji_data  # noqa: E402

SAMPLE_SEED = 2026  # fixed before the first evaluation; the sample is whatever it draws
MORPHS = (("cat face", "dog face"), ("black sun with rays", "snowman without snow"))
MORPH_FRAMES = 9


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=HERE.parent / "seqc" / "backends" / "builtin_emoji")
    parser.add_argument("--data", type=Path, default=Path("out/emoji-data"), help="npm cache folder")
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--json", type=Path, help="write the report here")
    parser.add_argument("--grid", type=Path, help="write the picture grid here")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sample-seed", type=int, default=SAMPLE_SEED,
                        help="another seed draws another sample (to tune settings away from the reported one)")
    parser.add_argument("--guidance", type=float, help="instead of the model's default")
    parser.add_argument("--steps", type=int, help="instead of the model's default")
    parser.add_argument("--no-morphs", action="store_true", help="rank pictures only")
    return parser.parse_args(argv)


# -- the perceptual distance ----------------------------------------------------------------

def lab_thumbnails(pictures: np.ndarray) -> np.ndarray:
    """uint8 [N, 64, 64, 3] -> CIELAB (D65) thumbnails [N, 16, 16, 3], each 4x4 block averaged in linear RGB."""
    rgb = pictures.astype(np.float64) / 255.0
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    n, h, w, _ = linear.shape
    small = linear.reshape(n, h // 4, 4, w // 4, 4, 3).mean(axis=(2, 4))
    matrix = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = small @ matrix.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def rank_of(generated: np.ndarray, thumbs: np.ndarray, own: int) -> int:
    """1 + how many pictures are strictly nearer to `generated` than picture `own`."""
    distance = ((thumbs - lab_thumbnails(generated[None])[0]) ** 2).mean(axis=(1, 2, 3))
    return 1 + int((distance < distance[own]).sum())


def crossfade_residuals(frames: np.ndarray) -> list[float]:
    """For each middle frame, |F - best a*A + (1-a)*B| / |A - B| (pixels as floats)."""
    a_end, b_end = frames[0].astype(np.float64), frames[-1].astype(np.float64)
    span = b_end - a_end
    scale = float(np.linalg.norm(span)) or 1.0
    out = []
    for frame in frames[1:-1].astype(np.float64):
        weight = float(np.clip(((frame - a_end) * span).sum() / max((span * span).sum(), 1e-12), 0.0, 1.0))
        out.append(float(np.linalg.norm(frame - (a_end + weight * span)) / scale))
    return out


# -- drawing through seqc ---------------------------------------------------------------------

def draw(backend, prompts: list[str], defaults: dict) -> np.ndarray:
    """The pictures seqc renders for `prompt:` keyframes with every default: uint8 [N, 64, 64, 3]
    (in one batch: on the CPU a frame's bytes do not depend on its batch, seqc.backends.pipeline)."""
    from seqc.spec.generation import default_seed

    conds = [backend.encode_prompt(p) for p in prompts]
    noise = np.stack([backend.initial_noise(default_seed(p), defaults["size"]) for p in prompts])
    cond = {k: np.stack([c[k] for c in conds]) for k in conds[0]}
    return backend.generate(noise, cond, defaults["steps"], defaults["guidance"], defaults["size"])


def morph(backend, first: str, second: str, method: str, defaults: dict) -> np.ndarray:
    """MORPH_FRAMES frames from `first` to `second` as seqc's renderer makes them: the two noises
    slerped, the prompt conditionings along the segment's `method` path (seqc.render.frames)."""
    from seqc.motion.interp import slerp
    from seqc.motion.methods import METHODS
    from seqc.spec.generation import default_seed

    path = METHODS[method].path
    t = np.linspace(0.0, 1.0, MORPH_FRAMES)
    cond_a, cond_b = backend.encode_prompt(first), backend.encode_prompt(second)
    noise_a = backend.initial_noise(default_seed(first), defaults["size"])
    noise_b = backend.initial_noise(default_seed(second), defaults["size"])
    noise = slerp(noise_a, noise_b, t)
    cond = {key: path(None, cond_a[key], cond_b[key], None, t) for key in cond_a}
    return backend.generate(noise, cond, defaults["steps"], defaults["guidance"], defaults["size"])


def autoencoder_morph(ends: np.ndarray) -> np.ndarray:
    """The built-in autoencoder's latent slerp between two pictures (the dissolve it can do)."""
    from seqc.backends import load_backend
    from seqc.models import resolve_model
    from seqc.motion.interp import slerp

    autoencoder = load_backend(resolve_model("builtin", Path.cwd()), device="cpu", dtype="float32")
    a_lat, b_lat = autoencoder.encode(ends[0]), autoencoder.encode(ends[1])
    return autoencoder.decode(slerp(a_lat, b_lat, np.linspace(0.0, 1.0, MORPH_FRAMES)))


# -- the report -------------------------------------------------------------------------------

def evaluate(args: argparse.Namespace) -> tuple[dict, list]:
    """Run both measures; return the report and the grid's rows."""
    import torch

    from seqc.backends.pipeline import PipelineBackend
    from seqc.models import ModelRef

    # 1. The model, through seqc's backend, and every emoji picture's thumbnail.
    torch.set_num_threads(args.threads)
    backend = PipelineBackend(ModelRef("builtin-emoji", args.model.resolve(), "pipeline", "folder"),
                              device="cpu", dtype="float32")
    defaults = backend.defaults_for_family()
    defaults.update({k: v for k, v in (("guidance", args.guidance), ("steps", args.steps)) if v is not None})
    data = emoji_data.fetch(args.data)
    everything = emoji_data.all_emoji(data)
    pictures = np.stack([emoji_data.load_picture(data, e.image) for e in everything])
    thumbs = lab_thumbnails(pictures)
    index_of = {e.image: i for i, e in enumerate(everything)}
    known = {e.name: e for e in emoji_data.curated(data)}

    # 2. Recognisable: ranks of a seeded random sample of the prompts the model lists.
    prompts = [p for p in (args.model / "prompts.txt").read_text().splitlines() if p]
    sample = random.Random(args.sample_seed).sample(prompts, min(args.samples, len(prompts)))
    started = time.perf_counter()
    drawn = draw(backend, sample, defaults)
    per_picture = (time.perf_counter() - started) / len(sample)
    ranks, rows = [], []
    for prompt, picture in zip(sample, drawn, strict=True):
        own = index_of[known[prompt].image]
        ranks.append(rank_of(picture, thumbs, own))
        rows.append((prompt, ranks[-1], [picture, pictures[own]]))

    # 3. Not a double exposure: residuals of prompt morphs, beside a crossfade and the autoencoder.
    morphs = {}
    for first, second in () if args.no_morphs else MORPHS:
        for method in ("lerp", "slerp"):
            frames = morph(backend, first, second, method, defaults)
            morphs[f"{first} -> {second} ({method})"] = crossfade_residuals(frames)
            rows.append((f"{first} -> {second} ({method})", None, list(frames)))
        from seqc.motion.methods import METHODS

        ends = frames[[0, -1]]
        fade = METHODS["crossfade"].path(None, ends[0].astype(np.float32), ends[1].astype(np.float32), None,
                                         np.linspace(0.0, 1.0, MORPH_FRAMES))
        morphs[f"{first} -> {second} (crossfade)"] = crossfade_residuals(np.asarray(fade))
        morphs[f"{first} -> {second} (builtin autoencoder slerp)"] = crossfade_residuals(autoencoder_morph(ends))

    top5 = sum(r <= 5 for r in ranks)
    report = {
        "model": str(args.model), "sample_seed": args.sample_seed, "samples": len(sample), "prompts_known": len(prompts),
        "pictures_ranked": len(everything), "defaults": {k: v for k, v in defaults.items() if k != "size"},
        "top1": sum(r == 1 for r in ranks), "top5": top5, "top5_share": top5 / len(sample),
        "median_rank": statistics.median(ranks),
        "rank_distribution": {"1": sum(r == 1 for r in ranks), "2-5": sum(1 < r <= 5 for r in ranks),
                              "6-20": sum(5 < r <= 20 for r in ranks), "21-100": sum(20 < r <= 100 for r in ranks),
                              ">100": sum(r > 100 for r in ranks)},
        "ranks": dict(zip(sample, ranks, strict=True)),
        "morph_residuals": {k: {"mean": statistics.fmean(v), "max": max(v)} for k, v in morphs.items()},
        "seconds_per_picture": per_picture,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads {args.threads}",
    }
    return report, rows


def write_grid(rows: list, path: Path) -> None:
    """Sampled prompts as (generated | real) pairs, four pairs a row; then one morph per row."""
    from PIL import Image

    pairs = [np.concatenate(images, axis=1) for _, rank, images in rows if rank is not None]
    strips = [np.concatenate(images, axis=1) for _, rank, images in rows if rank is None]
    blank = np.full_like(pairs[0], 255)
    pairs += [blank] * (-len(pairs) % 4)
    pair_rows = [np.concatenate([np.pad(p, ((2, 2), (2, 2), (0, 0)), constant_values=255) for p in pairs[i:i + 4]],
                                axis=1) for i in range(0, len(pairs), 4)]
    width = max(r.shape[1] for r in pair_rows + strips)
    lines = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in pair_rows + strips]
    grid = np.concatenate(lines, axis=0)
    Image.fromarray(grid).save(path, optimize=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report, rows = evaluate(args)
    print(f"top-5: {report['top5']} of {report['samples']} ({report['top5_share']:.0%}); top-1 {report['top1']}; "
          f"median rank {report['median_rank']} of {report['pictures_ranked']}")
    print("rank distribution:", report["rank_distribution"])
    for name, value in report["morph_residuals"].items():
        print(f"  {name:58} residual mean {value['mean']:.3f}  max {value['max']:.3f}")
    print(f"{report['seconds_per_picture']:.2f} s per picture ({report['machine']})")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.grid:
        write_grid(rows, args.grid)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
