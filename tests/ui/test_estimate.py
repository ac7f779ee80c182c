"""The estimate a long render prints before it starts (seqc/ui/estimate.py; issue 24 item 15): from
frames x pixels x a cost per model kind and device, with the cost model injected, so every figure
here is exact and nothing is timed."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from seqc.ui import estimate as est
from seqc.ui.estimate import CostModel, Estimate, describe, estimate, format_span

# 1 s a frame plus 1 s a megapixel on a 2-core CPU: easy arithmetic.
UNIT = CostModel(per_frame=1.0, per_megapixel=1.0, basis_cores=2, gpu_speedup=10.0, mps_speedup=4.0)


# Seconds a frame of the built-in model at each square size, measured on this project's 2-core CPU
# (seqc render --no-cache of seqc init's storyboard, 25 and 49 frames; see seqc/ui/estimate.py).
MEASURED = {256: 0.070, 512: 0.29, 1024: 1.30, 2048: 5.1}


@pytest.mark.parametrize("side", sorted(MEASURED))
def test_the_shipped_range_holds_the_measured_frame_times(side):
    found = estimate(100, (side, side), "cpu", cores=2)
    assert found.measured
    assert found.low <= 100 * MEASURED[side] <= found.high


def test_the_issue_case_is_said_before_it_starts():
    found = estimate(240, (4096, 4096), "cpu", cores=2)  # 240 x 16.8 MP x 0.9 s: about an hour
    assert describe(240, (4096, 4096), "cpu", found) == (
        "estimated 36-85 min for 240 frames at 4096x4096 on CPU (a smaller size, --draft or fewer frames is faster)")


def test_frames_times_pixels_times_the_cost_with_a_range():
    found = estimate(100, (1000, 1000), "cpu", cores=2, cost=UNIT)  # 100 x (1 + 1 x 1.0) = 200 s
    assert (found.low, found.high, found.measured) == (pytest.approx(120), pytest.approx(280), True)
    bigger = estimate(100, (2000, 1000), "cpu", cores=2, cost=UNIT)  # 100 x (1 + 2) = 300 s
    assert bigger.low == pytest.approx(180)


def test_devices_cores_and_other_models_scale_it_and_widen_the_range():
    gpu = estimate(100, (1000, 1000), "cuda", cost=UNIT)  # 200 s / 10
    assert (gpu.low, gpu.high, gpu.measured) == (pytest.approx(8), pytest.approx(50), False)
    assert estimate(100, (1000, 1000), "mps", cost=UNIT).low == pytest.approx(20)
    eight = estimate(100, (1000, 1000), "cpu", cores=8, cost=UNIT)  # 200 s / sqrt(8 / 2)
    assert eight.low == pytest.approx(60)
    heavy = estimate(100, (1000, 1000), "cpu", cores=2, weight_ratio=9.0, cost=UNIT)  # 100 x (1 + 9)
    assert (heavy.low, heavy.high, heavy.measured) == (pytest.approx(400), pytest.approx(2500), False)


def test_nothing_is_said_under_the_threshold():
    assert describe(10, (64, 64), "cpu", Estimate(1.0, 2.0, True)) is None
    assert describe(10, (64, 64), "cpu", Estimate(40.0, 62.5, True), threshold=60) is None  # 50 s in the middle
    assert describe(10, (64, 64), "cpu", Estimate(50.0, 80.0, True), threshold=60) is not None  # 63 s
    line = describe(10, (64, 64), "cuda", Estimate(100.0, 400.0, False), threshold=60)
    assert line is not None and line.startswith("roughly estimated 1-7 min for 10 frames at 64x64 on GPU")


def test_spans_read_in_seconds_minutes_or_hours():
    assert format_span(50, 80) == "50-80 s"
    assert format_span(540, 720) == "9-12 min"
    assert format_span(481, 751) == "8-13 min"  # rounded outwards
    assert format_span(3 * 3600, 4.5 * 3600) == "3.0-4.5 h"


def test_the_reporter_hook_reads_the_plan_and_uses_the_injected_cost(monkeypatch):
    monkeypatch.setattr(est, "usable_cores", lambda: 2)
    note = est.for_render("cpu", cost=UNIT, threshold=60)
    builtin = SimpleNamespace(source="builtin", kind="autoencoder", path=".")
    plan = SimpleNamespace(storyboard=SimpleNamespace(output=SimpleNamespace(size=(1000, 1000)), model_ref=builtin))
    assert note(plan, 100) == ("estimated 2-5 min for 100 frames at 1000x1000 on CPU (a smaller size, "
                               "--draft or fewer frames is faster)")
    assert note(plan, 10) is None  # 20 s
    assert note(SimpleNamespace(), 100) is None  # a watch's replayed job has no storyboard


def test_a_model_folder_is_weighed_against_the_builtin_model(tmp_path):
    from seqc.models import builtin_path

    ours = (builtin_path() / "diffusion_pytorch_model.safetensors").stat().st_size
    (tmp_path / "diffusion_pytorch_model.safetensors").write_bytes(b"\0" * (ours * 3))
    (tmp_path / "diffusion_pytorch_model.fp16.safetensors").write_bytes(b"\0" * ours)  # a variant: not added
    folder = SimpleNamespace(source="folder", kind="autoencoder", path=tmp_path)
    assert est.weight_ratio(folder) == pytest.approx(3.0)
    assert est.weight_ratio(SimpleNamespace(source="folder", kind="pipeline", path=tmp_path)) == 1.0  # no vae/
