"""The remote tier of a render (seqc/store/tier.py), in process with faults injected into the
store: a remote failing mid-render never fails the render, never spoils the local cache, and
leaves nothing on the remote that a reader would trust. A session opens each remote once."""

from __future__ import annotations

import threading
import uuid

import pytest
from remotekit import tiny_story

from seqc.render.driver import endpoint_entries, render
from seqc.render.options import RenderOptions
from seqc.render.progress import Reporter
from seqc.render.session import Session
from seqc.store import Cache
from seqc.store.tier import Remotes
from seqc.ui.load import load_and_plan

pytestmark = pytest.mark.slow  # real renders with the built-in model


@pytest.fixture
def session():
    """The session every render of a test shares (its remotes are opened once)."""
    session = Session()
    yield session
    session.close()


@pytest.fixture
def url(session):
    name = f"memory://seqc-tier-{uuid.uuid4().hex}"
    yield name
    remote = session.remotes.open(name)
    assert remote is not None
    remote.fs.rm(remote.root, recursive=True)


def run(story, cache_dir, url, session):
    """render() with the remote, collecting warnings; returns (result, warnings, cache, plan)."""
    warnings: list[str] = []
    cache = Cache(cache_dir, warn=warnings.append)
    plan = load_and_plan(str(story), cache, quiet=True)
    result = render(plan, cache, RenderOptions(remote=url), Reporter(warn=warnings.append), session=session)
    return result, warnings, cache, plan


def entries_of(plan):
    return ([("clips", key) for key in dict.fromkeys(j.key for j in plan.clip_jobs)]
            + endpoint_entries(plan, plan.clip_jobs))


def test_a_session_opens_each_remote_once_and_forgets_them_on_close(url):
    remotes = Remotes()
    assert remotes.open(None) is None and remotes.open("") is None
    first = remotes.open(url)
    assert first is not None and remotes.open(url) is first
    assert Remotes().open(url) is not first  # another session opens its own
    remotes.close()
    assert remotes.open(url) is not first


def test_a_push_failing_mid_way_keeps_the_render_whole_and_trusts_nothing_half_written(tmp_path, url, session,
                                                                                        monkeypatch):
    story = tiny_story(tmp_path)
    remote = session.remotes.open(url)
    real, lock, calls = remote.create_exclusive, threading.Lock(), []

    def flaky(path, data):  # the connection drops after two commit records: content is already up
        with lock:
            calls.append(path)
            if len(calls) > 2:
                raise ConnectionError("connection reset by peer")
        return real(path, data)

    monkeypatch.setattr(remote, "create_exclusive", flaky)
    result, warnings, cache, plan = run(story, tmp_path / "a", url, session)
    assert result.rendered == 3 and result.pushed == 2
    assert len(warnings) == 1 and "pushing to" in warnings[0] and "seqc cache push" in warnings[0]
    assert cache.verify() == []  # the local cache is whole
    entries = entries_of(plan)
    committed = [e for e in entries if remote.holds(*e)]
    assert len(committed) == 2
    orphans = [p for p in remote.fs.find(remote.root) if p.count("/") - remote.root.count("/") == 4]
    assert orphans  # content objects whose push died before their record
    fresh_warnings: list[str] = []
    fresh = Cache(tmp_path / "b", warn=fresh_warnings.append)
    for entry in entries:  # a reader uses exactly the committed entries, and warns about nothing
        assert (remote.fetch(fresh, *entry) is not None) == (entry in committed)
    assert fresh_warnings == [] and fresh.verify() == []
    # Later, with the store back: the rest goes up, and a teammate then renders nothing.
    monkeypatch.setattr(remote, "create_exclusive", real)
    assert sum(remote.push(cache, *entry) for entry in entries) == len(entries) - 2
    again, again_warnings, _, _ = run(story, tmp_path / "c", url, session)
    assert again.rendered == 0 and again.fetched == 3 and again_warnings == []


def test_a_fetch_failing_renders_locally_with_one_warning(tmp_path, url, session, monkeypatch):
    story = tiny_story(tmp_path)
    first, _, _, _ = run(story, tmp_path / "a", url, session)
    assert first.pushed > 0
    remote = session.remotes.open(url)

    def unreachable(*args, **kwargs):
        raise TimeoutError("read timed out")

    monkeypatch.setattr(remote.fs, "open", unreachable)  # records read, content downloads time out
    result, warnings, cache, _ = run(story, tmp_path / "b", url, session)
    assert result.rendered == 3 and result.fetched == 0 and result.pushed == 0
    assert len(warnings) == 1 and "fetching from" in warnings[0] and "rendering locally" in warnings[0]
    assert cache.verify() == []
    assert not [p for p in (tmp_path / "b").rglob("*") if ".tmp-" in p.name]  # no half download left
