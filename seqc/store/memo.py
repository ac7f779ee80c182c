"""The file memo (`files.json`): file hashes and passed image checks, remembered by stat.

Large keyframe images and model weights are hashed once, and a keyframe image that passed
its checks (seqc.spec.images) is not decoded again while its stat signature is unchanged: a
plan of a thousand keyframes reads no image. It is the one memo of both, in two layers: what
this process learnt (kept in memory, so watch mode re-checks nothing) and what earlier runs
saved. A file changed in the last couple of seconds is not saved yet, since a same-size
rewrite within one clock tick would keep its mtime (git's "racy" problem).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from seqc.store import atomic
from seqc.store.files import (
    HEX64_RE,
    file_signature,
    json_bytes,
    read_json,
    same_signature,
    sha256_file,
)
from seqc.store.locks import Locks

MEMO_NAME = "files.json"
MEMO_VERSION = 1
# A file modified less than this long ago may still change within the same mtime tick.
RACY_SECONDS = 2.0


class FileMemo:
    """The Cache's file memo: `hash_file`, the image and audio check memos (seqc.spec.images.ImageMemo,
    seqc.audio.pcm.AudioMemo), what published entries are vouched for, `save`."""

    # Seconds a file must rest after its last change before its hash is memoised.
    racy_seconds = RACY_SECONDS

    def __init__(self, root: Path, locks: Locks):
        self.path = root / MEMO_NAME
        self.locks = locks  # files.json is merged under the publish lock
        self._memo: dict[str, dict] | None = None  # the records on disk, read on first use
        self._memo_new: dict[str, dict] = {}  # records to merge into files.json
        # Images that passed their checks in this process: path -> (signature, rules). Copied
        # into the file's record when one is made (only a settled file gets a record).
        self._images_checked: dict[str, tuple[dict, str]] = {}

    def _records(self) -> dict[str, dict]:
        if self._memo is None:
            self._memo = self._read_memo_file()
        return self._memo

    def _read_memo_file(self) -> dict[str, dict]:
        """The memo on disk; a missing or corrupt one reads as empty."""
        data = read_json(self.path)
        if not isinstance(data, dict) or data.get("version") != MEMO_VERSION:
            return {}
        files = data.get("files")
        if not isinstance(files, dict):
            return {}
        return {path: rec for path, rec in files.items() if isinstance(rec, dict)}

    def _digest_file(self, path: Path) -> str:
        """Read and hash a file (the slow path `hash_file` avoids; a hook for tests)."""
        return sha256_file(path)[0]

    def hash_file(self, path: Path | str) -> str:
        """sha256 of a file's bytes, memoised by (absolute path, size, mtime, ctime, inode).

        Call `save_memo()` to keep new hashes for later runs.
        """
        name = os.path.abspath(path)  # a string: a plan of a thousand keyframes asks a thousand times
        records = self._records()
        before = os.stat(name)
        record = records.get(name)
        if same_signature(record, before):
            digest = record.get("sha256")  # type: ignore[union-attr]
            if isinstance(digest, str) and HEX64_RE.fullmatch(digest):
                return digest
        digest = self._digest_file(Path(name))
        after = file_signature(os.stat(name))
        settled = time.time_ns() - max(after["mtime_ns"], after["ctime_ns"]) > self.racy_seconds * 1e9
        if after == file_signature(before) and settled:
            record = dict(after, sha256=digest)
            checked = self._images_checked.get(name)
            if checked is not None and checked[0] == after:
                record["image_check"] = checked[1]
            records[name] = record
            self._memo_new[name] = record
        return digest

    def vouch(self, path: Path, digest: str) -> None:
        """Record that the file at `path`, as it is now, has this sha256: the caller wrote it,
        hashed it and synced it to disk (EntryStore.sync_published), so no racy wait applies."""
        key = os.path.abspath(path)
        record = dict(file_signature(os.stat(key)), sha256=digest)
        self._records()[key] = record
        self._memo_new[key] = record

    def vouched_digest(self, path: Path, st: os.stat_result) -> str | None:
        """The sha256 the memo holds for this file with exactly this stat signature, or None."""
        record = self._records().get(os.path.abspath(path))
        if not same_signature(record, st):
            return None
        digest = record.get("sha256")  # type: ignore[union-attr]
        return digest if isinstance(digest, str) and HEX64_RE.fullmatch(digest) else None

    def image_checked(self, path: Path, st: os.stat_result, rules: str) -> bool:
        """True if this file, with this very stat signature, passed the image checks named by
        `rules`: in this process, or in a run whose memo was saved."""
        key = os.path.abspath(path)
        if self._images_checked.get(key) == (file_signature(st), rules):
            return True
        record = self._records().get(key)
        return same_signature(record, st) and record.get("image_check") == rules  # type: ignore[union-attr]

    def remember_image_check(self, path: Path, st: os.stat_result, rules: str) -> None:
        """Note that a file passed the image checks: on its memo record if that matches the file
        (a record made by an earlier run), else when `hash_file` makes one (and only if settled)."""
        key = os.path.abspath(path)
        self._images_checked[key] = (file_signature(st), rules)
        records = self._records()
        record = records.get(key)
        if same_signature(record, st) and record.get("image_check") != rules:  # type: ignore[union-attr]
            record = dict(record, image_check=rules)  # type: ignore[arg-type]
            records[key] = record
            self._memo_new[key] = record

    # -- soundtracks (seqc.audio.pcm.check_audio): the decoded length, by stat ----------------

    def audio_checked(self, path: Path, st: os.stat_result, rules: str) -> int | None:
        """The sample count an earlier check of this very file state (stat signature) recorded under
        `rules`, or None: the file must be decoded and checked again."""
        record = self._records().get(os.path.abspath(path))
        if not same_signature(record, st):
            return None
        check = record.get("audio_check")  # type: ignore[union-attr]
        if isinstance(check, dict) and check.get("rules") == rules and isinstance(check.get("samples"), int):
            return check["samples"]
        return None

    def remember_audio_check(self, path: Path, st: os.stat_result, rules: str, samples: int) -> None:
        """Note a passed audio check on the file's memo record, if one matches the file (`hash_file`
        makes it once the file has settled; the planner hashes the soundtrack), for later runs."""
        key = os.path.abspath(path)
        records = self._records()
        record = records.get(key)
        if same_signature(record, st):
            record = dict(record, audio_check={"rules": rules, "samples": samples})  # type: ignore[arg-type]
            records[key] = record
            self._memo_new[key] = record

    def save(self) -> None:
        """Merge this object's new records into `files.json` (atomically; no-op if none)."""
        if not self._memo_new:
            return
        with self.locks.publish_lock():
            files = self._read_memo_file()
            files.update(self._memo_new)
            atomic.atomic_write_bytes(self.path, json_bytes({"version": MEMO_VERSION, "files": files}),
                                      durable=False)  # lost: files are hashed again
        self._memo_new.clear()

    def prune(self) -> int:
        """Drop memo records of files that are gone or changed; return how many (for gc)."""
        with self.locks.publish_lock():
            files = self._read_memo_file()
            kept = {}
            for path, record in files.items():
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                if same_signature(record, st):
                    kept[path] = record
            pruned = len(files) - len(kept)
            if pruned:
                atomic.atomic_write_bytes(self.path, json_bytes({"version": MEMO_VERSION, "files": kept}),
                                          durable=False)
        self._memo = None
        return pruned

    def forget(self) -> None:
        """Read `files.json` again on next use (it was deleted or rewritten by gc)."""
        self._memo = None
