"""The shipped built-in autoencoder (``model: builtin``) loads offline and really reconstructs.

The weights are loaded from the installed package through the public diffusers loader
(safetensors only), the same path a user's model folder takes. The check image is a held-out
crop (never trained on): the top-left 256x256 crop of scikit-image's bundled ``astronaut``,
one of the 10 grid crops tools/eval_builtin.py measures.
"""

from __future__ import annotations

import importlib.resources
import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")
skimage_data = pytest.importorskip("skimage.data")
from PIL import Image  # noqa: E402

PSNR_FLOOR_DB = 28.0  # random weights score ~6 dB; the trained model ~30+ dB
BICUBIC_MARGIN_DB = 0.25  # "not worse than bicubic 4x down/up" with a little slack
MAX_WEIGHT_BYTES = 5_000_000


def builtin_folder() -> Path:
    """The packaged model folder, found through importlib.resources."""
    folder = importlib.resources.files("seqc.backends") / "builtin"
    return Path(str(folder))


def heldout_crop() -> np.ndarray:
    """astronaut[0:256, 0:256] as uint8 RGB (eval_builtin's first grid crop)."""
    image = np.asarray(skimage_data.astronaut())[..., :3].astype(np.uint8)
    return image[:256, :256].copy()


def psnr(reference: np.ndarray, test: np.ndarray) -> float:
    """PSNR in dB between two uint8 images."""
    mse = np.mean((reference.astype(np.float64) - test.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def roundtrip(model, image: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 -> [-1, 1] -> encode().latents -> decode().sample -> uint8 HxWx3."""
    x = torch.from_numpy(image.astype(np.float32) / 127.5 - 1.0).permute(2, 0, 1)[None]
    with torch.inference_mode():
        latents = model.encode(x).latents
        out = model.decode(latents).sample
    out = ((out.clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)
    return out[0].permute(1, 2, 0).numpy()


def bicubic_roundtrip(image: np.ndarray) -> np.ndarray:
    """Pillow BICUBIC 4x down then up (the baseline)."""
    height, width = image.shape[:2]
    small = Image.fromarray(image).resize((width // 4, height // 4), Image.BICUBIC)
    return np.asarray(small.resize((width, height), Image.BICUBIC))


@pytest.fixture(scope="module")
def model():
    """The shipped model, loaded like a user's folder."""
    folder = builtin_folder()
    return diffusers.AutoencoderTiny.from_pretrained(str(folder), use_safetensors=True).eval()


def test_shipped_files_are_safetensors_and_small():
    """config.json + safetensors weights (no pickles), within the size budget."""
    folder = builtin_folder()
    weights = folder / "diffusion_pytorch_model.safetensors"
    assert (folder / "config.json").is_file()
    assert weights.is_file()
    assert weights.stat().st_size <= MAX_WEIGHT_BYTES
    assert not list(folder.glob("*.bin")) and not list(folder.glob("*.pt"))


def test_latents_are_4x_down_and_unscaled(model):
    """256x256 -> 8x64x64 latents; no scale or shift for the backend to apply."""
    image = heldout_crop()
    x = torch.from_numpy(image.astype(np.float32) / 127.5 - 1.0).permute(2, 0, 1)[None]
    with torch.inference_mode():
        latents = model.encode(x).latents
    assert latents.shape == (1, 8, 64, 64)
    assert model.config.scaling_factor == 1.0
    assert model.config.shift_factor == 0.0


def test_reconstructs_heldout_crop(model):
    """Above the PSNR floor and at least as good as bicubic 4x down/up on a held-out crop."""
    image = heldout_crop()
    model_db = psnr(image, roundtrip(model, image))
    bicubic_db = psnr(image, bicubic_roundtrip(image))
    assert model_db >= PSNR_FLOOR_DB, (model_db, bicubic_db)
    assert model_db >= bicubic_db - BICUBIC_MARGIN_DB, (model_db, bicubic_db)


def test_random_weights_fail_the_floor(model):
    """The floor is a real check: the same architecture with random weights is far below it."""
    torch.manual_seed(0)
    random_model = diffusers.AutoencoderTiny.from_config(model.config).eval()
    image = heldout_crop()
    assert psnr(image, roundtrip(random_model, image)) < PSNR_FLOOR_DB - 10.0
