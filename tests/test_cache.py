"""Tests for seqc/cache.py: real files, and real processes wherever concurrency is involved."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from seqc.errors import CacheError
from seqc.store import Cache, atomic, default_cache_dir, format_size, parse_size

REPO = Path(__file__).resolve().parents[1]


def k(n: object) -> str:
    """A valid cache key."""
    return hashlib.sha256(str(n).encode()).hexdigest()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def temps(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if atomic.TEMP_MARK in p.name)


def python(code: str, *args: str) -> subprocess.Popen:
    """Start a Python process running `code` with the repo importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_python(code: str, *args: str) -> subprocess.CompletedProcess:
    proc = python(code, *args)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@contextlib.contextmanager
def holding(code: str, *args: str):
    """Run `code` in another process until the block ends; it prints "ready" once it holds its lock."""
    proc = python(code, *args)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "ready", proc.stderr.read()
        yield proc
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()


def set_last_use(cache: Cache, kind: str, key: str, when: float) -> None:
    os.utime(cache.sidecar(kind, key), (when, when))


# ---------------------------------------------------------------------------------------------
# put / get / status


def test_put_get_round_trip(tmp_path):
    cache = Cache(tmp_path / "c")
    key = k(1)
    assert cache.status("latents", key) == "missing"
    assert cache.get("latents", key) is None
    assert cache.read_inputs("latents", key) is None

    inputs = {"image_sha256": k("img"), "size": [8, 8]}
    path = cache.put_bytes("latents", key, b"hello", inputs)

    assert path == tmp_path / "c" / "latents" / key[:2] / f"{key}.safetensors"
    assert cache.status("latents", key) == "cached"
    assert cache.get("latents", key) == path
    assert path.read_bytes() == b"hello"
    assert cache.read_inputs("latents", key) == inputs
    side = json.loads(cache.sidecar("latents", key).read_text())
    assert side["key"] == key and side["kind"] == "latents"
    assert side["size"] == 5 and side["sha256"] == sha(b"hello")
    assert isinstance(side["created"], float)
    assert cache.sidecar("latents", key) == path.with_suffix(".json")
    assert temps(cache.root) == []


def test_put_publishes_a_temp_file_from_a_writer(tmp_path):
    cache = Cache(tmp_path)
    key = k("clip")
    tmp = cache.temp_path("clips", key)
    assert tmp.parent == cache.path("clips", key).parent and tmp.parent.is_dir()
    assert atomic.temp_owner(tmp) == os.getpid() and tmp.suffix == ".mp4"
    tmp.write_bytes(b"video bytes")

    path = cache.put("clips", key, tmp, {"frames": 12})

    assert not tmp.exists()
    assert cache.get("clips", key) == path and path.read_bytes() == b"video bytes"


def test_put_accepts_a_file_from_another_folder(tmp_path):
    cache = Cache(tmp_path / "c")
    src = tmp_path / "elsewhere.bin"
    src.write_bytes(b"abc")
    path = cache.put("latents", k(2), src, {})
    assert not src.exists()
    assert cache.get("latents", k(2)) == path and path.read_bytes() == b"abc"
    assert temps(cache.root) == []


def test_put_with_unserialisable_inputs_leaves_nothing(tmp_path):
    cache = Cache(tmp_path)
    with pytest.raises(TypeError):
        cache.put_bytes("latents", k(3), b"x", {"bad": object()})
    assert cache.status("latents", k(3)) == "missing"
    assert temps(tmp_path) == []


def test_second_put_of_a_valid_entry_keeps_the_first(tmp_path):
    cache = Cache(tmp_path)
    first = cache.put_bytes("latents", k(4), b"first", {"n": 1})
    second = cache.put_bytes("latents", k(4), b"other", {"n": 2})
    assert first == second and first.read_bytes() == b"first"
    assert cache.read_inputs("latents", k(4)) == {"n": 1}
    assert temps(tmp_path) == []


@pytest.mark.parametrize(
    "key", ["abc", k(0).upper(), k(0)[:63], "g" * 64, k(0) + "\n", "../" + k(0)[3:]]
)
def test_bad_keys_are_rejected(tmp_path, key):
    with pytest.raises(ValueError, match="invalid cache key"):
        Cache(tmp_path).path("latents", key)


def test_unknown_kind_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="unknown cache kind 'frames'.*clips, embeds, latents"):
        Cache(tmp_path).status("frames", k(0))


