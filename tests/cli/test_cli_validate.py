"""`seqc validate` and `seqc init` through the real CLI, in subprocesses.

The bad corpus (tests/data/bad, see its README.md) runs in one `seqc validate A B C ...`
process whose output is parsed per file; a few files also run alone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
EXPECTED: dict[str, list] = json.loads((BAD / "expected.json").read_text())
LINE_RE = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):(?P<column>\d+): (?P<rest>.*)$")



def seqc(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `python -m seqc ARGS` in `cwd`."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    env.pop("SEQC_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "seqc", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def problem_lines(stderr: str) -> dict[str, list[tuple[int, int, str]]]:
    """stderr's `FILE:LINE:COL: rest` lines, grouped by file, in order."""
    found: dict[str, list] = {}
    for line in stderr.splitlines():
        match = LINE_RE.match(line)
        if match:
            found.setdefault(match["file"], []).append((int(match["line"]), int(match["column"]), match["rest"]))
    return found


def errors_only(lines: list) -> list:
    return [entry for entry in lines if not entry[2].startswith("warning: ")]


# ---------------------------------------------------------------------------------------------
# The corpus


def test_corpus_and_expectations_match():
    files = {p.name for p in BAD.glob("*.yaml")}
    assert files == set(EXPECTED), "every corpus file needs an entry in expected.json, and back"
    assert len(files) >= 30
    for name, problems in EXPECTED.items():
        assert problems, name
        assert all(isinstance(line, int) and isinstance(col, int) and fragment
                   for line, col, fragment in problems), name
        assert (BAD / name).read_text().startswith("# yaml-language-server: $schema="), name


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, tiny_vae: Path, bad_image_files: Path) -> Path:
    """A copy of the corpus with `vae` (the tiny model) and `made/` (bad image files) beside it."""
    folder = tmp_path_factory.mktemp("bad-corpus")
    for path in BAD.glob("*.yaml"):
        shutil.copyfile(path, folder / path.name)
    shutil.copytree(BAD / "images", folder / "images")
    (folder / "vae").symlink_to(tiny_vae, target_is_directory=True)
    (folder / "made").symlink_to(bad_image_files, target_is_directory=True)
    return folder


@pytest.fixture(scope="module")
def corpus_run(corpus: Path) -> subprocess.CompletedProcess:
    """One `seqc validate` over the whole corpus."""
    return seqc("validate", *sorted(EXPECTED), cwd=corpus)


def test_corpus_run_exits_2_without_traceback(corpus_run, corpus):
    assert corpus_run.returncode == 2, corpus_run.stderr
    assert "Traceback" not in corpus_run.stderr + corpus_run.stdout
    assert corpus_run.stdout == ""  # no file is valid, so no "ok" summary
    assert set(problem_lines(corpus_run.stderr)) == set(EXPECTED)
    assert not (corpus / "pwned.txt").exists()  # yaml_python_object.yaml ran nothing


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file(name, corpus_run):
    got = errors_only(problem_lines(corpus_run.stderr).get(name, []))
    shown = "\n".join(f"{name}:{line}:{col}: {rest}" for line, col, rest in got)
    for line, col, fragment in EXPECTED[name]:
        assert any((line, col) == (gl, gc) and fragment in rest for gl, gc, rest in got), (
            f"expected {name}:{line}:{col}: ...{fragment}... in:\n{shown}")
    assert len(got) == len(EXPECTED[name]), shown
    assert got == sorted(got, key=lambda entry: entry[:2]), "problems are sorted by position"


@pytest.mark.parametrize("name", [
    "schema_unknown_easing.yaml",
    "yaml_python_object.yaml",
    "meaning_image_fifo.yaml",
])
def test_corpus_file_alone(name, corpus):
    start = time.monotonic()
    run = seqc("validate", name, cwd=corpus, timeout=60)
    assert time.monotonic() - start < 30  # a FIFO keyframe must not block
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if "warning: " not in line]
    assert len(lines) == len(EXPECTED[name])
    for (line, col, fragment), text in zip(EXPECTED[name], lines, strict=True):
        assert text.startswith(f"{name}:{line}:{col}: ") and fragment in text, text


