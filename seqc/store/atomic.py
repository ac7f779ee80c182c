"""Atomic file publishing: write to a temp file in the same folder, fsync, `os.replace`.

Every file seqc publishes (cache entries, clips, the output video, a file:// remote's objects)
goes through here, so a reader sees a whole file or none. Temp names (one scheme:
`.<stem>.tmp-<pid>[@<host>]-<token><suffix>`) carry the writer's pid so that a later run or
`cache gc` can tell a dead process's leftovers from a live one's; in a folder other machines
write to (a remote on NFS) they carry the host too, and only that host judges them.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

TEMP_MARK = ".tmp-"
_TEMP_RE = re.compile(r"^\..*\.tmp-(\d+)(?:@([A-Za-z0-9_.-]+))?-[0-9a-f]{8}(\.[A-Za-z0-9]+)?$")


@functools.cache
def host() -> str:
    """This machine's name as temp names carry it (characters outside [A-Za-z0-9_.-] become _)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", socket.gethostname()) or "_"


def temp_path_for(final: Path, shared: bool = False) -> Path:
    """A unique temp path beside `final`, keeping its extension so ffmpeg can pick a muxer.
    `shared`: the folder is written from other machines too (a file:// remote), so the name
    carries this host as well as the pid."""
    final = Path(final)
    token = secrets.token_hex(4)
    owner = f"{os.getpid()}@{host()}" if shared else str(os.getpid())
    return final.with_name(f".{final.stem}{TEMP_MARK}{owner}-{token}{final.suffix}")


def temp_owner(path: Path) -> int | None:
    """The pid that wrote a temp file named by `temp_path_for`, or None if it is not one, or one
    another machine wrote (its pid means nothing here)."""
    match = _TEMP_RE.match(Path(path).name)
    if match is None or match.group(2) not in (None, host()):
        return None
    return int(match.group(1))


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (a temp file of a live writer is never removed)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fsync_path(path: Path) -> None:
    """Flush a file's content to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries to disk so a rename survives a power cut (no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def publish(tmp: Path, final: Path, durable: bool = True) -> None:
    """Move a finished temp file into place with `os.replace`: whole or not at all, even if the
    process is killed. `durable` also fsyncs the file before and the folder after, so it survives
    a power cut too (about 0.25 s per fsync on a slow disk): for what the user keeps (the video),
    not for what seqc can verify or rebuild (cache entries, memo, run records, leases)."""
    if durable:
        fsync_path(tmp)
    os.replace(tmp, final)
    if durable:
        fsync_dir(Path(final).parent)


@contextlib.contextmanager
def atomic_path(final: Path, durable: bool = True) -> Iterator[Path]:
    """Yield a temp path beside `final`; publish it if the block succeeds, delete it otherwise."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(final)
    try:
        yield tmp
        publish(tmp, final, durable)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def atomic_write_bytes(final: Path, data: bytes, durable: bool = True) -> None:
    """Write `data` to `final` atomically (and durably, unless `durable` is False)."""
    with atomic_path(final, durable) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)


def sync_files(paths: list[Path]) -> None:
    """Flush these files (and their folders' entries) to disk: one `sync()` where the system has
    it, else an fsync per file and folder."""
    if not paths:
        return
    if hasattr(os, "sync"):
        os.sync()
        return
    for path in paths:
        with contextlib.suppress(OSError):
            fsync_path(path)
    for folder in {Path(p).parent for p in paths}:
        fsync_dir(folder)


def remove_dead_temps_of(final: Path) -> list[Path]:
    """Delete the temp files `temp_path_for(final)` made whose writer process is gone.

    Only names of exactly that pattern beside `final` are touched (for a user's output folder,
    where `remove_dead_temps` would be too broad); a live writer's temp file is left alone.
    """
    final = Path(final)
    removed: list[Path] = []
    prefix = f".{final.stem}{TEMP_MARK}"
    try:
        names = [entry.name for entry in os.scandir(final.parent) if entry.name.startswith(prefix)]
    except (FileNotFoundError, NotADirectoryError):
        return removed
    for name in names:
        path = final.parent / name
        pid = temp_owner(path)
        if pid is None or pid_alive(pid) or path.suffix != final.suffix:
            continue
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            path.unlink()
            removed.append(path)
    return removed


def remove_dead_temps(folder: Path, recursive: bool = True) -> list[Path]:
    """Delete temp files in `folder` whose writer process is gone; return what was removed."""
    removed: list[Path] = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    candidates = folder.rglob(f"*{TEMP_MARK}*") if recursive else folder.glob(f"*{TEMP_MARK}*")
    for path in candidates:
        pid = temp_owner(path)
        if pid is None or pid_alive(pid):
            continue
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            path.unlink()
            removed.append(path)
    return removed
