"""The easing formulas, vectorised over float64 arrays: what `seqc.motion.curves.Easing` evaluates.

Apart from curves.py, which parses and names easings, so that parsing and checking them (the
planner, a no-op render) imports no numpy: `Easing.__call__` imports this module on first use.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

EasingFn = Callable[[np.ndarray], np.ndarray]


def evaluate(name: str, params: tuple, t) -> np.ndarray | None:
    """The easing `name` (with `params`) at t, clamped to [0, 1], with f(0) = 0 and f(1) = 1
    exactly; None for a name that is not an easing."""
    t = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
    if name in NAMED:
        out = NAMED[name](t)
    elif name.startswith("cubic-bezier("):
        out = _cubic_bezier(t, *params)
    elif name.startswith("steps("):
        out = _steps(t, *params)
    else:
        return None
    out = np.array(out, dtype=np.float64)
    out[t == 0.0] = 0.0
    out[t == 1.0] = 1.0
    return out


# ---------------------------------------------------------------------------
# Cubic Bezier and steps (the parametric forms)


def _bezier_coord(s: np.ndarray, p1: float, p2: float) -> np.ndarray:
    """One coordinate of a cubic Bezier with P0 = 0 and P3 = 1, at parameter s."""
    u = 1.0 - s
    return 3.0 * u * u * s * p1 + 3.0 * u * s * s * p2 + s * s * s


def _bezier_slope(s: np.ndarray, p1: float, p2: float) -> np.ndarray:
    """Derivative d/ds of ``_bezier_coord``."""
    u = 1.0 - s
    return 3.0 * u * u * p1 + 6.0 * u * s * (p2 - p1) + 3.0 * s * s * (1.0 - p2)


def _solve_bezier_x(t: np.ndarray, x1: float, x2: float) -> np.ndarray:
    """Find s with x(s) = t for every t (x is non-decreasing since x1, x2 are in [0, 1]).

    Newton steps from s = t until |x(s) - t| < 1e-14; a step that leaves the current
    bracket [lo, hi] (or has a flat slope) is replaced by bisection, so it always converges.
    """
    s = t.copy()
    lo = np.zeros_like(t)
    hi = np.ones_like(t)
    for _ in range(100):
        err = _bezier_coord(s, x1, x2) - t
        done = np.abs(err) < 1e-14
        if np.all(done):
            break
        below = err < 0.0
        lo = np.where(below, s, lo)
        hi = np.where(below, hi, s)
        slope = _bezier_slope(s, x1, x2)
        safe = slope > 1e-12
        newton = s - err / np.where(safe, slope, 1.0)
        inside = safe & (newton > lo) & (newton < hi)
        s = np.where(done, s, np.where(inside, newton, 0.5 * (lo + hi)))
    return s


def _cubic_bezier(t: np.ndarray, x1: float, y1: float, x2: float, y2: float) -> np.ndarray:
    """CSS cubic-bezier(x1, y1, x2, y2) evaluated at t."""
    s = _solve_bezier_x(t, x1, x2)
    return _bezier_coord(s, y1, y2)


def _steps(t: np.ndarray, n: int, position: str) -> np.ndarray:
    """CSS steps(n, position) for 0 <= t <= 1 (endpoints are forced by the caller)."""
    step = np.floor(t * n + 1e-9)
    if position in ("jump-start", "jump-both"):
        step = step + 1.0
    jumps = {"jump-start": n, "jump-end": n, "jump-none": n - 1, "jump-both": n + 1}[position]
    return np.minimum(step, jumps) / jumps


# ---------------------------------------------------------------------------
# Penner families (easings.net formulas)


def _piecewise(t: np.ndarray, first: np.ndarray, f_first: EasingFn, f_rest: EasingFn) -> np.ndarray:
    """Evaluate f_first where ``first`` holds and f_rest elsewhere, each only on its own part."""
    out = np.empty_like(t)
    out[first] = f_first(t[first])
    out[~first] = f_rest(t[~first])
    return out


def _power(p: int) -> tuple[EasingFn, EasingFn, EasingFn]:
    def ease_in(t):
        return t**p

    def ease_out(t):
        return 1.0 - (1.0 - t) ** p

    def ease_in_out(t):
        return _piecewise(
            t, t < 0.5, lambda x: 2.0 ** (p - 1) * x**p, lambda x: 1.0 - (2.0 - 2.0 * x) ** p / 2.0
        )

    return ease_in, ease_out, ease_in_out


def _sine() -> tuple[EasingFn, EasingFn, EasingFn]:
    return (
        lambda t: 1.0 - np.cos(t * np.pi / 2.0),
        lambda t: np.sin(t * np.pi / 2.0),
        lambda t: (1.0 - np.cos(np.pi * t)) / 2.0,
    )


def _expo() -> tuple[EasingFn, EasingFn, EasingFn]:
    return (
        lambda t: 2.0 ** (10.0 * t - 10.0),
        lambda t: 1.0 - 2.0 ** (-10.0 * t),
        lambda t: _piecewise(
            t,
            t < 0.5,
            lambda x: 2.0 ** (20.0 * x - 10.0) / 2.0,
            lambda x: (2.0 - 2.0 ** (10.0 - 20.0 * x)) / 2.0,
        ),
    )


def _circ() -> tuple[EasingFn, EasingFn, EasingFn]:
    def root(x):
        return np.sqrt(np.maximum(0.0, x))

    return (
        lambda t: 1.0 - root(1.0 - t * t),
        lambda t: root(1.0 - (t - 1.0) ** 2),
        lambda t: _piecewise(
            t,
            t < 0.5,
            lambda x: (1.0 - root(1.0 - (2.0 * x) ** 2)) / 2.0,
            lambda x: (root(1.0 - (2.0 - 2.0 * x) ** 2) + 1.0) / 2.0,
        ),
    )


def _back() -> tuple[EasingFn, EasingFn, EasingFn]:
    c1 = 1.70158
    c2 = c1 * 1.525
    c3 = c1 + 1.0
    return (
        lambda t: c3 * t**3 - c1 * t**2,
        lambda t: 1.0 + c3 * (t - 1.0) ** 3 + c1 * (t - 1.0) ** 2,
        lambda t: _piecewise(
            t,
            t < 0.5,
            lambda x: (2.0 * x) ** 2 * ((c2 + 1.0) * 2.0 * x - c2) / 2.0,
            lambda x: ((2.0 * x - 2.0) ** 2 * ((c2 + 1.0) * (2.0 * x - 2.0) + c2) + 2.0) / 2.0,
        ),
    )


def _elastic() -> tuple[EasingFn, EasingFn, EasingFn]:
    c4 = 2.0 * math.pi / 3.0
    c5 = 2.0 * math.pi / 4.5
    return (
        lambda t: -(2.0 ** (10.0 * t - 10.0)) * np.sin((10.0 * t - 10.75) * c4),
        lambda t: 2.0 ** (-10.0 * t) * np.sin((10.0 * t - 0.75) * c4) + 1.0,
        lambda t: _piecewise(
            t,
            t < 0.5,
            lambda x: -(2.0 ** (20.0 * x - 10.0) * np.sin((20.0 * x - 11.125) * c5)) / 2.0,
            lambda x: 2.0 ** (10.0 - 20.0 * x) * np.sin((20.0 * x - 11.125) * c5) / 2.0 + 1.0,
        ),
    )


def _bounce_out(t: np.ndarray) -> np.ndarray:
    n1 = 7.5625
    d1 = 2.75
    return np.select(
        [t < 1.0 / d1, t < 2.0 / d1, t < 2.5 / d1],
        [
            n1 * t * t,
            n1 * (t - 1.5 / d1) ** 2 + 0.75,
            n1 * (t - 2.25 / d1) ** 2 + 0.9375,
        ],
        n1 * (t - 2.625 / d1) ** 2 + 0.984375,
    )


def _bounce() -> tuple[EasingFn, EasingFn, EasingFn]:
    return (
        lambda t: 1.0 - _bounce_out(1.0 - t),
        _bounce_out,
        lambda t: np.where(
            t < 0.5,
            (1.0 - _bounce_out(1.0 - 2.0 * t)) / 2.0,
            (1.0 + _bounce_out(2.0 * t - 1.0)) / 2.0,
        ),
    )


_FAMILIES: dict[str, tuple[EasingFn, EasingFn, EasingFn]] = {
    "sine": _sine(),
    "quad": _power(2),
    "cubic": _power(3),
    "quart": _power(4),
    "quint": _power(5),
    "expo": _expo(),
    "circ": _circ(),
    "back": _back(),
    "elastic": _elastic(),
    "bounce": _bounce(),
}

NAMED: dict[str, EasingFn] = {
    "linear": lambda t: t,
    "ease": lambda t: _cubic_bezier(t, 0.25, 0.1, 0.25, 1.0),
    "ease-in": lambda t: _cubic_bezier(t, 0.42, 0.0, 1.0, 1.0),
    "ease-out": lambda t: _cubic_bezier(t, 0.0, 0.0, 0.58, 1.0),
    "ease-in-out": lambda t: _cubic_bezier(t, 0.42, 0.0, 0.58, 1.0),
}
for _fam, (_in, _out, _in_out) in _FAMILIES.items():
    NAMED[f"ease-in-{_fam}"] = _in
    NAMED[f"ease-out-{_fam}"] = _out
    NAMED[f"ease-in-out-{_fam}"] = _in_out
