"""Small file helpers the store's modules share: digests, JSON bytes, stat signatures."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from pathlib import Path

CHUNK = 1 << 20
HEX64_RE = re.compile(r"[0-9a-f]{64}")


def sha256_file(path: Path, fsync: bool = False) -> tuple[str, int]:
    """sha256 hex digest and size of a file's bytes, optionally fsyncing it on the way."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(CHUNK)
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
        if fsync:
            os.fsync(fh.fileno())
    return digest.hexdigest(), size


def json_bytes(data: object) -> bytes:
    """The store's JSON files: sorted keys, one line, a final newline. (No indent: json's C encoder
    runs only without one, and a run record or the file memo of a long storyboard is megabytes.)"""
    return (json.dumps(data, sort_keys=True) + "\n").encode("utf-8")


def read_json(path: Path) -> object | None:
    """A JSON file's value, or None if it is missing, unreadable or not JSON."""
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


# The one stat signature: what says a file is unchanged without reading it. Every "is this file
# the one I saw?" check in seqc takes its fields from here, all of them unless a variant says why not.
SIGNATURE_FIELDS = ("size", "mtime_ns", "ctime_ns", "inode")
# Where every rewrite is a rename (a sidecar, a published artifact), the new inode already says
# "changed"; ctime is left out so a chmod or a hard link does not count as a change.
RENAMED_FIELDS = ("size", "mtime_ns", "inode")
# The output video's record in the run record: a persisted format, kept as it was written.
OUTPUT_FIELDS = ("size", "mtime_ns")


def stat_signature(st: os.stat_result, fields: tuple[str, ...] = SIGNATURE_FIELDS) -> tuple[int, ...]:
    """The stat signature as a tuple, in `fields`' order (a dict or set key, a stored list)."""
    values = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns, "inode": st.st_ino}
    return tuple(values[name] for name in fields)


def path_key(path: str | os.PathLike[str], st: os.stat_result) -> tuple:
    """The absolute path and the file's stat signature: the key for what this process remembers
    about a file (its audio check, its decoded samples)."""
    return (os.path.abspath(path), *stat_signature(st))


def file_signature(st: os.stat_result, fields: tuple[str, ...] = SIGNATURE_FIELDS) -> dict:
    """The stat signature by field name, as the JSON records store it."""
    return dict(zip(fields, stat_signature(st, fields), strict=True))


def same_signature(record: dict | None, st: os.stat_result) -> bool:
    """Whether a memo record was made for a file with exactly this stat signature."""
    return record is not None and all(record.get(k) == v for k, v in file_signature(st).items())


def file_kind(mode: int) -> str:
    """What a non-regular file is, from its stat mode, for one-line refusals ("... is a FIFO")."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"
