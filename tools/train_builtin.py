"""Train seqc's built-in autoencoder (``model: builtin``) on the CPU.

A diffusers ``AutoencoderTiny`` with a 4x downsampling factor (32 channels throughout,
~0.26M parameters) is trained to reconstruct images through its public
``encode(x).latents`` / ``decode(z).sample`` path, with pixels in [-1, 1]. A fresh run
starts with 4 latent channels; ``--resume FOLDER --latent-channels 8`` widens a trained model
without changing its output (the shipped model was made that way). ``--minutes 0`` with
``--resume`` trains nothing and only re-saves (export).

Data: scikit-image's sample images that ship inside the scikit-image wheel (no download).
Names that need a download are tried and skipped if they fail. ``astronaut`` and ``coffee``
are held out for evaluation (tools/eval_builtin.py) and never used for training. No pixels
from these pictures are committed; only the trained weights are.

Usage (the command that made the shipped weights is in seqc/backends/builtin/MODEL_CARD.md)::

    python tools/train_builtin.py --minutes 30 --out out/builtin --log out/builtin_train.json
    python tools/train_builtin.py --minutes 10 --resume out/builtin --lr 5e-4 --out out/builtin2
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent

# Bundled with scikit-image (no network). Order matters for reproducibility.
RGB_NAMES = (
    "chelsea",
    "colorwheel",
    "hubble_deep_field",
    "immunohistochemistry",
    "logo",
    "retina",
    "rocket",
    "stereo_motorcycle",
)
GRAY_NAMES = (
    "brick",
    "camera",
    "cell",
    "clock",
    "coins",
    "grass",
    "gravel",
    "moon",
    "page",
    "text",
)
# Pre-computed scale pyramid for "random scale" augmentation (downscaling keeps detail sharp).
SCALES = (1.0, 0.8, 0.65, 0.5)

MODEL_CONFIG = {
    "in_channels": 3,
    "out_channels": 3,
    "encoder_block_out_channels": (32, 32, 32),
    "decoder_block_out_channels": (32, 32, 32),
    # Encoder: a linear stride-2 stage (space-to-depth-like) then 2 blocks at 1/2 and 1/4.
    "num_encoder_blocks": (0, 2, 2),
    # Decoder: 2 blocks at 1/4 and 1/2 resolution, no block at full resolution (speed).
    "num_decoder_blocks": (2, 2, 0),
    "act_fn": "relu",
    "upsample_fn": "nearest",
    "latent_channels": 4,
    "upsampling_scaling_factor": 2,
    "latent_magnitude": 3,
    "latent_shift": 0.5,
    "scaling_factor": 1.0,
    "shift_factor": 0.0,
}


def load_eval_module():
    """Import tools/eval_builtin.py (held-out crops, PSNR, bicubic baseline) by path."""
    spec = importlib.util.spec_from_file_location("eval_builtin", HERE / "eval_builtin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def as_rgb_float(image: np.ndarray) -> np.ndarray:
    """Any skimage sample (bool, gray, RGB, RGBA; uint8 or float) -> float32 HxWx3 in [0, 1]."""
    image = np.asarray(image)
    if image.dtype == bool:
        image = image.astype(np.float32)
    elif image.dtype == np.uint8:
        image = image.astype(np.float32) / 255.0
    else:
        image = image.astype(np.float32)
        image = (image - image.min()) / max(float(image.max() - image.min()), 1e-8)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.shape[2] == 4:
        # Composite RGBA over white.
        alpha = image[..., 3:4]
        image = image[..., :3] * alpha + (1.0 - alpha)
    return np.ascontiguousarray(image[..., :3])


def load_training_images(holdout: tuple[str, ...]) -> tuple[list[np.ndarray], list[str], list[str]]:
    """Load every bundled sample that works offline, minus the held-out ones.

    Returns (images, loaded names, skipped names with reasons).
    """
    import skimage.data

    images, loaded, skipped = [], [], []
    for name in RGB_NAMES + GRAY_NAMES:
        if name in holdout:
            continue
        try:
            data = getattr(skimage.data, name)()
        except Exception as exc:  # a missing file that needs a download, an old skimage, ...
            skipped.append(f"{name}: {type(exc).__name__}")
            continue
        # stereo_motorcycle returns (left, right, disparity): use both views.
        parts = list(data[:2]) if isinstance(data, tuple) else [data]
        for index, part in enumerate(parts):
            images.append(as_rgb_float(part))
            loaded.append(name if len(parts) == 1 else f"{name}[{index}]")
    return images, loaded, skipped


def build_pyramid(images: list[np.ndarray], min_side: int) -> list[list[np.ndarray]]:
    """Each image at every scale in SCALES (antialiased bilinear), skipping ones too small."""
    pyramids = []
    for image in images:
        tensor = torch.from_numpy(image).permute(2, 0, 1)[None]
        levels = []
        for scale in SCALES:
            height = round(image.shape[0] * scale)
            width = round(image.shape[1] * scale)
            if min(height, width) < min_side:
                continue
            if scale == 1.0:
                levels.append(image)
                continue
            small = F.interpolate(
                tensor, size=(height, width), mode="bilinear", antialias=True, align_corners=False
            )
            levels.append(np.ascontiguousarray(small[0].permute(1, 2, 0).clamp(0, 1).numpy()))
        pyramids.append(levels)
    return pyramids


def colour_jitter(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random brightness, contrast, saturation, per-channel gain and channel order."""
    crop = crop * rng.uniform(0.85, 1.15, size=3).astype(np.float32)  # per-channel gain
    gray = crop.mean(axis=2, keepdims=True)
    crop = gray + (crop - gray) * rng.uniform(0.6, 1.5)  # saturation
    mean = crop.mean()
    crop = mean + (crop - mean) * rng.uniform(0.75, 1.25)  # contrast
    crop = crop + rng.uniform(-0.1, 0.1)  # brightness
    if rng.random() < 0.25:
        crop = crop[..., rng.permutation(3)]  # channel order
    return np.clip(crop, 0.0, 1.0)