def test_truncated_content_is_invalid_and_get_deletes_it(tmp_path):
    warnings: list[str] = []
    cache = Cache(tmp_path, warn=warnings.append)
    key = k(5)
    path = cache.put_bytes("latents", key, b"0123456789", {})
    path.write_bytes(b"01234")

    assert cache.status("latents", key) == "invalid"
    assert cache.get("latents", key) is None
    assert len(warnings) == 1
    assert key in warnings[0] and "latents" in warnings[0] and "5 bytes" in warnings[0]
    assert not path.exists() and not cache.sidecar("latents", key).exists()
    assert cache.status("latents", key) == "missing"


def test_flipped_byte_is_caught_by_the_digest_on_read(tmp_path):
    warnings: list[str] = []
    cache = Cache(tmp_path, warn=warnings.append)
    key = k(6)
    path = cache.put_bytes("clips", key, b"abcdefgh", {})
    data = bytearray(path.read_bytes())
    data[3] ^= 0x01
    path.write_bytes(bytes(data))

    assert cache.status("clips", key) == "cached"  # the cheap check cannot see it
    assert cache.get("clips", key) is None
    assert len(warnings) == 1 and "sha256" in warnings[0] and key in warnings[0]
    assert cache.status("clips", key) == "missing"


def make_broken(cache: Cache, how: str, key: str) -> None:
    if how == "content_only":
        path = cache.path("latents", key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"orphan")
        return
    path = cache.put_bytes("latents", key, b"payload", {})
    if how == "sidecar_only":
        path.unlink()
    elif how == "garbage_sidecar":
        cache.sidecar("latents", key).write_text("{not json")
    elif how == "sidecar_of_another_key":
        side = json.loads(cache.sidecar("latents", key).read_text())
        side["key"] = k("other")
        cache.sidecar("latents", key).write_text(json.dumps(side))
    elif how == "bad_size_field":
        side = json.loads(cache.sidecar("latents", key).read_text())
        side["size"] = "7"
        cache.sidecar("latents", key).write_text(json.dumps(side))


BROKEN = [
    "content_only",
    "sidecar_only",
    "garbage_sidecar",
    "sidecar_of_another_key",
    "bad_size_field",
]


@pytest.mark.parametrize("how", BROKEN)
def test_broken_entries_are_invalid_and_a_miss(tmp_path, how):
    warnings: list[str] = []
    cache = Cache(tmp_path, warn=warnings.append)
    make_broken(cache, how, k(how))
    assert cache.status("latents", k(how)) == "invalid"
    assert cache.get("latents", k(how)) is None
    assert len(warnings) == 1
    assert cache.status("latents", k(how)) == "missing"


def test_get_touches_the_entry_for_lru(tmp_path):
    cache = Cache(tmp_path)
    cache.put_bytes("latents", k(7), b"x", {})
    set_last_use(cache, "latents", k(7), 1000.0)
    cache.get("latents", k(7))
    assert cache.sidecar("latents", k(7)).stat().st_mtime > time.time() - 60


# ---------------------------------------------------------------------------------------------
# crashes and concurrency (real processes)

CRASH_IN_PUT = """
import os, sys
from seqc.store import Cache
# Die for real between moving the content into place and writing the sidecar.
Cache._write_sidecar = lambda self, kind, key, data: os._exit(3)
Cache(sys.argv[1]).put_bytes("clips", sys.argv[2], sys.argv[3].encode(), {})
"""


@pytest.mark.parametrize("before", ["nothing", "corrupt_entry_of_same_size"])
def test_crash_between_content_and_sidecar_never_looks_valid(tmp_path, before):
    warnings: list[str] = []
    cache = Cache(tmp_path, warn=warnings.append)
    key = k("crash")
    if before == "corrupt_entry_of_same_size":
        path = cache.put_bytes("clips", key, b"old content", {})
        path.write_bytes(b"OLD CONTENT")  # same size, wrong digest: cheap status says cached

    proc = run_python(CRASH_IN_PUT, str(tmp_path), key, "new content")

    assert proc.returncode == 3, proc.stderr
    assert cache.path("clips", key).read_bytes() == b"new content"
    assert cache.status("clips", key) == "invalid"
    assert cache.get("clips", key) is None and len(warnings) == 1
    path = cache.put_bytes("clips", key, b"new content", {})
    assert cache.get("clips", key) == path and len(warnings) == 1


