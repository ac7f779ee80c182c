"""The file memo (seqc/store/memo.py, `files.json`): file hashes and passed image checks remembered
by stat signature, never for a just-written file, and pruned by gc once the file is gone."""

from __future__ import annotations

import json
import os

from storekit import CountingCache, sha

from seqc.store import Cache


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
