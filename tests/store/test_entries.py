"""Cache entries (seqc/store/entries.py, keys and kinds from kinds.py): put, get and status, verified
on every read; broken entries; crashes and concurrent writers in real processes; listing and verify;
and the store importing only the standard library."""

from __future__ import annotations

import json
import os

import pytest
from storekit import BROKEN, k, make_broken, python, run_python, set_last_use, sha, temps

from seqc.store import Cache, atomic
from seqc.store import entries as entries_mod

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


@pytest.mark.parametrize("how", BROKEN)
def test_broken_entries_are_invalid_and_a_miss(tmp_path, how):
    warnings: list[str] = []
    cache = Cache(tmp_path, warn=warnings.append)
    make_broken(cache, how, k(how))
    assert cache.status("latents", k(how)) == "invalid"
    assert cache.get("latents", k(how)) is None
    assert len(warnings) == 1
    assert cache.status("latents", k(how)) == "missing"


def test_a_hit_writes_nothing(tmp_path):
    cache = Cache(tmp_path)
    cache.put_bytes("latents", k(7), b"x", {})
    set_last_use(cache, "latents", k(7), 1000.0)
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file()}
    assert cache.get("latents", k(7)) is not None
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file()} == before


def test_a_synced_entry_is_vouched_for_by_stat_and_a_changed_one_is_hashed_again(tmp_path, monkeypatch):
    cache = Cache(tmp_path)
    path = cache.put_bytes("clips", k(1), b"clip bytes", {})
    assert cache.sync_published() == 1
    cache.save_memo()
    hashed = []
    real = entries_mod.sha256_file
    monkeypatch.setattr(entries_mod, "sha256_file", lambda p, **kw: hashed.append(p) or real(p, **kw))
    fresh = Cache(tmp_path)  # a later process: the memo on disk vouches for the entry
    assert fresh.get("clips", k(1)) == path and hashed == []
    # The same size, other bytes and another mtime: the stat no longer matches, so it is hashed and refused.
    path.write_bytes(b"clip bYtes")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert Cache(tmp_path, warn=lambda m: None).get("clips", k(1)) is None and set(hashed) == {path}


# ---------------------------------------------------------------------------------------------
# crashes and concurrency (real processes)

CRASH_IN_PUT = """
import os, sys
from seqc.store import Cache
from seqc.store.entries import EntryStore
# Die for real between moving the content into place and writing the sidecar.
EntryStore._write_sidecar = lambda self, kind, key, data: os._exit(3)
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
    on_disk = sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file() and p.name != "CACHEDIR.TAG")
    assert cache.total_size() == on_disk  # entries only: the tag is not one

    bad = {entry.key: reason for entry, reason in cache.verify()}
    assert set(bad) == {k("orphan content"), k("orphan sidecar"), k("flipped")}
    assert "sidecar missing" in bad[k("orphan content")]
    assert "content file missing" in bad[k("orphan sidecar")]
    assert "sha256" in bad[k("flipped")]

    assert len(cache.verify(repair=True)) == 3
    assert cache.verify() == []
    assert {e.key for e in cache.entries()} == {*good, k("clip")}


def test_temp_and_stray_files_are_not_entries(tmp_path):
    cache = Cache(tmp_path)
    tmp = cache.temp_path("clips", k(8))
    tmp.write_bytes(b"half written")
    (tmp.parent / "notes.txt").write_text("x")
    assert list(cache.entries()) == []
    assert Cache(tmp_path / "does-not-exist").total_size() == 0


# ---------------------------------------------------------------------------------------------
# imports


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
