"""Evaluate the built-in autoencoder: reconstruction quality, decode speed and size.

The model is loaded the same way a user's model is: ``AutoencoderTiny.from_pretrained(folder,
use_safetensors=True)``, and used only through its public ``encode(x).latents`` and
``decode(z).sample`` with images in [-1, 1].

Held-out set (never seen in training, see tools/train_builtin.py): scikit-image's bundled
``astronaut`` (512x512) and ``coffee`` (400x600). Each is cut into a deterministic grid of
256x256 crops: along each axis, ``ceil(size / 256)`` crops whose top-left corners are evenly
spaced from 0 to ``size - 256`` (rounded down). That gives 2x2 = 4 astronaut crops and
2x3 = 6 coffee crops, 10 in all.

Baseline: Pillow BICUBIC 4x down (256 -> 64) then 4x up (64 -> 256) of the same crops; the
model's latent grid is also 64x64 for a 256x256 crop.

Usage::

    python tools/eval_builtin.py                       # the shipped model
    python tools/eval_builtin.py --model out/builtin --json bench/results/builtin_eval.json
    python tools/eval_builtin.py --example examples/seasons/keyframes/summer.png \\
        --recon-out bench/results/builtin_summer_recon.png
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = REPO / "seqc" / "backends" / "builtin"
DEFAULT_JSON = REPO / "bench" / "results" / "builtin_eval.json"
WEIGHTS_NAME = "diffusion_pytorch_model.safetensors"

HELDOUT_NAMES = ("astronaut", "coffee")
CROP = 256
FACTOR = 4


def load_heldout_images() -> dict[str, np.ndarray]:
    """Return the held-out scikit-image pictures as uint8 RGB arrays, keyed by name."""
    import skimage.data

    images = {}
    for name in HELDOUT_NAMES:
        image = np.asarray(getattr(skimage.data, name)())
        images[name] = image[..., :3].astype(np.uint8)
    return images


def grid_offsets(size: int, crop: int = CROP) -> list[int]:
    """Evenly spaced crop starts covering ``size`` pixels with ``ceil(size / crop)`` crops."""
    count = max(1, math.ceil(size / crop))
    if count == 1:
        return [0]
    return [(size - crop) * i // (count - 1) for i in range(count)]


def heldout_crops(crop: int = CROP) -> list[tuple[str, np.ndarray]]:
    """The fixed evaluation set: (label, uint8 HxWx3 crop) for every grid crop of each image."""
    crops = []
    for name, image in load_heldout_images().items():
        height, width = image.shape[:2]
        for top in grid_offsets(height, crop):
            for left in grid_offsets(width, crop):
                label = f"{name}@{top},{left}"
                crops.append((label, image[top : top + crop, left : left + crop].copy()))
    return crops


def to_tensor(images: list[np.ndarray]) -> torch.Tensor:
    """uint8 HxWx3 arrays -> float32 [B, 3, H, W] tensor in [-1, 1]."""
    batch = np.stack(images).astype(np.float32) / 127.5 - 1.0
    return torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous()


def to_uint8(batch: torch.Tensor) -> np.ndarray:
    """float [B, 3, H, W] tensor in [-1, 1] -> uint8 [B, H, W, 3] (clamped, rounded)."""
    batch = ((batch.detach().float().clamp(-1.0, 1.0) + 1.0) * 127.5).round()
    return batch.to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def psnr(reference: np.ndarray, test: np.ndarray) -> float:
    """PSNR in dB between two uint8 images (peak 255)."""
    mse = np.mean((reference.astype(np.float64) - test.astype(np.float64)) ** 2)
    if mse == 0:
        return float("inf")
    return float(10.0 * math.log10(255.0**2 / mse))


def bicubic_roundtrip(image: np.ndarray, factor: int = FACTOR) -> np.ndarray:
    """Pillow BICUBIC ``factor``x down then up: the baseline the model has to beat."""
    height, width = image.shape[:2]
    small = Image.fromarray(image).resize((width // factor, height // factor), Image.BICUBIC)
    return np.asarray(small.resize((width, height), Image.BICUBIC))


def reconstruct(model, images: list[np.ndarray], batch_size: int = 4) -> np.ndarray:
    """Encode and decode uint8 images through the public API; returns uint8 reconstructions."""
    outputs = []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            x = to_tensor(images[start : start + batch_size])
            latents = model.encode(x).latents
            outputs.append(to_uint8(model.decode(latents).sample))
    return np.concatenate(outputs)


def load_model(folder: Path):
    """Load an AutoencoderTiny folder the way users' models load: safetensors only, eval mode."""
    from diffusers import AutoencoderTiny

    model = AutoencoderTiny.from_pretrained(str(folder), use_safetensors=True)
    return model.eval()


def quality(model) -> dict:
    """Per-crop and mean PSNR of the model and of the bicubic baseline on the held-out crops."""
    crops = heldout_crops()
    recon = reconstruct(model, [image for _, image in crops])
    rows = []
    for (label, image), out in zip(crops, recon, strict=True):
        rows.append(
            {
                "crop": label,
                "psnr_model": psnr(image, out),
                "psnr_bicubic": psnr(image, bicubic_roundtrip(image)),
            }
        )
    return {
        "crops": rows,
        "psnr_model_mean": statistics.fmean(r["psnr_model"] for r in rows),
        "psnr_bicubic_mean": statistics.fmean(r["psnr_bicubic"] for r in rows),
    }


