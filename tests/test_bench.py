"""`bench/run.py --smoke` runs end to end and reports every scenario, so the benchmark never rots.

No timing is asserted (speed goals live in bench/, not in unit tests): only that each scenario
ran (or says why it was skipped), that every figure has its fields, and that the report
describes the machine. The smoke run uses a tiny random model and writes no bench/results file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # real renders in subprocesses: run with the full suite, not the inner loop

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = {
    "1_throughput", "2_incremental_edit", "3_noop", "4_plan_scale", "5_memory", "6_session", "7_gpu", "8_scale",
    "9_warm", "speedups", "cluster", "10_prompt_morph", "11_morph_quality", "12_codecs",
}


@pytest.fixture(scope="module")
def smoke_report(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("bench") / "smoke.json"
    results = REPO / "bench" / "results"
    written = {p: p.stat().st_mtime_ns for p in results.glob("*.json")} if results.is_dir() else {}
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "run.py"), "--smoke", "--json-out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, f"bench --smoke exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert not (results / "smoke.json").exists(), "--smoke must not write bench/results"
    for path, mtime in written.items():  # the full and quick results are left alone
        assert path.stat().st_mtime_ns == mtime, path
    return json.loads(out.read_text())


@pytest.mark.slow
def test_smoke_reports_every_scenario(smoke_report):
    assert set(smoke_report["scenarios"]) == SCENARIOS
    for key, result in smoke_report["scenarios"].items():
        assert "error" not in result, f"{key}: {result['error']}"
        assert result["figures"] or result.get("skipped"), key
        assert len(result["load"]["before"]) == len(result["load"]["after"]) == 3
        for fig in result["figures"]:
            assert set(fig) >= {"label", "value", "unit", "target", "pass", "note"}, (key, fig)
            assert fig["pass"] in (True, False, None)
            assert (fig["pass"] is None) == (fig["target"] is None), (key, fig)


@pytest.mark.slow
def test_smoke_exercises_the_gpu_path_and_the_speedups(smoke_report):
    gpu = smoke_report["scenarios"]["7_gpu"]
    assert gpu["details"]["device"] in ("cpu", "cuda")
    per_model = len(smoke_report["scenarios"]["1_throughput"]["figures"])
    assert len(gpu["figures"]) == 2 * per_model  # scenario 1's figures for each of two models
    names = {c["name"] for c in smoke_report["scenarios"]["speedups"]["details"]["comparisons"]}
    assert {"batching", "channels-last", "overlap decode with ffmpeg writes"} <= names


@pytest.mark.slow
def test_smoke_report_describes_the_run(smoke_report):
    machine = smoke_report["machine"]
    for field in ("cpu_model", "cpu_cores", "torch", "device", "seqc", "date"):
        assert machine[field] not in (None, ""), field
    assert smoke_report["mode"] == "smoke"
    assert smoke_report["mode_changes_from_full"]["size"] == [256, 64]
    assert len(smoke_report["load"]["before"]) == 3
    noop = smoke_report["scenarios"]["3_noop"]["figures"]
    assert next(f for f in noop if f["label"] == "torch imported")["value"] is False


@pytest.mark.slow
def test_smoke_codecs_renders_prores_and_h264_side_by_side(smoke_report):
    codecs = smoke_report["scenarios"]["12_codecs"]
    best = codecs["details"]["best"]
    assert best["h264"]["track_codec"] == "h264" and best["prores"]["track_codec"] == "apch"
    labels = {f["label"] for f in codecs["figures"]}
    assert {"prores / h264: CLI wall", "prores / h264: peak RSS", "prores / h264: output size"} <= labels


def test_smoke_scale_measures_the_fixed_cost_and_a_noop_that_writes_nothing(smoke_report):
    scale = smoke_report["scenarios"]["8_scale"]
    labels = {f["label"]: f for f in scale["figures"]}
    assert any(label.startswith("fixed cost per segment") for label in labels)
    writes = labels["no-op and plan: files changed in the cache or output folder"]
    assert writes["value"] == 0 and writes["pass"] is True, scale["details"]["changed_files"]
    assert labels["no-op: torch imported"]["value"] is False
    assert scale["details"]["edit"]["rendered"] == 2
