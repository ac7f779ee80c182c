"""The only files the preview server sends: an allow-list of published artifacts, by name and version.

A URL names an artifact (`video`, `sheet`, `curves`) and a version; it never names a path. Each
published version is a private copy (a hard link where the filesystem allows, else a copy) in a
folder only this user can read, so the next render overwriting the output never changes the bytes
of a version a browser is still reading or seeking in; the last few versions of each name are kept.
A version may instead be made from its source (the video's H.264 proxy, seqc.page.proxy): written
to a temp name in the private folder and renamed, once per version.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from seqc.store.files import RENAMED_FIELDS, stat_signature

NAMES = ("video", "sheet", "curves")
KEEP = 3  # versions kept per name (a page may still be loading the one before the newest)
CONTENT_TYPES = {".mp4": "video/mp4", ".mov": "video/quicktime", ".mkv": "video/x-matroska",
                 ".webm": "video/webm", ".gif": "image/gif", ".png": "image/png"}


class SourceChanged(Exception):
    """The source was replaced while a version was made from it (the next version is on its way)."""


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

    def version(self, source: Path, tag: str = "") -> str:
        """The version `source` is published as now: a digest of its path, identity and `tag`."""
        st = Path(source).stat()
        identity = ":".join(str(field) for field in stat_signature(st, RENAMED_FIELDS))  # size:mtime_ns:inode
        return hashlib.sha256(f"{source}:{identity}:{tag}".encode()).hexdigest()[:16]

    def publish(self, name: str, source: Path, tag: str = "", *, content_type: str | None = None,
                make: Callable[[Path, Path], None] | None = None, suffix: str | None = None) -> Artifact:
        """Copy `source` in as the newest version of `name` (version: a digest of its identity); with
        `make`, the version is what `make(source, path)` writes instead (a `suffix` file), made only if
        that version is not there yet. `content_type`: else the suffix's."""
        if name not in NAMES:
            raise ValueError(f"unknown artifact {name!r}")
        source = Path(source)
        version = self.version(source, tag)
        suffix = (suffix or source.suffix).lower()
        target = self.folder / f"{name}-{version}{suffix}"
        if not target.exists():
            tmp = target.with_name(target.name + ".tmp")
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            try:
                if make is not None:
                    make(source, tmp)
                    if self.version(source, tag) != version:
                        raise SourceChanged(f"{source.name} changed while its {name} was made")
                else:
                    _link_or_copy(source, tmp)
                os.replace(tmp, target)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
        artifact = Artifact(name, version, target, content_type or CONTENT_TYPES.get(suffix, "application/octet-stream"))
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


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link to `source` (the same bytes, no copy), or a copy on another filesystem."""
    try:
        os.link(source, target)
    except OSError:  # another filesystem, or links not allowed: copy
        shutil.copyfile(source, target)
