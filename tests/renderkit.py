"""Helpers for tests that render: a tiny random diffusers autoencoder, storyboards, the CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent


def make_tiny_vae(folder: Path, seed: int = 0) -> Path:
    """A ~35k-parameter AutoencoderTiny (factor 4) saved with save_pretrained, loaded as a user's model is."""
    import torch
    from diffusers import AutoencoderTiny

    torch.manual_seed(seed)
    model = AutoencoderTiny(
        encoder_block_out_channels=(16, 16), decoder_block_out_channels=(16, 16),
        num_encoder_blocks=(1, 1), num_decoder_blocks=(1, 1), latent_channels=4, upsampling_scaling_factor=2,
    )
    model.save_pretrained(folder, safe_serialization=True)
    return folder


def write_image(path: Path, seed: int, size: tuple[int, int] = (64, 64)) -> Path:
    """A deterministic colourful PNG (smooth gradients plus blobs), different for each seed."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w] / max(w, h)
    channels = []
    for _ in range(3):
        a, b, c = rng.uniform(-3, 3, 3)
        channels.append(0.5 + 0.5 * np.sin(a * x * 6 + b * y * 6 + c))
    pixels = (np.stack(channels, -1) * 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def write_cutout(path: Path, seed: int, size: tuple[int, int] = (64, 64)) -> Path:
    """`write_image`'s picture as RGBA with its left half transparent and its right half opaque."""
    pixels = np.asarray(Image.open(write_image(path, seed, size)).convert("RGB"))
    alpha = np.zeros(size[::-1], np.uint8)
    alpha[:, size[0] // 2:] = 255
    Image.fromarray(np.dstack([pixels, alpha]), "RGBA").save(path)
    return path


def five_keyframe_storyboard(folder: Path, model: Path, size: int = 64, fps: int = 12) -> Path:
    """A 5-keyframe, 4-segment storyboard with images k0..k4 (k2 is 'the third keyframe')."""
    for i in range(5):
        write_image(folder / "kf" / f"k{i}.png", seed=i)
    text = f"""\
# five keyframes, four segments
version: 1
output: {{path: out/video.mp4, size: [{size}, {size}], fps: {fps}}}
model: {model}
defaults: {{duration: 1, easing: ease-in-out, method: slerp}}
keyframes:
  k0: {{image: kf/k0.png}}
  k1: {{image: kf/k1.png}}
  k2: {{image: kf/k2.png}}
  k3: {{image: kf/k3.png}}
  k4: {{image: kf/k4.png}}
segments:
  - {{from: k0, to: k1}}
  - {{from: k1, to: k2, frames: 10}}
  - {{from: k2, to: k3, method: lerp, easing: linear}}
  - {{from: k3, to: k4, method: crossfade}}
"""
    story = folder / "storyboard.yaml"
    story.write_text(text)
    return story


def run_seqc(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 600,
             check: bool = True) -> subprocess.CompletedProcess:
    """Run `python -m seqc ARGS` in a subprocess; on an unexpected exit code show its output."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "seqc", *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"seqc {' '.join(args)} exited {proc.returncode}\nstdout:\n{proc.stdout}\n"
                             f"stderr:\n{proc.stderr}")
    return proc


def render_json(story: Path, cache: Path, *extra: str, env: dict | None = None) -> dict:
    """`seqc render --json` and its parsed result line."""
    proc = run_seqc("render", str(story), "--cache-dir", str(cache), "--json", *extra, env=env)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def plan_json(story: Path, cache: Path) -> dict:
    """`seqc plan --json`."""
    proc = run_seqc("plan", str(story), "--cache-dir", str(cache), "--json")
    return json.loads(proc.stdout)


SEASONS = ("summer", "autumn", "winter", "spring", "night")


def paint_seasons(folder: Path) -> Path:
    """A folder with kf/<name>.png (64x64, painted by tools.paint) for each of SEASONS."""
    from tools.paint import save_set

    save_set(folder / "kf", list(SEASONS), (64, 64), 0)
    return folder


def write_story(folder: Path, name: str, body: str) -> Path:
    """`<name>.yaml` in `folder`: every SEASONS keyframe, 64x64 at 8 fps into out/<name>.mp4, the
    built-in model, then `body` (segments and the rest)."""
    keyframes = "\n".join(f"  {n}: {{image: kf/{n}.png}}" for n in SEASONS)
    story = folder / f"{name}.yaml"
    story.write_text(f"version: 1\noutput: {{path: out/{name}.mp4, size: [64, 64], fps: 8}}\n"
                     f"keyframes:\n{keyframes}\n{body}")
    return story
