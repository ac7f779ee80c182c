"""A `Range` request header read as RFC 9110 says, for the preview server's one-range seeks.

Numbers of any length are read without int() on the whole run of digits (Python refuses more than
4,300), so a hostile header is an answer (416), never an error in the server.
"""

from __future__ import annotations

import re

_BYTES = re.compile(r"^[ \t]*([0-9]*)[ \t]*-[ \t]*([0-9]*)[ \t]*$")  # ASCII digits only
_HUGE = 10**18  # larger than any file; a longer number in a Range is read as this


WHOLE = (0, -1)  # answer with the whole file (200)


def parse_range(value: str, size: int) -> tuple[int, int] | None:
    """A `Range` header as an inclusive (start, end) within the file; WHOLE where RFC 9110 lets the
    server ignore it (another unit, several ranges); None to answer 416 (a malformed byte range, or
    one outside the file). Numbers of any length are fine: `bytes=<5,000 digits>-` is 416, not a
    ValueError from int()."""
    unit, equals, spec = value.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return WHOLE
    if "," in spec:
        return WHOLE
    match = _BYTES.match(spec)
    if match is None or size == 0:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":  # the last n bytes
        n = _number(last)
        return (max(0, size - n), size - 1) if n > 0 else None
    start = _number(first)
    end = min(_number(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return None
    return start, end


def _number(digits: str) -> int:
    """A run of decimal digits as an int, at most _HUGE (int() refuses more than 4,300 digits)."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) < len(str(_HUGE)) else _HUGE