def test_corpus_json_is_the_same_list(corpus, corpus_run):
    run = seqc("validate", "--format", "json", *sorted(EXPECTED), cwd=corpus)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    report = json.loads(run.stdout)
    assert [entry["file"] for entry in report] == sorted(EXPECTED)
    text_lines = problem_lines(corpus_run.stderr)
    for entry in report:
        assert entry["valid"] is False
        rebuilt = []
        for p in entry["problems"]:
            assert set(p) == {"file", "line", "column", "path", "message", "hint", "severity"}
            rest = (f"{p['path']}: " if p["path"] else "") + p["message"] + (f" ({p['hint']})" if p["hint"] else "")
            if p["severity"] == "warning":
                rest = "warning: " + rest
            rebuilt.append((p["line"], p["column"], rest))
        assert rebuilt == text_lines[entry["file"]]


# ---------------------------------------------------------------------------------------------
# Single storyboards


GOOD = """\
version: 1
output: {path: out/video.mp4, size: [64, 48], fps: 12}
model: ./vae
keyframes:
  a: {image: a.png}
  b: {image: b.png}
segments:
  - {from: a, to: b, duration: 1.5}
  - {from: b, to: a, frames: 6, easing: linear}
"""


def test_done_when_a_mistyped_easing_is_one_line_with_a_suggestion(story_dir):
    (story_dir / "s.yaml").write_text(GOOD.replace("easing: linear", "easing: ease-inn"))
    run = seqc("validate", "s.yaml", cwd=story_dir)
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.splitlines() == [
        "s.yaml:9:41: segments[1].easing: unknown easing 'ease-inn' (did you mean 'ease-in'?)"]


def test_valid_storyboard_exits_0_with_a_summary(story_dir):
    (story_dir / "s.yaml").write_text(GOOD)
    run = seqc("validate", "s.yaml", cwd=story_dir)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    # 18 frames (1.5 s x 12 fps) + 6 frames + the final keyframe
    assert run.stdout.strip() == "s.yaml: ok: 2 keyframes, 2 segments, 25 frames, 2.08 s at 12 fps"


def test_a_gap_is_a_warning_and_exit_0(story_dir):
    (story_dir / "s.yaml").write_text(GOOD.replace("{from: b, to: a, frames: 6", "{from: a, to: b, frames: 6"))
    run = seqc("validate", "s.yaml", cwd=story_dir)
    assert run.returncode == 0, run.stderr
    assert run.stderr.splitlines() == [
        "s.yaml:9:12: warning: segments[1].from: starts at 'a' but the previous segment ended at 'b': "
        "the video jumps here (add a segment from 'b' to 'a' for a smooth join)"]
    assert "ok: 2 keyframes" in run.stdout
    run = seqc("validate", "--format", "json", "s.yaml", cwd=story_dir)
    assert run.returncode == 0
    (entry,) = json.loads(run.stdout)
    assert entry["valid"] is True and entry["total_frames"] == 25
    assert [(p["severity"], p["line"], p["column"]) for p in entry["problems"]] == [("warning", 9, 12)]


def test_every_file_is_reported_and_one_bad_file_fails_the_run(story_dir):
    (story_dir / "good.yaml").write_text(GOOD)
    (story_dir / "bad.yaml").write_text(GOOD.replace("to: b, duration", "to: c, duration"))
    run = seqc("validate", "bad.yaml", "good.yaml", "missing.yaml", cwd=story_dir)
    assert run.returncode == 2
    assert "good.yaml: ok:" in run.stdout
    lines = run.stderr.splitlines()
    assert lines[0] == "bad.yaml:8:19: segments[0].to: no keyframe named 'c' (keyframes: a, b)"
    # no "starts at 'b' but the previous segment ended at 'c'" warning: it would build on the typo
    assert lines[1:] == ["missing.yaml:1:1: file not found"]


def test_a_misspelled_name_gets_its_error_and_no_warning_built_on_it(corpus_run):
    """Issue 24 item 10: `from: dusj` was also warned about, with a hint to add a segment to 'dusj'."""
    lines = problem_lines(corpus_run.stderr)["meaning_misspelled_from.yaml"]
    assert [rest for _, _, rest in lines] == ["segments[1].from: no keyframe named 'dusj' (did you mean 'dusk'?)"]


