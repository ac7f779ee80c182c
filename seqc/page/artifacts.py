"""The only files the preview server sends: an allow-list of published artifacts, by name and version.

A URL names an artifact (`video`, `sheet`, `curves`) and a version; it never names a path. Each
published version is a private copy (a hard link where the filesystem allows, else a copy) in a
folder only this user can read, so the next render overwriting the output never changes the bytes
of a version a browser is still reading or seeking in; the last few versions of each name are kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from seqc.store.files import RENAMED_FIELDS, stat_signature

NAMES = ("video", "sheet", "curves")
KEEP = 3  # versions kept per name (a page may still be loading the one before the newest)
CONTENT_TYPES = {".mp4": "video/mp4", ".mov": "video/quicktime", ".mkv": "video/x-matroska",
                 ".webm": "video/webm", ".gif": "image/gif", ".png": "image/png"}


@dataclass(frozen=True)
class Artifact:
    """One published version of an artifact."""

    name: str
    version: str
    path: Path  # the private copy
    content_type: str

    @property
    def url(self) -> str:
        return f"/a/{self.name}?v={self.version}"

    def as_dict(self) -> dict:
        return {"name": self.name, "version": self.version, "url": self.url, "type": self.content_type}


class Artifacts:
    """Versions of the preview's artifacts in a private folder, removed by `close()`."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="seqc-preview-"))  # mode 0700
        self._lock = threading.Lock()
        self._versions: dict[str, list[Artifact]] = {name: [] for name in NAMES}

    def publish(self, name: str, source: Path, tag: str = "") -> Artifact:
        """Copy `source` in as the newest version of `name` (version: a digest of its identity)."""
        if name not in NAMES:
            raise ValueError(f"unknown artifact {name!r}")
        source = Path(source)
        st = source.stat()
        identity = ":".join(str(field) for field in stat_signature(st, RENAMED_FIELDS))  # size:mtime_ns:inode
        version = hashlib.sha256(f"{source}:{identity}:{tag}".encode()).hexdigest()[:16]
        suffix = source.suffix.lower()
        target = self.folder / f"{name}-{version}{suffix}"
        if not target.exists():
            tmp = target.with_name(target.name + ".tmp")
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            try:
                os.link(source, tmp)
            except OSError:  # another filesystem, or links not allowed: copy
                shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        artifact = Artifact(name, version, target, CONTENT_TYPES.get(suffix, "application/octet-stream"))
        with self._lock:
            versions = [a for a in self._versions[name] if a.version != version] + [artifact]
            for old in versions[:-KEEP]:
                with contextlib.suppress(OSError):
                    old.path.unlink()
            self._versions[name] = versions[-KEEP:]
        return artifact

    def lookup(self, name: str, version: str) -> Artifact | None:
        """The artifact of that name and version if it is still kept; None for anything else."""
        with self._lock:
            for artifact in self._versions.get(name, ()):
                if artifact.version == version:
                    return artifact
        return None

    def latest(self, name: str) -> Artifact | None:
        with self._lock:
            versions = self._versions.get(name, [])
            return versions[-1] if versions else None

    def scratch(self, name: str) -> Path:
        """A path in the private folder to write a new artifact to before publishing it."""
        return self.folder / f"new-{name}-{threading.get_ident()}.png"

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
