"""The remote cache's protocol (seqc.store.remote) on fsspec's memory:// and file://, and on S3
through moto's server on 127.0.0.1: round trips, verify-on-read, repair, orphans, the exclusive
commit under a real race between two processes, and bad configuration."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from remotekit import BUCKET, closed_port, s3_env

from seqc.errors import EXIT_INPUT, EXIT_RENDER
from seqc.store import Cache, atomic
from seqc.store.remote import (
    MARKER,
    RemoteExtraMissing,
    RemoteUnavailable,
    RemoteURLError,
    open_remote,
    parse_url,
)

REPO = Path(__file__).resolve().parents[2]
FACTS = {"track": {"frames": 12, "width": 64, "height": 64}, "frames": 12}


def key_of(n: object) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Warnings(list):
    def __call__(self, message: str) -> None:
        self.append(message)


def new_cache(path: Path) -> tuple[Cache, Warnings]:
    warnings = Warnings()
    return Cache(path, warn=warnings), warnings


def local_entry(cache: Cache, kind: str, key: str, data: bytes, facts: dict | None = None) -> Path:
    tmp = cache.temp_path(kind, key)
    tmp.write_bytes(data)
    return cache.put(kind, key, tmp, {"made_by": "test", "n": len(data)}, facts)


def put_object(remote, path: str, data: bytes) -> None:
    """Write an object on the remote as a hostile or broken writer would (folders made first)."""
    remote.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    remote.fs.pipe_file(path, data)


@pytest.fixture(params=["memory", "file"])
def remote(request, tmp_path):
    """An opened remote on memory:// (a fresh name) or on a local folder (file://)."""
    if request.param == "memory":
        url = f"memory://seqc-{uuid.uuid4().hex}"
    else:
        (tmp_path / "share").mkdir()
        url = f"file://{tmp_path}/share/seqc"
    opened = open_remote(url)
    yield opened
    if request.param == "memory":
        opened.fs.rm(opened.root, recursive=True)


# -- URLs ------------------------------------------------------------------------------------

@pytest.mark.parametrize("url, words", [
    ("foo://bucket/x", "unknown scheme foo://"),
    ("http://example.com/x", "unknown scheme http://"),
    ("/mnt/share/seqc", "file:///mnt/share/seqc"),
    ("s3://", "names no bucket"),
    ("s3://key:secret@bucket/x", "not in the URL"),
    ("s3://bucket/x?endpoint=y", "no '?'"),
    ("file://relative/path", "three slashes"),
    ("file:///", "not the root folder"),
])
def test_bad_urls_are_input_errors_before_anything_opens(url, words):
    with pytest.raises(RemoteURLError) as info:
        open_remote(url)
    assert info.value.exit_code == EXIT_INPUT
    assert words in str(info.value)
    assert "\n" not in str(info.value)


def test_good_urls_are_normalised():
    assert parse_url("s3://bucket/prefix/") == ("s3", "s3://bucket/prefix")
    assert parse_url("gs://bucket") == ("gcs", "gs://bucket")
    assert parse_url("file:///mnt/share/seqc/") == ("file", "file:///mnt/share/seqc")
    assert parse_url("file://localhost/mnt/x") == ("file", "file:///mnt/x")
    assert parse_url("memory://x") == ("memory", "memory://x")


def test_a_missing_share_is_unavailable_not_created(tmp_path):
    with pytest.raises(RemoteUnavailable) as info:
        open_remote(f"file://{tmp_path}/not-mounted/team/seqc")
    assert info.value.exit_code == EXIT_RENDER
    assert "is the share mounted?" in str(info.value)
    assert not (tmp_path / "not-mounted").exists()


def test_a_folder_with_another_layout_is_refused(tmp_path):
    root = tmp_path / "seqc"
    root.mkdir()
    (root / MARKER).write_text(json.dumps({"layout": 99}))
    with pytest.raises(RemoteURLError, match="layout 99"):
        open_remote(f"file://{root}")