CONCURRENT_PUTS = """
import sys
from seqc.store import Cache
root, tag, keys = sys.argv[1], sys.argv[2], sys.argv[3:]
warnings = []
cache = Cache(root, warn=warnings.append)
for key in keys:
    path = cache.put_bytes("clips", key, (tag * 1000).encode(), {"writer": tag})
    got = cache.get("clips", key)
    assert got == path, (got, path)
    assert got.read_bytes() in (b"a" * 1000, b"b" * 1000)
assert not warnings, warnings
"""


CONCURRENT_GETS = """
import sys, time
from seqc.store import Cache
root, keys = sys.argv[1], sys.argv[2:]
warnings = []
cache = Cache(root, warn=warnings.append)
pending, deadline = set(keys), time.monotonic() + 15
while pending and time.monotonic() < deadline:
    for key in sorted(pending):
        if cache.get("clips", key) is not None:
            pending.discard(key)
# A reader that meets a half-published entry re-checks under the lock instead of deleting it.
assert not warnings, warnings
assert not pending, pending
"""


def test_two_processes_putting_the_same_keys_is_harmless(tmp_path):
    keys = [k(("race", i)) for i in range(20)]
    procs = [python(CONCURRENT_GETS, str(tmp_path), *keys)]
    procs += [python(CONCURRENT_PUTS, str(tmp_path), tag, *keys) for tag in "ab"]
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err

    cache = Cache(tmp_path)
    assert cache.verify() == []
    assert temps(tmp_path) == []
    for key in keys:
        path = cache.get("clips", key)
        assert path is not None
        writer = cache.read_inputs("clips", key)["writer"]
        assert path.read_bytes() == (writer * 1000).encode()


# ---------------------------------------------------------------------------------------------
# listing and verify


def test_entries_verify_and_total_size(tmp_path):
    cache = Cache(tmp_path)
    good = [k(("good", i)) for i in range(2)]
    for key in good:
        cache.put_bytes("latents", key, b"data" * 10, {})
    cache.put_bytes("clips", k("clip"), b"clip", {})
    make_broken(cache, "content_only", k("orphan content"))
    make_broken(cache, "sidecar_only", k("orphan sidecar"))
    flipped = cache.put_bytes("latents", k("flipped"), b"abcd", {})
    flipped.write_bytes(b"abce")

    entries = {(e.kind, e.key): e for e in cache.entries()}
    assert len(entries) == 6
    assert entries[("latents", k("orphan content"))].status == "invalid"
    assert entries[("latents", k("orphan sidecar"))].status == "invalid"
    assert entries[("latents", k("flipped"))].status == "cached"
    assert entries[("latents", good[0])].size == 40
    on_disk = sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())
    assert cache.total_size() == on_disk

    bad = {entry.key: reason for entry, reason in cache.verify()}
    assert set(bad) == {k("orphan content"), k("orphan sidecar"), k("flipped")}
    assert "sidecar missing" in bad[k("orphan content")]
    assert "content file missing" in bad[k("orphan sidecar")]
    assert "sha256" in bad[k("flipped")]

    assert len(cache.verify(repair=True)) == 3
    assert cache.verify() == []
    assert {e.key for e in cache.entries()} == {*good, k("clip")}


def test_gc_of_a_missing_cache_creates_nothing(tmp_path):
    report = Cache(tmp_path / "nope").gc(max_size=0)
    assert report.removed == [] and report.size_after == 0
    assert not (tmp_path / "nope").exists()


def test_temp_and_stray_files_are_not_entries(tmp_path):
    cache = Cache(tmp_path)
    tmp = cache.temp_path("clips", k(8))
    tmp.write_bytes(b"half written")
    (tmp.parent / "notes.txt").write_text("x")
    assert list(cache.entries()) == []
    assert Cache(tmp_path / "does-not-exist").total_size() == 0


# ---------------------------------------------------------------------------------------------
# file-hash memo


class CountingCache(Cache):
    """Counts real file reads; files need not rest before their hash is memoised."""

    racy_seconds = 0.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reads = 0

    def _digest_file(self, path):
        self.reads += 1
        return super()._digest_file(path)


