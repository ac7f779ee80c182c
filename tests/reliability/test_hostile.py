"""Hostile input: every case is refused with exit 2, quickly, in little memory, before torch or ffmpeg.

Each case runs `seqc validate` and `seqc render` in its own subprocess through a small wrapper
that times `seqc.cli.main` and reports whether torch or diffusers got imported; the peak memory
is the child's own `ru_maxrss` from `os.wait4`. ffmpeg is replaced by a spy script (through
IMAGEIO_FFMPEG_EXE) that records every call before running the real one. Figures: `-s`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image
from reliabilitykit import REPO, storyboard

from seqc import media

pytestmark = pytest.mark.slow  # real renders in subprocesses: run with the full suite, not the inner loop

WRAPPER = """\
import json, sys, time
t0 = time.perf_counter()
import seqc.cli.main
import seqc.cli.commands.render, seqc.spec  # what every command imports anyway: time the refusal, not imports
t1, c1 = time.perf_counter(), time.process_time()
try:
    rc = seqc.cli.main.main(sys.argv[2:])
except SystemExit as exc:
    rc = exc.code if isinstance(exc.code, int) else 2
t2, c2 = time.perf_counter(), time.process_time()
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")]
with open(sys.argv[1], "w") as fh:
    json.dump({"rc": rc, "import_s": t1 - t0, "main_s": t2 - t1, "main_cpu_s": c2 - c1,
               "hwm_mb": int(hwm[0].split()[1]) / 1024 if hwm else 0.0,
               "torch": "torch" in sys.modules, "diffusers": "diffusers" in sys.modules}, fh)
sys.exit(rc)
"""

MAX_SECONDS = 1.0
MAX_RSS_MB = 100

BASE = """\
version: 1
output: {path: out/video.mp4, size: [32, 32], fps: 12}
model: ./vae
keyframes:
  a: {image: a.png}
  b: {image: B}
segments:
  - {from: a, to: b, frames: 4}
