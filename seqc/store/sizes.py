"""Byte sizes for people: `gc --max-size 500M` in, `1.5 MB` out."""

from __future__ import annotations

import decimal
import re

_SIZE_RE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(?:([kmgt])(i)?)?(b)?\s*", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Parse a size such as `500M`, `2GiB`, `1.5g` or `1024` into bytes (for `gc --max-size`).

    K, M, G, T (optionally followed by B) are powers of 1000; Ki, Mi, Gi, Ti (optionally
    followed by B) are powers of 1024. Case does not matter.
    """
    match = _SIZE_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(
            f"invalid size {text!r}: expected a number of bytes with an optional unit "
            "K, M, G, T (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. 500M or 2GiB"
        )
    number, unit, binary, _ = match.groups()
    power = " kmgt".index(unit.lower()) if unit else 0
    base = 1024 if binary else 1000
    return int(decimal.Decimal(number) * base**power)


def format_size(size: int) -> str:
    """Format a byte count for people, in the decimal units `parse_size` reads (e.g. `1.5 MB`)."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if abs(value) < 1000:
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"
