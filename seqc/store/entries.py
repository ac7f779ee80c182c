"""Cache entries: latents, conditionings, a morph's ends and clips stored by key, verified on every read.

Layout under the root folder (keys are sha256 hex strings, `ab` is a key's first two chars):

    latents/ab/<key>.safetensors  + <key>.json    content + sidecar (size, sha256, inputs)
    embeds/ab/<key>.safetensors   + <key>.json    prompt conditionings (pipelines)
    trajectories/ab/<key>.safetensors + <key>.json  a morph's end at its inject step (pipelines)
    clips/ab/<key>.mp4            + <key>.json

Crash safety: content and sidecar are each written to a pid-stamped temp file and renamed into
place; content goes first and the sidecar last, and an old sidecar is removed before new content
moves in, so a crash at any point leaves an entry that `status()` calls "invalid", never one that
looks valid. Deletion removes the sidecar first for the same reason.

Integrity, not durability: an entry is published without an fsync of its own. Every read checks
the content against the sidecar's sha256 unless the file memo vouches for it, and the memo
vouches only for entries flushed to disk first (`sync_published`: one sync for all the entries
a render published, docs/RELIABILITY.md). So a power cut can lose recent entries (they render
again) but never make a torn one pass as valid.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from seqc.store import atomic
from seqc.store.files import (
    HEX64_RE,
    RENAMED_FIELDS,
    file_signature,
    json_bytes,
    sha256_file,
    stat_signature,
)
from seqc.store.kinds import CACHED, INVALID, KINDS, MISSING, SIDECAR_EXT, check_key, check_kind
from seqc.store.locks import Locks
from seqc.store.memo import FileMemo

_SIDECAR_MISSING = "sidecar missing (content without sidecar: an unfinished write)"


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


class EntryStore:
    """The Cache's entries by (kind, key), each a content file plus a JSON sidecar.

    Its explicit dependencies: the root's locks (publishing and deleting hold the publish lock), the
    file memo (which vouches for synced content, so reads skip the hash) and where warnings go."""

    def __init__(self, root: Path, locks: Locks, memo: FileMemo, warn: Callable[[str], None]):
        self.root = root
        self.locks = locks
        self.memo = memo
        self.warn = warn
        self._unsynced: list[tuple[Path, str, dict]] = []  # published, not synced yet: (content, sha256, signature)
        self._sidecars: dict[str, tuple] = {}  # sidecar path -> (stat signature, fields or None, problem), parsed once

    # -- paths -----------------------------------------------------------------------------

    def path(self, kind: str, key: str) -> Path:
        """The content file of an entry: `<root>/<kind>/<ab>/<key><ext>`."""
        return Path(self._file(kind, key, KINDS.get(kind, "")))

    def sidecar(self, kind: str, key: str) -> Path:
        """The JSON sidecar of an entry: `<root>/<kind>/<ab>/<key>.json`."""
        return Path(self._file(kind, key, SIDECAR_EXT))

    def _file(self, kind: str, key: str, ext: str) -> str:
        """An entry's file as a string: planning looks at thousands, and a Path costs more than the stat."""
        check_kind(kind)
        check_key(key)
        return f"{self.root}/{kind}/{key[:2]}/{key}{ext}"

    def temp_path(self, kind: str, key: str) -> Path:
        """A pid-stamped temp path in the entry's folder (created) for a writer to fill, then `put`."""
        final = self.path(kind, key)
        self.locks.ensure_root()
        final.parent.mkdir(parents=True, exist_ok=True)
        return atomic.temp_path_for(final)

    # -- reading ---------------------------------------------------------------------------

    def _load_sidecar(self, kind: str, key: str) -> tuple[dict | None, str]:
        """The sidecar's fields and "", or None and what is wrong with it.

        A sidecar this object has parsed is not read again while its stat is unchanged (a plan
        and the render after it look at every entry more than once); a rewrite is a rename, so
        it always changes the inode."""
        path = self._file(kind, key, SIDECAR_EXT)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None, _SIDECAR_MISSING
        except OSError as exc:
            return None, f"sidecar unreadable: {exc.strerror or exc}"
        signature = stat_signature(st, RENAMED_FIELDS)
        seen = self._sidecars.get(path)
        if seen is not None and seen[0] == signature:
            return seen[1], seen[2]
        result = self._parse_sidecar(Path(path), kind, key)
        self._sidecars[path] = (signature, *result)
        return result

    def _parse_sidecar(self, path: Path, kind: str, key: str) -> tuple[dict | None, str]:
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
        if not isinstance(digest, str) or not HEX64_RE.fullmatch(digest):
            return None, f"sidecar has a bad sha256 {digest!r}"
        if not isinstance(data.get("inputs", {}), dict):
            return None, "sidecar inputs are not a JSON object"
        return data, ""

    def inspect(self, kind: str, key: str) -> tuple[str, str, dict | None]:
        """Cheap check, no hashing: (status, what is wrong, sidecar fields)."""
        try:
            content_size: int | None = os.stat(self._file(kind, key, KINDS.get(kind, ""))).st_size
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
        status, problem, meta = self.inspect(kind, key)
        if status != CACHED or meta is None:
            return status, problem
        try:
            digest, size = sha256_file(self.path(kind, key))
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
        return self.inspect(kind, key)[0]

    def read_facts(self, kind: str, key: str) -> dict:
        """What the writer recorded about an entry's content at publish ({} if nothing)."""
        meta, _ = self._load_sidecar(kind, key)
        facts = meta.get("facts") if meta is not None else None
        return facts if isinstance(facts, dict) else {}

    def read_inputs(self, kind: str, key: str) -> dict | None:
        """The named inputs stored in an entry's sidecar (to explain a re-render), or None."""
        meta, _ = self._load_sidecar(kind, key)
        if meta is None:
            return None
        inputs = meta.get("inputs", {})
        return inputs if isinstance(inputs, dict) else None

    def _check_vouched(self, kind: str, key: str) -> tuple[str, str]:
        """The full check, skipping the hash when the file memo vouches for the content as it is
        now (same stat signature as when it was synced and recorded, same sha256 as the sidecar)."""
        status, problem, meta = self.inspect(kind, key)
        if status != CACHED or meta is None:
            return status, problem
        path = self.path(kind, key)
        try:
            vouched = self.memo.vouched_digest(path, os.stat(path))
        except FileNotFoundError:
            return INVALID, "content file missing (sidecar without content)"
        if vouched is not None and vouched == meta["sha256"]:
            return CACHED, ""
        return self._check(kind, key)

    def get(self, kind: str, key: str) -> Path | None:
        """The content path of a verified entry, or None on a miss.

        Size and sha256 are checked against the sidecar (the hash is skipped where the memo
        vouches for the file's stat); a bad entry is warned about, deleted and reported as a
        miss. A hit writes nothing. Hold a lease on the key while using the path, or gc may
        delete it.
        """
        status, problem = self._check_vouched(kind, key)
        if status == INVALID:
            # Re-check under the publish lock: another process may be between its two renames.
            with self.locks.publish_lock():
                status, problem = self._check(kind, key)
                if status == INVALID:
                    self.delete_entry(kind, key)
            if status == INVALID:
                self.warn(
                    f"cache entry {kind}/{key} was bad ({problem}); deleted it, it will be re-rendered"
                )
                return None
        if status == MISSING:
            return None
        return self.path(kind, key)

    def _touch(self, kind: str, key: str) -> None:
        with contextlib.suppress(OSError):
            os.utime(self.sidecar(kind, key))

    # -- writing ---------------------------------------------------------------------------

    def put(self, kind: str, key: str, tmp: Path, inputs: Mapping, facts: Mapping | None = None) -> Path:
        """Publish a finished temp file as an entry and return the content path.

        The cache takes ownership of `tmp`: it is moved into place or deleted, also on error.
        If a valid entry already exists (another process won the race), `tmp` is discarded
        and the existing entry is kept. `facts` (e.g. a clip's stream parameters and frame
        count, known to its writer) are kept in the sidecar, so readers need not measure again.
        """
        final = self.path(kind, key)
        tmp = Path(os.path.abspath(tmp))
        moved: Path | None = None
        try:
            # 1. The sidecar body, built first so a value JSON cannot hold fails before anything moves.
            meta: dict[str, object] = {"key": key, "kind": kind, "inputs": dict(inputs)}
            if facts:
                meta["facts"] = dict(facts)
            json_bytes(meta)
            # 2. os.replace must stay inside one folder (one filesystem): bring tmp there if needed.
            if tmp.parent != final.parent:
                moved = self.temp_path(kind, key)
                shutil.copyfile(tmp, moved)
                tmp.unlink()
                tmp, moved = moved, None
            # 3. Digest the content, outside the lock (no fsync: see the module docstring).
            digest, size = sha256_file(tmp)
            meta.update(size=size, sha256=digest, created=time.time())
            sidecar_bytes = json_bytes(meta)
            # 4. Under the lock: keep a valid existing entry, else sidecar out, content in, sidecar in.
            with self.locks.publish_lock():
                if self._check(kind, key)[0] == CACHED:
                    tmp.unlink()
                    self._touch(kind, key)
                    return final
                with contextlib.suppress(FileNotFoundError):
                    self.sidecar(kind, key).unlink()
                os.replace(tmp, final)
                self._write_sidecar(kind, key, sidecar_bytes)
            self._unsynced.append((final, digest, file_signature(os.stat(final))))
            return final
        except BaseException:
            for path in (tmp, moved):
                if path is not None and path != final:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
            raise

    def sync_published(self) -> int:
        """Flush the entries this object published to disk (one sync), then let the file memo vouch
        for each, so later reads skip their hash; return how many. Call at the end of a render,
        before `save_memo`."""
        pending, self._unsynced = self._unsynced, []
        atomic.sync_files([path for path, _, _ in pending])
        vouched = 0
        for path, digest, published in pending:
            with contextlib.suppress(FileNotFoundError):
                if file_signature(os.stat(path)) == published:  # not replaced since we wrote it
                    self.memo.vouch(path, digest)
                    vouched += 1
        return vouched

    def _write_sidecar(self, kind: str, key: str, data: bytes) -> None:
        """Write an entry's sidecar atomically (the last step of a publish)."""
        atomic.atomic_write_bytes(self.sidecar(kind, key), data, durable=False)

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

    def discard(self, kind: str, key: str, why: str) -> None:
        """Delete an entry whose content passed its digest but cannot be used (a stale format), with
        a warning; `put` would otherwise keep it as a valid entry forever."""
        with self.locks.publish_lock():
            self.delete_entry(kind, key)
        self.warn(f"cache entry {kind}/{key} could not be read ({why}); deleted it, it will be made again")

    def delete_entry(self, kind: str, key: str) -> None:
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
                    if name.endswith(suffix) and HEX64_RE.fullmatch(stem) and stem[:2] == sub.name:
                        keys.add(stem)
        return sorted(keys)

    def entry(self, kind: str, key: str) -> Entry | None:
        """An Entry from a cheap look at the files, or None if the entry is gone."""
        status, _, _ = self.inspect(kind, key)
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
                entry = self.entry(kind, key)
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
            with self.locks.publish_lock():
                status, problem = self._check(entry.kind, entry.key)
                if status == INVALID:
                    bad.append((entry, problem))
                    if repair:
                        self.delete_entry(entry.kind, entry.key)
        return bad

