"""`seqc diff` (seqc/inspect/diff.py): the same key inputs as the planner, between two files or
against a git revision."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from renderkit import run_seqc

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"


@pytest.fixture
def project(tmp_path) -> Path:
    target = tmp_path / "p"
    shutil.copytree(GOLDEN, target)
    return target


def diff_json(*args: str, cwd: Path) -> dict:
    return json.loads(run_seqc("diff", *args, "--json", "--cache-dir", str(cwd / "cache"), cwd=cwd).stdout)


def test_identical_files_differ_nowhere(project):
    shutil.copy(project / "storyboard.yaml", project / "new.yaml")
    result = diff_json("storyboard.yaml", "new.yaml", cwd=project)
    assert result["changed"] == 0 and result["frames_to_render"] == 0
    assert [s["reason"] for s in result["segments"]] == ["unchanged"] * 3


def test_edits_are_named_per_segment(project):
    text = (project / "storyboard.yaml").read_text()
    text = text.replace("frames: 3, method: cut", "frames: 5, method: cut").replace("image: a.png", "image: b.png")
    (project / "new.yaml").write_text(text)
    result = diff_json("storyboard.yaml", "new.yaml", cwd=project)
    segs = result["segments"]
    assert segs[0]["changes"] == ["keyframe 'a' image changed"]
    assert segs[1]["changes"] == ["duration changed (3 frames -> 5 frames)"]
    assert segs[2]["changes"] == ["keyframe 'a' image changed"]
    assert result["frames_to_render"] == 12 + 5 + 13


def test_against_a_git_revision(project):
    def git(*args):
        subprocess.run(["git", *args], cwd=project, check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    story = project / "storyboard.yaml"
    story.write_text(story.read_text().replace("method: lerp", "method: slerp"))
    result = diff_json("storyboard.yaml", "--against", "HEAD", cwd=project)
    assert [s["changed"] for s in result["segments"]] == [False, False, True]
    assert result["segments"][2]["changes"] == ["method changed (lerp -> slerp)"]
    bad = run_seqc("diff", "storyboard.yaml", "--against", "no-such-rev", cwd=project, check=False)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_text_output_and_usage_errors(project):
    shutil.copy(project / "storyboard.yaml", project / "new.yaml")
    proc = run_seqc("diff", "storyboard.yaml", "new.yaml", cwd=project)
    assert "0 of 3 segments differ" in proc.stdout
    proc = run_seqc("diff", "storyboard.yaml", cwd=project, check=False)
    assert proc.returncode == 2


def test_extract_without_tarfile_filters_stays_inside_the_folder(tmp_path, monkeypatch):
    """Pythons before 3.10.12 have no extraction filters (`extractall(filter=)` was a TypeError):
    the same refusals are made by hand."""
    import io
    import tarfile

    from seqc.inspect.diff import extract

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in (("story/storyboard.yaml", b"version: 1\n"), ("../evil.txt", b"x"), ("/abs.txt", b"y")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("story/escape")
        link.type, link.linkname = tarfile.SYMTYPE, "../../outside"
        tar.addfile(link)
    monkeypatch.delattr(tarfile, "data_filter", raising=False)
    target = tmp_path / "out"
    target.mkdir()
    with tarfile.open(fileobj=io.BytesIO(buffer.getvalue())) as tar:
        extract(tar, target)
    assert (target / "story" / "storyboard.yaml").read_bytes() == b"version: 1\n"
    assert not (tmp_path / "evil.txt").exists() and not (target / "story" / "escape").is_symlink()
    assert not (target / "abs.txt").exists() and not __import__("os").path.exists("/abs.txt")