def test_a_warning_that_reads_nothing_broken_stays_beside_an_error(story_dir):
    (story_dir / "s.yaml").write_text(GOOD.replace("to: b, duration: 1.5", "to: b, duration: 0.01").replace(
        "{from: b, to: a", "{from: a, to: a"))
    run = seqc("validate", "s.yaml", cwd=story_dir)
    assert run.returncode == 2
    assert run.stderr.splitlines() == [
        "s.yaml:8:32: segments[0].duration: duration 0.01 s at 12 fps is less than one frame "
        "(use at least 0.0417 s or `frames: 1`)",
        "s.yaml:9:12: warning: segments[1].from: starts at 'a' but the previous segment ended at 'b': "
        "the video jumps here (add a segment from 'b' to 'a' for a smooth join)"]


@pytest.mark.parametrize("value, hint", [
    ("fps: 15", None),
    ("fps: '15'", "remove the quotes: fps: 15"),
    ('fps: "12.5"', "remove the quotes: fps: 12.5"),
])
def test_a_quoted_number_is_told_to_lose_its_quotes(story_dir, value, hint):
    """Issue 24 item 11: `fps: "15"` blamed YAML 1.1 instead of the quotes."""
    (story_dir / "s.yaml").write_text(GOOD.replace("fps: 12", value))
    run = seqc("validate", "s.yaml", cwd=story_dir)
    if hint is None:
        assert run.returncode == 0, run.stderr
        return
    assert run.returncode == 2
    (line,) = run.stderr.splitlines()
    assert line.startswith("s.yaml:2:") and line.endswith(f"output.fps: expected a number, got text "
                                                           f"'{value.split()[1][1:-1]}' ({hint})")


def test_leading_zeros_frames_and_exponents_read_as_the_editor_reads_them(story_dir):
    """Issue 24 items 11 and 12: `frames: 010` was refused with "quote the text" (YAML 1.2, which
    editors read, says 10); `duration: 5e-1` was text to seqc and 0.5 to the editor."""
    (story_dir / "s.yaml").write_text(GOOD.replace("frames: 6", "frames: 010").replace("duration: 1.5", "duration: 5e-1"))
    run = seqc("validate", "--format", "json", "s.yaml", cwd=story_dir)
    assert run.returncode == 0, run.stderr
    (entry,) = json.loads(run.stdout)
    assert entry["total_frames"] == 6 + 10 + 1  # 0.5 s x 12 fps, 10 frames, the last keyframe


def test_a_5000_digit_number_is_one_line_not_a_traceback(story_dir):
    (story_dir / "s.yaml").write_text(GOOD.replace("frames: 6", "frames: " + "9" * 5000))
    run = seqc("validate", "s.yaml", cwd=story_dir)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    (line,) = run.stderr.splitlines()
    assert line.startswith("s.yaml:9:30: segments[1].frames: number '999999999999...' has 5000 digits")


@pytest.mark.parametrize("until, hint", [
    ('"1:75"', 'write it as "2:15": two digits of seconds, below 60'),
    ('"1:5"', 'write it as "1:05": two digits of seconds, below 60'),
    ('"1:30:00"', 'hours are written as minutes: until: "90:00"'),
    ('"3"', "remove the quotes: until: 3"),
    ("-1", "times on the timeline start at 0"),
    ("[1]", 'give seconds (19.5) or "m:ss.s" ("0:19.5")'),
])
def test_until_errors_are_one_seqc_line_with_a_true_hint(story_dir, until, hint):
    """Issue 24 item 19: `until` errors showed jsonschema's text ("... is not valid under any of the
    given schemas")."""
    (story_dir / "s.yaml").write_text(GOOD.replace("duration: 1.5}", f"until: {until}}}"))
    run = seqc("validate", "s.yaml", cwd=story_dir)
    assert run.returncode == 2, run.stderr
    (line,) = run.stderr.splitlines()
    assert line.startswith("s.yaml:8:29: segments[0].until: ") and line.endswith(f" ({hint})"), line
    assert "valid under" not in line and "schemas" not in line


