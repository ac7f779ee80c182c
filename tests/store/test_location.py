"""Where the cache lives (seqc/store/location.py): `--cache-dir`, then $SEQC_CACHE_DIR, then `./cache`."""

from __future__ import annotations

from pathlib import Path

from seqc.store import default_cache_dir


def test_default_cache_dir_precedence(tmp_path):
    env = {"SEQC_CACHE_DIR": "/env/cache"}
    assert default_cache_dir("/cli/cache", env, tmp_path) == Path("/cli/cache")
    assert default_cache_dir("rel", env, tmp_path) == tmp_path / "rel"
    assert default_cache_dir(None, env, tmp_path) == Path("/env/cache")
    assert default_cache_dir(None, {"SEQC_CACHE_DIR": "envrel"}, tmp_path) == tmp_path / "envrel"
    assert default_cache_dir(None, {"SEQC_CACHE_DIR": ""}, tmp_path) == tmp_path / "cache"
    assert default_cache_dir(None, {}, tmp_path) == tmp_path / "cache"
    assert default_cache_dir(None, {}).is_absolute()