def test_the_first_open_writes_the_layout_marker(tmp_path):
    opened = open_remote(f"file://{tmp_path}/seqc")
    assert json.loads((tmp_path / "seqc" / MARKER).read_text())["layout"] == 1
    assert opened.url == f"file://{tmp_path}/seqc"
    open_remote(f"file://{tmp_path}/seqc")  # a second open reads it


def test_a_missing_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "fsspec", None)  # `import fsspec` raises ImportError
    with pytest.raises(RemoteExtraMissing) as info:
        open_remote("s3://bucket/prefix")
    assert info.value.exit_code == EXIT_INPUT
    assert "pip install 'seqc[remote]'" in str(info.value)


def test_a_missing_s3_driver_names_the_extra_too(monkeypatch):
    monkeypatch.setitem(sys.modules, "s3fs", None)  # fsspec there, s3fs not
    with pytest.raises(RemoteExtraMissing) as info:
        open_remote("s3://bucket/prefix")
    assert str(info.value) == ("--remote s3://bucket/prefix: s3:// needs s3fs, which is not installed: "
                               "pip install 'seqc[remote]'")


# -- the protocol ----------------------------------------------------------------------------

def test_push_then_fetch_round_trip(remote, tmp_path):
    a, _ = new_cache(tmp_path / "a")
    b, warnings = new_cache(tmp_path / "b")
    key, data = key_of("clip"), b"\x00mp4 bytes" * 1000
    local_entry(a, "clips", key, data, FACTS)
    assert remote.fetch(b, "clips", key) is None  # not there yet
    assert remote.push(a, "clips", key) is True
    assert remote.push(a, "clips", key) is False  # held already
    path = remote.fetch(b, "clips", key)
    assert path is not None and path.read_bytes() == data
    assert b.read_facts("clips", key) == FACTS  # the clip's recorded track arrives too
    assert b.read_inputs("clips", key) == a.read_inputs("clips", key)
    assert b.verify() == [] and warnings == []
    record = json.loads(remote.fs.cat_file(remote.record_path("clips", key)))
    assert record["sha256"] == sha(data) and record["size"] == len(data)
    assert remote.fs.exists(remote.content_path("clips", key, sha(data)))


def test_push_of_an_entry_the_local_cache_lacks_commits_nothing(remote, tmp_path):
    a, _ = new_cache(tmp_path / "a")
    assert remote.push(a, "latents", key_of("absent")) is False
    assert not remote.holds("latents", key_of("absent"))


def test_latents_round_trip_too(remote, tmp_path):
    a, _ = new_cache(tmp_path / "a")
    b, _ = new_cache(tmp_path / "b")
    key = key_of("latent")
    local_entry(a, "latents", key, b"safetensors" * 10)
    assert remote.push(a, "latents", key)
    assert remote.fetch(b, "latents", key).read_bytes() == b"safetensors" * 10


@pytest.mark.parametrize("damage", ["same size, other bytes", "truncated", "grown"])
def test_a_corrupted_content_object_is_detected_never_used_and_repaired(remote, tmp_path, damage):
    a, _ = new_cache(tmp_path / "a")
    b, warnings = new_cache(tmp_path / "b")
    key, data = key_of("clip"), b"good clip bytes " * 500
    local_entry(a, "clips", key, data, FACTS)
    assert remote.push(a, "clips", key)
    content = remote.content_path("clips", key, sha(data))
    bad = {"same size, other bytes": b"X" + data[1:], "truncated": data[:-10], "grown": data + b"more"}[damage]
    remote.fs.pipe_file(content, bad)
    assert remote.fetch(b, "clips", key) is None
    assert b.status("clips", key) == "missing"  # nothing of it reached the local cache
    assert not list((tmp_path / "b").rglob("*.mp4"))
    assert len(warnings) == 1 and "is bad" in warnings[0] and key in warnings[0]
    # Repaired: the bad entry is gone there, so the re-rendered clip can be committed again.
    assert not remote.holds("clips", key)
    assert remote.push(a, "clips", key)
    assert remote.fetch(b, "clips", key).read_bytes() == data