def random_crop(
    pyramids: list[list[np.ndarray]], size: int, rng: np.random.Generator
) -> np.ndarray:
    """One augmented HxWx3 float crop: random image, scale, position, flip, rotation, colour."""
    levels = pyramids[rng.integers(len(pyramids))]
    image = levels[rng.integers(len(levels))]
    top = rng.integers(image.shape[0] - size + 1)
    left = rng.integers(image.shape[1] - size + 1)
    crop = image[top : top + size, left : left + size]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    crop = np.rot90(crop, k=int(rng.integers(4)))
    return colour_jitter(crop, rng)


def make_batch(pyramids, batch_size: int, size: int, rng: np.random.Generator) -> torch.Tensor:
    """A [B, 3, size, size] float32 tensor in [-1, 1]."""
    crops = np.stack([random_crop(pyramids, size, rng) for _ in range(batch_size)])
    return torch.from_numpy(crops * 2.0 - 1.0).float().permute(0, 3, 1, 2).contiguous()


def gradient_l1(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 distance between horizontal and vertical finite differences (edge sharpness)."""
    dx = (output[..., :, 1:] - output[..., :, :-1]) - (target[..., :, 1:] - target[..., :, :-1])
    dy = (output[..., 1:, :] - output[..., :-1, :]) - (target[..., 1:, :] - target[..., :-1, :])
    return dx.abs().mean() + dy.abs().mean()


def widen_latents(model, channels: int):
    """A copy of ``model`` with more latent channels that computes the same reconstruction.

    Weights are copied where shapes agree; the encoder's extra output channels keep their
    random initialisation and the decoder's weights for them start at zero, so training
    continues from the same function and learns what to put in the new channels.
    """
    from diffusers import AutoencoderTiny

    if channels < model.config.latent_channels:
        raise SystemExit("--latent-channels can only grow when resuming")
    wider = AutoencoderTiny.from_config(model.config, latent_channels=channels)
    old = model.state_dict()
    new = wider.state_dict()
    for name, tensor in new.items():
        source = old[name]
        if source.shape == tensor.shape:
            new[name] = source.clone()
            continue
        if name.startswith("decoder."):
            tensor.zero_()
        tensor[tuple(slice(0, n) for n in source.shape)] = source
    wider.load_state_dict(new)
    return wider


def save_model(model, out: Path) -> None:
    """``save_pretrained`` (config.json + safetensors) without loader bookkeeping.

    A model loaded with ``from_pretrained`` carries ``_name_or_path`` (a local path) in its
    config; the copy saved here is rebuilt from the architecture keys only, so the shipped
    config.json names no machine's folders. The weights are saved unchanged.
    """
    from diffusers import AutoencoderTiny

    config = {
        key: value
        for key, value in model.config.items()
        if not key.startswith("_") and key != "block_out_channels"
    }
    clean = AutoencoderTiny(**config)
    clean.load_state_dict(model.state_dict())
    clean.save_pretrained(str(out), safe_serialization=True)


def heldout_psnr(model, evaluator, crops) -> float:
    """Mean PSNR (dB) of the model on the held-out crops, via the public encode/decode."""
    model.eval()
    recon = evaluator.reconstruct(model, [image for _, image in crops])
    model.train()
    return statistics.fmean(
        evaluator.psnr(image, out) for (_, image), out in zip(crops, recon, strict=True)
    )


def learning_rate(base: float, elapsed: float, total: float, step: int, warmup: int) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay to 5% over the time budget."""
    progress = min(elapsed / total, 1.0)
    cosine = 0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * progress))
    return base * cosine * min(1.0, (step + 1) / warmup)


