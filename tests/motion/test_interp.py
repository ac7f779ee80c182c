"""Tests for seqc.motion.interp: lerp and slerp on batches of times."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from seqc.motion.interp import lerp, slerp

T = np.linspace(0.0, 1.0, 11)


def unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


times = hnp.arrays(np.float64, st.integers(1, 8), elements=st.floats(0, 1))


def _pair_of_length(n: int):
    element = st.floats(-100, 100, allow_subnormal=False)
    return st.tuples(
        hnp.arrays(np.float64, n, elements=element), hnp.arrays(np.float64, n, elements=element)
    )


# two float64 vectors of the same length (2..12), including zeros and repeated values
pairs = st.integers(2, 12).flatmap(_pair_of_length)


# --- lerp -----------------------------------------------------------------------------


def test_lerp_values_shape_dtype():
    a = np.zeros((2, 3))
    b = np.ones((2, 3))
    out = lerp(a, b, T)
    assert out.shape == (11, 2, 3)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[:, 0, 0], T, atol=1e-7)
    assert lerp(a, b, T, dtype=np.float64).dtype == np.float64


@settings(deadline=None)  # the machine may be busy; correctness, not speed
@given(pair=pairs, t=times)
def test_lerp_endpoints_exact(pair, t):
    a, b = pair
    out = lerp(a, b, np.concatenate([[0.0, 1.0], t]), dtype=np.float64)
    np.testing.assert_array_equal(out[0], a)
    np.testing.assert_array_equal(out[1], b)


# --- slerp ----------------------------------------------------------------------------


def test_slerp_quarter_circle():
    a = np.array([1.0, 0.0])
    b = np.array([0.0, 1.0])
    out = slerp(a, b, T, dtype=np.float64)
    angles = T * np.pi / 2
    np.testing.assert_allclose(out, np.stack([np.cos(angles), np.sin(angles)], axis=1), atol=1e-12)


def test_slerp_batch_shape_and_dtype():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 8, 8)).astype(np.float32)
    b = rng.standard_normal((4, 8, 8)).astype(np.float32)
    out = slerp(a, b, np.linspace(0, 1, 7))
    assert out.shape == (7, 4, 8, 8)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[0], a)
    np.testing.assert_array_equal(out[-1], b)
    assert slerp(a, b, [0.5], dtype=np.float64).dtype == np.float64


@settings(deadline=None)  # the machine may be busy; correctness, not speed
@given(pair=pairs, t=times)
def test_slerp_endpoints_exact(pair, t):
    a, b = pair
    out = slerp(a, b, np.concatenate([[0.0], t, [1.0]]), dtype=np.float64)
    np.testing.assert_array_equal(out[0], a)
    np.testing.assert_array_equal(out[-1], b)
    assert np.all(np.isfinite(out))


@settings(deadline=None)  # the machine may be busy; correctness, not speed
@given(pair=pairs, t=times)
def test_slerp_unit_inputs_stay_unit(pair, t):
    a, b = pair
    assume(np.linalg.norm(a) > 1e-3 and np.linalg.norm(b) > 1e-3)
    out = slerp(unit(a), unit(b), t, dtype=np.float64)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)


@settings(deadline=None)  # the machine may be busy; correctness, not speed
@given(pair=pairs, t=times)
def test_slerp_norm_is_linear_in_t(pair, t):
    a, b = pair
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    assume(na > 1e-3 and nb > 1e-3)
    out = slerp(a, b, t, dtype=np.float64)
    expected = (1 - t) * na + t * nb
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), expected, rtol=1e-9, atol=1e-9)


@settings(deadline=None)  # the machine may be busy; correctness, not speed
@given(pair=pairs, t=times)
def test_slerp_symmetric(pair, t):
    a, b = pair
    forward = slerp(a, b, t, dtype=np.float64)
    backward = slerp(b, a, 1.0 - t, dtype=np.float64)
    scale = max(np.abs(a).max(), np.abs(b).max(), 1.0)
    np.testing.assert_allclose(forward, backward, atol=1e-9 * scale)


def test_slerp_angle_moves_at_constant_speed():
    a = 3.0 * unit([1.0, 2.0, -1.0, 0.5])
    b = 0.5 * unit([-2.0, 1.0, 0.3, 1.0])
    theta = np.arccos(unit(a) @ unit(b))
    out = slerp(a, b, T, dtype=np.float64)
    angles = np.arccos(np.clip((out / np.linalg.norm(out, axis=1)[:, None]) @ unit(a), -1, 1))
    np.testing.assert_allclose(angles, T * theta, atol=1e-7)


def test_slerp_parallel_inputs_fall_back_to_lerp():
    a = np.array([1.0, 2.0, 3.0])
    for b in (2.0 * a, a.copy(), a + 1e-12):
        out = slerp(a, b, T, dtype=np.float64)
        assert np.all(np.isfinite(out))
        np.testing.assert_allclose(out, lerp(a, b, T, dtype=np.float64), rtol=1e-12)


def test_slerp_zero_inputs():
    b = np.array([[1.0, -2.0], [0.5, 4.0]])
    zero = np.zeros_like(b)
    for x, y in ((zero, b), (b, zero), (zero, zero)):
        out = slerp(x, y, T, dtype=np.float64)
        assert np.all(np.isfinite(out))
        np.testing.assert_array_equal(out, lerp(x, y, T, dtype=np.float64))


@pytest.mark.parametrize("n", [2, 3, 16])
def test_slerp_antipodal_turns_through_an_orthogonal_direction(n):
    a = unit(np.arange(1.0, n + 1.0))
    out = slerp(a, -a, T, dtype=np.float64)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-12)
    assert abs(out[5] @ a) < 1e-12  # halfway is orthogonal to both ends
    np.testing.assert_array_equal(out[0], a)
    np.testing.assert_array_equal(out[-1], -a)
    np.testing.assert_array_equal(out, slerp(a, -a, T, dtype=np.float64))  # deterministic
    np.testing.assert_allclose(out, slerp(-a, a, 1.0 - T, dtype=np.float64), atol=1e-12)
    # the angle from a grows steadily: pi * t
    np.testing.assert_allclose(np.arccos(np.clip(out @ a, -1, 1)), np.pi * T, atol=1e-7)


def test_slerp_nearly_antipodal_is_continuous():
    rng = np.random.default_rng(1)
    a = unit(rng.standard_normal(64))
    b = unit(-a + 1e-9 * rng.standard_normal(64))
    t = np.linspace(0.0, 1.0, 1001)
    out = slerp(a, b, t, dtype=np.float64)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-9)
    step = np.linalg.norm(np.diff(out, axis=0), axis=1)
    assert step.max() < 2 * np.pi / 1000  # no jump anywhere, including next to t = 1
    np.testing.assert_array_equal(out[-1], b)


def test_slerp_one_element_antipodal_falls_back_to_lerp():
    out = slerp(np.array([2.0]), np.array([-1.0]), T, dtype=np.float64)
    np.testing.assert_allclose(out[:, 0], 2.0 - 3.0 * T, atol=1e-12)


def test_slerp_tiny_and_huge_magnitudes():
    a = np.array([1e-200, 2e-200, 0.0])
    b = np.array([0.0, 1e-200, 3e-200])
    out = slerp(a, b, T, dtype=np.float64)
    assert np.all(np.isfinite(out))
    norms = np.linalg.norm(out / 1e-200, axis=1)
    np.testing.assert_allclose(norms, (1 - T) * np.sqrt(5) + T * np.sqrt(10), rtol=1e-9)
    big = slerp(a * 1e250 * 1e250, b * 1e250 * 1e250, T, dtype=np.float64)  # ~1e300
    assert np.all(np.isfinite(big))
    np.testing.assert_allclose(np.linalg.norm(big / 1e300, axis=1), norms, rtol=1e-9)


# --- argument checks and dispatch -----------------------------------------------------


@pytest.mark.parametrize("fn", [lerp, slerp])
def test_bad_arguments(fn):
    with pytest.raises(ValueError, match="same shape"):
        fn(np.zeros(3), np.zeros(4), T)
    with pytest.raises(ValueError, match="1-D"):
        fn(np.zeros(3), np.zeros(3), 0.5)
    with pytest.raises(ValueError, match="1-D"):
        fn(np.zeros(3), np.zeros(3), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="finite"):
        fn(np.array([np.nan, 0, 0]), np.zeros(3), T)


# --- import hygiene -------------------------------------------------------------------


def test_curves_and_interp_do_not_import_torch():
    code = (
        "import sys, seqc.motion.curves, seqc.motion.interp\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'diffusers'))\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == ""