def test_hash_file_is_memoised_across_cache_objects(tmp_path):
    root = tmp_path / "c"
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"w" * 5000)

    cache = CountingCache(root)
    assert cache.hash_file(weights) == sha(b"w" * 5000)
    assert cache.hash_file(str(weights)) == sha(b"w" * 5000)
    assert cache.reads == 1
    cache.save_memo()
    memo = json.loads((root / "files.json").read_text())
    assert memo["files"][str(weights)]["sha256"] == sha(b"w" * 5000)

    again = CountingCache(root)
    assert again.hash_file(weights) == sha(b"w" * 5000)
    assert again.reads == 0

    # Same size, mtime put back: the inode change time still gives it away.
    st = weights.stat()
    weights.write_bytes(b"v" * 5000)
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert again.hash_file(weights) == sha(b"v" * 5000)
    assert again.reads == 1


def test_image_checks_are_remembered_with_the_file_hash(tmp_path):
    root, image = tmp_path / "c", tmp_path / "k.png"
    image.write_bytes(b"pretend png")
    cache = CountingCache(root)
    # 1. A pass noted before the file is hashed rides on the record the hash makes.
    cache.remember_image_check(image, image.stat(), "rules-1")
    cache.hash_file(image)
    cache.save_memo()
    again = CountingCache(root)
    assert again.image_checked(image, image.stat(), "rules-1")
    assert not again.image_checked(image, image.stat(), "rules-2")  # other limits: check again
    # 2. A changed file (same size, mtime put back) is not vouched for.
    st = image.stat()
    image.write_bytes(b"PRETEND PNG")
    os.utime(image, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert not again.image_checked(image, image.stat(), "rules-1")


def test_an_image_check_is_added_to_an_existing_record(tmp_path):
    root, image = tmp_path / "c", tmp_path / "k.png"
    image.write_bytes(b"pretend png")
    first = CountingCache(root)
    first.hash_file(image)
    first.save_memo()
    second = CountingCache(root)
    assert not second.image_checked(image, image.stat(), "rules-1")
    second.remember_image_check(image, image.stat(), "rules-1")
    second.save_memo()
    assert CountingCache(root).image_checked(image, image.stat(), "rules-1")


def test_an_image_check_of_a_just_written_file_is_not_remembered(tmp_path):
    image = tmp_path / "fresh.png"
    image.write_bytes(b"fresh")
    cache = Cache(tmp_path / "c")
    cache.remember_image_check(image, image.stat(), "rules-1")
    cache.hash_file(image)
    cache.save_memo()
    assert not Cache(tmp_path / "c").image_checked(image, image.stat(), "rules-1")


def test_corrupt_memo_is_ignored(tmp_path):
    (tmp_path / "files.json").write_text("{not json")
    src = tmp_path / "img.png"
    src.write_bytes(b"png")
    cache = CountingCache(tmp_path)
    assert cache.hash_file(src) == sha(b"png") and cache.reads == 1
    cache.save_memo()
    assert str(src) in json.loads((tmp_path / "files.json").read_text())["files"]


def test_a_just_written_file_is_not_memoised(tmp_path):
    src = tmp_path / "fresh.png"
    src.write_bytes(b"fresh")
    cache = Cache(tmp_path / "c")
    assert cache.hash_file(src) == sha(b"fresh")
    cache.save_memo()
    assert not (tmp_path / "c" / "files.json").exists()


def test_gc_prunes_memo_records_of_gone_files(tmp_path):
    root = tmp_path / "c"
    kept, gone = tmp_path / "kept.bin", tmp_path / "gone.bin"
    kept.write_bytes(b"1")
    gone.write_bytes(b"2")
    cache = CountingCache(root)
    cache.hash_file(kept)
    cache.hash_file(gone)
    cache.save_memo()
    gone.unlink()
    assert cache.gc().pruned_memo == 1
    assert list(json.loads((root / "files.json").read_text())["files"]) == [str(kept)]


# ---------------------------------------------------------------------------------------------
# runs


def test_runs_round_trip(tmp_path):
    cache = Cache(tmp_path)
    assert cache.read_run("ab12") is None
    cache.write_run("ab12", {"segments": [k(1)]})
    assert cache.read_run("ab12") == {"segments": [k(1)]}
    (tmp_path / "runs" / "cd34.json").write_text("[broken")
    assert cache.read_run("cd34") is None
    for bad in ["../x", "AB12", "", "ab12\n"]:
        with pytest.raises(ValueError, match="invalid run id"):
            cache.read_run(bad)


# ---------------------------------------------------------------------------------------------
# gc, leases, clear

HOLD_LEASE = """
import sys
from seqc.store import Cache
with Cache(sys.argv[1]).lease([("latents", sys.argv[2])]):
    print("ready", flush=True)
    sys.stdin.read()
"""

HOLD_FLOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
print("ready", flush=True)
sys.stdin.read()
"""


def fill(cache: Cache, n: int) -> tuple[list[str], dict[str, int]]:
    """n latents, oldest first; return the keys and each one's disk size (sidecars vary a little)."""
    keys = [k(("entry", i)) for i in range(n)]
    base = time.time() - 1000
    for i, key in enumerate(keys):
        cache.put_bytes("latents", key, bytes([i]) * 1000, {})
        set_last_use(cache, "latents", key, base + i)
    return keys, {e.key: e.disk_size for e in cache.entries()}


def remaining(cache: Cache) -> set[str]:
    return {e.key for e in cache.entries()}


def test_gc_deletes_lru_first_and_spares_keep_and_a_live_lease(tmp_path):
    cache = Cache(tmp_path)
    keys, sizes = fill(cache, 5)
    cap = sizes[keys[0]] + sizes[keys[1]] + sizes[keys[4]]

    with holding(HOLD_LEASE, str(tmp_path), keys[1]):
        report = cache.gc(max_size=cap, keep={("latents", keys[0])})
        assert remaining(cache) == {keys[0], keys[1], keys[4]}
        assert [e.key for e in report.removed] == [keys[2], keys[3]]
        assert report.kept_in_use == 2 and not report.over_cap
        assert report.size_before == sum(sizes.values()) and report.size_after == cap
        assert report.freed == sizes[keys[2]] + sizes[keys[3]] and report.removed_leases == []

    report = cache.gc(max_size=sizes[keys[0]], keep={("latents", keys[0])})
    assert remaining(cache) == {keys[0]}
    assert [e.key for e in report.removed] == [keys[1], keys[4]]
    assert list((tmp_path / "leases").iterdir()) == []


def test_gc_says_when_protected_entries_keep_it_over_the_cap(tmp_path):
    cache = Cache(tmp_path)
    keys, sizes = fill(cache, 3)
    report = cache.gc(max_size=sizes[keys[0]], keep={("latents", key) for key in keys})
    assert report.removed == [] and report.over_cap and report.kept_in_use == 3
    assert remaining(cache) == set(keys)
    assert any("still over the cap" in line for line in report.summary())


def test_gc_removes_a_dead_process_lease(tmp_path):
    cache = Cache(tmp_path)
    keys, _ = fill(cache, 2)
    proc = run_python(
        """
        import os, sys
        from seqc.store import Cache
        Cache(sys.argv[1]).lease([("latents", sys.argv[2])]).acquire()
        os._exit(0)  # die holding the lease, without cleaning up
        """,
        str(tmp_path),
        keys[0],
    )
    assert proc.returncode == 0, proc.stderr
    assert len(list((tmp_path / "leases").iterdir())) == 2

    report = cache.gc(max_size=0)
    assert sorted(p.suffix for p in report.removed_leases) == [".json", ".lock"]
    assert remaining(cache) == set()
    assert list((tmp_path / "leases").iterdir()) == []


def test_lease_add_extends_a_held_lease(tmp_path):
    cache = Cache(tmp_path)
    keys, _ = fill(cache, 3)
    with cache.lease([("latents", keys[0])]) as lease:
        lease.add("latents", keys[1])
        report = cache.gc(max_size=0)
        assert remaining(cache) == {keys[0], keys[1]}
        assert report.removed_leases == [] and lease.path.exists() and lease.lock_path.exists()
    assert not lease.path.exists() and not lease.lock_path.exists()
    cache.gc(max_size=0)
    assert remaining(cache) == set()


def test_gc_removes_invalid_entries(tmp_path):
    cache = Cache(tmp_path)
    for how in BROKEN:
        make_broken(cache, how, k(how))
    cache.put_bytes("latents", k("fine"), b"fine", {})
    report = cache.gc()
    assert sorted(e.key for e, _ in report.removed_invalid) == sorted(k(h) for h in BROKEN)
    assert remaining(cache) == {k("fine")}


def test_gc_older_than(tmp_path):
    cache = Cache(tmp_path)
    cache.put_bytes("latents", k("old"), b"o", {})
    cache.put_bytes("latents", k("new"), b"n", {})
    set_last_use(cache, "latents", k("old"), time.time() - 3600)
    report = cache.gc(older_than=600)
    assert [e.key for e in report.removed] == [k("old")]
    assert remaining(cache) == {k("new")}


def test_gc_removes_dead_writers_temps_and_keeps_live_ones(tmp_path):
    cache = Cache(tmp_path)
    dead = subprocess.Popen(["true"])
    dead.wait()
    live = cache.temp_path("clips", k(9))
    live.write_bytes(b"being written")
    dead_temp = live.parent / f".{k(9)}{atomic.TEMP_MARK}{dead.pid}-0123abcd.mp4"
    dead_temp.write_bytes(b"left by a crash")
    assert atomic.temp_owner(dead_temp) == dead.pid

    report = cache.gc()
    assert report.removed_temps == [dead_temp]
    assert live.exists() and not dead_temp.exists()


def test_second_gc_fails_fast_while_another_holds_the_lock(tmp_path):
    cache = Cache(tmp_path)
    cache.put_bytes("latents", k(10), b"x", {})
    with holding(HOLD_FLOCK, str(tmp_path / ".gc.lock")):
        start = time.monotonic()
        with pytest.raises(
            CacheError, match=r"another `seqc cache gc` is running \(lock: .*\.gc\.lock\)"
        ):
            cache.gc(max_size=0)
        with pytest.raises(CacheError):
            cache.clear()
        assert time.monotonic() - start < 2
        assert remaining(cache) == {k(10)}
    cache.gc(max_size=0)
    assert remaining(cache) == set()


def test_clear_deletes_everything_but_leased_entries_and_gitignore(tmp_path):
    (tmp_path / ".gitignore").write_text("*\n")
    cache = CountingCache(tmp_path)
    keys, _ = fill(cache, 3)
    cache.write_run("ab", {"x": 1})
    src = tmp_path.parent / f"{tmp_path.name}-src.bin"
    src.write_bytes(b"s")
    cache.hash_file(src)
    cache.save_memo()

    with cache.lease([("latents", keys[2])]):
        report = cache.clear()
    assert remaining(cache) == {keys[2]} and report.kept_in_use == 1
    assert cache.read_run("ab") is None and not (tmp_path / "files.json").exists()
    assert (tmp_path / ".gitignore").read_text() == "*\n"
    cache.clear()
    assert remaining(cache) == set()


# ---------------------------------------------------------------------------------------------
# sizes, folders, imports


@pytest.mark.parametrize(
    "text, size",
    [
        ("0", 0),
        ("1024", 1024),
        ("10B", 10),
        ("500M", 500_000_000),
        ("500mb", 500_000_000),
        ("1.5k", 1500),
        ("1 KiB", 1024),
        (" 5Mi ", 5 * 1024**2),
        ("2GiB", 2 * 1024**3),
        ("7gb", 7_000_000_000),
        ("3T", 3 * 10**12),
        ("1tib", 1024**4),
    ],
)
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "M", "-5M", "5X", "5 MBs", "1e3", "5iB", "5 M B", None])
def test_parse_size_rejects(text):
    with pytest.raises(ValueError, match="invalid size"):
        parse_size(text)


def test_format_size():
    assert format_size(999) == "999 B"
    assert format_size(1_500_000) == "1.5 MB"


def test_default_cache_dir_precedence(tmp_path):
    env = {"SEQC_CACHE_DIR": "/env/cache"}
    assert default_cache_dir("/cli/cache", env, tmp_path) == Path("/cli/cache")
    assert default_cache_dir("rel", env, tmp_path) == tmp_path / "rel"
    assert default_cache_dir(None, env, tmp_path) == Path("/env/cache")
    assert default_cache_dir(None, {"SEQC_CACHE_DIR": "envrel"}, tmp_path) == tmp_path / "envrel"
    assert default_cache_dir(None, {"SEQC_CACHE_DIR": ""}, tmp_path) == tmp_path / "cache"
    assert default_cache_dir(None, {}, tmp_path) == tmp_path / "cache"
    assert default_cache_dir(None, {}).is_absolute()


def test_import_does_not_pull_in_torch_or_numpy():
    proc = run_python(
        """
        import sys
        import seqc.store
        heavy = sorted(m for m in ("torch", "numpy", "diffusers") if m in sys.modules)
        assert not heavy, heavy
        """
    )
    assert proc.returncode == 0, proc.stderr