def test_storyboard_files_that_are_not_storyboards(story_dir):
    (story_dir / "folder.yaml").mkdir()
    os.mkfifo(story_dir / "fifo.yaml")  # must not block
    (story_dir / "loop.yaml").symlink_to("loop.yaml")
    (story_dir / "latin1.yaml").write_bytes(b"version: 1\nx: caf\xe9\n")
    run = seqc("validate", "folder.yaml", "fifo.yaml", "loop.yaml", "latin1.yaml", cwd=story_dir, timeout=60)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert run.stderr.splitlines() == [
        "folder.yaml:1:1: not a regular file",
        "fifo.yaml:1:1: not a regular file",
        "loop.yaml:1:1: cannot read: Too many levels of symbolic links",
        "latin1.yaml:2:7: not UTF-8 text: invalid continuation byte (byte 17) (save the file as UTF-8)",
    ]


def test_a_50_mb_storyboard_is_refused_before_it_is_read(story_dir):
    big = story_dir / "big.yaml"
    with open(big, "wb") as fh:  # sparse: 50 MB that were never written
        fh.truncate(50 * 1024 * 1024)
    script = textwrap.dedent(f"""
        import resource, sys, time
        from seqc.errors import SpecError
        from seqc.spec import load_storyboard
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        try:
            load_storyboard({str(big)!r})
        except SpecError as exc:
            print(exc.problems[0].format())
        print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    message, numbers = run.stdout.splitlines()
    assert message.endswith("big.yaml:1:1: file is 52,428,800 bytes, over the 1,000,000-byte limit "
                            "(a storyboard is a small text file)")
    seconds, grew_kb = numbers.split()
    assert float(seconds) < 0.5
    assert int(grew_kb) < 10 * 1024  # far less than the file
    run = seqc("validate", "big.yaml", cwd=story_dir)
    assert run.returncode == 2 and "over the 1,000,000-byte limit" in run.stderr


# ---------------------------------------------------------------------------------------------
# seqc init


def test_init_refuses_to_overwrite_without_force(tmp_path):
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "storyboard.yaml").write_text("mine\n")
    run = seqc("init", "demo", cwd=tmp_path)
    assert run.returncode == 2
    assert "already exists" in run.stderr and "--force" in run.stderr
    assert "Traceback" not in run.stderr
    assert (folder / "storyboard.yaml").read_text() == "mine\n"
    run = seqc("init", "demo", "--force", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (folder / "storyboard.yaml").read_text().startswith("# yaml-language-server: $schema=")


def test_init_writes_a_storyboard_whose_only_dependency_is_the_model(tmp_path, tiny_vae):
    """Whatever the built-in model's state, the scaffold is valid once `model:` names a model."""
    run = seqc("init", "demo", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    story = tmp_path / "demo" / "storyboard.yaml"
    text = story.read_text()
    assert re.search(r"^model: builtin\b", text, re.M)
    json.loads((tmp_path / "demo" / "storyboard.schema.json").read_text())
    story.write_text(re.sub(r"^model: builtin\b", f"model: {tiny_vae}", text, flags=re.M))
    run = seqc("validate", str(story), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "ok: 4 keyframes, 4 segments" in run.stdout


def test_init_validates_at_once(tmp_path):
    run = seqc("init", "demo", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    run = seqc("validate", "demo/storyboard.yaml", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    assert "demo/storyboard.yaml: ok: 4 keyframes, 4 segments" in run.stdout


def test_a_problem_two_segments_share_is_said_once(story_dir):
    """Two segments reading one too-short default find the same problem at the same place: one line."""
    (story_dir / "s.yaml").write_text("version: 1\noutput: {size: [64, 64], fps: 15}\nmodel: ./vae\n"
                                      "defaults: {duration: 0.01}\nkeyframes:\n  a: {image: a.png}\n"
                                      "  b: {image: b.png}\nsegments:\n  - {from: a, to: b}\n  - {from: b, to: a}\n")
    run = seqc("validate", "s.yaml", cwd=story_dir)
    assert run.returncode == 2
    lines = [line for line in (run.stdout + run.stderr).splitlines() if "less than one frame" in line]
    assert len(lines) == 1, run.stdout + run.stderr
