"""What a session keeps of its models between renders: the last model loaded, and the precision
models really loaded in (a field of seqc.render.session.Session; no module global).

A long `seqc watch` loads its model once: the last backend is kept and handed out again when the
same model (same folder and fingerprint) is asked for on the same device in the same dtype. A
model that loads in another precision than planned (`--device auto` guessed wrong) is learned, so
the session's later plans use that precision at once. Torch-free at import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from seqc.backends import load_backend
from seqc.backends.precision import planned_precision
from seqc.models import ModelRef

if TYPE_CHECKING:
    from seqc.backends.protocol import Backend


class LoadedModels:
    """The model this session keeps loaded, and the precisions it has learned."""

    def __init__(self, loader: Callable[[ModelRef, str, str], Backend] = load_backend) -> None:
        self._loader = loader  # seqc.backends.load_backend; a bench hands in a model it loaded already
        self._kept: dict[tuple[str, str, str, str, str], Backend] = {}  # at most one: the last model
        self._learned: dict[tuple[str, str], str] = {}  # (device, dtype) -> the precision a model showed

    def load(self, ref: ModelRef, device: str = "auto", dtype: str = "auto", fingerprint: str = "") -> Backend:
        """The model `ref` on `device` in `dtype`: the kept one if it is that model (same folder and
        `fingerprint`), else loaded now (imports torch) and kept instead. Without a fingerprint
        nothing is kept, since nothing would say the folder is unchanged."""
        ident = (str(ref.path), ref.kind, fingerprint, device, dtype)
        if fingerprint and ident in self._kept:
            return self._kept[ident]
        backend = self._loader(ref, device, dtype)
        self._kept.clear()
        if fingerprint:
            self._kept[ident] = backend
        return backend

    def learn(self, device: str, dtype: str, actual: str) -> None:
        """Remember the precision a model really loaded in for `device` and `dtype` as the user gave
        them, so this session's later plans use it at once."""
        self._learned[(device, dtype)] = actual

    def precision(self, device: str, dtype: str) -> str:
        """The precision to plan for: the one learned in this session, else the rule's guess
        (seqc.backends.precision.planned_precision)."""
        return self._learned.get((device, dtype)) or planned_precision(device, dtype)

    def names(self) -> list[str]:
        """The folders of the models kept loaded (what the warm-render socket's status lists)."""
        return [ident[0] for ident in self._kept]


__all__ = ["LoadedModels"]
