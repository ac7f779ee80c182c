"""The precision the keys are for (seqc/backends/precision.py): the same rule as the backends use,
decided without torch."""

from __future__ import annotations

import pytest

from seqc.backends import precision


def test_auto_is_half_on_cuda_and_full_elsewhere_and_names_pass_through():
    assert precision.precision_for("auto", "cuda") == "float16"
    assert precision.precision_for("auto", "cpu") == "float32"
    assert precision.precision_for("auto", "mps") == "float32"
    assert precision.precision_for("bfloat16", "cpu") == "bfloat16"
    with pytest.raises(ValueError, match="unknown dtype"):
        precision.precision_for("float8", "cuda")


def test_an_explicit_device_is_never_guessed(monkeypatch):
    monkeypatch.setattr(precision, "_nvidia_present", lambda: True)
    assert precision.planned_precision("cpu", "auto") == "float32"
    assert precision.planned_precision("cuda", "auto") == "float16"
    assert precision.planned_precision("auto", "auto") == "float16"


def test_hidden_cuda_devices_mean_no_gpu(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert not precision._nvidia_present()
    assert precision.likely_device_type("auto") in ("cpu", "mps")


@pytest.mark.parametrize("dtype", ["auto", "float32", "bfloat16"])
def test_a_loaded_model_reports_the_precision_the_plan_keyed(tiny_vae, dtype):
    """render() compares backend.precision with the plan's: a model loaded as the user asked must
    report exactly what planned_precision said, or every render would re-plan."""
    from seqc.backends import load_backend
    from seqc.models import resolve_model

    backend = load_backend(resolve_model(str(tiny_vae), tiny_vae.parent), "cpu", dtype)
    assert backend.precision == precision.planned_precision("cpu", dtype)
