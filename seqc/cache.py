"""The content-addressed cache: latents and clips stored by key, verified on every read.

Layout under the root folder (keys are sha256 hex strings, `ab` is a key's first two chars):

    latents/ab/<key>.safetensors  + <key>.json    content + sidecar (size, sha256, inputs)
    clips/ab/<key>.mp4            + <key>.json
    files.json                                     memo of file hashes (and image checks passed) by stat
    runs/<id>.json                                 what the last render of a storyboard used
    leases/<pid>-<token>.json     + .lock          keys a live render uses; gc never deletes them
    .gc.lock, .publish.lock                        flock files (never deleted)

Locking (all `fcntl.flock`, so the kernel drops a lock when its process dies):

- `.publish.lock`, blocking, held only for short critical sections: publishing an entry
  (re-check, sidecar out, content in, sidecar in), deleting one, writing a lease's key list,
  merging the file-hash memo. Whoever finds a bad entry re-checks it under this lock before
  deleting it, so a reader never deletes an entry that another process is halfway through
  publishing.
- `.gc.lock`, non-blocking, held for a whole `gc()` or `clear()`: a second one fails at once.
- `leases/<name>.lock`, held exclusively for a lease's whole life. The key list lives in the
  separate `<name>.json` (rewritten atomically by `Lease.add`), so rewriting it never drops the
  lock. gc calls a lease stale when it can take that lock, and re-reads the key lists under the
  publish lock before each deletion, so a key leased before that moment is never deleted.

Crash safety: content and sidecar are each written to a pid-stamped temp file and renamed into
place; content goes first and the sidecar last, and an old sidecar is removed before new content
moves in, so a crash at any point leaves an entry that `status()` calls "invalid", never one that
looks valid. Deletion removes the sidecar first for the same reason.

This module imports only the standard library (plus seqc.fsutil and seqc.errors): `seqc plan`
must run without torch or numpy.
"""

from __future__ import annotations

import contextlib
import dataclasses
import decimal
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

from seqc import fsutil
from seqc.errors import CacheError

# kind -> extension of its content files; add a line here to store a new kind of artifact.
KINDS: dict[str, str] = {
    "latents": ".safetensors",
    "embeds": ".safetensors",  # prompt conditioning of a text-to-image model
    "clips": ".mp4",
}
SIDECAR_EXT = ".json"
ENV_VAR = "SEQC_CACHE_DIR"
DEFAULT_DIR = "cache"
MEMO_NAME = "files.json"
MEMO_VERSION = 1
# A file modified less than this long ago may still change within the same mtime tick
# (git's "racy" problem), so its hash is not memoised yet.
RACY_SECONDS = 2.0
CHUNK = 1 << 20

CACHED = "cached"
MISSING = "missing"
INVALID = "invalid"

_HEX64_RE = re.compile(r"[0-9a-f]{64}")
_RUN_ID_RE = re.compile(r"[0-9a-f]{1,128}")
_SIZE_RE = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(?:([kmgt])(i)?)?(b)?\s*", re.IGNORECASE)
_SIDECAR_MISSING = "sidecar missing (content without sidecar: an unfinished write)"

Key = tuple[str, str]  # (kind, key)


# ---------------------------------------------------------------------------------------------
# Small helpers


def check_kind(kind: str) -> str:
    """Return `kind` if it is a known cache kind; raise ValueError naming the known ones otherwise."""
    if kind not in KINDS:
        raise ValueError(f"unknown cache kind {kind!r}: expected one of {', '.join(sorted(KINDS))}")
    return kind


def check_key(key: str) -> str:
    """Return `key` if it is a 64-char lowercase hex sha256; raise ValueError otherwise."""
    if not isinstance(key, str) or not _HEX64_RE.fullmatch(key):
        raise ValueError(f"invalid cache key {key!r}: expected 64 lowercase hex characters")
    return key


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


