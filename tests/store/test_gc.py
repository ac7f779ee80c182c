"""Garbage collection and clear (seqc/store/gc.py, with the gc lock from locks.py): LRU order, `keep`,
live leases, invalid entries, age, dead writers' temp files, and one gc at a time."""

from __future__ import annotations

import subprocess
import time

import pytest
from storekit import BROKEN, CountingCache, fill, holding, k, make_broken, remaining, set_last_use

from seqc.errors import CacheError
from seqc.store import Cache, atomic

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


def test_gc_of_a_missing_cache_creates_nothing(tmp_path):
    report = Cache(tmp_path / "nope").gc(max_size=0)
    assert report.removed == [] and report.size_after == 0
    assert not (tmp_path / "nope").exists()


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


def test_a_run_record_that_used_an_entry_counts_as_its_last_use(tmp_path):
    """Hits write nothing, so gc's LRU order learns of uses from the run records' `uses`."""
    cache = Cache(tmp_path)
    for i in (1, 2):
        cache.put_bytes("clips", k(i), b"x" * 100, {})
        set_last_use(cache, "clips", k(i), 1000.0 + i)  # k(1) published first
    cache.write_run("ab" * 12, {"segments": [], "uses": [f"clips/{k(1)}"]})  # ... but used just now
    one = cache.entry_store.entry("clips", k(1)).disk_size  # room for one (sidecars differ by a byte or two: their times)
    cache.gc(max_size=one)
    assert cache.status("clips", k(1)) == "cached" and cache.status("clips", k(2)) == "missing"
