"""Device and dtype choice shared by the backends."""

from __future__ import annotations

import torch

from seqc.backends.precision import precision_for
from seqc.errors import InputError


def pick_device(name: str) -> torch.device:
    """`auto` picks cuda, then mps, then cpu; an unavailable explicit device is an input error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA GPU is available (try --device auto)")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise InputError("--device mps: Apple's Metal backend is not available (try --device auto)")
    return torch.device(name)


def pick_dtype(name: str, device: torch.device) -> torch.dtype:
    """`auto` is float16 on cuda and float32 elsewhere (CPU half precision is slow and lossy);
    the rule is seqc.backends.precision's, which the planner keys by."""
    return {"float32": torch.float32, "float16": torch.float16,
            "bfloat16": torch.bfloat16}[precision_for(name, device.type)]
