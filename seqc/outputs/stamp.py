"""The up-to-date stamp of `seqc render` (as Ninja's log and make's mtimes): every file a finished
render read or wrote, each by its stat signature, so the same command right after answers from a
few thousand stats instead of loading the storyboard, planning and checking every clip.

A stamp is written after a render to a video file, under `runs/<id>.stamp.json` in the cache, where
the id names the command (storyboard, --draft, -o, the precision planned, the cache). It holds:

- the inputs: the storyboard, its keyframe images and the model's files (each folder too, so an
  added file shows), stat before they were read and again after the output was written (a file
  that changed meanwhile means no stamp), with the sha256 of those changed just before (`InputWatch`);
- the code: seqc's and imageio-ffmpeg's installed files, the interpreter, and the environment
  variables seqc reads (an upgrade or another setting is another render);
- the cache entries the output was joined from, and the output itself;
- what the render printed: its warnings and its result.

The stamp is a shortcut, never a source of truth: anything that does not match (or a stamp that
cannot be read) means the full path runs, which checks everything and writes a new stamp. A model
named by a hub id is resolved through the hub's cache, whose files are not tracked: no stamp.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterable
from importlib.util import find_spec
from pathlib import Path

from seqc.errors import Problem
from seqc.store import atomic
from seqc.store.files import json_bytes, read_json, sha256_file, stat_signature
from seqc.store.memo import RACY_SECONDS

STAMP_VERSION = 1
RACY_HASH_LIMIT = 64 << 20  # a racy input up to this size is hashed when named (git's racy check)
RESULT_KEYS = ("output", "frames", "segments", "rendered", "cached", "rendered_final_frame")
# Environment variables that can change what a render makes or where it reads from.
_ENV_PREFIXES = ("SEQC_", "IMAGEIO_", "HF_", "HUGGINGFACE_", "CUDA_", "DIFFUSERS_")

Signature = list[int] | None  # [size, mtime_ns, ctime_ns, inode], None for a missing file


def signature(path: str) -> Signature:
    """A file's (or folder's) stat signature, or None if it is not there."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return list(stat_signature(st))


def content_digest(path: str) -> str:
    """sha256 of a file's bytes, or of a folder's sorted names (what a folder's signature stands for)."""
    if os.path.isdir(path):
        return hashlib.sha256("\n".join(sorted(os.listdir(path))).encode()).hexdigest()
    return sha256_file(Path(path))[0]


def stamp_path(cache_root: Path, storyboard: Path, draft: bool, output: Path | None, precision: str) -> Path:
    """Where the stamp of this command lives (`output` is -o, None for the storyboard's own)."""
    command = json.dumps([str(storyboard.absolute()), draft, str(output.absolute()) if output else None, precision,
                          str(Path(cache_root).absolute())])
    return Path(cache_root) / "runs" / f"{hashlib.sha256(command.encode()).hexdigest()[:24]}.stamp.json"


def environment() -> dict:
    """What else decides a render's output: seqc's version, the interpreter and its environment (a
    virtualenv's prefix), the variables seqc reads."""
    from seqc import __version__

    variables = {k: v for k, v in os.environ.items() if k.startswith(_ENV_PREFIXES)}
    return {"seqc": __version__, "python": sys.version, "prefix": os.path.abspath(sys.prefix),
            "code": _package_folders(), "home": os.path.expanduser("~"),  # `~` in a storyboard's paths
            "env": dict(sorted(variables.items()))}


def _package_folders() -> list[str]:
    """Where seqc and imageio-ffmpeg are imported from (another checkout of the same version differs)."""
    folders = []
    for package in ("seqc", "imageio_ffmpeg"):
        spec = find_spec(package)
        folders += [os.path.abspath(p) for p in (spec.submodule_search_locations or [])] if spec else []
    return folders


def code_files() -> list[str]:
    """seqc's and imageio-ffmpeg's installed files (the ffmpeg build is in the clip keys)."""
    files: list[str] = []
    for location in _package_folders():
        files += _tree(Path(location), skip="__pycache__")
    chosen = os.environ.get("IMAGEIO_FFMPEG_EXE")  # a binary of the user's: its version is in the clip keys
    if chosen:
        files.append(shutil.which(chosen) or chosen)
    return files


def _tree(folder: Path, skip: str = "") -> list[str]:
    """A folder, its subfolders (through links, each once) and their files, sorted (a new or removed
    file changes a folder's mtime)."""
    found = [str(folder)]
    visited = set()
    for base, dirs, names in os.walk(folder, followlinks=True):  # a model may link a shared subfolder
        visited.add(os.path.realpath(base))
        dirs[:] = sorted(d for d in dirs if d != skip and os.path.realpath(os.path.join(base, d)) not in visited)
        found += [os.path.join(base, d) for d in dirs]
        found += [os.path.join(base, n) for n in sorted(names)]
    return found


def model_files(model_path: Path | None, source: str) -> list[str] | None:
    """The files a model is read from, or None where they cannot all be named (a hub id)."""
    if source == "hub" or model_path is None:
        return None
    return _tree(model_path)