def decode_speed(model, batch_size: int, repeats: int, size: int = CROP) -> dict:
    """Frames/s decoding a batch of ``size``x``size`` frames' latents on the CPU.

    Latents are random normal (the decoder's cost does not depend on their values). One
    warm-up call, then ``repeats`` timed calls; reports the median and the best call, since
    the machine may be shared with other work.
    """
    channels = model.config.latent_channels
    down = 2 ** (len(model.config.encoder_block_out_channels) - 1)
    generator = torch.Generator().manual_seed(0)
    latents = torch.randn(batch_size, channels, size // down, size // down, generator=generator)
    times = []
    with torch.inference_mode():
        model.decode(latents)
        for _ in range(repeats):
            start = time.perf_counter()
            frames = model.decode(latents).sample
            times.append(time.perf_counter() - start)
    assert frames.shape == (batch_size, 3, size, size), frames.shape
    return {
        "size": size,
        "batch_size": batch_size,
        "repeats": repeats,
        "threads": torch.get_num_threads(),
        "fps_median": batch_size / statistics.median(times),
        "fps_best": batch_size / min(times),
        "seconds_per_batch": times,
    }


def machine_info() -> dict:
    """What ran the benchmark: CPU count, load, library versions."""
    import diffusers

    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average_at_start": load,
        "processor": platform.processor() or platform.machine(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
    }


def side_by_side(model, image_path: Path, out_path: Path) -> float:
    """Save ``original | reconstruction`` for one image; returns its PSNR.

    The image is cropped to a multiple of the downsampling factor (no resizing), so the
    comparison is pixel for pixel.
    """
    down = 2 ** (len(model.config.encoder_block_out_channels) - 1)
    image = np.asarray(Image.open(image_path).convert("RGB"))
    height, width = (image.shape[0] // down) * down, (image.shape[1] // down) * down
    image = image[:height, :width]
    recon = reconstruct(model, [image], batch_size=1)[0]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate([image, recon], axis=1)).save(out_path)
    return psnr(image, recon)


def main(argv: list[str] | None = None) -> int:
    """Evaluate a model folder; print a table and write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="AutoencoderTiny folder")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results")
    parser.add_argument("--batch-size", type=int, default=8, help="decode batch for the fps test")
    parser.add_argument("--repeats", type=int, default=10, help="timed decode calls")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    parser.add_argument("--example", type=Path, help="an image to reconstruct side by side")
    parser.add_argument("--recon-out", type=Path, help="where to save the side-by-side PNG")
    args = parser.parse_args(argv)
    if (args.example is None) != (args.recon_out is None):
        parser.error("--example and --recon-out go together")

    # 1. Machine and model.
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    info = machine_info()
    model = load_model(args.model)
    weights = args.model / WEIGHTS_NAME
    n_params = sum(p.numel() for p in model.parameters())

    # 2. Reconstruction quality on the held-out crops vs bicubic.
    result_quality = quality(model)

    # 3. Decode speed.
    result_speed = decode_speed(model, args.batch_size, args.repeats)

    # 4. Optional side-by-side of a project keyframe.
    example = None
    if args.example is not None:
        example = {
            "image": str(args.example),
            "recon_out": str(args.recon_out),
            "psnr": side_by_side(model, args.example, args.recon_out),
        }

    # 5. Report.
    print(f"model: {args.model}  ({n_params:,} parameters)")
    print(f"{'crop':<22} {'model dB':>9} {'bicubic dB':>11}")
    for row in result_quality["crops"]:
        print(f"{row['crop']:<22} {row['psnr_model']:>9.2f} {row['psnr_bicubic']:>11.2f}")
    print(
        f"{'mean':<22} {result_quality['psnr_model_mean']:>9.2f}"
        f" {result_quality['psnr_bicubic_mean']:>11.2f}"
    )
    print(
        f"decode {CROP}x{CROP}: {result_speed['fps_median']:.1f} frames/s median,"
        f" {result_speed['fps_best']:.1f} best (batch {result_speed['batch_size']},"
        f" {result_speed['threads']} threads, {info['cpu_count']} CPUs,"
        f" load {info['load_average_at_start']})"
    )
    size = weights.stat().st_size
    print(f"weights: {weights.name} {size:,} bytes ({size / 1e6:.2f} MB)")
    if example is not None:
        print(f"example: {example['image']} -> {example['recon_out']} ({example['psnr']:.2f} dB)")

    args.json.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "model": str(args.model),
        "parameters": n_params,
        "weights_bytes": size,
        "heldout": {
            "images": list(HELDOUT_NAMES),
            "crop": CROP,
            "grid": "ceil(size/crop) evenly spaced per axis",
        },
        "baseline": f"Pillow BICUBIC {FACTOR}x down/up",
        "quality": result_quality,
        "decode": result_speed,
        "example": example,
        "machine": info,
    }
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
