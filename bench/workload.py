"""What the benchmark renders: painted keyframes, generated storyboards and stand-in models.

Everything is written into a temporary project folder, the way a user's project looks:
`storyboard.yaml`, `keyframes/*.png`, `out/`, and a cache folder passed with `--cache-dir`.
Keyframes come from `tools.paint` (procedural, deterministic); the 1,000-segment plan needs
1,001 distinct files, which are painted pictures made distinct by a PNG text chunk (the
bytes differ, so every latent key differs, and nothing has to be painted again).
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from tools.paint import PAINTERS, paint, png_bytes

PAINTER_NAMES = tuple(PAINTERS)  # summer autumn winter spring dawn noon dusk night

_painted: dict[tuple[str, int, int], bytes] = {}


def painted_png(name: str, seed: int, size: int) -> bytes:
    """PNG bytes of one painted keyframe (memoised: painting takes about half a second)."""
    key = (name, seed, size)
    if key not in _painted:
        _painted[key] = png_bytes(paint(name, (size, size), seed))
    return _painted[key]


def tagged_png(png: bytes, tag: str) -> bytes:
    """The same picture with a `tEXt` chunk holding `tag` before IEND: distinct bytes, same pixels."""
    iend = png.rfind(b"IEND") - 4  # the chunk starts with its 4-byte length
    body = b"tEXt" + b"seqc-bench\x00" + tag.encode()
    chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
    return png[:iend] + chunk + png[iend:]


def keyframe_picture(index: int, size: int, variant: int = 0) -> bytes:
    """The picture of keyframe `index`: the painters in turn, a new seed for each round and variant."""
    name = PAINTER_NAMES[index % len(PAINTER_NAMES)]
    return painted_png(name, index // len(PAINTER_NAMES) + 100 * variant, size)


def model_yaml(model: str | Path) -> str:
    """The `model:` value: `builtin`, or a folder path quoted as a YAML (JSON) string."""
    return "builtin" if str(model) == "builtin" else json.dumps(str(Path(model).resolve()))


@dataclass
class Project:
    """A storyboard folder with its keyframes, its output and its own cache folder."""

    folder: Path
    model: str | Path
    size: int
    fps: float
    keyframes: list[str] = field(default_factory=list)

    @property
    def story(self) -> Path:
        return self.folder / "storyboard.yaml"

    @property
    def cache(self) -> Path:
        return self.folder / "cache"

    @property
    def output(self) -> Path:
        return self.folder / "out" / "bench.mp4"

    def image(self, name: str) -> Path:
        return self.folder / "keyframes" / f"{name}.png"

    def set_image(self, name: str, png: bytes) -> None:
        """Write (or replace) a keyframe's image file, as an editor would save it."""
        path = self.image(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(png)
        tmp.replace(path)

    def write_storyboard(self, segments: list[tuple[str, str, int | None]], frames: int) -> None:
        """Write storyboard.yaml: every keyframe by name, `segments` as (from, to, frames or None)."""
        lines = [
            "# written by bench/run.py",
            "version: 1",
            f"output: {{path: out/bench.mp4, size: [{self.size}, {self.size}], fps: {self.fps:g}}}",
            f"model: {model_yaml(self.model)}",
            f"defaults: {{frames: {frames}, easing: ease-in-out, method: slerp}}",
            "keyframes:",
        ]
        lines += [f"  {name}: {{image: keyframes/{name}.png}}" for name in self.keyframes]
        lines.append("segments:")
        for source, target, count in segments:
            extra = f", frames: {count}" if count is not None else ""
            lines.append(f"  - {{from: {source}, to: {target}{extra}}}")
        self.story.parent.mkdir(parents=True, exist_ok=True)
        self.story.write_text("\n".join(lines) + "\n")


def timeline_project(folder: Path, model: str | Path, size: int, fps: float, keyframes: int,
                     frames_per_segment: int) -> Project:
    """A chain of `keyframes` painted keyframes k00 -> k01 -> ... with equal segments."""
    project = Project(folder, model, size, fps, [f"k{i:02d}" for i in range(keyframes)])
    for i, name in enumerate(project.keyframes):
        project.set_image(name, keyframe_picture(i, size))
    pairs = zip(project.keyframes[:-1], project.keyframes[1:], strict=True)
    project.write_storyboard([(a, b, None) for a, b in pairs], frames_per_segment)
    return project


def plan_project(folder: Path, model: str | Path, segments: int, size: int = 256, frames: int = 48) -> Project:
    """`segments` segments of `frames` frames over `segments + 1` distinct keyframe files (the
    planner's worst case, and the production-length render of scenario 8)."""
    project = Project(folder, model, size, 24, [f"k{i:04d}" for i in range(segments + 1)])
    for i, name in enumerate(project.keyframes):
        project.set_image(name, tagged_png(keyframe_picture(i % len(PAINTER_NAMES), size), name))
    pairs = zip(project.keyframes[:-1], project.keyframes[1:], strict=True)
    project.write_storyboard([(a, b, None) for a, b in pairs], frames)
    return project


def single_segment_project(folder: Path, model: str | Path, size: int, fps: float,
                           total_frames: int) -> Project:
    """Two keyframes and one segment whose video has exactly `total_frames` frames."""
    project = Project(folder, model, size, fps, ["a", "b"])
    project.set_image("a", keyframe_picture(0, size))
    project.set_image("b", keyframe_picture(2, size))
    project.write_storyboard([("a", "b", None)], total_frames - 1)  # the last segment adds its end frame
    return project


# ---------------------------------------------------------------------------------------------
# Stand-in models (random weights, saved with save_pretrained and loaded as a user's folder is)


def tiny_autoencoder(folder: Path, seed: int = 0) -> Path:
    """A ~35k-parameter AutoencoderTiny (factor 4): for --smoke and for building the bench."""
    import torch
    from diffusers import AutoencoderTiny

    torch.manual_seed(seed)
    model = AutoencoderTiny(
        encoder_block_out_channels=(16, 16), decoder_block_out_channels=(16, 16),
        num_encoder_blocks=(1, 1), num_decoder_blocks=(1, 1), latent_channels=4,
        upsampling_scaling_factor=2,
    )
    model.save_pretrained(folder, safe_serialization=True)
    return folder


# The Stable Diffusion 1.5 VAE's architecture (its config.json), with random weights.
SD15_VAE_CONFIG = {
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "block_out_channels": [128, 256, 512, 512],
    "layers_per_block": 2,
    "act_fn": "silu",
    "latent_channels": 4,
    "norm_num_groups": 32,
    "sample_size": 512,
    "scaling_factor": 0.18215,
}


def sd15_autoencoder(folder: Path, tiny: bool = False, seed: int = 0) -> Path:
    """An AutoencoderKL with SD 1.5's architecture and random weights (saved as float16).

    `tiny=True` keeps the architecture's shape (4 blocks, KL latent, scaling factor) with
    8 channels per block, so --smoke can run the GPU scenario's code path on a CPU in seconds.
    """
    import torch
    from diffusers import AutoencoderKL

    config = dict(SD15_VAE_CONFIG)
    if tiny:
        config.update(block_out_channels=[8, 8, 8, 8], layers_per_block=1, norm_num_groups=4)
    torch.manual_seed(seed)
    model = AutoencoderKL(**config)
    if not tiny:
        model = model.to(torch.float16)
    model.save_pretrained(folder, safe_serialization=True)
    return folder
