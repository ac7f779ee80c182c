"""Tests for seqc.motion.curves: named easings, cubic-bezier, steps, parsing and canonical names."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqc.motion import formulas
from seqc.motion.curves import (
    CUBIC_BEZIER_PATTERN,
    NAMED_EASINGS,
    STEPS_PATTERN,
    Easing,
    EasingError,
    is_monotone,
    parse_easing,
)

GRID = np.linspace(0.0, 1.0, 10001)
FAMILIES = ("sine", "quad", "cubic", "quart", "quint", "expo", "circ", "back", "elastic", "bounce")


def reference_bezier(t: np.ndarray, x1: float, y1: float, x2: float, y2: float) -> np.ndarray:
    """Independent cubic-bezier reference: sample x(s), y(s) densely and interpolate y over x."""
    s = np.linspace(0.0, 1.0, 200001)
    b1 = 3.0 * (1.0 - s) ** 2 * s
    b2 = 3.0 * (1.0 - s) * s**2
    b3 = s**3
    xs = b1 * x1 + b2 * x2 + b3
    ys = b1 * y1 + b2 * y2 + b3
    return np.interp(t, xs, ys)


# --- every named easing ---------------------------------------------------------------


def test_named_easings_list():
    assert len(NAMED_EASINGS) == len(set(NAMED_EASINGS)) == 5 + 3 * len(FAMILIES)
    assert NAMED_EASINGS[:5] == ("linear", "ease", "ease-in", "ease-out", "ease-in-out")
    for fam in FAMILIES:
        for kind in ("in", "out", "in-out"):
            assert f"ease-{kind}-{fam}" in NAMED_EASINGS


def test_every_named_easing_has_a_formula_and_every_formula_a_name():
    """curves.py names the easings without numpy; formulas.py evaluates them: the lists agree."""
    assert tuple(formulas.NAMED) == NAMED_EASINGS


@pytest.mark.parametrize("name", NAMED_EASINGS)
def test_named_endpoints_exact(name):
    easing = parse_easing(name)
    assert easing.name == name
    assert easing.params == ()
    values = easing(np.array([0.0, 1.0, 0.0, 1.0]))
    assert values.dtype == np.float64
    assert values.tolist() == [0.0, 1.0, 0.0, 1.0]
    assert easing(0.0) == 0.0
    assert easing(1.0) == 1.0
    assert np.all(np.isfinite(easing(GRID)))


@pytest.mark.parametrize("name", [n for n in NAMED_EASINGS if is_monotone(n)])
def test_monotone_named_easings_never_go_back(name):
    values = parse_easing(name)(GRID)
    assert np.all(np.diff(values) >= -1e-12)
    assert values.min() >= 0.0 and values.max() <= 1.0 + 1e-12


@pytest.mark.parametrize("name", [n for n in NAMED_EASINGS if not is_monotone(n)])
def test_non_monotone_named_easings_do_go_back(name):
    assert name.rsplit("-", 1)[-1] in ("back", "elastic", "bounce")
    assert np.diff(parse_easing(name)(GRID)).min() < -1e-6


def test_monotone_flags():
    for fam in FAMILIES:
        expected = fam not in ("back", "elastic", "bounce")
        for kind in ("in", "out", "in-out"):
            assert is_monotone(f"ease-{kind}-{fam}") is expected
    for name in ("linear", "ease", "ease-in", "ease-out", "ease-in-out"):
        assert is_monotone(parse_easing(name))
    assert is_monotone("steps(4)")
    assert is_monotone("steps(3, jump-both)")
    assert is_monotone("cubic-bezier(0.5, 0, 0.5, 1)")
    assert is_monotone("cubic-bezier(0.2, 1, 0.8, 0)")  # y in [0, 1] is always monotone
    assert not is_monotone("cubic-bezier(0.5, -0.5, 0.5, 1)")
    assert not is_monotone("cubic-bezier(0.5, 0, 0.5, 1.5)")
    assert not is_monotone("cubic-bezier(0.68, -0.55, 0.265, 1.55)")


@settings(deadline=None)  # the machine may be busy; correctness, not speed
@given(
    x1=st.floats(0, 1),
    y1=st.floats(-2, 3),
    x2=st.floats(0, 1),
    y2=st.floats(-2, 3),
)
def test_cubic_bezier_monotone_flag_is_right(x1, y1, x2, y2):
    easing = Easing(f"cubic-bezier({x1}, {y1}, {x2}, {y2})", (x1, y1, x2, y2))
    steps = np.diff(easing(GRID))
    if is_monotone(easing):
        assert steps.min() >= -1e-9
    # y leaving [0, 1] by a clear margin means the curve must come back: not monotone.
    values = easing(GRID)
    if values.min() < -1e-6 or values.max() > 1.0 + 1e-6:
        assert not is_monotone(easing)


@pytest.mark.parametrize("fam", FAMILIES)
def test_penner_symmetries(fam):
    t = GRID[1:-1]
    ease_in = parse_easing(f"ease-in-{fam}")
    ease_out = parse_easing(f"ease-out-{fam}")
    ease_in_out = parse_easing(f"ease-in-out-{fam}")
    np.testing.assert_allclose(ease_out(t), 1.0 - ease_in(1.0 - t), atol=1e-12)
    np.testing.assert_allclose(ease_in_out(1.0 - t), 1.0 - ease_in_out(t), atol=1e-12)
    assert ease_in_out(0.5) == pytest.approx(0.5, abs=1e-12)


@pytest.mark.parametrize(
    ("name", "t", "expected"),
    [
        ("linear", 0.3, 0.3),
        ("ease-in-quad", 0.5, 0.25),
        ("ease-out-cubic", 0.5, 0.875),
        ("ease-in-out-quart", 0.25, 8 * 0.25**4),
        ("ease-in-out-quint", 0.75, 1 - 0.5**5 / 2),
        ("ease-in-sine", 0.5, 1 - math.cos(math.pi / 4)),
        ("ease-out-expo", 0.5, 1 - 2**-5),
        ("ease-in-circ", 0.6, 0.2),
        ("ease-in-back", 0.5, 2.70158 * 0.125 - 1.70158 * 0.25),
        ("ease-out-bounce", 0.5, 0.765625),
        ("ease-out-bounce", 1 / 2.75, 1.0),
        ("ease-in-out-elastic", 0.5, 0.5),
    ],
)
def test_penner_spot_values(name, t, expected):
    assert parse_easing(name)(t) == pytest.approx(expected, abs=1e-12)


# --- CSS curves and cubic-bezier ------------------------------------------------------

CSS = {
    "ease": (0.25, 0.1, 0.25, 1.0),
    "ease-in": (0.42, 0.0, 1.0, 1.0),
    "ease-out": (0.0, 0.0, 0.58, 1.0),
    "ease-in-out": (0.42, 0.0, 0.58, 1.0),
}


@pytest.mark.parametrize("name", sorted(CSS))
def test_css_curves_match_reference(name):
    t = np.linspace(0.0, 1.0, 1001)
    expected = reference_bezier(t, *CSS[name])
    np.testing.assert_allclose(parse_easing(name)(t), expected, atol=1e-4)
    # the same curve spelled as cubic-bezier() evaluates identically
    spelled = parse_easing("cubic-bezier({}, {}, {}, {})".format(*CSS[name]))
    np.testing.assert_array_equal(spelled(t), parse_easing(name)(t))


def test_css_known_values():
    assert parse_easing("ease")(0.5) == pytest.approx(0.8024033877, abs=1e-7)
    assert parse_easing("ease-in-out")(0.5) == pytest.approx(0.5, abs=1e-12)
    assert parse_easing("ease-in")(0.5) == pytest.approx(
        1 - parse_easing("ease-out")(0.5), abs=1e-12
    )


@pytest.mark.parametrize(
    "params",
    [(0.0, 0.0, 1.0, 1.0), (1.0, 0.0, 0.0, 1.0), (0.0, 1.0, 1.0, 0.0), (0.68, -0.55, 0.265, 1.55)],
)
def test_cubic_bezier_values(params):
    t = np.linspace(0.0, 1.0, 501)
    easing = parse_easing("cubic-bezier({}, {}, {}, {})".format(*params))
    np.testing.assert_allclose(easing(t), reference_bezier(t, *params), atol=1e-4)


def test_cubic_bezier_linear_forms_are_exactish():
    t = np.linspace(0.0, 1.0, 1001)
    np.testing.assert_allclose(parse_easing("cubic-bezier(0, 0, 1, 1)")(t), t, atol=1e-9)
    np.testing.assert_allclose(parse_easing("cubic-bezier(1, 1, 0, 0)")(t), t, atol=1e-9)


def test_cubic_bezier_solver_accuracy():
    # With x1 = 1/3, x2 = 2/3 the curve has x(s) = s, so y(t) has a closed form.
    x1, x2, y1, y2 = 1 / 3, 2 / 3, -0.4, 1.7
    easing = Easing(f"cubic-bezier({x1}, {y1}, {x2}, {y2})", (x1, y1, x2, y2))
    t = np.linspace(0.0, 1.0, 1001)
    exact = 3 * (1 - t) ** 2 * t * y1 + 3 * (1 - t) * t**2 * y2 + t**3
    np.testing.assert_allclose(easing(t), exact, atol=1e-9)


@settings(deadline=None)  # the machine may be busy; correctness, not speed
@given(
    x1=st.floats(0, 1),
    y1=st.floats(-3, 3),
    x2=st.floats(0, 1),
    y2=st.floats(-3, 3),
)
def test_cubic_bezier_random_against_reference(x1, y1, x2, y2):
    t = np.linspace(0.0, 1.0, 201)
    easing = parse_easing(f"cubic-bezier({x1!r}, {y1!r}, {x2!r}, {y2!r})")
    values = easing(t)
    assert values[0] == 0.0 and values[-1] == 1.0
    np.testing.assert_allclose(values, reference_bezier(t, x1, y1, x2, y2), atol=2e-4)


# --- steps ----------------------------------------------------------------------------

STEP_T = [0.0, 0.1, 0.25, 0.3, 0.5, 0.74, 0.75, 0.99, 1.0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("steps(4)", [0, 0, 0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 1]),
        ("steps(4, end)", [0, 0, 0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 1]),
        ("steps(4, jump-start)", [0, 0.25, 0.5, 0.5, 0.75, 0.75, 1, 1, 1]),
        ("steps(4, jump-none)", [0, 0, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 1, 1, 1]),
        ("steps(4, jump-both)", [0, 0.2, 0.4, 0.4, 0.6, 0.6, 0.8, 0.8, 1]),
        ("steps(1)", [0, 0, 0, 0, 0, 0, 0, 0, 1]),
        ("steps(1, start)", [0, 1, 1, 1, 1, 1, 1, 1, 1]),
    ],
)
def test_steps_plateaus(text, expected):
    np.testing.assert_allclose(parse_easing(text)(np.array(STEP_T)), expected, atol=1e-15)


def test_steps_at_frame_times_land_on_boundaries():
    # frame times i/30 that are exactly step boundaries of steps(10) take the upper value
    t = np.arange(31) / 30
    values = parse_easing("steps(10)")(t)
    expected = np.floor(np.arange(31) / 3) / 10
    np.testing.assert_allclose(values, expected, atol=1e-15)


# --- parsing, errors, canonical names -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("ease-inn", "did you mean 'ease-in'?"),
        ("ease-in-out-cubicc", "did you mean 'ease-in-out-cubic'?"),
        ("bogus", "unknown easing 'bogus'"),
        ("", "unknown easing ''"),
        ("cubic-bezier(1.2, 0, 1, 1)", "cubic-bezier x1 must be in [0, 1]"),
        ("cubic-bezier(0, 0, -0.1, 1)", "cubic-bezier x2 must be in [0, 1]"),
        ("cubic-bezier(0.1, 0.2)", "four numbers"),
        ("cubic-bezier(a, b, c, d)", "four numbers"),
        ("cubic-bezier(0.1, 1e999, 0.2, 1)", "y1 must be a finite number"),
        ("steps(0)", "steps(n) needs n >= 1"),
        ("steps(1, jump-none)", "needs n >= 2"),
        ("steps(2.5)", "expected steps(n)"),
        ("steps(3, middle)", "expected steps(n)"),
        ("steps()", "expected steps(n)"),
    ],
)
def test_parse_errors(text, fragment):
    with pytest.raises(EasingError) as info:
        parse_easing(text)
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_error_hint_is_separate():
    with pytest.raises(EasingError) as info:
        parse_easing("ease-inn")
    assert info.value.message == "unknown easing 'ease-inn'"
    assert info.value.hint == "did you mean 'ease-in'?"


def test_non_string_is_an_error():
    with pytest.raises(EasingError, match="must be a string"):
        parse_easing(0.5)


@pytest.mark.parametrize(
    ("spellings", "canonical"),
    [
        (
            [
                "cubic-bezier(0.25,0.10,0.25,1.0)",
                "cubic-bezier(0.25, 0.1, 0.25, 1)",
                "cubic-bezier( .25 ,1e-1,  2.5E-1 , +1 )",
            ],
            "cubic-bezier(0.25, 0.1, 0.25, 1)",
        ),
        (["cubic-bezier(-0, -0.0, 0.0, 1.00)"], "cubic-bezier(0, 0, 0, 1)"),
        (["steps(4)", "steps(4, end)", "steps( 4 ,jump-end )", "steps(04)"], "steps(4, jump-end)"),
        (["steps(2, start)", "steps(2,jump-start)"], "steps(2, jump-start)"),
        (["steps(3, jump-both)"], "steps(3, jump-both)"),
    ],
)
def test_canonical_names(spellings, canonical):
    parsed = [parse_easing(text) for text in spellings]
    assert {e.name for e in parsed} == {canonical}
    assert len(set(parsed)) == 1  # equal and hashable, so usable as a key
    assert parse_easing(canonical) == parsed[0]


def test_params():
    assert parse_easing("cubic-bezier(0.25, 0.1, 0.25, 1)").params == (0.25, 0.1, 0.25, 1.0)
    assert parse_easing("steps(5, start)").params == (5, "jump-start")
    assert parse_easing("ease").params == ()


@settings(deadline=None)  # the machine may be busy; correctness, not speed
@given(
    x1=st.floats(0, 1),
    y1=st.floats(-1e6, 1e6),
    x2=st.floats(0, 1),
    y2=st.floats(-1e6, 1e6),
)
def test_canonical_name_round_trips(x1, y1, x2, y2):
    easing = parse_easing(f"cubic-bezier({x1!r}, {y1!r}, {x2!r}, {y2!r})")
    assert re.fullmatch(CUBIC_BEZIER_PATTERN, easing.name)
    again = parse_easing(easing.name)
    assert again == easing
    assert again.params == tuple(0.0 if v == 0 else v for v in (x1, y1, x2, y2))


@settings(deadline=None)  # the machine may be busy; correctness, not speed
@given(n=st.integers(1, 10_000), position=st.sampled_from(["jump-end", "jump-start", "jump-both"]))
def test_steps_name_round_trips(n, position):
    easing = parse_easing(f"steps({n}, {position})")
    assert re.fullmatch(STEPS_PATTERN, easing.name)
    assert parse_easing(easing.name) == easing


def test_patterns_are_anchored_and_ecma_friendly():
    for pattern in (CUBIC_BEZIER_PATTERN, STEPS_PATTERN):
        assert pattern.startswith("^") and pattern.endswith("$")
        for python_only in ("(?P", "(?<", "\\A", "\\Z", "(?#", "\\d"):
            assert python_only not in pattern
    assert re.fullmatch(CUBIC_BEZIER_PATTERN, "cubic-bezier(0.1, -2, .3, 4e1)")
    assert not re.fullmatch(CUBIC_BEZIER_PATTERN, "cubic-bezier(0.1, 2, 3)")
    assert not re.fullmatch(CUBIC_BEZIER_PATTERN, "xcubic-bezier(0, 0, 1, 1)")
    assert re.fullmatch(STEPS_PATTERN, "steps(3)")
    assert re.fullmatch(STEPS_PATTERN, "steps(3, jump-none)")
    assert not re.fullmatch(STEPS_PATTERN, "steps(3, jump-middle)")
    assert not re.fullmatch(STEPS_PATTERN, "steps(-3)")
    for name in NAMED_EASINGS:
        assert not re.fullmatch(CUBIC_BEZIER_PATTERN, name)
        assert not re.fullmatch(STEPS_PATTERN, name)


# --- evaluation details ---------------------------------------------------------------


@pytest.mark.parametrize("text", ["ease-in-out-back", "cubic-bezier(0.1, 0.7, 1, 0.1)", "steps(3)"])
def test_evaluation_is_vectorised_and_clamped(text):
    easing = parse_easing(text)
    grid = np.linspace(0.0, 1.0, 12).reshape(3, 4)
    values = easing(grid)
    assert values.shape == (3, 4)
    np.testing.assert_array_equal(values.ravel(), easing(grid.ravel()))
    assert easing(np.float64(0.4)).shape == ()
    assert easing([-0.5, 1.5]).tolist() == [0.0, 1.0]


def test_unknown_easing_value_cannot_be_called():
    with pytest.raises(EasingError):
        Easing("no-such-easing")(0.5)
