"""End to end: `--remote` and `seqc cache push|pull` in subprocesses, on moto's S3 server on
127.0.0.1 and on a local folder (file://), with the built-in model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from remotekit import BUCKET, closed_port, s3_env, s3fs_for, tiny_story
from renderkit import REPO, run_seqc

SEGMENTS = 3
ENTRIES = 8  # 3 segments + the final frame's clip, 4 keyframe latents


def render(story: Path, cache: Path, *extra: str, env: dict | None = None) -> tuple[dict, str]:
    """`seqc render --json`: the result and stderr."""
    proc = run_seqc("render", str(story), "--cache-dir", str(cache), "--json", *extra, env=env)
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


def errors(proc: subprocess.CompletedProcess) -> list[str]:
    """stderr's lines, without the storyboard's warnings."""
    return [line for line in proc.stderr.splitlines() if line.strip() and ": warning:" not in line]


def records(endpoint: str, prefix: str) -> dict[str, list[str]]:
    """The remote's objects by kind: commit records and content objects (names relative to the prefix)."""
    fs = s3fs_for(endpoint)
    names = [path.split(f"{BUCKET}/{prefix}/", 1)[1] for path in fs.find(f"{BUCKET}/{prefix}")]
    return {"records": sorted(n for n in names if n.endswith(".json") and n.count("/") == 2),
            "content": sorted(n for n in names if n.count("/") == 3)}


@pytest.fixture(scope="module")
def machine_a(tmp_path_factory, s3_endpoint):
    """The first machine: renders the storyboard with --remote s3://..., pushing every entry.
    Returns (folder, story, cache, the output's bytes, the remote URL, the result)."""
    folder = tmp_path_factory.mktemp("machine-a")
    story = tiny_story(folder)
    url = f"s3://{BUCKET}/team-{uuid.uuid4().hex[:8]}"
    result, _ = render(story, folder / "cache", "--remote", url, env=s3_env(s3_endpoint))
    output = Path(result["output"]).read_bytes()
    return folder, story, folder / "cache", output, url, result


def fresh(machine_a, tmp_path: Path) -> tuple[Path, Path]:
    """A second machine: the same project files, no cache, no output."""
    folder = tmp_path / "machine-b"
    shutil.copytree(machine_a[0], folder, ignore=shutil.ignore_patterns("cache", "out"))
    return folder / "story.yaml", folder / "cache"


# -- S3: a teammate's render reuses the clips -------------------------------------------------

@pytest.mark.slow
def test_the_first_machine_pushes_everything(machine_a, s3_endpoint):
    result = machine_a[5]
    assert result["rendered"] == SEGMENTS and result["fetched"] == 0 and result["pushed"] == ENTRIES
    prefix = machine_a[4].split(f"{BUCKET}/", 1)[1]
    objects = records(s3_endpoint, prefix)
    assert len(objects["records"]) == ENTRIES and len(objects["content"]) == ENTRIES


@pytest.mark.slow
def test_a_second_machine_renders_nothing_the_remote_holds(machine_a, s3_endpoint, tmp_path):
    story, cache = fresh(machine_a, tmp_path)
    env = {**s3_env(s3_endpoint), "SEQC_REMOTE": machine_a[4]}  # the variable, as a team sets it
    result, _ = render(story, cache, env=env)
    assert result["rendered"] == 0 and result["rendered_final_frame"] is False
    assert result["fetched"] == SEGMENTS and result["cached"] == SEGMENTS and result["pushed"] == 0
    assert Path(result["output"]).read_bytes() == machine_a[3]  # byte-identical video
    assert "0 bad" in run_seqc("cache", "verify", "--cache-dir", str(cache)).stdout
    # Again: everything is local now; nothing fetched, nothing rendered.
    again, _ = render(story, cache, env=env)
    assert again["rendered"] == 0 and again["fetched"] == 0


