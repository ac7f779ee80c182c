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
# The named easings (their formulas: seqc.motion.formulas)

_CSS_NAMES = ("linear", "ease", "ease-in", "ease-out", "ease-in-out")
_PENNER_FAMILIES = ("sine", "quad", "cubic", "quart", "quint", "expo", "circ", "back", "elastic", "bounce")
NAMED_EASINGS: tuple[str, ...] = _CSS_NAMES + tuple(
    f"{kind}-{family}" for family in _PENNER_FAMILIES for kind in ("ease-in", "ease-out", "ease-in-out")
)

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
        # The formulas (and numpy) load on the first evaluation, not at import: parsing and
        # checking easings (the planner, a no-op render) needs neither.
        from seqc.motion import formulas

        out = formulas.evaluate(self.name, self.params, t)
        if out is None:
            raise EasingError(f"unknown easing {self.name!r}")
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
    if text in NAMED_EASINGS:
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
