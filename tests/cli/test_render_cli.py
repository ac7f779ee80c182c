"""End to end: `seqc render` and `seqc plan` in subprocesses on real files, real ffmpeg, a real (tiny) model."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import mediaprobe
import numpy as np
import pytest
from renderkit import (
    five_keyframe_storyboard,
    make_tiny_vae,
    plan_json,
    render_json,
    run_seqc,
    write_image,
)

from seqc import media
from seqc.spec.images import CHECK_RULES

pytestmark = pytest.mark.slow  # real renders in subprocesses: run with the full suite, not the inner loop

FPS = 12
# frames per segment at fps 12 with duration 1 (segment 1 has frames: 10); the last adds its end frame
PLANNED = 12 + 10 + 12 + 12 + 1


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return make_tiny_vae(tmp_path_factory.mktemp("model") / "vae")


@pytest.fixture(scope="module")
def first_render(tmp_path_factory, model):
    """One full render shared by the tests that only read it: (folder, story, cache, result)."""
    folder = tmp_path_factory.mktemp("project")
    story = five_keyframe_storyboard(folder, model, fps=FPS)
    cache = folder / "cache"
    result = render_json(story, cache)
    return folder, story, cache, result


def fresh_copy(first_render, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A private copy of the rendered project (storyboard, images, cache) for a test that edits it."""
    folder, _, _, _ = first_render
    target = tmp_path / "project"
    shutil.copytree(folder, target, symlinks=True)
    story, cache = target / "storyboard.yaml", target / "cache"
    # The last-render record is per storyboard path: a no-op render in the new place writes it.
    assert render_json(story, cache)["rendered"] == 0
    return target, story, cache


def rendered(result: dict) -> int:
    return result["rendered"]


def test_full_render_has_planned_frames_size_and_fps(first_render):
    folder, story, cache, result = first_render
    assert result["segments"] == 4
    assert result["rendered"] == 4 and result["cached"] == 0
    assert result["frames"] == PLANNED
    info = mediaprobe.probe(Path(result["output"]))
    assert (info.frames, info.width, info.height) == (PLANNED, 64, 64)
    assert info.fps == pytest.approx(FPS)
    decoded = list(media.read_frames(Path(result["output"])))
    assert len(decoded) == PLANNED
    assert decoded[0].shape == (64, 64, 3)


def test_plan_json_matches_the_render(first_render):
    folder, story, cache, result = first_render
    plan = plan_json(story, cache)
    assert plan["total_frames"] == PLANNED
    assert [s["status"] for s in plan["segments"]] == ["cached"] * 4
    assert [s["frames"] for s in plan["segments"]] == [12, 10, 12, 12]
    assert plan["final_frame"]["keyframe"] == "k4" and plan["final_frame"]["status"] == "cached"
    assert plan["final_frame"]["first_frame"] == PLANNED - 1 and plan["precision"] == "float32"
    for seg in plan["segments"]:
        assert set(seg) >= {"index", "from", "to", "frames", "key", "status", "reason"}
        assert len(seg["key"]) == 64