@pytest.mark.slow
def test_a_corrupted_remote_clip_is_detected_not_used_and_rendered_again(machine_a, s3_endpoint, tmp_path):
    env = s3_env(s3_endpoint)
    url = f"s3://{BUCKET}/corrupt-{uuid.uuid4().hex[:8]}"
    pushed = run_seqc("cache", "push", str(machine_a[1]), "--cache-dir", str(machine_a[2]), "--remote", url, env=env)
    assert f"pushed {ENTRIES} of {ENTRIES} entries" in pushed.stdout
    prefix = url.split(f"{BUCKET}/", 1)[1]
    fs = s3fs_for(s3_endpoint)
    clip = next(n for n in records(s3_endpoint, prefix)["content"] if n.startswith("clips/"))
    path = f"{BUCKET}/{prefix}/{clip}"
    good = fs.cat_file(path)
    fs.pipe_file(path, good[:100] + bytes([good[100] ^ 0xFF]) + good[101:])  # one flipped byte
    story, cache = fresh(machine_a, tmp_path)
    result, stderr = render(story, cache, "--remote", url, env=env)
    assert "is bad" in stderr and "not used" in stderr
    assert result["rendered"] + result["rendered_final_frame"] == 1  # that clip alone
    assert result["fetched"] == SEGMENTS - result["rendered"]
    assert Path(result["output"]).read_bytes() == machine_a[3]
    assert result["pushed"] >= 1  # the bad entry was removed there and committed again
    healed, _ = render(*fresh(machine_a, tmp_path / "d"), "--remote", url, env=env)
    assert healed["rendered"] == 0 and healed["fetched"] == SEGMENTS


@pytest.mark.slow
def test_two_machines_rendering_at_once_commit_each_entry_once(machine_a, s3_endpoint, tmp_path):
    env = {**os.environ, **s3_env(s3_endpoint), "COLUMNS": "200"}
    url = f"s3://{BUCKET}/race-{uuid.uuid4().hex[:8]}"
    projects = [fresh(machine_a, tmp_path / name) for name in ("one", "two")]
    procs = [subprocess.Popen([sys.executable, "-m", "seqc", "render", str(story), "--cache-dir", str(cache),
                               "--json", "--remote", url], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for story, cache in projects]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert sum(r["pushed"] for r in results) == ENTRIES  # each entry committed by exactly one of them
    objects = records(s3_endpoint, url.split(f"{BUCKET}/", 1)[1])
    assert len(objects["records"]) == ENTRIES  # one commit record per entry
    for (_, cache), result in zip(projects, results, strict=True):
        assert Path(result["output"]).read_bytes() == machine_a[3]
        assert "0 bad" in run_seqc("cache", "verify", "--cache-dir", str(cache)).stdout
    third, _ = render(*fresh(machine_a, tmp_path / "three"), "--remote", url, env=s3_env(s3_endpoint))
    assert third["rendered"] == 0 and third["fetched"] == SEGMENTS


# -- a remote that fails during the render ---------------------------------------------------

@pytest.mark.slow
def test_a_failing_remote_falls_back_to_rendering_locally(machine_a, tmp_path):
    share = tmp_path / "share"
    share.mkdir()
    run_seqc("cache", "push", str(machine_a[1]), "--cache-dir", str(machine_a[2]), "--remote", f"file://{share}")
    (share / "clips.broken").mkdir()
    (share / "clips").rename(share / "clips.broken" / "clips")
    (share / "clips").write_text("not a folder: every read and write of a clip fails")
    story, cache = fresh(machine_a, tmp_path)
    result, stderr = render(story, cache, "--remote", f"file://{share}")
    assert "failed" in stderr and "rendering locally" in stderr
    assert result["rendered"] == SEGMENTS and result["fetched"] == 0
    assert Path(result["output"]).read_bytes() == machine_a[3]
    assert "0 bad" in run_seqc("cache", "verify", "--cache-dir", str(cache)).stdout


# -- seqc cache push | pull --------------------------------------------------------------------

@pytest.mark.slow
def test_cache_push_and_pull_move_one_storyboards_entries(machine_a, tmp_path):
    share = tmp_path / "share"
    share.mkdir()
    url = f"file://{share}"
    story_a, cache_a = str(machine_a[1]), str(machine_a[2])
    first = run_seqc("cache", "push", story_a, "--cache-dir", cache_a, "--remote", url)
    assert f"pushed {ENTRIES} of {ENTRIES} entries" in first.stdout and "0 not in the local cache" in first.stdout
    second = run_seqc("cache", "push", story_a, "--cache-dir", cache_a, "--remote", url)
    assert f"pushed 0 of {ENTRIES} entries" in second.stdout and f"{ENTRIES} were there already" in second.stdout
    story, cache = fresh(machine_a, tmp_path)
    pulled = run_seqc("cache", "pull", str(story), "--cache-dir", str(cache), env={"SEQC_REMOTE": url})
    assert f"pulled {ENTRIES} of {ENTRIES} entries" in pulled.stdout
    result, _ = render(story, cache, "--remote", "")  # no remote: all local now
    assert result["rendered"] == 0 and Path(result["output"]).read_bytes() == machine_a[3]
    empty = tmp_path / "empty"
    empty.mkdir()
    story2, cache2 = fresh(machine_a, tmp_path / "c")
    missing = run_seqc("cache", "pull", str(story2), "--cache-dir", str(cache2), "--remote", f"file://{empty}")
    assert f"pulled 0 of {ENTRIES} entries" in missing.stdout and f"{ENTRIES} not on the remote" in missing.stdout


@pytest.mark.slow
def test_a_no_op_render_with_a_remote_loads_no_remote_code(machine_a, s3_endpoint):
    story, cache = machine_a[1], machine_a[2]
    env = {**os.environ, **s3_env(s3_endpoint), "SEQC_REMOTE": machine_a[4]}
    args = ["render", str(story), "--cache-dir", str(cache), "--json"]
    subprocess.run([sys.executable, "-m", "seqc", *args], env=env, check=True, capture_output=True)  # stamps
    code = ("import sys\nfrom seqc.cli.main import main\ncode = main(sys.argv[1:])\n"
            "print('REMOTE', 'fsspec' in sys.modules, 's3fs' in sys.modules, file=sys.stderr)\nsys.exit(code)")
    proc = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=True)
    assert "REMOTE False False" in proc.stderr
    assert json.loads(proc.stdout)["rendered"] == 0