@pytest.mark.parametrize("record", [b"{not json", b'{"kind": "clips"}', b"[]"])
def test_a_bad_commit_record_is_not_used(remote, tmp_path, record):
    b, warnings = new_cache(tmp_path / "b")
    key = key_of("clip")
    put_object(remote, remote.record_path("clips", key), record)
    assert remote.fetch(b, "clips", key) is None
    assert b.status("clips", key) == "missing"
    assert len(warnings) == 1 and "commit record" in warnings[0]


def test_a_record_whose_content_is_gone_is_a_miss(remote, tmp_path):
    """An object store's lifecycle rule may evict content before its record."""
    a, _ = new_cache(tmp_path / "a")
    b, warnings = new_cache(tmp_path / "b")
    key, data = key_of("clip"), b"evicted"
    local_entry(a, "clips", key, data)
    remote.push(a, "clips", key)
    remote.fs.rm_file(remote.content_path("clips", key, sha(data)))
    assert remote.fetch(b, "clips", key) is None
    assert "content object is missing" in warnings[0]


def test_an_orphan_content_object_without_a_record_is_never_used(remote, tmp_path):
    """A push that died after its upload leaves content and no record: readers see a miss."""
    b, warnings = new_cache(tmp_path / "b")
    key, data = key_of("clip"), b"uploaded, never committed"
    put_object(remote, remote.content_path("clips", key, sha(data)), data)
    assert remote.fetch(b, "clips", key) is None
    assert b.status("clips", key) == "missing" and warnings == []
    assert not remote.holds("clips", key)


def test_the_loser_of_a_race_adopts_the_winners_record_and_drops_its_orphan(remote, tmp_path, monkeypatch):
    """Two machines rendered the same key to different bytes (GPUs need not be bit-identical)."""
    a, _ = new_cache(tmp_path / "a")
    b, _ = new_cache(tmp_path / "b")
    c, _ = new_cache(tmp_path / "c")
    key = key_of("clip")
    local_entry(a, "clips", key, b"rendered on machine A")
    local_entry(b, "clips", key, b"rendered on machine B!")
    assert remote.push(a, "clips", key)
    monkeypatch.setattr(remote, "holds", lambda kind, key: False)  # B checked before A committed
    assert remote.push(b, "clips", key) is False
    record = json.loads(remote.fs.cat_file(remote.record_path("clips", key)))
    assert record["sha256"] == sha(b"rendered on machine A")
    assert not remote.fs.exists(remote.content_path("clips", key, sha(b"rendered on machine B!")))
    assert remote.fs.exists(remote.content_path("clips", key, sha(b"rendered on machine A")))
    assert remote.fetch(c, "clips", key).read_bytes() == b"rendered on machine A"


def test_a_loser_with_the_same_bytes_keeps_the_shared_content(remote, tmp_path, monkeypatch):
    a, _ = new_cache(tmp_path / "a")
    b, _ = new_cache(tmp_path / "b")
    key, data = key_of("clip"), b"deterministic render"
    local_entry(a, "clips", key, data)
    local_entry(b, "clips", key, data)
    assert remote.push(a, "clips", key)
    monkeypatch.setattr(remote, "holds", lambda kind, key: False)
    assert remote.push(b, "clips", key) is False
    assert remote.fs.exists(remote.content_path("clips", key, sha(data)))


