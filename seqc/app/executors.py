"""Which executor renders a storyboard's missing segments: this process, or a Ray cluster's workers
kept in the session between renders (the command's --executor, --ray-address, --workers)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from seqc.render.execute import Executor
    from seqc.render.options import RenderOptions
    from seqc.render.session import Session

EXECUTORS = ("local", "ray")


class ExecutorSettings(Protocol):
    """What names an executor: a RenderRequest, or `seqc watch`'s options."""

    @property
    def executor(self) -> str: ...
    @property
    def ray_address(self) -> str | None: ...
    @property
    def workers(self) -> int | None: ...
    @property
    def options(self) -> RenderOptions: ...


def check_settings(executor: str, workers: int | None) -> None:
    """A known executor and a positive worker count (ValueError otherwise, as RenderOptions did)."""
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be 'local' or 'ray', got {executor!r}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")


def executor_for(settings: ExecutorSettings, session: Session) -> Executor:
    """The executor the settings name. A Ray one holds its workers (the model loaded in each), so one
    is kept in `session.executors` for the next render, with these settings; it replaces its
    workers by itself when the model, device, dtype or worker count changes."""
    from seqc.render.execute import LocalExecutor

    if settings.executor != "ray":
        return LocalExecutor()
    from seqc.cluster.executor import RayExecutor

    options = settings.options
    kept = session.executors.get("ray")
    if not isinstance(kept, RayExecutor):
        kept = session.executors["ray"] = RayExecutor(remotes=session.remotes)
    kept.configure(settings.ray_address, settings.workers, device=options.device, dtype=options.dtype,
                   batch_size=options.batch_size, remote=options.remote)
    return kept