def test_noop_render_renders_nothing_and_never_imports_torch(first_render):
    folder, story, cache, result = first_render
    code = (
        "import sys\n"
        "from seqc.cli.main import main\n"
        f"rc = main(['render', {str(story)!r}, '--cache-dir', {str(cache)!r}, '--json'])\n"
        "print('MODULES', 'torch' in sys.modules, 'diffusers' in sys.modules, file=sys.stderr)\n"
        "raise SystemExit(rc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["rendered"] == 0
    assert "MODULES False False" in proc.stderr


def test_plan_never_imports_torch(first_render):
    folder, story, cache, result = first_render
    code = (
        "import sys\n"
        "from seqc.cli.main import main\n"
        f"rc = main(['plan', {str(story)!r}, '--cache-dir', {str(cache)!r}])\n"
        "print('MODULES', 'torch' in sys.modules, 'diffusers' in sys.modules, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "MODULES False False" in proc.stderr, proc.stderr


def test_plan_folds_long_runs_of_alike_segments_and_all_lists_every_one(model, tmp_path):
    for i in range(10):
        write_image(tmp_path / "kf" / f"k{i}.png", seed=i)
    keyframes = "".join(f"  k{i}: {{image: kf/k{i}.png}}\n" for i in range(10))
    segments = "".join(f"  - {{from: k{i}, to: k{i + 1}}}\n" for i in range(9))
    story = tmp_path / "long.yaml"
    story.write_text(f"version: 1\noutput: {{size: [32, 32], fps: 8}}\nmodel: {model}\n"
                     f"keyframes:\n{keyframes}segments:\n{segments}")
    written = time.time()
    cache = tmp_path / "cache"
    folded = run_seqc("plan", str(story), "--cache-dir", str(cache)).stdout
    assert "0-8" in folded and "k0 -> ... -> k9" in folded and "(9 segments)" in folded
    assert "9 of 9 segments and the final frame to render" in folded
    # Once the images have rested past the racy window, a plan records their checks in the memo
    # (later plans then skip decoding them: tests/spec/test_images.py shows the skip).
    time.sleep(max(0.0, written + 2.2 - time.time()))
    every = run_seqc("plan", str(story), "--cache-dir", str(cache), "--all").stdout
    assert "(9 segments)" not in every
    assert all(f"k{i} -> k{i + 1}" in every for i in range(9))
    records = json.loads((cache / "files.json").read_text())["files"]
    checked = sorted(Path(p).name for p, r in records.items() if r.get("image_check") == CHECK_RULES)
    assert checked == [f"k{i}.png" for i in range(10)]


def test_replacing_the_third_keyframe_rerenders_exactly_its_two_segments(first_render, tmp_path):
    folder, story, cache = fresh_copy(first_render, tmp_path)
    write_image(folder / "kf" / "k2.png", seed=99)
    plan = plan_json(story, cache)
    missing = [s for s in plan["segments"] if s["status"] != "cached"]
    assert [s["index"] for s in missing] == [1, 2]
    assert all("keyframe 'k2' image changed" in s["reason"] for s in missing)
    result = render_json(story, cache)
    assert rendered(result) == 2 and result["cached"] == 2
    assert mediaprobe.probe(Path(result["output"])).frames == PLANNED


def clip_mtimes(cache: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (cache / "clips").rglob("*.mp4")}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def test_appending_a_segment_renders_only_the_new_one(first_render, tmp_path):
    folder, story, cache = fresh_copy(first_render, tmp_path)
    before_video = list(media.read_frames(folder / "out" / "video.mp4"))
    before = clip_mtimes(cache)
    story.write_text(story.read_text() + "  - {from: k4, to: k0}\n")
    plan = plan_json(story, cache)
    assert [s["status"] for s in plan["segments"]] == ["cached"] * 4 + ["missing"]
    assert plan["final_frame"]["keyframe"] == "k0" and plan["final_frame"]["status"] == "missing"
    assert plan["final_frame"]["reason"] == "the video now ends on 'k0' (was 'k4')"
    result = render_json(story, cache)
    assert result["rendered"] == 1 and result["cached"] == 4 and result["rendered_final_frame"]
    after = clip_mtimes(cache)
    assert {name: after[name] for name in before} == before  # no old clip was written again
    video = list(media.read_frames(Path(result["output"])))
    assert len(video) == PLANNED + 12 == result["frames"]  # sum(n) + 1: the join at k4 is not repeated
    assert all(psnr(a, b) > 45 for a, b in zip(video[:PLANNED - 1], before_video[:PLANNED - 1], strict=True))
    # The new segment starts on k4, which the old video's final frame (its own clip) showed.
    assert psnr(video[PLANNED - 1], before_video[PLANNED - 1]) > 35


def test_toggling_loop_renders_only_the_closing_segment(first_render, tmp_path):
    folder, story, cache = fresh_copy(first_render, tmp_path)
    looped = story.read_text().replace("segments:\n", "loop: true\nsegments:\n")
    story.write_text(looped)
    result = render_json(story, cache)
    assert result["rendered"] == 1 and result["cached"] == 4 and not result["rendered_final_frame"]
    assert mediaprobe.probe(Path(result["output"])).frames == PLANNED - 1 + 12  # ends before k0 comes again
    # And back: the final frame's clip is still in the cache, so nothing renders.
    story.write_text(looped.replace("loop: true\n", ""))
    result = render_json(story, cache)
    assert result["rendered"] == 0 and not result["rendered_final_frame"]
    assert mediaprobe.probe(Path(result["output"])).frames == PLANNED


def test_precision_is_in_the_keys(first_render, tmp_path):
    folder, story, cache = fresh_copy(first_render, tmp_path)
    half = json.loads(run_seqc("plan", str(story), "--cache-dir", str(cache), "--dtype", "bfloat16",
                               "--json").stdout)
    assert half["precision"] == "bfloat16"
    assert all(s["status"] == "missing" for s in half["segments"])
    assert half["segments"][0]["reason"] == "precision changed (float32 -> bfloat16)"
    result = render_json(story, cache, "--dtype", "bfloat16")
    assert result["rendered"] == 4 and result["rendered_final_frame"]
    # Both precisions are cached apart: neither render is served the other's clips.
    assert render_json(story, cache)["rendered"] == 0
    assert render_json(story, cache, "--dtype", "bfloat16")["rendered"] == 0
    assert len(list((cache / "clips").rglob("*.json"))) == 2 * 5


def test_changing_one_duration_rerenders_one_segment(first_render, tmp_path):
    folder, story, cache = fresh_copy(first_render, tmp_path)
    story.write_text(story.read_text().replace("{from: k1, to: k2, frames: 10}", "{from: k1, to: k2, frames: 7}"))
    plan = plan_json(story, cache)
    missing = [s for s in plan["segments"] if s["status"] != "cached"]
    assert [s["index"] for s in missing] == [1]
    assert "duration changed" in missing[0]["reason"]
    result = render_json(story, cache)
    assert rendered(result) == 1
    assert mediaprobe.probe(Path(result["output"])).frames == PLANNED - 3


def test_renaming_reordering_and_comments_rerender_nothing(first_render, tmp_path):
    folder, story, cache = fresh_copy(first_render, tmp_path)
    text = story.read_text()
    # rename keyframe k1 (its id, not its file) everywhere it is used
    text = text.replace("  k1: {", "  hills: {").replace("to: k1}", "to: hills}").replace("from: k1,", "from: hills,")
    lines = text.splitlines()
    kf_start = lines.index("keyframes:")
    block = lines[kf_start + 1:kf_start + 6]
    lines[kf_start + 1:kf_start + 6] = list(reversed(block))  # reorder keyframes
    text = "\n".join(lines) + "\n# a comment at the end\n"
    text = text.replace("version: 1", "# leading comment\nversion: 1  # trailing comment")
    text = text.replace("defaults: {duration: 1, easing: ease-in-out, method: slerp}",
                        "defaults: {method: slerp, easing: ease-in-out, duration: 1}")
    story.write_text(text)
    plan = plan_json(story, cache)
    assert [s["status"] for s in plan["segments"]] == ["cached"] * 4
    assert rendered(render_json(story, cache)) == 0


def test_changing_fps_rerenders_everything(first_render, tmp_path):
    folder, story, cache = fresh_copy(first_render, tmp_path)
    story.write_text(story.read_text().replace(f"fps: {FPS}", "fps: 10"))
    plan = plan_json(story, cache)
    assert all("fps changed" in s["reason"] for s in plan["segments"])
    result = render_json(story, cache)
    assert rendered(result) == 4
    info = mediaprobe.probe(Path(result["output"]))
    assert info.fps == pytest.approx(10)
    assert info.frames == 10 + 10 + 10 + 10 + 1


def test_truncated_clip_is_detected_and_only_that_segment_rerenders(first_render, tmp_path):
    folder, story, cache = fresh_copy(first_render, tmp_path)
    key = plan_json(story, cache)["segments"][2]["key"]
    clip = cache / "clips" / key[:2] / f"{key}.mp4"
    data = clip.read_bytes()
    clip.write_bytes(data[: len(data) // 2])
    verify = run_seqc("cache", "verify", "--cache-dir", str(cache), check=False)
    assert verify.returncode == 1
    assert key in verify.stderr
    proc = run_seqc("render", str(folder / "storyboard.yaml"), "--cache-dir", str(cache), "--json")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["rendered"] == 1
    assert "warning" in proc.stderr.lower() and key[:12] in proc.stderr
    assert mediaprobe.probe(Path(result["output"])).frames == PLANNED
    assert run_seqc("cache", "verify", "--cache-dir", str(cache)).returncode == 0


def test_flipped_bytes_in_a_clip_are_caught_by_the_digest(first_render, tmp_path):
    folder, story, cache = fresh_copy(first_render, tmp_path)
    key = plan_json(story, cache)["segments"][0]["key"]
    clip = cache / "clips" / key[:2] / f"{key}.mp4"
    data = bytearray(clip.read_bytes())
    data[len(data) // 2] ^= 0xFF
    clip.write_bytes(bytes(data))
    assert plan_json(story, cache)["segments"][0]["status"] == "cached"  # same size: only the digest can tell
    result = render_json(story, cache)
    assert result["rendered"] == 1
    assert mediaprobe.probe(Path(result["output"])).frames == PLANNED


def test_two_clean_renders_are_byte_identical(first_render, tmp_path, model):
    folder, story, cache, result = first_render
    second = render_json(story, tmp_path / "other-cache", "-o", str(tmp_path / "again.mp4"))
    assert second["rendered"] == 4
    assert Path(result["output"]).read_bytes() == (tmp_path / "again.mp4").read_bytes()


def snapshot(folder: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every file under a folder: size, mtime and bytes (what "left alone" must keep)."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_no_cache_renders_everything_and_leaves_the_cache_alone(first_render, tmp_path):
    folder, story, cache = fresh_copy(first_render, tmp_path)
    time.sleep(2.1)  # past the memo's racy window: a plan against the real cache would now record hashes
    before = snapshot(cache)
    result = render_json(story, cache, "--no-cache", "-o", str(tmp_path / "fresh.mp4"))
    assert result["rendered"] == 4
    assert mediaprobe.probe(tmp_path / "fresh.mp4").frames == PLANNED
    assert snapshot(cache) == before


def test_frames_option_writes_the_cached_frames_as_pngs(first_render, tmp_path):
    folder, story, cache = fresh_copy(first_render, tmp_path)
    out = tmp_path / "frames"
    out.mkdir()
    stale = out / f"frame_{PLANNED + 5:06d}.png"  # left by an earlier, longer export
    stale.write_bytes(b"old")
    (out / "notes.txt").write_text("mine")
    result = json.loads(run_seqc("render", str(story), "--cache-dir", str(cache), "--frames", str(out),
                                 "--json").stdout)
    assert result["rendered"] == 0 and result["cached"] == 4  # the cached clips are used, not re-rendered
    files = sorted(out.glob("*.png"))
    assert len(files) == PLANNED and not stale.exists() and (out / "notes.txt").read_text() == "mine"
    assert files[0].name == "frame_000000.png" and files[-1].name == f"frame_{PLANNED - 1:06d}.png"
    # The PNGs are the video's frames, in order.
    from PIL import Image

    video = list(media.read_frames(folder / "out" / "video.mp4"))
    for index in (0, 12, PLANNED - 1):
        with Image.open(out / f"frame_{index:06d}.png") as im:
            assert (np.asarray(im.convert("RGB")) == video[index]).all()


def test_output_inside_the_cache_is_refused(first_render, tmp_path):
    folder, story, cache = fresh_copy(first_render, tmp_path)
    proc = run_seqc("render", str(story), "--cache-dir", str(cache), "-o", str(cache / "x.mp4"), check=False)
    assert proc.returncode == 2
    assert "inside the cache" in proc.stderr and "Traceback" not in proc.stderr
    assert not (cache / "x.mp4").exists()


def test_cache_ls_and_gc(first_render, tmp_path):
    folder, story, cache = fresh_copy(first_render, tmp_path)
    listing = json.loads(run_seqc("cache", "ls", "--cache-dir", str(cache), "--json").stdout)
    kinds = sorted({e["kind"] for e in listing})
    assert kinds == ["clips", "latents"]
    assert len([e for e in listing if e["kind"] == "clips"]) == 4 + 1  # the segments and the final frame
    assert len([e for e in listing if e["kind"] == "latents"]) == 5
    run_seqc("cache", "gc", "--cache-dir", str(cache), "--max-size", "1K", "--keep", str(story))
    assert plan_json(story, cache)["segments"][0]["status"] == "cached"  # kept: the storyboard references it
    run_seqc("cache", "gc", "--cache-dir", str(cache), "--max-size", "1K")
    assert all(s["status"] == "missing" for s in plan_json(story, cache)["segments"])
    proc = run_seqc("cache", "gc", "--cache-dir", str(cache), "--max-size", "lots", check=False)
    assert proc.returncode == 2 and "--max-size" in proc.stderr


def test_cache_dir_from_environment(first_render, tmp_path):
    folder, story, cache = fresh_copy(first_render, tmp_path)
    proc = run_seqc("plan", str(story), "--json", env={"SEQC_CACHE_DIR": str(cache)})
    assert all(s["status"] == "cached" for s in json.loads(proc.stdout)["segments"])


# -- What a render says (issue 24 items 13, 14, 15, 19) --

def test_render_json_says_fps_size_duration_and_the_cache(first_render):
    folder, story, cache, result = first_render
    assert (result["fps"], result["size"]) == (FPS, [64, 64])
    assert result["duration"] == pytest.approx(PLANNED / FPS, abs=1e-6)
    assert Path(result["cache"]) == cache
    # The same from the up-to-date stamp of a no-op render, and in the summary line without --json.
    again = render_json(story, cache)
    assert again["rendered"] == 0 and (again["fps"], again["size"], Path(again["cache"])) == (FPS, [64, 64], cache)
    line = run_seqc("render", str(story), "--cache-dir", str(cache)).stderr.strip().splitlines()[-1]
    assert f": {PLANNED} frames ({PLANNED / FPS:.2f} s at {FPS} fps, 64x64); rendered 0 of 4 segments" in line, line
    assert line.endswith(f"; cache: {cache}"), line


def test_a_storyboard_without_a_project_cache_says_it_used_the_per_user_cache(model, tmp_path):
    write_image(tmp_path / "kf" / "a.png", seed=1)
    write_image(tmp_path / "kf" / "b.png", seed=2)
    story = tmp_path / "alone.yaml"
    story.write_text(f"version: 1\noutput: {{path: out/alone.mp4, size: [32, 32], fps: 8}}\nmodel: {model}\n"
                     "keyframes:\n  a: {image: kf/a.png}\n  b: {image: kf/b.png}\n"
                     "segments:\n  - {from: a, to: b, frames: 2}\n")
    proc = run_seqc("render", str(story), cwd=tmp_path)
    line = proc.stderr.strip().splitlines()[-1]
    assert "(the per-user cache)" in line, proc.stderr
    cache = json.loads(run_seqc("render", str(story), "--json", cwd=tmp_path).stdout)["cache"]
    assert Path(cache).parent == Path(os.environ["XDG_CACHE_HOME"]) and Path(cache).name == "seqc"
    nocache = json.loads(run_seqc("render", str(story), "--json", "--no-cache", cwd=tmp_path).stdout)
    assert nocache["cache"] is None


def test_without_a_terminal_progress_is_a_plain_line_per_segment(first_render, tmp_path):
    folder, story, cache = fresh_copy(first_render, tmp_path)
    write_image(folder / "kf" / "k2.png", seed=99)  # segments 1 (10 frames) and 2 (12 frames)
    proc = run_seqc("render", str(story), "--cache-dir", str(cache))  # stdout and stderr are pipes
    lines = proc.stderr.strip().splitlines()
    done = [line for line in lines if " done, " in line]
    assert len(done) == 2, proc.stderr
    assert re.fullmatch(r"segment 1: k1 -> k2: 10 frames in [\d.]+ s \([\d.]+ frames/s\); 1 of 2 done, "
                        r"10 of 22 frames", done[0]), done
    assert re.fullmatch(r"segment 2: k2 -> k3: 12 frames in [\d.]+ s \([\d.]+ frames/s\); 2 of 2 done, "
                        r"22 of 22 frames", done[1]), done
    assert lines[0] == "render 2 of 4 segments (22 frames)", lines
    assert "loading model" in proc.stderr and "writing video.mp4" in proc.stderr
    assert not any(c in proc.stderr for c in "━╸╺"), proc.stderr  # no bars drawn into the log
    assert "estimated" not in proc.stderr  # a quick render says nothing about its length


def test_a_long_render_says_how_long_before_it_starts(tmp_path):
    """240 frames at 4096x4096 on the CPU (issue 24: minutes with nothing shown): the estimate
    comes from frames x pixels x the model's cost (no timing), before the model loads; Ctrl-C then."""
    write_image(tmp_path / "kf" / "a.png", seed=1)
    write_image(tmp_path / "kf" / "b.png", seed=2)
    story = tmp_path / "huge.yaml"
    story.write_text("version: 1\noutput: {path: out/huge.mp4, size: [4096, 4096], fps: 24}\n"
                     "keyframes:\n  a: {image: kf/a.png}\n  b: {image: kf/b.png}\n"
                     "segments:\n  - {from: a, to: b, frames: 239}\n")  # and the final frame: 240
    proc = subprocess.Popen([sys.executable, "-m", "seqc", "render", str(story), "--cache-dir", str(tmp_path / "c"),
                             "--device", "cpu"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    timer = threading.Timer(120, proc.kill)  # never the whole render
    timer.start()
    seen: list[str] = []
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            seen.append(line.rstrip("\n"))
            if line.startswith("estimated") or "loading model" in line:
                break
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=120) == 130
    finally:
        timer.cancel()
        proc.kill()
    assert re.fullmatch(r"estimated \d+-\d+ (s|min|h) for 240 frames at 4096x4096 on CPU \(a smaller size, "
                        r"--draft or fewer frames is faster\)", seen[-1]), seen


def test_plan_shows_the_easing_of_every_segment_it_lists(model, tmp_path):
    """A run of alike segments folds into one row only when their easing and method are the same
    too: no row hides them behind '(mixed)'."""
    easings = ["linear"] * 6 + ["ease-in", "ease-out", "steps(4)", "ease-in-out-cubic", "cubic-bezier(0.1, 0.7, 1, 0.1)",
                                "ease-in-sine", "linear", "ease"]
    for i in range(len(easings) + 1):
        write_image(tmp_path / "kf" / f"k{i}.png", seed=i, size=(16, 16))
    keyframes = "".join(f"  k{i}: {{image: kf/k{i}.png}}\n" for i in range(len(easings) + 1))
    segments = "".join(f"  - {{from: k{i}, to: k{i + 1}, easing: '{e}'}}\n" for i, e in enumerate(easings))
    story = tmp_path / "eased.yaml"
    story.write_text(f"version: 1\noutput: {{size: [32, 32], fps: 8}}\nmodel: {model}\n"
                     f"keyframes:\n{keyframes}segments:\n{segments}")
    shown = run_seqc("plan", str(story), "--cache-dir", str(tmp_path / "cache")).stdout
    assert "(mixed)" not in shown
    rows = [line for line in shown.splitlines() if line.startswith("│") and " -> " in line]
    assert len(rows) == 1 + 8, shown  # the six linear ones folded, then eight single rows
    assert "0-5" in rows[0] and "linear" in rows[0] and "(6 segments)" in rows[0]
    for row, easing in zip(rows[1:9], easings[6:], strict=True):
        assert easing.split(",")[0].rstrip(")") in row, (easing, row)  # steps(4) reads steps(4, jump-end)