def test_a_local_share_never_shows_a_partial_record_or_leaves_temps(tmp_path):
    opened = open_remote(f"file://{tmp_path}/seqc")
    a, _ = new_cache(tmp_path / "a")
    key = key_of("clip")
    local_entry(a, "clips", key, b"x" * 100)
    assert opened.push(a, "clips", key)
    assert opened.create_exclusive(opened.record_path("clips", key), b"second") is False
    assert json.loads((tmp_path / "seqc" / "clips" / key[:2] / f"{key}.json").read_text())["size"] == 100
    assert not [p for p in (tmp_path / "seqc").rglob("*") if ".tmp-" in p.name]



KILLED_PUSH = textwrap.dedent("""
    import os, shutil, signal, sys
    from pathlib import Path
    from seqc.store import Cache
    from seqc.store.remote import open_remote

    url, cache_dir, key = sys.argv[1:4]

    def killed_halfway(src, dst):
        Path(dst).write_bytes(Path(src).read_bytes()[:10])
        os.kill(os.getpid(), signal.SIGKILL)

    shutil.copyfile = killed_halfway
    open_remote(url).push(Cache(cache_dir), "clips", key)
""")


def test_a_killed_push_leaves_a_temp_the_next_push_removes(tmp_path):
    """The remote's temps are named as the local cache's (seqc.store.atomic, with the host): a dead
    writer's is removed by the next push of the entry; a live one's, or another host's, stays."""
    url, key, data = f"file://{tmp_path}/share", key_of("clip"), b"x" * 100
    a, _ = new_cache(tmp_path / "a")
    local_entry(a, "clips", key, data)
    child = subprocess.run([sys.executable, "-c", KILLED_PUSH, url, str(tmp_path / "a"), key],
                           env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, timeout=120)
    assert child.returncode == -9, child.stderr
    opened = open_remote(url)
    content = Path(opened.content_path("clips", key, sha(data)))
    (dead,) = [p for p in content.parent.iterdir() if ".tmp-" in p.name]
    assert atomic.temp_owner(dead) not in (None, os.getpid()) and dead.suffix == ".mp4"
    live = atomic.temp_path_for(content, shared=True)  # this test's own: a live writer
    foreign = content.with_name(f".{content.stem}.tmp-{atomic.temp_owner(dead)}@elsewhere-0123abcd.mp4")
    for path in (live, foreign):
        path.write_bytes(b"in flight")
    assert opened.push(a, "clips", key)
    assert sorted(p.name for p in content.parent.iterdir()) == sorted([content.name, live.name, foreign.name])
    assert opened.fetch(Cache(tmp_path / "b"), "clips", key).read_bytes() == data

def test_a_store_that_fails_is_unavailable_not_a_miss(remote, tmp_path, monkeypatch):
    a, _ = new_cache(tmp_path / "a")
    key = key_of("clip")
    local_entry(a, "clips", key, b"data")

    def broken(*args, **kwargs):
        raise ConnectionError("connection reset by peer")

    monkeypatch.setattr(remote.fs, "cat_file", broken)
    with pytest.raises(RemoteUnavailable, match="cannot reach the store"):
        remote.fetch(a, "clips", key)
    assert a.status("clips", key) == "cached"  # the local entry is untouched


# -- S3 (moto on 127.0.0.1) --------------------------------------------------------------------

@pytest.fixture
def s3_url(s3_endpoint, monkeypatch):
    for name, value in s3_env(s3_endpoint).items():
        monkeypatch.setenv(name, value)
    return f"s3://{BUCKET}/{uuid.uuid4().hex}"


def test_s3_round_trip_and_exclusive_commit(s3_url, tmp_path, monkeypatch):
    opened = open_remote(s3_url)
    a, _ = new_cache(tmp_path / "a")
    b, _ = new_cache(tmp_path / "b")
    key, data = key_of("clip"), os.urandom(200_000)
    local_entry(a, "clips", key, data, FACTS)
    assert opened.push(a, "clips", key)
    assert opened.create_exclusive(opened.record_path("clips", key), b"{}") is False  # If-None-Match: *
    assert opened.fetch(b, "clips", key).read_bytes() == data
    assert b.read_facts("clips", key) == FACTS