def default_cache_dir(
    cli_value: str | None, env: Mapping[str, str] = os.environ, cwd: Path | None = None
) -> Path:
    """The cache folder: `--cache-dir` wins, then $SEQC_CACHE_DIR, then `./cache`.

    Relative values are taken from `cwd` (the current folder by default); empty values count
    as unset. The result is absolute.
    """
    base = Path(cwd) if cwd is not None else Path.cwd()
    if cli_value:
        raw = cli_value
    elif env.get(ENV_VAR):
        raw = env[ENV_VAR]
    else:
        raw = DEFAULT_DIR
    path = Path(raw).expanduser()
    return path if path.is_absolute() else base / path


def print_warning(message: str) -> None:
    """Default warning sink of a Cache: one line on stderr."""
    print(f"seqc: warning: {message}", file=sys.stderr)


def _sha256_file(path: Path, fsync: bool = False) -> tuple[str, int]:
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


def _json_bytes(data: object) -> bytes:
    return (json.dumps(data, sort_keys=True, indent=1) + "\n").encode("utf-8")


def _read_json(path: Path) -> object | None:
    """A JSON file's value, or None if it is missing, unreadable or not JSON."""
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def _file_signature(st: os.stat_result) -> dict:
    return {
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "ctime_ns": st.st_ctime_ns,
        "inode": st.st_ino,
    }


# ---------------------------------------------------------------------------------------------
# Records


@dataclasses.dataclass(frozen=True)
class Entry:
    """One cache entry as seen by a cheap scan (no hashing)."""

    kind: str
    key: str
    path: Path  # the content file (may not exist for an orphan sidecar)
    size: int  # content bytes on disk (0 if the content file is missing)
    mtime: float  # last use: the sidecar's mtime (the content's if there is no sidecar)
    status: str  # "cached" or "invalid"
    sidecar_size: int = 0

    @property
    def disk_size(self) -> int:
        """Bytes this entry takes: content plus sidecar."""
        return self.size + self.sidecar_size


@dataclasses.dataclass
class GcReport:
    """What `gc()` or `clear()` deleted, and whether it reached the size cap."""

    size_before: int = 0
    size_after: int = 0
    max_size: int | None = None
    removed: list[Entry] = dataclasses.field(default_factory=list)  # valid, old or over the cap
    removed_invalid: list[tuple[Entry, str]] = dataclasses.field(default_factory=list)
    removed_temps: list[Path] = dataclasses.field(default_factory=list)
    removed_leases: list[Path] = dataclasses.field(default_factory=list)
    removed_files: list[Path] = dataclasses.field(default_factory=list)  # runs, memo (clear)
    pruned_memo: int = 0
    kept_in_use: int = 0  # entries gc would have deleted but kept: in `keep`, leased, just used
    over_cap: bool = False  # still over max_size because everything left is in use

    @property
    def freed(self) -> int:
        """Bytes freed (negative if other processes added more meanwhile)."""
        return self.size_before - self.size_after

    def summary(self) -> list[str]:
        """Human-readable lines for the CLI."""
        lines = [
            f"removed {len(self.removed)} entries, {len(self.removed_invalid)} invalid entries, "
            f"{len(self.removed_temps)} temp files, {len(self.removed_leases)} stale leases",
            f"size {format_size(self.size_before)} -> {format_size(self.size_after)}",
        ]
        if self.over_cap and self.max_size is not None:
            lines.append(
                f"still over the cap of {format_size(self.max_size)}: the {self.kept_in_use} "
                "entries left to delete are in use (kept, leased by a running render, or just used)"
            )
        return lines


# ---------------------------------------------------------------------------------------------
# Leases