"""


def alias_bomb(levels: int = 9) -> str:
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        refs = ",".join([f"*l{i - 1}"] * 9)
        lines.append(f"l{i}: &l{i} [{refs}]")
    return "\n".join(lines) + "\n"


def yaml_cases() -> dict[str, str]:
    base = BASE.replace("B", "b.png")
    return {
        "python_object_apply": base + "defaults: !!python/object/apply:os.system ['touch PWNED']\n",
        "python_object_new": base + "defaults: !!python/object/new:os.system ['touch PWNED']\n",
        "python_name": base + "defaults: !!python/name:os.system\n",
        "python_module": base + "defaults: !!python/module:os\n",
        "custom_tag": base + "defaults: !include /etc/passwd\n",
        "alias_bomb_9_levels": alias_bomb() + base,
        "duplicate_keys": base + "output: {path: other.mp4, size: [32, 32], fps: 12}\n",
        "nan": base.replace("fps: 12", "fps: .nan"),
        "inf": base.replace("fps: 12", "fps: .inf"),
        "sexagesimal_duration": base.replace("frames: 4", "duration: 1:30"),
        "deep_nesting": base + "notes: " + "[" * 5000 + "]" * 5000 + "\n",
        "budget": base.replace("size: [32, 32], fps: 12", "size: [4096, 4096], fps: 240").replace(
            "frames: 4", "duration: 60"),
        "pickle_bin": base.replace("./vae", "./vae-bin"),
        "pickle_ckpt": base.replace("./vae", "./vae-ckpt"),
        "pickle_pt": base.replace("./vae", "./vae-pt"),
    }


IMAGE_CASES = {
    "fifo": "fifo.png", "dev_zero": "/dev/zero", "directory": "folder.png", "symlink_loop": "loop.png",
    "not_an_image": "not-an-image.png", "truncated_png": "truncated.png", "bomb_header_20000": "bomb.png",
    "bomb_real_20000x20000": "bomb-1bit.png",
}
OUTPUT_CASES = {"output_is_storyboard": "storyboard.yaml", "output_is_keyframe": "a.png",
                "output_in_cache": "cache/x.mp4"}


@pytest.fixture(scope="module")
def spy(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("ffmpeg-spy")
    log = folder / "calls.log"
    script = folder / "ffmpeg"
    script.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexec {media.ffmpeg_exe()} "$@"\n')
    script.chmod(0o755)
    return script, log


def make_case(root: Path, name: str, text: str, tiny_vae: Path, bad_images: Path) -> Path:
    folder = root / name
    folder.mkdir()
    Image.new("RGB", (32, 32), (200, 10, 10)).save(folder / "a.png")
    Image.new("RGB", (32, 32), (10, 10, 200)).save(folder / "b.png")
    (folder / "vae").symlink_to(tiny_vae, target_is_directory=True)
    for suffix in ("bin", "ckpt", "pt"):
        model = folder / f"vae-{suffix}"
        model.mkdir()
        shutil.copyfile(tiny_vae / "config.json", model / "config.json")
        (model / f"diffusion_pytorch_model.{suffix}").write_bytes(b"\x80\x04pickle that would run code")
    (folder / "made").symlink_to(bad_images, target_is_directory=True)
    story = folder / "storyboard.yaml"
    if name == "file_50mb":
        with open(story, "w") as fh:
            fh.write(BASE.replace("B", "b.png"))
            fh.write(("# " + "x" * 1021 + "\n") * (50 * 1024))
    else:
        story.write_text(text)
    return story


def run_case(story: Path, argv: list[str], spy_exe: Path, tag: str) -> dict:
    report = story.parent / f"report-{tag}.json"
    wrapper = story.parent / "wrapper.py"
    wrapper.write_text(WRAPPER)
    env = {**os.environ, "IMAGEIO_FFMPEG_EXE": str(spy_exe), "NO_COLOR": "1", "COLUMNS": "200"}
    env.pop("SEQC_DEBUG", None)
    with open(story.parent / f"{tag}.out", "wb") as out, open(story.parent / f"{tag}.err", "wb") as err:
        proc = subprocess.Popen([sys.executable, str(wrapper), str(report), *argv], cwd=story.parent, env=env,
                                stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    result = json.loads(report.read_text())
    result.update(exit=proc.returncode, rss_mb=usage.ru_maxrss / 1024,
                  stderr=(story.parent / f"{tag}.err").read_text(errors="replace"))
    return result


@pytest.fixture(scope="module")
def hostile_results(tmp_path_factory, tiny_vae, bad_image_files, spy) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("hostile")
    spy_exe, _ = spy
    jobs = []
    texts = {**yaml_cases(), "file_50mb": ""}
    for name, target in IMAGE_CASES.items():
        texts[f"image_{name}"] = BASE.replace("B", target if target.startswith("/") else f"made/{target}")
    for name, text in texts.items():
        story = make_case(root, name, text, tiny_vae, bad_image_files)
        jobs.append((name, story, ["validate", "storyboard.yaml"], "validate"))
        jobs.append((name, story, ["render", "storyboard.yaml", "--cache-dir", "cache"], "render"))
    for name, target in OUTPUT_CASES.items():
        story = make_case(root, name, BASE.replace("B", "b.png"), tiny_vae, bad_image_files)
        jobs.append((name, story, ["render", "storyboard.yaml", "--cache-dir", "cache", "-o", target], "render"))
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {(name, tag): pool.submit(run_case, story, argv, spy_exe, tag) for name, story, argv, tag in jobs}
    results = {f"{name}/{tag}": future.result() for (name, tag), future in futures.items()}
    for key, result in results.items():
        result["folder"] = str(root / key.split("/")[0])
    if os.environ.get("SEQC_RELIABILITY_REPORT"):
        Path(os.environ["SEQC_RELIABILITY_REPORT"]).write_text(json.dumps(results, indent=1))
    worst = {k: max(r[k] for r in results.values()) for k in ("main_s", "main_cpu_s", "rss_mb", "hwm_mb", "import_s")}
    print(f"\nhostile input: {len(results)} runs, worst {json.dumps({k: round(v, 3) for k, v in worst.items()})}")
    for key, result in sorted(results.items()):
        first = result["stderr"].strip().splitlines()[:1]
        print(f"  {key}: exit {result['exit']}, main {result['main_s']:.3f} s (cpu {result['main_cpu_s']:.3f}),"
              f" peak {result['hwm_mb']:.0f} MB (ru_maxrss {result['rss_mb']:.0f}): {first[0][:150] if first else ''}")
    return results


def case_keys() -> list[str]:
    names = [*yaml_cases(), "file_50mb", *(f"image_{n}" for n in IMAGE_CASES)]
    return [f"{n}/{t}" for n in names for t in ("validate", "render")] + [f"{n}/render" for n in OUTPUT_CASES]


@pytest.mark.parametrize("key", case_keys())
def test_hostile_input_is_refused_early(hostile_results, spy, key):
    result = hostile_results[key]
    folder = Path(result["folder"])
    assert result["exit"] == 2, result["stderr"]
    assert "Traceback" not in result["stderr"] and result["stderr"].strip()
    assert not result["torch"] and not result["diffusers"], "a model library was imported"
    # CPU time of the refusal; wall time is printed (this machine is shared and loaded).
    assert result["main_cpu_s"] < MAX_SECONDS
    # ru_maxrss from wait4 keeps the high-water mark inherited from pytest at fork time on Linux,
    # so the limit is checked on the process's own peak (VmHWM, reset by exec); both are printed.
    assert 0 < result["hwm_mb"] < MAX_RSS_MB
    assert not (folder / "PWNED").exists()
    assert not (folder / "out").exists(), "an output was written"
    cache = folder / "cache"
    # Nothing in the cache at all: no entry, no temp file, no memo, no lock (an `-o` refusal
    # comes before planning).
    written = sorted(p.name for p in cache.rglob("*")) if cache.exists() else []
    assert written == [], written
    calls = spy[1].read_text() if spy[1].exists() else ""
    assert str(folder) not in calls, "ffmpeg ran"


def test_figures_in_the_messages(hostile_results):
    assert "safetensors" in hostile_results["pickle_bin/render"]["stderr"]
    for suffix in ("bin", "ckpt", "pt"):
        assert f".{suffix}" in hostile_results[f"pickle_{suffix}/validate"]["stderr"]
    budget = hostile_results["budget/validate"]["stderr"]
    assert re.search(r"\d{3,}", budget.replace(",", "")), budget  # the computed figure is shown
    assert "storyboard" in hostile_results["output_is_storyboard/render"]["stderr"]
    assert "keyframe" in hostile_results["output_is_keyframe/render"]["stderr"]
    assert "cache" in hostile_results["output_in_cache/render"]["stderr"]


def test_no_code_path_unpickles_weights():
    source = {p: p.read_text() for p in (REPO / "seqc").rglob("*.py")}
    assert not [p for p, text in source.items() if re.search(r"torch\s*\.\s*load\s*\(|\bpickle\b\.load", text)]
    calls = [(p, m) for p, text in source.items()
             for m in re.finditer(r"from_pretrained\((?:[^()]|\([^()]*\))*\)", text, re.S)]
    assert calls, "expected from_pretrained calls in seqc/backends"
    for path, match in calls:
        if source[path][: match.start()].endswith("Tokenizer."):
            continue  # a tokenizer is its vocabulary files (JSON and text): it has no weights to unpickle
        if "use_safetensors=True" not in match.group(0):
            line = source[path][: match.start()].count("\n") + 1
            # only prose (docstrings, messages) may name it without the flag
            prefix = source[path][: match.start()].rsplit("\n", 1)[-1]
            assert "." in prefix and ('"' in prefix or "`" in prefix or prefix.strip().startswith("Convert")), \
                f"{path}:{line}: from_pretrained without use_safetensors=True"


HOSTILE_NAMES = ["-y.png", "concat:a.png|b.png", "file:x.png"]


@pytest.mark.slow
def test_ffmpeg_never_reads_hostile_file_names_as_options(forkserver, tiny_vae, tmp_path):
    story = storyboard(tmp_path, tiny_vae, keyframes=3, frames=4, names=HOSTILE_NAMES)
    cache = tmp_path / "cache"
    before = set(os.listdir(tmp_path))
    for name in ["concat:a.mp4|b.mp4", "-y.mp4", "file:x.mp4"]:
        child = forkserver.run("render", str(story), "--cache-dir", str(cache), "--json", f"--output={name}",
                               cwd=tmp_path)
        assert child.rc == 0, child.err()
        assert (tmp_path / name).is_file()
        assert media.count_frames(tmp_path / name) == 2 * 4 + 1
    made = set(os.listdir(tmp_path)) - before
    assert made == {"cache", "concat:a.mp4|b.mp4", "-y.mp4", "file:x.mp4"}, made
    # argparse itself refuses `-o -y.mp4` (it reads -y.mp4 as an option): exit 2, nothing run.
    child = forkserver.run("render", str(story), "--cache-dir", str(cache), "-o", "-y.mp4", cwd=tmp_path)
    assert child.rc == 2


@pytest.mark.slow
def test_nothing_a_user_saves_stops_the_watcher(tmp_path, tiny_vae, bad_image_files):
    """Every hostile storyboard of the corpus, saved in turn over a watched one: each is shown as
    invalid (no traceback), the watcher lives on, and the good storyboard still renders after."""
    from watchutil import WatchProcess

    good = BASE.replace("B", "b.png")
    story = make_case(tmp_path, "watched", good, tiny_vae, bad_image_files)
    folder = story.parent
    texts = dict(yaml_cases())
    for name, target in IMAGE_CASES.items():
        texts[f"image_{name}"] = BASE.replace("B", target if target.startswith("/") else f"made/{target}")
    watcher = WatchProcess(folder, story="storyboard.yaml", debounce=0.1)
    try:
        watcher.wait_render(timeout=120)
        for name, text in [*texts.items(), ("file_50mb", None)]:
            mark = watcher.mark()
            if text is None:
                with open(story, "w") as fh:
                    fh.write(good + ("# " + "x" * 1021 + "\n") * (50 * 1024))
            else:
                story.write_text(text)
            watcher.wait_for(r"error: storyboard\.yaml is invalid", since=mark, timeout=60)
            assert watcher.proc.poll() is None, f"{name}: the watcher exited\n{watcher.output_tail()}"
        mark = watcher.mark()
        story.write_text(good)
        _, render = watcher.wait_render(since=mark, timeout=120)
        assert "Traceback" not in watcher.output(), watcher.output_tail()
        assert watcher.interrupt() == 130
    finally:
        watcher.close()
    assert not (folder / "PWNED").exists()
