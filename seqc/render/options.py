"""How a render runs: the device, the dtype and the decode batch size, as the CLI passes them.

Its own small module, so `seqc render` can compute the precision it plans for (and check its
up-to-date stamp) before importing the planner or the renderer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RenderOptions:
    """Where the model runs and how many frames it decodes at once."""

    device: str = "auto"
    dtype: str = "auto"
    batch_size: int | None = None  # None: the backend's default (8 on a GPU; on the CPU, torch's thread count, at most 16)
    # Who renders the missing segments (seqc.render.execute): "local" (this process) or "ray".
    executor: str = "local"
    ray_address: str | None = None  # "auto", HOST:PORT, or None: start a local Ray
    workers: int | None = None  # Ray workers (model-holding actors); None: one per GPU, else per CPU
    # The shared remote cache behind the local one (--remote / SEQC_REMOTE; seqc.store.remote), or None.
    remote: str | None = None

    @property
    def precision(self) -> str:
        """The precision to plan for (torch-free; checked when the model loads)."""
        from seqc.backends.precision import planned_precision

        return planned_precision(self.device, self.dtype)

    def __post_init__(self) -> None:
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.executor not in ("local", "ray"):
            raise ValueError(f"executor must be 'local' or 'ray', got {self.executor!r}")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
