"""The checks before anything loads, in one place for every command that renders (render, watch,
preview, analyze): a missing extra, a bad remote or an unreachable cluster is one line at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from seqc.app.executors import ExecutorSettings
    from seqc.render.session import Session


def preflight(session: Session, remote: str | None, settings: ExecutorSettings | None = None) -> None:
    """Open and check the remote cache, then check the executor; raise the error the user sees."""
    # 1. The remote cache (--remote): opened and checked once per session (seqc.store.tier).
    if remote is not None:
        session.remotes.open(remote)
    # 2. --executor ray: Ray installed (else exit 2) and its address answering (else exit 1); Ray itself
    #    is joined only when something must render (seqc.cluster.connect).
    if settings is not None and settings.executor == "ray":
        from seqc.cluster.connect import check

        check(settings.ray_address)
