"""Helpers for the store tests in this folder: keys, digests, temp files, other Python processes,
broken entries and a cache filled in LRU order."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from seqc.store import Cache, atomic

REPO = Path(__file__).resolve().parents[2]


def k(n: object) -> str:
    """A valid cache key."""
    return hashlib.sha256(str(n).encode()).hexdigest()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def temps(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if atomic.TEMP_MARK in p.name)


def python(code: str, *args: str) -> subprocess.Popen:
    """Start a Python process running `code` with the repo importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_python(code: str, *args: str) -> subprocess.CompletedProcess:
    proc = python(code, *args)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@contextlib.contextmanager
def holding(code: str, *args: str):
    """Run `code` in another process until the block ends; it prints "ready" once it holds its lock."""
    proc = python(code, *args)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "ready", proc.stderr.read()
        yield proc
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()


def set_last_use(cache: Cache, kind: str, key: str, when: float) -> None:
    os.utime(cache.sidecar(kind, key), (when, when))


def make_broken(cache: Cache, how: str, key: str) -> None:
    if how == "content_only":
        path = cache.path("latents", key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"orphan")
        return
    path = cache.put_bytes("latents", key, b"payload", {})
    if how == "sidecar_only":
        path.unlink()
    elif how == "garbage_sidecar":
        cache.sidecar("latents", key).write_text("{not json")
    elif how == "sidecar_of_another_key":
        side = json.loads(cache.sidecar("latents", key).read_text())
        side["key"] = k("other")
        cache.sidecar("latents", key).write_text(json.dumps(side))
    elif how == "bad_size_field":
        side = json.loads(cache.sidecar("latents", key).read_text())
        side["size"] = "7"
        cache.sidecar("latents", key).write_text(json.dumps(side))


BROKEN = [
    "content_only",
    "sidecar_only",
    "garbage_sidecar",
    "sidecar_of_another_key",
    "bad_size_field",
]


class CountingCache(Cache):
    """Counts real file reads; files need not rest before their hash is memoised."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reads = 0
        self.racy_seconds = 0.0
        digest = self.memo._digest_file

        def counted(path):
            self.reads += 1
            return digest(path)

        self.memo._digest_file = counted  # type: ignore[method-assign]


def fill(cache: Cache, n: int) -> tuple[list[str], dict[str, int]]:
    """n latents, oldest first; return the keys and each one's disk size (sidecars vary a little)."""
    keys = [k(("entry", i)) for i in range(n)]
    base = time.time() - 1000
    for i, key in enumerate(keys):
        cache.put_bytes("latents", key, bytes([i]) * 1000, {})
        set_last_use(cache, "latents", key, base + i)
    return keys, {e.key: e.disk_size for e in cache.entries()}


def remaining(cache: Cache) -> set[str]:
    return {e.key for e in cache.entries()}
