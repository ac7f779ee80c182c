"""LoRA files on a loaded pipeline, each at a weight while a block of work runs (Capability.LORA).

A keyframe's `lora:` list puts files at weights; between keyframes the weights ease, so the frames
of one segment are drawn at different weights. diffusers loads a file once as a named adapter
(`load_lora_weights`, through peft; kohya and diffusers namings both load) and `set_adapters`
sets the weights of the ones in use: that state lives on the shared model, so blocks run one at
a time (a lock) and each ends with every adapter off, where the model draws exactly as without
them. A file is loaded again when it changes on disk (a long-lived `seqc watch` process).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from seqc.errors import ModelError

PEFT_HINT = "pip install 'seqc[lora]'"


class Adapters:
    """The LoRA adapters of one pipeline, loaded on first use, named by file and version."""

    def __init__(self, pipe, model_name: str):
        self.pipe = pipe
        self.model_name = model_name
        self._loaded: set[str] = set()
        self._lock = threading.RLock()
        self._stack: list[dict[str, float]] = []  # the weights of the blocks running, innermost last

    @contextmanager
    def weights(self, weights: Mapping[str, float]) -> Iterator[None]:
        """Each file at its weight for the block (no file: the model as it is, and no lock taken)."""
        if not weights:
            yield
            return
        with self._lock:
            names = {self._load(path): float(weight) for path, weight in weights.items()}
            self._stack.append({name: weight for name, weight in names.items() if weight != 0.0})
            self._apply()
            try:
                yield
            finally:
                self._stack.pop()
                self._apply()  # an enclosing block's weights again, or none

    def _apply(self) -> None:
        """Set the innermost block's weights on the model (every adapter off outside any block)."""
        active = self._stack[-1] if self._stack else {}
        if active:
            self.pipe.enable_lora()
            self.pipe.set_adapters(list(active), adapter_weights=list(active.values()))
        elif self._loaded:
            self.pipe.disable_lora()

    def _load(self, path: str) -> str:
        """The adapter name of `path` as it is now on disk, loading it if it is new or changed."""
        try:
            stat = os.stat(path)
        except OSError as exc:
            raise ModelError(f"lora '{path}' cannot be read: {exc}") from None
        version = f"{os.path.abspath(path)}|{stat.st_size}|{stat.st_mtime_ns}"
        name = "seqc_" + hashlib.sha256(version.encode("utf-8", "surrogateescape")).hexdigest()[:16]
        if name in self._loaded:
            return name
        if importlib.util.find_spec("peft") is None:
            raise ModelError(f"LoRAs need the `peft` package, which is not installed: {PEFT_HINT}")
        try:
            with warnings.catch_warnings():  # peft's notes on a second adapter are not the user's concern
                warnings.simplefilter("ignore")
                self.pipe.load_lora_weights(path, adapter_name=name)
        except (OSError, ValueError, RuntimeError, KeyError, TypeError, AttributeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ModelError(f"lora '{path}' cannot be loaded into model '{self.model_name}': {first} "
                             "(is it for this model's family?)") from None
        self._loaded.add(name)
        return name
