"""`seqc init` and git: a first `git add -A` in the new project commits the storyboard, its schema
and keyframes, never the rendered video (out/) or the cache, and a .gitignore the user already
has is kept, with the line added once (issue 24 item 16)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from renderkit import run_seqc

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True, text=True).stdout


def staged_after_add_all(folder: Path) -> list[str]:
    """The files `git add -A` stages in a fresh repository at `folder`, after a render's output
    (a stand-in video file) and cache entries are there."""
    git(folder, "-c", "init.defaultBranch=main", "init", "-q")
    (folder / "out").mkdir(exist_ok=True)
    (folder / "out" / "video.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 a video")
    (folder / "cache" / "clips").mkdir(parents=True, exist_ok=True)
    (folder / "cache" / "clips" / "entry.mp4").write_bytes(b"a clip")
    git(folder, "add", "-A")
    return sorted(git(folder, "ls-files").splitlines())


def test_a_first_git_add_all_commits_the_project_but_not_the_video(tmp_path):
    run_seqc("init", "demo", cwd=tmp_path)
    demo = tmp_path / "demo"
    assert (demo / ".gitignore").read_text() == "out/\n"
    staged = staged_after_add_all(demo)
    assert staged == [".gitignore", "keyframes/dawn.png", "keyframes/dusk.png", "keyframes/night.png",
                      "keyframes/noon.png", "storyboard.schema.json", "storyboard.yaml"]


def test_an_existing_gitignore_keeps_its_lines_and_gets_out_once(tmp_path):
    demo = tmp_path / "demo"
    demo.mkdir()
    (demo / ".gitignore").write_text("*.log\nnode_modules/")  # no newline at the end
    run_seqc("init", "demo", cwd=tmp_path)
    assert (demo / ".gitignore").read_text() == "*.log\nnode_modules/\nout/\n"
    run_seqc("init", "demo", "--force", cwd=tmp_path)  # again: not a second line
    assert (demo / ".gitignore").read_text() == "*.log\nnode_modules/\nout/\n"
    assert "out/video.mp4" not in staged_after_add_all(demo)


def test_a_gitignore_that_already_ignores_out_is_left_as_it_is(tmp_path):
    demo = tmp_path / "demo"
    demo.mkdir()
    (demo / ".gitignore").write_text("/out/\n# mine\n")
    run_seqc("init", "demo", cwd=tmp_path)
    assert (demo / ".gitignore").read_text() == "/out/\n# mine\n"
