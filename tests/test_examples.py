"""Every example works from a fresh clone: what git tracks is all a storyboard needs.

A generated input (the music example's track was made by a script and ignored by git) passes on a
developer's checkout and fails for a new user; these tests see only the tracked files.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from seqc.spec import load_storyboard
from seqc.watch.events import story_inputs

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(ROOT.glob("examples/*/*.yaml"))  # every storyboard of every example


def tracked(folder: str) -> list[str]:
    """The files git tracks under `folder`, relative to the repository root."""
    out = subprocess.run(["git", "ls-files", "-z", folder], cwd=ROOT, capture_output=True, check=True)
    return [name for name in out.stdout.decode().split("\0") if name]


def test_there_are_examples():
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("story", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_input_of_an_example_is_tracked(story: Path):
    names = set(tracked("examples"))
    for path in story_inputs(load_storyboard(story)):
        assert path.resolve().relative_to(ROOT).as_posix() in names, f"{path} is not committed"


def test_examples_validate_from_the_tracked_files_alone(tmp_path: Path):
    for name in tracked("examples"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tmp_path / name)
    stories = sorted(str(p) for p in tmp_path.glob("examples/*/*.yaml"))
    assert len(stories) == len(EXAMPLES)
    done = subprocess.run([sys.executable, "-m", "seqc", "validate", *stories], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": ok:") == len(EXAMPLES)