class Lease:
    """Keys a running render uses; gc never deletes them while the lease is held.

    The key list is `leases/<pid>-<token>.json`; liveness is an exclusive flock on the matching
    `.lock` file, held from `acquire()` to `release()`. The kernel drops it when the process
    dies, so gc can tell a stale lease by taking the lock. Use it as a context manager.
    """

    def __init__(self, cache: Cache, keys: Iterable[Key] = ()):
        self.cache = cache
        self.keys: set[Key] = set()
        for kind, key in keys:
            self.keys.add((check_kind(kind), check_key(key)))
        name = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.path = cache.root / "leases" / f"{name}.json"
        self.lock_path = self.path.with_suffix(".lock")
        self._fd: int | None = None
        self._mutex = threading.Lock()

    def acquire(self) -> Lease:
        """Take the lock, then write the key list (in that order, so gc never sees an unlocked one)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            # gc may have taken and unlinked the file between our open and flock: retry then.
            try:
                same = os.stat(self.lock_path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        self._fd = fd
        try:
            self._write()
        except BaseException:
            self.release()
            raise
        return self

    def add(self, kind: str, key: str) -> None:
        """Extend the lease by one key (rewrites the key list; the lock stays held)."""
        item = (check_kind(kind), check_key(key))
        with self._mutex:
            if item in self.keys:
                return
            self.keys.add(item)
            if self._fd is not None:
                self._write()

    def release(self) -> None:
        """Remove the key list, then the lock file, then drop the lock."""
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        with contextlib.suppress(FileNotFoundError):
            self.lock_path.unlink()
        os.close(self._fd)
        self._fd = None

    def _write(self) -> None:
        data = {"pid": os.getpid(), "created": time.time(), "keys": sorted(self.keys)}
        # Under the publish lock: gc re-reads leases under it before each deletion.
        with self.cache._publish_lock():
            fsutil.atomic_write_bytes(self.path, _json_bytes(data))

    def __enter__(self) -> Lease:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


# ---------------------------------------------------------------------------------------------
# The store


class Cache:
    """A content-addressed store of latents and clips under `root` (see the module docstring)."""

    # Seconds a file must rest after its last change before its hash is memoised.
    racy_seconds = RACY_SECONDS

    def __init__(self, root: Path | str, warn: Callable[[str], None] | None = None):
        self.root = Path(os.path.abspath(root))
        self.warn = warn if warn is not None else print_warning
        self._memo: dict[str, dict] | None = None
        self._memo_new: dict[str, dict] = {}
        # Keyframe images that passed their checks in this process: path -> (signature, rules),
        # copied into the file's memo record when it is hashed (see `remember_image_check`).
        self._images_checked: dict[str, tuple[dict, str]] = {}
        self._local = threading.local()

    # -- paths -----------------------------------------------------------------------------

    def path(self, kind: str, key: str) -> Path:
        """The content file of an entry: `<root>/<kind>/<ab>/<key><ext>`."""
        check_kind(kind)
        check_key(key)
        return self.root / kind / key[:2] / f"{key}{KINDS[kind]}"

    def sidecar(self, kind: str, key: str) -> Path:
        """The JSON sidecar of an entry: `<root>/<kind>/<ab>/<key>.json`."""
        check_kind(kind)
        check_key(key)
        return self.root / kind / key[:2] / f"{key}{SIDECAR_EXT}"

    def temp_path(self, kind: str, key: str) -> Path:
        """A pid-stamped temp path in the entry's folder (created) for a writer to fill, then `put`."""
        final = self.path(kind, key)
        final.parent.mkdir(parents=True, exist_ok=True)
        return fsutil.temp_path_for(final)

    # -- locks -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _publish_lock(self) -> Iterator[None]:
        """Hold `.publish.lock` (blocking, re-entrant within a thread) for a short critical section."""
        if getattr(self._local, "depth", 0):
            self._local.depth += 1
            try:
                yield
            finally:
                self._local.depth -= 1
            return
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / ".publish.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._local.depth = 1
            try:
                yield
            finally:
                self._local.depth = 0
        finally:
            os.close(fd)  # closing drops the flock

    @contextlib.contextmanager
    def _gc_lock(self) -> Iterator[None]:
        """Hold `.gc.lock` without waiting: a second gc fails at once with CacheError."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / ".gc.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise CacheError(
                    f"another `seqc cache gc` is running (lock: {path}); try again when it finishes"
                ) from None
            yield
        finally:
            os.close(fd)

    # -- reading ---------------------------------------------------------------------------

    def _load_sidecar(self, kind: str, key: str) -> tuple[dict | None, str]:
        """The sidecar's fields and "", or None and what is wrong with it."""
        path = self.sidecar(kind, key)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None, _SIDECAR_MISSING
        except OSError as exc:
            return None, f"sidecar unreadable: {exc.strerror or exc}"
        try:
            data = json.loads(raw)
        except ValueError:
            return None, "sidecar is not valid JSON"
        if not isinstance(data, dict):
            return None, "sidecar is not a JSON object"
        if data.get("key") != key or data.get("kind") != kind:
            return None, "sidecar names another entry"
        size = data.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            return None, f"sidecar has a bad size {size!r}"
        digest = data.get("sha256")
        if not isinstance(digest, str) or not _HEX64_RE.fullmatch(digest):
            return None, f"sidecar has a bad sha256 {digest!r}"
        if not isinstance(data.get("inputs", {}), dict):
            return None, "sidecar inputs are not a JSON object"
        return data, ""

    def _inspect(self, kind: str, key: str) -> tuple[str, str, dict | None]:
        """Cheap check, no hashing: (status, what is wrong, sidecar fields)."""
        try:
            content_size: int | None = os.stat(self.path(kind, key)).st_size
        except FileNotFoundError:
            content_size = None
        meta, problem = self._load_sidecar(kind, key)
        if meta is None:
            if content_size is None and problem == _SIDECAR_MISSING:
                return MISSING, "", None
            if content_size is None:
                problem += "; content file missing"
            return INVALID, problem, None
        if content_size is None:
            return INVALID, "content file missing (sidecar without content)", meta
        if content_size != meta["size"]:
            return INVALID, f"content is {content_size} bytes, sidecar says {meta['size']}", meta
        return CACHED, "", meta

    def _check(self, kind: str, key: str) -> tuple[str, str]:
        """Full check: the cheap one plus the content's sha256 against the sidecar's."""
        status, problem, meta = self._inspect(kind, key)
        if status != CACHED or meta is None:
            return status, problem
        try:
            digest, size = _sha256_file(self.path(kind, key))
        except FileNotFoundError:
            return INVALID, "content file missing (sidecar without content)"
        except OSError as exc:
            return INVALID, f"content unreadable: {exc.strerror or exc}"
        if size != meta["size"]:
            return INVALID, f"content is {size} bytes, sidecar says {meta['size']}"
        if digest != meta["sha256"]:
            return INVALID, (
                f"content sha256 is {digest[:16]}..., sidecar says {meta['sha256'][:16]}... "
                "(corrupted on disk)"
            )
        return CACHED, ""

    def status(self, kind: str, key: str) -> str:
        """Cheap status for the planner, without hashing: "cached", "missing" or "invalid"."""
        return self._inspect(kind, key)[0]

    def read_inputs(self, kind: str, key: str) -> dict | None:
        """The named inputs stored in an entry's sidecar (to explain a re-render), or None."""
        meta, _ = self._load_sidecar(kind, key)
        if meta is None:
            return None
        inputs = meta.get("inputs", {})
        return inputs if isinstance(inputs, dict) else None

    def get(self, kind: str, key: str) -> Path | None:
        """The content path of a verified entry, or None on a miss.

        Size and sha256 are checked against the sidecar; a bad entry is warned about, deleted
        and reported as a miss. A hit touches the sidecar so gc's LRU order sees the use.
        Hold a lease on the key while using the path, or gc may delete it.
        """
        status, problem = self._check(kind, key)
        if status == INVALID:
            # Re-check under the publish lock: another process may be between its two renames.
            with self._publish_lock():
                status, problem = self._check(kind, key)
                if status == INVALID:
                    self._delete_entry(kind, key)
            if status == INVALID:
                self.warn(
                    f"cache entry {kind}/{key} was bad ({problem}); deleted it, it will be re-rendered"
                )
                return None
        if status == MISSING:
            return None
        self._touch(kind, key)
        return self.path(kind, key)

    def _touch(self, kind: str, key: str) -> None:
        with contextlib.suppress(OSError):
            os.utime(self.sidecar(kind, key))

    # -- writing ---------------------------------------------------------------------------

    def put(self, kind: str, key: str, tmp: Path, inputs: Mapping) -> Path:
        """Publish a finished temp file as an entry and return the content path.

        The cache takes ownership of `tmp`: it is moved into place or deleted, also on error.
        If a valid entry already exists (another process won the race), `tmp` is discarded
        and the existing entry is kept.
        """
        final = self.path(kind, key)
        tmp = Path(os.path.abspath(tmp))
        moved: Path | None = None
        try:
            # 1. The sidecar body, built first so a value JSON cannot hold fails before anything moves.
            meta = {"key": key, "kind": kind, "inputs": dict(inputs)}
            _json_bytes(meta)
            # 2. os.replace must stay inside one folder (one filesystem): bring tmp there if needed.
            if tmp.parent != final.parent:
                moved = self.temp_path(kind, key)
                shutil.copyfile(tmp, moved)
                tmp.unlink()
                tmp, moved = moved, None
            # 3. Flush and digest the content, outside the lock: this is the slow part.
            digest, size = _sha256_file(tmp, fsync=True)
            meta.update(size=size, sha256=digest, created=time.time())
            sidecar_bytes = _json_bytes(meta)
            # 4. Under the lock: keep a valid existing entry, else sidecar out, content in, sidecar in.
            with self._publish_lock():
                if self._check(kind, key)[0] == CACHED:
                    tmp.unlink()
                    self._touch(kind, key)
                    return final
                with contextlib.suppress(FileNotFoundError):
                    self.sidecar(kind, key).unlink()
                os.replace(tmp, final)
                fsutil.fsync_dir(final.parent)
                self._write_sidecar(kind, key, sidecar_bytes)
            return final
        except BaseException:
            for path in (tmp, moved):
                if path is not None and path != final:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
            raise

    def _write_sidecar(self, kind: str, key: str, data: bytes) -> None:
        """Write an entry's sidecar atomically (the last step of a publish)."""
        fsutil.atomic_write_bytes(self.sidecar(kind, key), data)

    def put_bytes(self, kind: str, key: str, data: bytes, inputs: Mapping) -> Path:
        """Publish `data` as an entry (through a temp file, like `put`) and return the content path."""
        tmp = self.temp_path(kind, key)
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        return self.put(kind, key, tmp, inputs)

    def _delete_entry(self, kind: str, key: str) -> None:
        """Delete sidecar, then content (a half-deleted entry looks invalid). Hold the publish lock."""
        for path in (self.sidecar(kind, key), self.path(kind, key)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    # -- listing ---------------------------------------------------------------------------

    def _keys(self, kind: str) -> list[str]:
        """Keys with a content file or a sidecar in a kind's folders (temp files skipped)."""
        base = self.root / kind
        suffixes = (KINDS[kind], SIDECAR_EXT)
        keys: set[str] = set()
        try:
            subs = sorted(base.iterdir())
        except (FileNotFoundError, NotADirectoryError):
            return []
        for sub in subs:
            if len(sub.name) != 2:
                continue
            try:
                names = [p.name for p in sub.iterdir()]
            except (FileNotFoundError, NotADirectoryError):
                continue
            for name in names:
                if name.startswith("."):
                    continue
                for suffix in suffixes:
                    stem = name[: -len(suffix)]
                    if name.endswith(suffix) and _HEX64_RE.fullmatch(stem) and stem[:2] == sub.name:
                        keys.add(stem)
        return sorted(keys)

    def _entry(self, kind: str, key: str) -> Entry | None:
        """An Entry from a cheap look at the files, or None if the entry is gone."""
        status, _, _ = self._inspect(kind, key)
        if status == MISSING:
            return None
        content = self.path(kind, key)
        size, sidecar_size, mtime = 0, 0, 0.0
        with contextlib.suppress(FileNotFoundError):
            st = os.stat(content)
            size, mtime = st.st_size, st.st_mtime
        with contextlib.suppress(FileNotFoundError):
            st = os.stat(self.sidecar(kind, key))
            sidecar_size, mtime = st.st_size, st.st_mtime
        return Entry(kind, key, content, size, mtime, status, sidecar_size)

    def entries(self) -> Iterator[Entry]:
        """Every entry, with its cheap status (orphan content or sidecars show as "invalid")."""
        for kind in KINDS:
            for key in self._keys(kind):
                entry = self._entry(kind, key)
                if entry is not None:
                    yield entry

    def total_size(self) -> int:
        """Bytes taken by all entries (content plus sidecars)."""
        return sum(entry.disk_size for entry in self.entries())

    def verify(self, repair: bool = False) -> list[tuple[Entry, str]]:
        """Fully check every entry (size and sha256); return the bad ones with what is wrong.

        Orphan content files and sidecars are reported too. With `repair`, bad entries are
        deleted. A bad-looking entry is re-checked under the publish lock before it is reported.
        """
        bad = []
        for entry in self.entries():
            status, _ = self._check(entry.kind, entry.key)
            if status != INVALID:
                continue
            with self._publish_lock():
                status, problem = self._check(entry.kind, entry.key)
                if status == INVALID:
                    bad.append((entry, problem))
                    if repair:
                        self._delete_entry(entry.kind, entry.key)
        return bad

    # -- file-hash memo --------------------------------------------------------------------

    @property
    def _memo_path(self) -> Path:
        return self.root / MEMO_NAME

    def _read_memo_file(self) -> dict[str, dict]:
        """The memo on disk; a missing or corrupt one reads as empty."""
        data = _read_json(self._memo_path)
        if not isinstance(data, dict) or data.get("version") != MEMO_VERSION:
            return {}
        files = data.get("files")
        if not isinstance(files, dict):
            return {}
        return {path: rec for path, rec in files.items() if isinstance(rec, dict)}

    def _digest_file(self, path: Path) -> str:
        """Read and hash a file (the slow path `hash_file` avoids; a hook for tests)."""
        return _sha256_file(path)[0]

    def hash_file(self, path: Path | str) -> str:
        """sha256 of a file's bytes, memoised by (absolute path, size, mtime, ctime, inode).

        Large keyframe images and model weights are hashed once; call `save_memo()` to keep
        new hashes for later runs. A file changed in the last couple of seconds is hashed but
        not memoised, since a same-size rewrite within one clock tick would keep its mtime.
        """
        path = Path(os.path.abspath(path))
        if self._memo is None:
            self._memo = self._read_memo_file()
        before = _file_signature(os.stat(path))
        record = self._memo.get(str(path))
        if record is not None and all(record.get(k) == v for k, v in before.items()):
            digest = record.get("sha256")
            if isinstance(digest, str) and _HEX64_RE.fullmatch(digest):
                return digest
        digest = self._digest_file(path)
        after = _file_signature(os.stat(path))
        settled = (
            time.time_ns() - max(after["mtime_ns"], after["ctime_ns"]) > self.racy_seconds * 1e9
        )
        if after == before and settled:
            record = dict(after, sha256=digest)
            checked = self._images_checked.get(str(path))
            if checked is not None and checked[0] == after:
                record["image_check"] = checked[1]
            self._memo[str(path)] = record
            self._memo_new[str(path)] = record
        return digest

    def image_checked(self, path: Path, st: os.stat_result, rules: str) -> bool:
        """True if the memo says this file, with this very stat signature, passed the image
        checks named by `rules` (seqc.spec.images.ImageMemo)."""
        if self._memo is None:
            self._memo = self._read_memo_file()
        record = self._memo.get(os.path.abspath(path))
        signature = _file_signature(st)
        return (record is not None and record.get("image_check") == rules
                and all(record.get(k) == v for k, v in signature.items()))

    def remember_image_check(self, path: Path, st: os.stat_result, rules: str) -> None:
        """Note that a file passed the image checks: on its memo record if that matches the file
        (a record made by an earlier run), else when `hash_file` makes one (and only if settled)."""
        if self._memo is None:
            self._memo = self._read_memo_file()
        key = os.path.abspath(path)
        signature = _file_signature(st)
        self._images_checked[key] = (signature, rules)
        record = self._memo.get(key)
        if record is not None and record.get("image_check") != rules \
                and all(record.get(k) == v for k, v in signature.items()):
            record = dict(record, image_check=rules)
            self._memo[key] = record
            self._memo_new[key] = record

    def save_memo(self) -> None:
        """Merge this object's new file hashes into `files.json` (atomically; no-op if none)."""
        if not self._memo_new:
            return
        with self._publish_lock():
            files = self._read_memo_file()
            files.update(self._memo_new)
            fsutil.atomic_write_bytes(
                self._memo_path, _json_bytes({"version": MEMO_VERSION, "files": files})
            )
        self._memo_new.clear()

    def _prune_memo(self) -> int:
        """Drop memo records of files that are gone or changed; return how many."""
        with self._publish_lock():
            files = self._read_memo_file()
            kept = {}
            for path, record in files.items():
                try:
                    signature = _file_signature(os.stat(path))
                except OSError:
                    continue
                if all(record.get(k) == v for k, v in signature.items()):
                    kept[path] = record
            pruned = len(files) - len(kept)
            if pruned:
                fsutil.atomic_write_bytes(
                    self._memo_path, _json_bytes({"version": MEMO_VERSION, "files": kept})
                )
        self._memo = None
        return pruned

    # -- runs ------------------------------------------------------------------------------

    def _run_path(self, run_id: str) -> Path:
        if not isinstance(run_id, str) or not _RUN_ID_RE.fullmatch(run_id):
            raise ValueError(
                f"invalid run id {run_id!r}: expected 1 to 128 lowercase hex characters"
            )
        return self.root / "runs" / f"{run_id}.json"

    def read_run(self, run_id: str) -> dict | None:
        """What the last render of a storyboard used (for "why" reasons), or None if unknown."""
        data = _read_json(self._run_path(run_id))
        return data if isinstance(data, dict) else None

    def write_run(self, run_id: str, data: Mapping) -> None:
        """Record what a render of a storyboard used, atomically."""
        fsutil.atomic_write_bytes(self._run_path(run_id), _json_bytes(dict(data)))

    # -- leases ----------------------------------------------------------------------------

    def lease(self, keys: Iterable[Key] = ()) -> Lease:
        """A lease on `keys` (use with `with`); gc will not delete them while it is held."""
        return Lease(self, keys)

    def _leased_keys(self) -> set[Key]:
        """Keys named by any lease file (stale ones included: over-protecting is harmless)."""
        keys: set[Key] = set()
        folder = self.root / "leases"
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            for path in folder.glob("*.json"):
                if path.name.startswith("."):
                    continue
                data = _read_json(path)
                items = data.get("keys") if isinstance(data, dict) else None
                for item in items if isinstance(items, list) else []:
                    if isinstance(item, list) and len(item) == 2:
                        keys.add((item[0], item[1]))
        return keys

    def _remove_stale_leases(self) -> list[Path]:
        """Delete lease files whose lock nobody holds (their process is gone)."""
        folder = self.root / "leases"
        removed: list[Path] = []
        try:
            names = {p.stem for p in folder.iterdir() if p.suffix in (".json", ".lock")}
        except (FileNotFoundError, NotADirectoryError):
            return removed
        for name in sorted(n for n in names if not n.startswith(".")):
            json_path = folder / f"{name}.json"
            lock_path = folder / f"{name}.lock"
            try:
                fd: int | None = os.open(lock_path, os.O_RDWR)
            except FileNotFoundError:
                fd = None
            try:
                if fd is not None:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        continue  # a live lease
                # Nobody holds it. Unlink while holding the lock: a creator that opened this
                # file but has not locked it yet notices the unlink and starts over.
                for path in (json_path, lock_path):
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
                        removed.append(path)
            finally:
                if fd is not None:
                    os.close(fd)
        return removed

    # -- gc --------------------------------------------------------------------------------

    def gc(
        self,
        max_size: int | None = None,
        keep: Iterable[Key] = frozenset(),
        older_than: float | None = None,
    ) -> GcReport:
        """Collect garbage; raise CacheError at once if another gc is running.

        Removes dead processes' temp files, stale leases, invalid entries and stale memo
        records; then valid entries unused for more than `older_than` seconds; then least
        recently used entries until the cache is at most `max_size` bytes. Entries in `keep`
        or in a live lease are never deleted; if only such entries are left above the cap,
        the report says so (`over_cap`).
        """
        if max_size is not None and max_size < 0:
            raise ValueError(f"max_size must be >= 0, got {max_size}")
        if older_than is not None and older_than < 0:
            raise ValueError(f"older_than must be >= 0 seconds, got {older_than}")
        protected = {(check_kind(kind), check_key(key)) for kind, key in keep}
        if not self.root.is_dir():
            return GcReport(max_size=max_size)  # nothing to collect; do not create the folder
        with self._gc_lock():
            return self._collect(max_size, protected, older_than)

    def clear(self) -> GcReport:
        """Delete every entry, run record and the memo, keeping the root and its `.gitignore`.

        Entries leased by a running render are kept (the report counts them in `kept_in_use`).
        """
        with self._gc_lock():
            report = self._collect(0, set(), None)
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                for path in sorted((self.root / "runs").glob("*.json")):
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
                        report.removed_files.append(path)
            with contextlib.suppress(FileNotFoundError):
                self._memo_path.unlink()
                report.removed_files.append(self._memo_path)
            self._memo = None
        return report

    def _collect(self, max_size: int | None, keep: set[Key], older_than: float | None) -> GcReport:
        """The body of gc and clear, run while holding the gc lock."""
        report = GcReport(max_size=max_size)
        # 1. Temp files of dead writers (a live process's temp file is left alone).
        report.removed_temps = fsutil.remove_dead_temps(self.root)
        # 2. Leases whose process is gone.
        report.removed_leases = self._remove_stale_leases()
        # 3. Entries that can never be a hit: orphans, unreadable sidecars, wrong sizes.
        entries = list(self.entries())
        report.size_before = sum(entry.disk_size for entry in entries)
        valid = []
        for entry in entries:
            if entry.status == CACHED:
                valid.append(entry)
                continue
            with self._publish_lock():
                status, problem, _ = self._inspect(entry.kind, entry.key)
                if status == INVALID:
                    self._delete_entry(entry.kind, entry.key)
                    report.removed_invalid.append((entry, problem))
                elif status == CACHED:
                    fresh = self._entry(entry.kind, entry.key)
                    if fresh is not None:
                        valid.append(fresh)
        # 4. Memo records of files that are gone or changed.
        report.pruned_memo = self._prune_memo()
        # 5. Old entries, then least recently used ones until at or under the cap.
        valid.sort(key=lambda e: (e.mtime, e.kind, e.key))
        total = sum(entry.disk_size for entry in valid)
        cutoff = time.time() - older_than if older_than is not None else None
        for entry in valid:
            too_old = cutoff is not None and entry.mtime < cutoff
            too_big = max_size is not None and total > max_size
            if not (too_old or too_big):
                break  # sorted oldest first: nothing later is older, and total only shrinks
            if (entry.kind, entry.key) in keep or not self._delete_if_unused(entry):
                report.kept_in_use += 1
                continue
            total -= entry.disk_size
            report.removed.append(entry)
        report.over_cap = max_size is not None and total > max_size
        report.size_after = self.total_size()
        return report

    def _delete_if_unused(self, entry: Entry) -> bool:
        """Delete a valid entry unless a lease names it or it was used since the scan."""
        with self._publish_lock():
            if (entry.kind, entry.key) in self._leased_keys():
                return False
            try:
                mtime = os.stat(self.sidecar(entry.kind, entry.key)).st_mtime
            except FileNotFoundError:
                return False
            if mtime != entry.mtime:
                return False
            self._delete_entry(entry.kind, entry.key)
            return True
