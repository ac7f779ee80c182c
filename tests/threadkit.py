"""A model and a picture whose encode and decode round differently with one and two torch threads.

The tests' own autoencoders (AutoencoderTiny: convolutions, ReLU, tanh) happen to give the same
bytes at any thread count on this CPU; an AutoencoderKL does not: its GroupNorm on channels-last
tensors (seqc's CPU layout) sums in an order that depends on the thread count. Found by search
(issue 24 item 1): AutoencoderKL(block_out_channels=(16, 32), norm_num_groups=8) seeded 0..1,
renderkit.write_image seeds 0..3 at 32 and 64 pixels, encode then decode with
torch.set_num_threads(1) and (2) through seqc's backend as it was: every one of the 16 latents
differed in over 90% of its values, and 10 of the 16 decoded frames in 1 to 3 bytes (one level
each). ROUNDS_DIFFERENTLY is one of those where both differ (latent: 3,834 of 4,096 values,
frame: 2 bytes); `torch_rounds_differently` checks it still does with the torch installed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from renderkit import write_image

ROUNDS_DIFFERENTLY = {"model_seed": 0, "size": 64, "image_seed": 1}


def make_tiny_kl(folder: Path, seed: int = ROUNDS_DIFFERENTLY["model_seed"]) -> Path:
    """A ~100k-parameter AutoencoderKL (factor 2, GroupNorm of 8 groups) saved as a user's model folder."""
    import diffusers
    import torch

    torch.manual_seed(seed)
    diffusers.AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1, block_out_channels=(16, 32),
        norm_num_groups=8, down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
    ).save_pretrained(folder, safe_serialization=True)
    return folder


def fixture_image(folder: Path) -> np.ndarray:
    """The picture of ROUNDS_DIFFERENTLY as uint8 [H, W, 3]."""
    size = ROUNDS_DIFFERENTLY["size"]
    path = write_image(folder / "rounds.png", ROUNDS_DIFFERENTLY["image_seed"], (size, size))
    return np.asarray(Image.open(path).convert("RGB")).copy()


def torch_rounds_differently(model_folder: Path, image: np.ndarray) -> bool:
    """Whether the bare model (no seqc), in seqc's CPU layout, encodes `image` to other bytes with one
    torch thread than with two: if not, this torch sums alike and the fixture tests nothing."""
    import diffusers
    import torch

    model = diffusers.AutoencoderKL.from_pretrained(model_folder).eval().to(memory_format=torch.channels_last)
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1.0
    x = x.contiguous(memory_format=torch.channels_last)
    before, latents = torch.get_num_threads(), []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            with torch.inference_mode():
                latents.append(model.encode(x).latent_dist.mode().numpy().tobytes())
    finally:
        torch.set_num_threads(before)
    return latents[0] != latents[1]