def main(argv: list[str] | None = None) -> int:
    """Train for a wall-clock budget, evaluating on the held-out crops as it goes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="training wall-time budget")
    parser.add_argument(
        "--out", type=Path, default=Path("out/builtin"), help="save_pretrained folder"
    )
    parser.add_argument(
        "--log", type=Path, help="JSON log of the run (default: OUT/train_log.json)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--crop", type=int, default=64, help="training crop side, multiple of 4")
    parser.add_argument("--lr", type=float, default=2e-3, help="peak Adam learning rate")
    parser.add_argument(
        "--grad-weight", type=float, default=0.05, help="weight of the gradient loss"
    )
    parser.add_argument("--eval-minutes", type=float, default=3.0, help="held-out PSNR every N min")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    parser.add_argument("--loss", choices=("l1", "mse"), default="l1", help="pixel loss")
    parser.add_argument(
        "--latent-channels",
        type=int,
        help="latent channels (default 4; with --resume, a larger value widens the latents)",
    )
    parser.add_argument("--resume", type=Path, help="continue from a save_pretrained folder")
    args = parser.parse_args(argv)
    log_path = args.log or args.out / "train_log.json"

    # 1. Seeds, threads, evaluation helpers.
    seed_everything(args.seed)
    rng = np.random.default_rng(args.seed)
    if args.threads:
        torch.set_num_threads(args.threads)
    evaluator = load_eval_module()
    holdout = tuple(evaluator.HELDOUT_NAMES)

    # 2. Data: bundled skimage samples minus the held-out pair; the fixed held-out crops.
    images, loaded, skipped = load_training_images(holdout)
    if not images:
        raise SystemExit("no scikit-image sample images could be loaded")
    pyramids = build_pyramid(images, min_side=args.crop)
    crops = evaluator.heldout_crops()
    print(f"training images ({len(loaded)}): {', '.join(loaded)}")
    print(
        f"skipped: {', '.join(skipped) or 'none'}; held out: {', '.join(holdout)} ({len(crops)} crops)"
    )

    # 3. Model (fresh from MODEL_CONFIG, or resumed from a folder through the public loader).
    from diffusers import AutoencoderTiny

    if args.resume:
        model = AutoencoderTiny.from_pretrained(str(args.resume), use_safetensors=True)
        if args.latent_channels and args.latent_channels != model.config.latent_channels:
            model = widen_latents(model, args.latent_channels)
    else:
        channels = args.latent_channels or MODEL_CONFIG["latent_channels"]
        model = AutoencoderTiny(**{**MODEL_CONFIG, "latent_channels": channels})
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    warmup = 50 if args.resume else 200
    print(f"model: {n_params:,} parameters; threads {torch.get_num_threads()}")

    # 4. Train until the time budget runs out.
    history = []
    start = time.perf_counter()
    total = args.minutes * 60.0
    next_eval = args.eval_minutes * 60.0
    next_print = 30.0
    step, seen, losses = 0, 0, []
    psnr_start = heldout_psnr(model, evaluator, crops)
    print(f"start: held-out PSNR {psnr_start:.2f} dB")
    history.append({"step": 0, "seconds": 0.0, "heldout_psnr": psnr_start})
    while (elapsed := time.perf_counter() - start) < total:
        lr = learning_rate(args.lr, elapsed, total, step, warmup)
        for group in optimizer.param_groups:
            group["lr"] = lr
        target = make_batch(pyramids, args.batch_size, args.crop, rng)
        latents = model.encode(target).latents
        output = model.decode(latents).sample
        loss = F.l1_loss(output, target) if args.loss == "l1" else F.mse_loss(output, target)
        if args.grad_weight:
            loss = loss + args.grad_weight * gradient_l1(output, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        seen += args.batch_size
        losses.append(loss.item())

        elapsed = time.perf_counter() - start
        if elapsed >= next_print:
            rate = step / elapsed
            print(
                f"{elapsed / 60:5.1f} min  step {step:6d}  loss {statistics.fmean(losses):.4f}"
                f"  lr {lr:.2e}  {rate:.2f} it/s  {rate * args.batch_size:.1f} crops/s",
                flush=True,
            )
            losses = []
            next_print += 30.0
        if elapsed >= next_eval:
            value = heldout_psnr(model, evaluator, crops)
            history.append({"step": step, "seconds": elapsed, "heldout_psnr": value, "lr": lr})
            print(f"{elapsed / 60:5.1f} min  held-out PSNR {value:.2f} dB (saved)", flush=True)
            save_model(model, args.out)
            next_eval += args.eval_minutes * 60.0

    # 5. Final evaluation, save, log.
    wall = time.perf_counter() - start
    final = heldout_psnr(model, evaluator, crops)
    history.append({"step": step, "seconds": wall, "heldout_psnr": final})
    save_model(model, args.out)
    print(f"done: {step} steps, {seen} crops, {wall / 60:.1f} min, held-out PSNR {final:.2f} dB")
    print(f"saved {args.out}")
    log = {
        "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
        if argv is None
        else argv,
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "config": {k: v for k, v in model.config.items() if not k.startswith("_")},
        "parameters": n_params,
        "training_images": loaded,
        "skipped_images": skipped,
        "heldout_images": list(holdout),
        "steps": step,
        "crops_seen": seen,
        "wall_seconds": wall,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "history": history,
    }
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text(json.dumps(log, indent=2, default=str) + "\n")
    print(f"log: {log_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
