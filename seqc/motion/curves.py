"""Easing curves: map a segment's linear progress t in [0, 1] to eased progress.

Every easing is vectorised over float64 arrays and returns exactly 0 at t=0 and exactly
1 at t=1, whatever its formula gives there, so a segment always starts on its first
keyframe and ends on its second. Input outside [0, 1] is clamped to [0, 1].

Supported forms (see ``NAMED_EASINGS`` for the exact names):

- ``linear``; CSS ``ease``, ``ease-in``, ``ease-out``, ``ease-in-out``;
- the Penner families ``ease-in-<fam>``, ``ease-out-<fam>``, ``ease-in-out-<fam>`` for
  sine, quad, cubic, quart, quint, expo, circ, back, elastic and bounce (easings.net formulas);
- ``cubic-bezier(x1, y1, x2, y2)`` with x1, x2 in [0, 1] and y1, y2 any finite number,
  solved numerically (Newton with a bisection fallback) to well below 1e-7 (except within
  about 1e-6 of a vertical tangent, where y(t) itself is that ill-conditioned);
- ``steps(n)`` and ``steps(n, <position>)`` with position ``jump-end`` (the default, same
  as ``end``), ``jump-start`` (same as ``start``), ``jump-none`` (needs n >= 2) or ``jump-both``.

steps() endpoint rule: the CSS step function is used for 0 < t < 1, but the endpoints
are forced like every other easing: f(0) = 0 and f(1) = 1. So ``steps(4, jump-start)``
gives 0 at t=0 (CSS would give 0.25) and ``jump-both`` likewise starts at 0; inside the
segment the plateaus are CSS's. A t that lands on a step boundary (up to a rounding error
of 1e-9 steps, which frame times like i/n produce) takes the value after the jump, as in CSS.

``parse_easing`` turns a storyboard string into an ``Easing`` whose ``name`` is canonical
(numbers normalised, step positions spelled out), because that name goes into cache keys.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "CUBIC_BEZIER_PATTERN",
    "NAMED_EASINGS",
    "STEPS_PATTERN",
    "STRICT_CUBIC_BEZIER_PATTERN",
    "STRICT_STEPS_PATTERN",
    "Easing",
    "EasingError",
    "is_monotone",
    "parse_easing",
]

EasingFn = Callable[["np.ndarray"], "np.ndarray"]

# ECMA-262 and Python-compatible: ASCII digits only, no lookbehind, no named groups.
_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_POSITIONS = ("jump-start", "jump-end", "jump-none", "jump-both", "start", "end")

CUBIC_BEZIER_PATTERN = (
    r"^cubic-bezier\(\s*" + r"\s*,\s*".join(f"({_NUMBER})" for _ in range(4)) + r"\s*\)$"
)
STEPS_PATTERN = r"^steps\(\s*([0-9]+)\s*(?:,\s*(" + "|".join(_POSITIONS) + r")\s*)?\)$"

# For the published schema (and editors): the same forms with the ranges the parsers below check
# after matching, written into the patterns: x1, x2 in [0, 1]; n >= 1, and n >= 2 with jump-none.
# A number with an exponent matches as an x here (a regular expression cannot bound it); the schema
# refuses it beside this pattern (tools/make_schema.py, UNCHECKABLE_BEZIER_PATTERN) and so does seqc.
_EXP_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)[eE][+-]?[0-9]+"
_UNIT_NUMBER = r"(?:" + _EXP_NUMBER + r"|\+?(?:0*1(?:\.0+)?|0+(?:\.[0-9]+)?|\.[0-9]+)|-(?:0+(?:\.0+)?|\.0+))"
STRICT_CUBIC_BEZIER_PATTERN = (
    r"^cubic-bezier\(\s*" + r"\s*,\s*".join((_UNIT_NUMBER, _NUMBER, _UNIT_NUMBER, _NUMBER)) + r"\s*\)$"
)
STRICT_STEPS_PATTERN = (
    r"^steps\(\s*(?:0*[1-9][0-9]*\s*(?:,\s*(?:jump-start|jump-end|jump-both|start|end)\s*)?"
    r"|0*(?:[2-9]|[1-9][0-9]+)\s*,\s*jump-none\s*)\)$"
)

_POSITION_ALIASES = {"start": "jump-start", "end": "jump-end"}


class EasingError(ValueError):
    """An easing string that cannot be parsed or has out-of-range parameters."""

    def __init__(self, message: str, hint: str = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} ({hint})" if hint else message)


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

_NAMED: dict[str, EasingFn] = {
    "linear": lambda t: t,
    "ease": lambda t: _cubic_bezier(t, 0.25, 0.1, 0.25, 1.0),
    "ease-in": lambda t: _cubic_bezier(t, 0.42, 0.0, 1.0, 1.0),
    "ease-out": lambda t: _cubic_bezier(t, 0.0, 0.0, 0.58, 1.0),
    "ease-in-out": lambda t: _cubic_bezier(t, 0.42, 0.0, 0.58, 1.0),
}
for _fam, (_in, _out, _in_out) in _FAMILIES.items():
    _NAMED[f"ease-in-{_fam}"] = _in
    _NAMED[f"ease-out-{_fam}"] = _out
    _NAMED[f"ease-in-out-{_fam}"] = _in_out

NAMED_EASINGS: tuple[str, ...] = tuple(_NAMED)

# Named easings whose value goes backwards somewhere in (0, 1): back and elastic overshoot,
# bounce stays in [0, 1] but falls back after each bounce.
_NOT_MONOTONE = frozenset(
    name for name in NAMED_EASINGS if name.rsplit("-", 1)[-1] in ("back", "elastic", "bounce")
)


# ---------------------------------------------------------------------------
# The Easing value and the parser


@dataclass(frozen=True)
class Easing:
    """A parsed easing: canonical ``name``, its ``params``, and ``easing(t)`` to evaluate it.

    params is () for a named easing, (x1, y1, x2, y2) floats for cubic-bezier, and
    (n, position) for steps, position spelled out ("jump-end", ...).
    """

    name: str
    params: tuple[Any, ...] = ()  # floats, or (int, str) for steps: see above

    def __call__(self, t) -> np.ndarray:
        """Evaluate at t (array-like, clamped to [0, 1]); f(0) = 0 and f(1) = 1 exactly."""
        # numpy is bound here, the only way into the formulas, not at import: parsing and checking
        # easings (the planner, a no-op render) needs none of it.
        global np
        import numpy as np

        t = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
        if self.name in _NAMED:
            out = _NAMED[self.name](t)
        elif self.name.startswith("cubic-bezier("):
            out = _cubic_bezier(t, *self.params)
        elif self.name.startswith("steps("):
            out = _steps(t, *self.params)
        else:
            raise EasingError(f"unknown easing {self.name!r}")
        out = np.array(out, dtype=np.float64)
        out[t == 0.0] = 0.0
        out[t == 1.0] = 1.0
        return out


def _format_number(x: float) -> str:
    """Shortest round-trip spelling of x: 1.0 -> '1', 0.10 -> '0.1', -0.0 -> '0'."""
    if x == 0.0:
        return "0"
    if x.is_integer() and abs(x) < 1e16:
        return str(int(x))
    return repr(x)


def _parse_cubic_bezier(text: str) -> Easing:
    match = re.fullmatch(CUBIC_BEZIER_PATTERN, text)
    if match is None:
        raise EasingError(
            f"malformed easing {text!r}",
            "expected cubic-bezier(x1, y1, x2, y2) with four numbers",
        )
    values = tuple(float(group) for group in match.groups())
    for label, value in zip(("x1", "y1", "x2", "y2"), values, strict=True):
        if not math.isfinite(value):
            raise EasingError(f"cubic-bezier {label} must be a finite number, got {value}")
    for label, value in (("x1", values[0]), ("x2", values[2])):
        if not 0.0 <= value <= 1.0:
            raise EasingError(
                f"cubic-bezier {label} must be in [0, 1], got {_format_number(value)}"
            )
    values = tuple(0.0 if v == 0.0 else v for v in values)  # drop the sign of -0
    name = "cubic-bezier(" + ", ".join(_format_number(v) for v in values) + ")"
    return Easing(name, values)


def _parse_steps(text: str) -> Easing:
    match = re.fullmatch(STEPS_PATTERN, text)
    if match is None:
        raise EasingError(
            f"malformed easing {text!r}",
            "expected steps(n) or steps(n, jump-start|jump-end|jump-none|jump-both|start|end)",
        )
    n = int(match.group(1))
    position = match.group(2) or "jump-end"
    position = _POSITION_ALIASES.get(position, position)
    if n < 1:
        raise EasingError(f"steps(n) needs n >= 1, got {n}")
    if position == "jump-none" and n < 2:
        raise EasingError(f"steps(n, jump-none) needs n >= 2, got {n}")
    return Easing(f"steps({n}, {position})", (n, position))


def parse_easing(text: str) -> Easing:
    """Parse a storyboard easing string into an Easing with a canonical name.

    Raises EasingError with a readable message (and a "did you mean" hint for near misses).
    """
    if not isinstance(text, str):
        raise EasingError(f"an easing must be a string, got {type(text).__name__}")
    if text in _NAMED:
        return Easing(text)
    if text.startswith("cubic-bezier"):
        return _parse_cubic_bezier(text)
    if text.startswith("steps"):
        return _parse_steps(text)
    close = difflib.get_close_matches(text, NAMED_EASINGS, n=1)
    hint = f"did you mean {close[0]!r}?" if close else ""
    raise EasingError(f"unknown easing {text!r}", hint)


def is_monotone(easing: Easing | str) -> bool:
    """True if the easing never goes backwards on [0, 1] (so frames never retrace).

    back, elastic and bounce are not monotone; steps are (non-decreasing); a cubic-bezier
    is monotone exactly when y(s) is, which always holds for y1, y2 in [0, 1].
    """
    if isinstance(easing, str):
        easing = parse_easing(easing)
    if easing.name.startswith("cubic-bezier("):
        _, y1, _, y2 = easing.params
        # y'(s)/3 in Bernstein form has coefficients a, b, c; it is >= 0 on [0, 1]
        # iff a >= 0, c >= 0 and (b >= 0 or b*b <= a*c).
        a, b, c = y1, y2 - y1, 1.0 - y2
        return a >= 0.0 and c >= 0.0 and (b >= 0.0 or b * b <= a * c)
    return easing.name not in _NOT_MONOTONE
