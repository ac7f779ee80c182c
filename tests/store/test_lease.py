"""Leases (seqc/store/lease.py): a held lease grows with `add` and protects its keys from gc; a dead
process's lease is stale and gc removes it (real processes, real flocks)."""

from __future__ import annotations

from storekit import fill, remaining, run_python

from seqc.store import Cache


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
