"""A reader that goes away (`seqc plan --all | head -1`) ends every command quietly with status 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from renderkit import write_image


@pytest.fixture(scope="module")
def long_board(tmp_path_factory) -> Path:
    """2,000 segments between two keyframes: a plan table far longer than a pipe's buffer."""
    folder = tmp_path_factory.mktemp("pipes")
    write_image(folder / "a.png", 1)
    write_image(folder / "b.png", 2)
    rows = "".join("  - {from: a, to: b, frames: 1}\n  - {from: b, to: a, frames: 1}\n" for _ in range(1000))
    story = folder / "story.yaml"
    story.write_text("version: 1\noutput: {size: [64, 64], fps: 8}\n"
                     "keyframes:\n  a: {image: a.png}\n  b: {image: b.png}\nsegments:\n" + rows)
    return story


@pytest.mark.parametrize("args", [
    ("plan", "--all"), ("plan", "--json"), ("validate",), ("validate", "--format", "json"), ("schema",),
    ("cache", "ls"),
], ids=lambda a: " ".join(a))
def test_a_closed_pipe_ends_quietly_with_status_0(long_board, args):
    command = [sys.executable, "-m", "seqc", *args]
    if args[0] in ("plan", "validate"):
        command = [sys.executable, "-m", "seqc", args[0], str(long_board), *args[1:]]
    if args[0] in ("plan", "cache"):
        command += ["--cache-dir", str(long_board.parent / "cache")]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=long_board.parent)
    first = proc.stdout.readline()  # read a little, then go away like `head -1`
    proc.stdout.close()
    _, stderr = proc.communicate(timeout=120)
    assert first  # the command did start printing
    assert proc.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr and b"error" not in stderr.lower(), stderr.decode()
