"""Which executor renders (seqc/app/executors.py): this process, or one Ray executor kept in the session."""

from __future__ import annotations

import dataclasses

import pytest

from seqc.app.executors import executor_for
from seqc.app.render import RenderRequest
from seqc.cluster.executor import RayExecutor
from seqc.render.execute import LocalExecutor
from seqc.render.options import RenderOptions
from seqc.render.session import Session


def test_local_is_this_process_and_nothing_is_kept():
    session = Session()
    assert isinstance(executor_for(RenderRequest("s.yaml"), session), LocalExecutor)
    assert session.executors == {}


def test_one_ray_executor_is_kept_and_takes_each_renders_batch_size_and_remote():
    """A handed-over job with another -b or --remote must not restart the workers (their pool
    depends only on the model, device, dtype and worker count: PoolSpec)."""
    session = Session()
    first = RenderRequest("s.yaml", executor="ray", workers=2, options=RenderOptions(batch_size=4))
    ray = executor_for(first, session)
    assert isinstance(ray, RayExecutor) and ray.batch_size == 4 and ray.workers == 2
    second = dataclasses.replace(first, options=RenderOptions(batch_size=1, remote="file:///tmp/r"))
    again = executor_for(second, session)
    assert again is ray and again.batch_size == 1 and again.remote == "file:///tmp/r"
    assert list(session.executors) == ["ray"]


def test_closing_the_session_stops_the_kept_executor(monkeypatch):
    session = Session()
    ray = executor_for(RenderRequest("s.yaml", executor="ray"), session)
    closed = []
    monkeypatch.setattr(ray, "close", lambda: closed.append(True))
    session.close()
    assert closed == [True] and session.executors == {}


def test_a_worker_count_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        RenderRequest("s.yaml", executor="ray", workers=0)
    with pytest.raises(ValueError, match="at least 1"):
        RayExecutor(workers=0)
