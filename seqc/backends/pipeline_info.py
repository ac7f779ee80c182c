"""What a Stable Diffusion family pipeline folder is, from its JSON files alone (never torch).

The planner and the storyboard checks import this module: the family a `model_index.json`
names, whether the model is a distilled Turbo model, its latent layout and native size, the
generation defaults, the scheduler names a storyboard may use and the size rule. Reading a
folder here costs a few small JSON files; loading and rendering is `seqc.backends.pipeline`'s
`PipelineBackend`, which imports torch and diffusers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from seqc.errors import ModelError
from seqc.models import ModelRef

# model_index.json's `_class_name` -> family.
PIPELINE_FAMILIES = {
    "StableDiffusionPipeline": "sd",
    "StableDiffusionXLPipeline": "sdxl",
}

# Scheduler names a storyboard may use -> (diffusers class, overrides of the pipeline's config).
SCHEDULERS: dict[str, tuple[str, dict]] = {
    "euler": ("EulerDiscreteScheduler", {}),
    "euler_a": ("EulerAncestralDiscreteScheduler", {}),
    # Latent models never clip x0 to [-1, 1]: DDIM's class default does, and a config without the
    # setting (Euler's, the built-in model's) would draw noise.
    "ddim": ("DDIMScheduler", {"clip_sample": False}),
    "dpm++": ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++"}),
    "dpm++_karras": ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++", "use_karras_sigmas": True}),
    "unipc": ("UniPCMultistepScheduler", {}),
    "heun": ("HeunDiscreteScheduler", {}),
    "lcm": ("LCMScheduler", {}),
    "pndm": ("PNDMScheduler", {"skip_prk_steps": True}),
}
SCHEDULER_NAMES = ("default", *SCHEDULERS)
# Schedulers whose overrides above changed what they draw: the revision is in their clips' keys.
SCHEDULER_REVISIONS = {"ddim": 2}

# Generation defaults by family, and for distilled Turbo models of either family.
FAMILY_DEFAULTS = {
    "sd": {"steps": 25, "guidance": 7.5},
    "sdxl": {"steps": 25, "guidance": 5.0},
}
TURBO_DEFAULTS = {"steps": 2, "guidance": 0.0}

# Frames per denoising call on the CPU (seqc.backends.pipeline): fixed, because a frame's bytes
# depend on the call's size; part of a pipeline clip's cache key (seqc.spec.model.Segment.generation).
CPU_FRAMES_PER_CALL = 8

# Stable Diffusion pipelines check that width and height are multiples of 8.
SIZE_MULTIPLE = 8


@dataclass(frozen=True)
class PipelineInfo:
    """A pipeline folder's family, Turbo flag, latent layout and native size, read without torch."""

    class_name: str  # model_index.json's _class_name
    family: str  # "sd" or "sdxl"
    turbo: bool
    latent_channels: int  # the UNet's input channels
    vae_scale_factor: int  # pixels per latent pixel along each side
    native_size: tuple[int, int]  # (width, height) the UNet was configured for
    scheduler_class: str  # the folder's own scheduler

    def defaults(self) -> dict:
        """Sensible generation defaults: steps, guidance, scheduler name and the native size."""
        base = TURBO_DEFAULTS if self.turbo else FAMILY_DEFAULTS[self.family]
        return {**base, "scheduler": "default", "size": self.native_size}


def _read_json(path: Path, name: str) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"model '{name}': cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ModelError(f"model '{name}': {path} is not a JSON object")
    return data


def is_turbo(ref: ModelRef, *configs: dict) -> bool:
    """Whether the model is a distilled Turbo model (few steps, no guidance).

    The rule: "turbo" (any case) appears in the model's name as the storyboard writes it (a hub
    id such as `stabilityai/sdxl-turbo`, or a folder path), in the folder's own name, or in a
    config's `_name_or_path`. Turbo models cannot be told from their configs otherwise: their
    UNet and scheduler configs look like any other SD model's.
    """
    texts = [ref.name, ref.path.name] + [str(c.get("_name_or_path", "")) for c in configs]
    return any("turbo" in text.lower() for text in texts)


def read_pipeline_info(ref: ModelRef) -> PipelineInfo:
    """Read a pipeline folder's model_index.json and component configs; refuse unsupported classes."""
    # 1. The pipeline class names the family.
    index = _read_json(ref.path / "model_index.json", ref.name)
    class_name = str(index.get("_class_name", ""))
    if class_name not in PIPELINE_FAMILIES:
        raise ModelError(f"model '{ref.name}' is a '{class_name or 'unknown'}' pipeline; seqc renders prompts with "
                         f"{', '.join(PIPELINE_FAMILIES)} (Stable Diffusion 1.x/2.x, SDXL, their Turbo models)")
    family = PIPELINE_FAMILIES[class_name]

    # 2. The latent layout: UNet channels and sample size, VAE down-sampling factor.
    for component in ("unet", "vae", "scheduler"):
        if not isinstance(index.get(component), list):
            raise ModelError(f"model '{ref.name}': model_index.json names no '{component}' component")
    unet = _read_json(ref.path / "unet" / "config.json", ref.name)
    vae = _read_json(ref.path / "vae" / "config.json", ref.name)
    scheduler_file = ref.path / "scheduler" / "scheduler_config.json"
    scheduler = _read_json(scheduler_file, ref.name) if scheduler_file.is_file() else {}
    vae_scale_factor = 2 ** (len(vae.get("block_out_channels", [0])) - 1)
    sample = unet.get("sample_size", 64)
    height, width = (sample, sample) if isinstance(sample, int) else (sample[0], sample[1])

    # 3. Turbo or not, from the names (see is_turbo).
    return PipelineInfo(
        class_name=class_name, family=family, turbo=is_turbo(ref, index, unet),
        latent_channels=int(unet.get("in_channels", 4)), vae_scale_factor=vae_scale_factor,
        native_size=(int(width) * vae_scale_factor, int(height) * vae_scale_factor),
        scheduler_class=str(scheduler.get("_class_name", "")),
    )


def check_size(size: tuple[int, int], name: str) -> None:
    """Refuse an output size the pipeline cannot make (width and height must be multiples of 8)."""
    width, height = size
    if width % SIZE_MULTIPLE or height % SIZE_MULTIPLE or width <= 0 or height <= 0:
        raise ModelError(f"output size {width}x{height}: the pipeline '{name}' needs a width and height "
                         f"that are multiples of {SIZE_MULTIPLE}")


def check_scheduler_name(name: str) -> None:
    """Refuse a scheduler name that is not "default" or one of SCHEDULERS."""
    if name not in SCHEDULER_NAMES:
        raise ModelError(f"unknown scheduler '{name}'; use one of {', '.join(SCHEDULER_NAMES)}")