class InputWatch:
    """The inputs of one render, stat when first named and compared when the stamp is written.

    A file changed less than `RACY_SECONDS` before it was stat could change again within the same
    mtime tick and keep its signature (git's "racy" problem): such a file is stamped with its
    sha256 too, and a check hashes it again (git compares content too). The digest is taken when
    the file is named, before the render reads it (or given: the bytes the render used), so a
    rewrite in the same tick can only make the next check miss, never hit. A racy file over
    `RACY_HASH_LIMIT` bytes (model weights just copied) is not hashed: no stamp this time. Paths
    given to `link` are stamped with what they point to, so a retargeted symlink is a change."""

    def __init__(self) -> None:
        self.seen: dict[str, Signature] = {}
        self.digests: dict[str, str | None] = {}  # racy file -> its sha256 when named (None: too big)
        self.links: dict[str, str] = {}
        # Taken now: importing torch later sets variables of its own (CUDA_MODULE_LOADING).
        self.environment = environment()

    @property
    def racy(self) -> set[str]:
        return set(self.digests)

    def add(self, paths: Iterable[str | os.PathLike]) -> None:
        for path in paths:
            key = os.path.abspath(path)
            if key in self.seen:
                continue
            sig = self.seen[key] = signature(key)
            if sig is not None and max(sig[1], sig[2]) > time.time_ns() - int(RACY_SECONDS * 1e9):
                try:
                    self.digests[key] = content_digest(key) if sig[0] <= RACY_HASH_LIMIT else None
                except OSError:
                    self.digests[key] = None

    def link(self, paths: Iterable[str | os.PathLike]) -> None:
        for path in paths:
            self.links[os.path.abspath(path)] = os.path.realpath(path)

    def settled(self, digests: dict[str, str]) -> tuple[dict[str, Signature], dict[str, str]] | None:
        """(signatures, digests of the racy files) if no input changed since it was named, else None
        (no stamp). `digests` are the sha256 of the bytes the render used (the storyboard's, the
        images'), preferred to those taken when the files were named."""
        digests = {os.path.abspath(path): digest for path, digest in digests.items()}
        for path, seen in self.seen.items():
            if signature(path) != seen:
                return None
        if any(os.path.realpath(path) != target for path, target in self.links.items()):
            return None
        racy = {path: digests.get(path) or taken for path, taken in sorted(self.digests.items())}
        if any(digest is None for digest in racy.values()):
            return None
        return dict(self.seen), racy  # type: ignore[return-value]


def write(path: Path, watch: InputWatch, inputs: tuple[dict[str, Signature], dict[str, str]],
          outputs: Iterable[str], result: dict, warnings: list[Problem]) -> None:
    """Write the stamp: the inputs as stat before the render (`watch.settled`), the environment as
    the render began, the code, the cache entries and output as they are now, and what to print
    (`result` as the render reported it; a hit renders nothing)."""
    result = {**result, "rendered": 0, "cached": result["segments"], "rendered_final_frame": False,
              "fetched": 0, "pushed": 0}  # a hit moves nothing to or from a remote cache
    pairs = list(result.items())  # kept in order: a hit prints what the full path would
    files, digests = dict(inputs[0]), inputs[1]
    for name in code_files():
        files.setdefault(os.path.abspath(name), signature(name))
    for name in outputs:
        files[os.path.abspath(name)] = signature(name)
        if files[os.path.abspath(name)] is None:  # gone already (another process): nothing to vouch for
            discard(path)
            return
    body = {"version": STAMP_VERSION, "environment": watch.environment, "files": files, "digests": digests,
            "links": watch.links, "result": pairs, "warnings": [w.as_dict() for w in warnings]}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.atomic_write_bytes(path, json_bytes(body), durable=False)  # lost: the next run checks everything


def discard(path: Path) -> None:
    """Remove a stamp that no longer holds (its command rendered something else)."""
    try:
        os.unlink(path)
    except OSError:
        pass


def check(path: Path) -> tuple[dict, list[Problem]] | None:
    """(result, warnings) of the stamped render if every file and setting it names is as it was, else None."""
    data = read_json(path)
    if stale(data) or not isinstance(data, dict):  # stale() says why a non-dict is stale
        return None
    return dict(data["result"]), [Problem(**w) for w in data["warnings"]]


def stale(data: object) -> str:
    """Why a stamp's render would not be a no-op now ("" if it would), as Ninja's `-d explain` says."""
    if not isinstance(data, dict) or data.get("version") != STAMP_VERSION:
        return "no stamp of this version"
    files, digests, links = data.get("files"), data.get("digests"), data.get("links")
    pairs, warnings = data.get("result"), data.get("warnings")
    if not (isinstance(files, dict) and isinstance(digests, dict) and isinstance(links, dict)
            and isinstance(pairs, list) and isinstance(warnings, list)):
        return "the stamp is malformed"
    try:
        if not set(RESULT_KEYS) <= set(dict(pairs)):
            return "the stamp is malformed"
        [Problem(**w) for w in warnings]
    except (TypeError, ValueError):
        return "the stamp is malformed"
    if data.get("environment") != environment():
        return "another seqc, interpreter or environment"
    for name, seen in files.items():  # a file added to a folder changes the folder's signature
        if signature(name) != seen:
            return f"{name} changed"
    for name, target in links.items():
        if os.path.realpath(name) != target:
            return f"{name} points elsewhere"
    for name, digest in digests.items():  # changed just before the render read it: compare the bytes
        try:
            if content_digest(name) != digest:
                return f"{name} changed"
        except OSError:
            return f"{name} is unreadable"
    return ""