def test_s3_corrupted_object_detected(s3_url, tmp_path):
    opened = open_remote(s3_url)
    a, _ = new_cache(tmp_path / "a")
    b, warnings = new_cache(tmp_path / "b")
    key, data = key_of("clip"), b"clip" * 1000
    local_entry(a, "clips", key, data)
    opened.push(a, "clips", key)
    opened.fs.pipe_file(opened.content_path("clips", key, sha(data)), b"CLIP" * 1000)
    assert opened.fetch(b, "clips", key) is None
    assert "is bad" in warnings[0] and b.status("clips", key) == "missing"


def test_s3_bad_configuration(s3_endpoint, monkeypatch):
    for name, value in s3_env(s3_endpoint).items():
        monkeypatch.setenv(name, value)
    with pytest.raises(RemoteUnavailable, match="bucket does not exist"):
        open_remote("s3://no-such-bucket/prefix")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(RemoteUnavailable, match="no credentials"):
        open_remote(f"s3://{BUCKET}/prefix")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(RemoteUnavailable, match="cannot reach") as info:
        open_remote(f"s3://{BUCKET}/prefix")
    assert info.value.exit_code == EXIT_RENDER


RACER = textwrap.dedent("""
    import json, os, sys, time
    from pathlib import Path
    from seqc.store import Cache
    from seqc.store.remote import open_remote

    url, cache_dir, fresh_dir, key, payload, gate, me = sys.argv[1:]
    cache = Cache(cache_dir)
    tmp = cache.temp_path("clips", key)
    tmp.write_bytes(payload.encode())
    cache.put("clips", key, tmp, {"who": me})
    remote = open_remote(url)
    real = remote.create_exclusive

    def at_the_gate(path, data):
        # Both processes have checked that no record exists and uploaded their content: now both
        # create the record at once.
        if path.endswith(key + ".json"):
            Path(gate, me).touch()
            deadline = time.monotonic() + 60
            while len(os.listdir(gate)) < 2:
                if time.monotonic() > deadline:
                    sys.exit("the other racer never came")
                time.sleep(0.002)
        return real(path, data)

    remote.create_exclusive = at_the_gate
    committed = remote.push(cache, "clips", key)
    fetched = remote.fetch(Cache(fresh_dir), "clips", key)
    print(json.dumps({"committed": committed, "read": fetched.read_text() if fetched else None}))
""")


@pytest.mark.parametrize("where", ["s3", "file"])
def test_two_processes_publishing_one_key_leave_one_record_and_both_read_it(where, s3_endpoint, tmp_path,
                                                                           monkeypatch):
    for name, value in s3_env(s3_endpoint).items():
        monkeypatch.setenv(name, value)
    url = f"s3://{BUCKET}/race-{uuid.uuid4().hex}" if where == "s3" else f"file://{tmp_path}/share"
    key = key_of("raced")
    gate = tmp_path / "gate"
    gate.mkdir()
    env = {**os.environ, **s3_env(s3_endpoint), "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", RACER, url, str(tmp_path / f"cache-{me}"),
                               str(tmp_path / f"fresh-{me}"), key, f"clip rendered by {me}", str(gate), me],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for me in ("one", "two")]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert sorted(r["committed"] for r in results) == [False, True]  # exactly one commit
    winner = next(me for me, r in zip(("one", "two"), results, strict=True) if r["committed"])
    assert [r["read"] for r in results] == [f"clip rendered by {winner}"] * 2  # both read the winner's
    opened = open_remote(url)
    folder = opened.record_path("clips", key).rsplit("/", 1)[0]
    names = [p.rsplit("/", 1)[1] for p in opened.fs.find(folder)]
    assert [n for n in names if n.endswith(".json")] == [f"{key}.json"]  # one commit record
    assert [n for n in names if n.endswith(".mp4")] == [sha(f"clip rendered by {winner}".encode()) + ".mp4"]
