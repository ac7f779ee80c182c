"""The precision a render runs in, decided without torch, so the planner can put it in the keys.

`--dtype auto` is float16 on a CUDA GPU and float32 elsewhere. Whether `--device auto` finds a
CUDA GPU is guessed here from the NVIDIA driver's files; the render checks the guess when the
model loads and re-plans if it was wrong (seqc.outputs.produce), so a wrong guess costs a re-plan,
never a clip of the wrong precision. What a session learned from a loaded model is kept by the
session (seqc.backends.loaded.LoadedModels.precision), not here: this is the rule alone.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PRECISIONS = ("float32", "float16", "bfloat16")


def precision_for(dtype: str, device_type: str) -> str:
    """The precision `dtype` (auto or a name) means on a device of `device_type` (cuda, mps, cpu)."""
    if dtype == "auto":
        return "float16" if device_type == "cuda" else "float32"
    if dtype not in PRECISIONS:
        raise ValueError(f"unknown dtype {dtype!r}: expected auto or one of {', '.join(PRECISIONS)}")
    return dtype


def likely_device_type(device: str) -> str:
    """The device type `device` will resolve to: itself unless auto; for auto, cuda when an NVIDIA
    driver is installed and devices are not hidden, mps on Apple silicon, else cpu."""
    if device != "auto":
        return device
    if _nvidia_present():
        return "cuda"
    if sys.platform == "darwin" and os.uname().machine == "arm64":
        return "mps"
    return "cpu"


def planned_precision(device: str, dtype: str) -> str:
    """The precision the keys are computed for, from --device and --dtype as the user gave them,
    before any model has loaded (a session's learned precision comes first: LoadedModels.precision)."""
    return precision_for(dtype, likely_device_type(device))


def _nvidia_present() -> bool:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return False
    if sys.platform.startswith("linux"):
        return Path("/proc/driver/nvidia/version").exists() or Path("/dev/nvidia0").exists()
    return False  # macOS has no CUDA; seqc is POSIX-only (fcntl locks), so there is no Windows to look at