# -- bad configuration: one line, before anything renders, nothing written ----------------------

def untouched(folder: Path) -> None:
    assert not (folder / "cache").exists()
    assert not (folder / "out").exists()


@pytest.fixture
def project(tmp_path) -> tuple[Path, Path]:
    return tmp_path, tiny_story(tmp_path)


@pytest.mark.parametrize("command", ["render", "watch", "preview", "analyze"])
def test_an_unknown_scheme_is_exit_2_in_one_line(project, command):
    folder, story = project
    extra = ["-o", str(folder / "out" / "sheet.png")] if command == "preview" else []
    proc = run_seqc(command, str(story), "--cache-dir", str(folder / "cache"), "--remote", "ftp://host/x", *extra,
                    check=False, timeout=60)
    assert proc.returncode == 2
    assert len(errors(proc)) == 1 and "unknown scheme ftp://" in proc.stderr and "Traceback" not in proc.stderr
    untouched(folder)


def test_an_unknown_scheme_in_seqc_remote_is_refused_too(project):
    folder, story = project
    proc = run_seqc("render", str(story), "--cache-dir", str(folder / "cache"), env={"SEQC_REMOTE": "bucket/x"},
                    check=False, timeout=60)
    assert proc.returncode == 2 and len(errors(proc)) == 1 and "expects a URL" in proc.stderr
    untouched(folder)


def test_an_unreachable_endpoint_is_exit_1_in_one_line(project):
    folder, story = project
    env = {**s3_env(f"http://127.0.0.1:{closed_port()}")}
    started = time.monotonic()
    proc = run_seqc("render", str(story), "--cache-dir", str(folder / "cache"), "--remote", f"s3://{BUCKET}/x",
                    env=env, check=False, timeout=120)
    assert proc.returncode == 1
    assert len(errors(proc)) == 1 and "cannot reach the store" in proc.stderr and "Traceback" not in proc.stderr
    assert time.monotonic() - started < 60
    untouched(folder)


def test_missing_credentials_are_exit_1_in_one_line(project, s3_endpoint):
    folder, story = project
    env = {**os.environ, **s3_env(s3_endpoint), "COLUMNS": "200"}
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    proc = subprocess.run([sys.executable, "-m", "seqc", "render", str(story), "--cache-dir", str(folder / "cache"),
                           "--remote", f"s3://{BUCKET}/x"], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 1 and len(errors(proc)) == 1 and "no credentials" in proc.stderr
    untouched(folder)


def test_a_missing_extra_names_it_in_one_line(project):
    folder, story = project
    code = ("import sys\nsys.modules['fsspec'] = None  # as if seqc[remote] were not installed\n"
            "from seqc.cli.main import main\nsys.exit(main(sys.argv[1:]))")
    proc = subprocess.run([sys.executable, "-c", code, "render", str(story), "--cache-dir", str(folder / "cache"),
                           "--remote", "s3://bucket/prefix"], capture_output=True, text=True, timeout=60,
                          cwd=REPO, env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 2
    assert len(errors(proc)) == 1 and "pip install 'seqc[remote]'" in proc.stderr
    untouched(folder)


def test_cache_push_without_a_remote_says_how_to_name_one(project):
    folder, story = project
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("SEQC_REMOTE", None)
    proc = subprocess.run([sys.executable, "-m", "seqc", "cache", "push", str(story), "--cache-dir",
                           str(folder / "cache")], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 2 and "--remote URL or set SEQC_REMOTE" in proc.stderr
