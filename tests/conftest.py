"""Shared fixtures: a tiny random diffusers autoencoder and small keyframe images.

`tiny_vae` is a real `save_pretrained` folder (config.json + safetensors), so tests go through
the same model code path users take, with no network. Building it imports diffusers, which
takes a while on a busy machine, so the folder is built once and kept in pytest's cache
(`.pytest_cache/d/seqc/`), keyed by the diffusers version; without the cache plugin it is
built once per session. Treat it as read-only: copy it before changing anything in it.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import struct
import zlib
from importlib.metadata import version
from pathlib import Path

import pytest
from PIL import Image


def pytest_configure(config) -> None:
    """Tests stop the seqc they started with Ctrl-C (SIGINT). A shell starts a background job with
    SIGINT ignored, and a child inherits that: put Python's handler back, so every seqc started from
    here acts on Ctrl-C as it would in a terminal."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


TINY_VAE_CONFIG = dict(
    encoder_block_out_channels=(16, 16),
    decoder_block_out_channels=(16, 16),
    num_encoder_blocks=(1, 1),
    num_decoder_blocks=(1, 1),
    latent_channels=4,
    upsampling_scaling_factor=2,
)


def _build_tiny_vae(folder: Path) -> None:
    import diffusers
    import torch

    torch.manual_seed(0)
    diffusers.AutoencoderTiny(**TINY_VAE_CONFIG).save_pretrained(folder, safe_serialization=True)


def _complete(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(folder.glob("*.safetensors"))


@pytest.fixture(scope="session", autouse=True)
def _private_user_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A storyboard with no tagged project cache above it renders into the per-user cache
    (seqc.store.location): give the whole session, subprocesses included, a fresh one."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    os.environ.pop("SEQC_CACHE_DIR", None)


@pytest.fixture(scope="session")
def tiny_vae(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a tiny random `AutoencoderTiny` saved with safetensors (read-only)."""
    cache = getattr(request.config, "cache", None)
    if cache is None:
        folder = tmp_path_factory.mktemp("tiny-vae")
        _build_tiny_vae(folder)
        return folder
    base = Path(cache.mkdir("seqc"))
    folder = base / f"tiny-vae-diffusers-{version('diffusers')}"
    if _complete(folder):
        return folder
    staging = Path(tmp_path_factory.mktemp("tiny-vae-staging", numbered=True))
    _build_tiny_vae(staging)
    partial = base / f".tiny-vae-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(staging, partial)
    try:
        os.rename(partial, folder)  # atomic: the cached folder is complete or absent
    except OSError:  # another session published it first, or a broken leftover is in the way
        shutil.rmtree(partial, ignore_errors=True)
        if not _complete(folder):
            shutil.rmtree(folder, ignore_errors=True)
            return staging
    return folder


@pytest.fixture(scope="session")
def keyframe_pngs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three small, different PNGs: {'a': ..., 'b': ..., 'c': ...} (read-only)."""
    folder = tmp_path_factory.mktemp("keyframes")
    paths = {}
    for name, colour in (("a", (220, 40, 30)), ("b", (30, 60, 220)), ("c", (40, 200, 60))):
        image = Image.new("RGB", (32, 24), colour)
        image.putpixel((3, 4), (255, 255, 255))
        paths[name] = folder / f"{name}.png"
        image.save(paths[name])
    return paths


@pytest.fixture
def story_dir(tmp_path: Path, tiny_vae: Path, keyframe_pngs: dict[str, Path]) -> Path:
    """A fresh folder with a.png, b.png, c.png and `vae` (a link to the tiny model) for storyboards.

    Storyboards written here use `model: ./vae` and `image: a.png`.
    """
    for name, path in keyframe_pngs.items():
        shutil.copyfile(path, tmp_path / f"{name}.png")
    (tmp_path / "vae").symlink_to(tiny_vae, target_is_directory=True)
    return tmp_path


def _png_claiming(width: int, height: int) -> bytes:
    """A real 8x8 PNG whose IHDR chunk says width x height (with a correct CRC)."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (9, 9, 9)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    assert data[12:16] == b"IHDR"
    struct.pack_into(">II", data, 16, width, height)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def _png_1bit(width: int, height: int) -> bytes:
    """A complete, valid 1-bit black PNG, compressed row by row (never all in memory)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = b"\x00" + bytes((width + 7) // 8)  # filter type 0, then the packed pixels
    packer = zlib.compressobj(9)
    idat = b"".join([packer.compress(row) for _ in range(height)] + [packer.flush()])
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture(scope="session")
def bad_image_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of keyframe files that must be refused, named for what is wrong with them.

    fifo.png (a named pipe), loop.png (a symlink to itself), folder.png (a directory),
    not-an-image.png (text), empty.png, truncated.png (half a PNG), bomb.png (a PNG header
    claiming 20000x20000), bomb-1bit.png (a real 20000x20000 1-bit PNG, small on disk),
    eps.png (an EPS file: a format seqc never opens).
    """
    folder = tmp_path_factory.mktemp("bad-images")
    os.mkfifo(folder / "fifo.png")
    (folder / "loop.png").symlink_to("loop.png")
    (folder / "folder.png").mkdir()
    (folder / "not-an-image.png").write_text("this is not an image\n")
    (folder / "empty.png").write_bytes(b"")
    good = folder / "good.png"
    Image.new("RGB", (32, 32), (200, 100, 50)).save(good)
    data = good.read_bytes()
    (folder / "truncated.png").write_bytes(data[: len(data) // 2])
    good.unlink()
    (folder / "bomb.png").write_bytes(_png_claiming(20000, 20000))
    (folder / "bomb-1bit.png").write_bytes(_png_1bit(20000, 20000))
    Image.new("L", (8, 8)).save(folder / "eps.png", format="EPS")
    return folder


# -- the remote cache's tests (tests/remotekit.py) ----------------------------------------------

@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's S3 server on 127.0.0.1, started once per session when a test asks for it (bounded in
    time, stopped at the end); yields its endpoint URL, with remotekit.BUCKET created."""
    from remotekit import moto_server

    with moto_server() as endpoint:
        yield endpoint
