"""Atomic publishing (seqc/store/atomic.py): pid-stamped temp names beside the final file, publish or
delete, and removing a dead writer's temp files while a live writer's stay."""

from __future__ import annotations

import os
import subprocess

import pytest

from seqc.store import atomic


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_temp_path_is_beside_the_final_file_and_names_its_writer(tmp_path):
    final = tmp_path / "out" / "video.mp4"
    first, second = atomic.temp_path_for(final), atomic.temp_path_for(final)
    assert first != second  # a random token each time
    for tmp in (first, second):
        assert tmp.parent == final.parent and tmp.suffix == ".mp4"  # ffmpeg picks the muxer by suffix
        assert tmp.name.startswith(f".video{atomic.TEMP_MARK}{os.getpid()}-")
        assert atomic.temp_owner(tmp) == os.getpid()
    assert atomic.temp_owner(atomic.temp_path_for(tmp_path / "noext")) == os.getpid()


def test_a_shared_folders_temp_names_its_host_too(tmp_path):
    """A folder other machines write (a file:// remote on NFS): only the writer's host judges its pid."""
    shared = atomic.temp_path_for(tmp_path / "record.json", shared=True)
    assert shared.name.startswith(f".record{atomic.TEMP_MARK}{os.getpid()}@{atomic.host()}-")
    assert shared.suffix == ".json" and atomic.temp_owner(shared) == os.getpid()
    assert atomic.temp_owner(tmp_path / f".record{atomic.TEMP_MARK}1@other-host-0123abcd.json") is None


@pytest.mark.parametrize("name", [
    "video.mp4", ".video.mp4", f"video{atomic.TEMP_MARK}123-0123abcd.mp4",  # not hidden
    f".video{atomic.TEMP_MARK}123-0123abc.mp4", f".video{atomic.TEMP_MARK}x-0123abcd.mp4",
    f".video{atomic.TEMP_MARK}123-0123ABCD.mp4",
])
def test_temp_owner_is_none_for_other_names(tmp_path, name):
    assert atomic.temp_owner(tmp_path / name) is None


def test_pid_alive():
    assert atomic.pid_alive(os.getpid())
    assert not atomic.pid_alive(dead_pid())
    assert not atomic.pid_alive(0) and not atomic.pid_alive(-1)


def test_atomic_path_publishes_on_success_and_deletes_on_failure(tmp_path):
    final = tmp_path / "new" / "data.bin"
    with atomic.atomic_path(final) as tmp:
        assert tmp.parent == final.parent and final.parent.is_dir()
        tmp.write_bytes(b"whole")
        assert not final.exists()  # nothing is visible before the block ends
    assert final.read_bytes() == b"whole"
    with pytest.raises(KeyError):
        with atomic.atomic_path(final) as tmp:
            tmp.write_bytes(b"half")
            raise KeyError("boom")
    assert final.read_bytes() == b"whole"  # the old file is untouched
    assert sorted(p.name for p in final.parent.iterdir()) == ["data.bin"]


def test_atomic_write_bytes_replaces_the_file(tmp_path):
    final = tmp_path / "f.json"
    final.write_bytes(b"old")
    inode = final.stat().st_ino
    atomic.atomic_write_bytes(final, b"new")
    assert final.read_bytes() == b"new"
    assert final.stat().st_ino != inode  # replaced by a rename, never rewritten in place
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_remove_dead_temps_of_touches_only_that_files_dead_temps(tmp_path):
    final = tmp_path / "video.mp4"
    dead = dead_pid()
    dead_temp = tmp_path / f".video{atomic.TEMP_MARK}{dead}-0123abcd.mp4"
    live_temp = atomic.temp_path_for(final)
    other_suffix = tmp_path / f".video{atomic.TEMP_MARK}{dead}-0123abcd.mkv"
    other_file = tmp_path / f".clip{atomic.TEMP_MARK}{dead}-0123abcd.mp4"
    user_file = tmp_path / f".video{atomic.TEMP_MARK}notes.mp4"
    for path in (dead_temp, live_temp, other_suffix, other_file, user_file):
        path.write_bytes(b"x")
    assert atomic.remove_dead_temps_of(final) == [dead_temp]
    assert not dead_temp.exists()
    assert all(p.exists() for p in (live_temp, other_suffix, other_file, user_file))
    assert atomic.remove_dead_temps_of(tmp_path / "missing" / "video.mp4") == []


def test_remove_dead_temps_in_a_folder(tmp_path):
    dead = dead_pid()
    top = tmp_path / f".a{atomic.TEMP_MARK}{dead}-0123abcd.mp4"
    deep = tmp_path / "ab" / f".b{atomic.TEMP_MARK}{dead}-0123abcd.json"
    live = atomic.temp_path_for(tmp_path / "ab" / "c.mp4")
    stray = tmp_path / f"notes{atomic.TEMP_MARK}1.txt"  # has the mark, but no writer's pid
    deep.parent.mkdir()
    for path in (top, deep, live, stray):
        path.write_bytes(b"x")
    assert atomic.remove_dead_temps(tmp_path, recursive=False) == [top]
    assert deep.exists()
    assert atomic.remove_dead_temps(tmp_path) == [deep]
    assert live.exists() and stray.exists()
    assert atomic.remove_dead_temps(tmp_path / "missing") == []
