"""Run records (seqc/store/runs.py, `runs/<id>.json`): written, read back, broken ones ignored, ids checked."""

from __future__ import annotations

import pytest
from storekit import k

from seqc.store import Cache


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
