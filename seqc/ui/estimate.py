"""How long a render will take, said before a long one starts: frames x pixels x a cost per model
kind and device, from figures measured once (no timing at run time, so it is instant and the
same on every run).

The basis, the built-in model on this project's 2-core CPU (2 torch threads, each frame on one,
two side by side), measured on 2026-12-07 with `seqc render --no-cache` of `seqc init`'s storyboard
at 256, 512, 1024 and 2048 pixels square, the time a frame taken from renders of 25 and 49 frames:
0.07, 0.29, 1.30 and 5.1 s, about 1.2 s a megapixel, with the machine at a load of about 2.5 (other
work on both cores). Frame time grows with the pixels and hardly at all otherwise, so the model is
0.9 s a megapixel, shown as 0.6-1.4 times that: from a quiet machine to a busy one. Other cases are
scaled from it, and said to be rough: a model folder by the
size of its autoencoder's weights against the built-in one's (convolution cost grows with the
weights), a GPU by an assumed 20x (mps 5x), more CPU cores by the square root of the ratio.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# Say nothing for renders expected to take less than this.
THRESHOLD_SECONDS = 60.0


@dataclass(frozen=True)
class CostModel:
    """Seconds a frame on the basis machine: `per_frame` + `per_megapixel` x the frame's megapixels."""

    per_frame: float = 0.0
    per_megapixel: float = 0.9
    basis_cores: int = 2
    gpu_speedup: float = 20.0  # assumed, not measured here
    mps_speedup: float = 5.0  # assumed, not measured here


BUILTIN = CostModel()


@dataclass(frozen=True)
class Estimate:
    """A range of seconds, and whether it rests on a measured case (the built-in model on a CPU)."""

    low: float
    high: float
    measured: bool


def estimate(frames: int, size: tuple[int, int], device: str, *, weight_ratio: float = 1.0, cores: int = 2,
             cost: CostModel = BUILTIN) -> Estimate:
    """The time `frames` frames of `size` (width, height) take on `device` (cpu, cuda or mps), for a
    model `weight_ratio` times the built-in one's weights, on a machine with `cores` CPU cores."""
    megapixels = size[0] * size[1] / 1e6
    seconds = frames * (cost.per_frame + cost.per_megapixel * megapixels * weight_ratio)
    if device == "cuda":
        seconds /= cost.gpu_speedup
    elif device == "mps":
        seconds /= cost.mps_speedup
    else:
        seconds /= math.sqrt(max(cores, 1) / cost.basis_cores)
    measured = device == "cpu" and weight_ratio == 1.0
    low, high = (0.6, 1.4) if measured else (0.4, 2.5)
    return Estimate(seconds * low, seconds * high, measured)


def format_span(low: float, high: float) -> str:
    """'50-80 s', '9-12 min', '1.5-2.2 h': the low end rounded down, the high end up."""
    if high < 120:
        return f"{math.floor(low)}-{math.ceil(high)} s"
    if high < 2 * 3600:
        return f"{max(math.floor(low / 60), 1)}-{math.ceil(high / 60)} min"
    return f"{math.floor(low / 360) / 10:.1f}-{math.ceil(high / 360) / 10:.1f} h"


def describe(frames: int, size: tuple[int, int], device: str, found: Estimate,
             threshold: float = THRESHOLD_SECONDS) -> str | None:
    """The line to print before rendering, or None when the render should take under `threshold`."""
    if (found.low * found.high) ** 0.5 < threshold:
        return None
    what = "estimated" if found.measured else "roughly estimated"
    where = {"cuda": "GPU", "mps": "Apple GPU"}.get(device, "CPU")
    return (f"{what} {format_span(found.low, found.high)} for {frames} frames at {size[0]}x{size[1]} on {where}"
            " (a smaller size, --draft or fewer frames is faster)")


def weight_ratio(model_ref) -> float:
    """How many times the built-in model's autoencoder weights the model's autoencoder has (1.0 for
    the built-in model, or when the files cannot be read)."""
    from seqc.models import builtin_path

    if model_ref is None or model_ref.source == "builtin":
        return 1.0
    folder = Path(model_ref.path)
    ours = _weights_size(builtin_path())
    theirs = _weights_size(folder / "vae") if model_ref.kind == "pipeline" else _weights_size(folder)
    return theirs / ours if ours and theirs else 1.0


def _weights_size(folder: Path) -> int:
    """The largest weights file in `folder` (a folder may hold the same weights in two precisions)."""
    try:
        return max((p.stat().st_size for p in folder.iterdir()
                    if p.suffix in (".safetensors", ".bin") and p.is_file()), default=0)
    except OSError:
        return 0


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def for_render(device: str, cost: CostModel = BUILTIN,
               threshold: float = THRESHOLD_SECONDS) -> Callable[[object, int], str | None]:
    """What a reporter calls when a render begins, with its plan and the frames it will render:
    the estimate line, or None. `device` is --device (auto is resolved as the planner guesses it)."""
    from seqc.backends.precision import likely_device_type

    kind = likely_device_type(device)

    def note(plan, frames: int) -> str | None:
        story = getattr(plan, "storyboard", None)
        if story is None or frames <= 0:
            return None
        size = tuple(story.output.size)
        found = estimate(frames, size, kind, weight_ratio=weight_ratio(story.model_ref), cores=usable_cores(),
                         cost=cost)
        return describe(frames, size, kind, found, threshold)

    return note
