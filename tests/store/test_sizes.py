"""Byte sizes (seqc/store/sizes.py): `parse_size` for `gc --max-size`, `format_size` for people."""

from __future__ import annotations

import pytest

from seqc.store import format_size, parse_size


@pytest.mark.parametrize(
    "text, size",
    [
        ("0", 0),
        ("1024", 1024),
        ("10B", 10),
        ("500M", 500_000_000),
        ("500mb", 500_000_000),
        ("1.5k", 1500),
        ("1 KiB", 1024),
        (" 5Mi ", 5 * 1024**2),
        ("2GiB", 2 * 1024**3),
        ("7gb", 7_000_000_000),
        ("3T", 3 * 10**12),
        ("1tib", 1024**4),
    ],
)
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "M", "-5M", "5X", "5 MBs", "1e3", "5iB", "5 M B", None])
def test_parse_size_rejects(text):
    with pytest.raises(ValueError, match="invalid size"):
        parse_size(text)


def test_format_size():
    assert format_size(999) == "999 B"
    assert format_size(1_500_000) == "1.5 MB"
