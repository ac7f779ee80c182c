"""How a render runs: the device, the dtype and the decode batch size, as the CLI passes them.

Its own small module, so `seqc render` can read them (and plan for the precision they imply,
`Session.models.precision(device, dtype)`, and check its up-to-date stamp) before importing the
planner or the renderer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RenderOptions:
    """Where the model runs and how many frames it decodes at once."""

    device: str = "auto"
    dtype: str = "auto"
    batch_size: int | None = None  # None: the backend's default (8 on a GPU; on the CPU, torch's thread count, at most 16)
    # Who renders the missing segments is not an option of the render: the caller passes an
    # Executor (seqc.render.execute); the command's request names it (seqc.app).
    # The shared remote cache behind the local one (--remote / SEQC_REMOTE; seqc.store.remote), or None.
    remote: str | None = None

    def __post_init__(self) -> None:
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
