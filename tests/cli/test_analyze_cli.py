"""`seqc analyze clip.mp4` end to end, as a user comparing another tool's transition runs it: real
H.264 files written with imageio-ffmpeg, the CLI in a subprocess, JSON and table, and bad files."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from picturekit import picture
from renderkit import run_seqc

FRAMES = 24


def write_mp4(path: Path, frames: np.ndarray, fps: int = 12) -> Path:
    """An H.264 MP4 of uint8 frames, written by imageio-ffmpeg (not by seqc: any tool's file)."""
    height, width = frames.shape[1:3]
    writer = imageio_ffmpeg.write_frames(str(path), (width, height), fps=fps, codec="libx264",
                                         pix_fmt_out="yuv420p", macro_block_size=1, output_params=["-crf", "18"])
    writer.send(None)
    for frame in frames:
        writer.send(np.ascontiguousarray(np.clip(np.rint(frame), 0, 255).astype(np.uint8)))
    writer.close()
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    a, b = picture(1), picture(2)
    t = np.linspace(0, 1, FRAMES)[:, None, None, None]
    sign = np.where(np.arange(FRAMES) % 2 == 0, 8.0, -8.0)[:, None, None, None]
    return {
        "crossfade": write_mp4(folder / "crossfade.mp4", a * (1 - t) + b * t),
        "flicker": write_mp4(folder / "flicker.mp4", a[None] + sign),  # +-8 levels: 16 peak to peak
        "pan": write_mp4(folder / "pan.mp4", np.stack([np.roll(a, round(k * 32 / (FRAMES - 1)), axis=1)
                                                       for k in range(FRAMES)])),
    }


def analyze_json(path: Path) -> dict:
    return json.loads(run_seqc("analyze", str(path), "--json", cwd=path.parent).stdout)


@pytest.mark.slow  # three H.264 files and five seqc processes: a few seconds
def test_a_crossfade_file_ghosts_a_flickering_one_flickers_a_pan_is_clean(clips):
    report = analyze_json(clips["crossfade"])
    assert report["file"] == str(clips["crossfade"]) and report["jarring"] == [] and report["defects"] == [0]
    [segment] = report["segments"]
    assert (segment["from"], segment["to"], segment["method"], segment["file"]) == (None, None, None, "crossfade.mp4")
    assert segment["frames"] == FRAMES and len(segment["changes"]) == FRAMES - 1
    assert segment["ghost_share"] > 0.7 and segment["ghost_residual"] < 0.15  # through H.264, still a blend
    [ghost] = segment["artifacts"]
    assert ghost["kind"] == "ghosting" and not ghost["asked"] and 0 < ghost["frames"][0] < ghost["frames"][1] < 23
    assert segment["verdict"].startswith("ghosting ") and segment["smoothness"] > 0.9

    [flicker] = analyze_json(clips["flicker"])["segments"][0]["artifacts"]
    assert flicker["kind"] == "flicker" and flicker["signal"] == "brightness"
    assert flicker["severity"] == pytest.approx(16, abs=2) and flicker["frames"][1] - flicker["frames"][0] > 15

    pan = analyze_json(clips["pan"])
    assert pan["segments"][0]["artifacts"] == [] and pan["segments"][0]["verdict"] == "smooth"
    assert pan["segments"][0]["ghost_share"] == 0.0

    deep = clips["flicker"].parent / ("a-folder-with-a-long-name-" * 4) / "flicker.mp4"  # the title wraps
    deep.parent.mkdir(exist_ok=True)
    shutil.copyfile(clips["flicker"], deep)
    table = run_seqc("analyze", str(deep), env={"COLUMNS": "120"}).stdout
    assert len(str(deep)) > 120 and "flicker.mp4" in table and "brightness flicker 16 levels" in table
    assert max(len(line) for line in table.splitlines()) <= 120


@pytest.mark.slow
def test_bad_files_are_one_line_and_exit_2(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(0).bytes(4000))
    binary = tmp_path / "noise.bin"  # no video suffix: binary, so read as a video (and refused by ffmpeg)
    binary.write_bytes(b"\0" + np.random.default_rng(1).bytes(4000))
    (tmp_path / "empty.mp4").write_bytes(b"")
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                    "anullsrc=r=8000:cl=mono", "-t", "0.5", str(tmp_path / "sound.m4a")], check=True)
    cases = {"missing.mp4": "no such file: ", "junk.mp4": "cannot read ", "noise.bin": "cannot read ",
             "empty.mp4": "is empty", "sound.m4a": "has no video stream"}
    for name, words in cases.items():
        proc = run_seqc("analyze", name, "--json", cwd=tmp_path, check=False)
        assert proc.returncode == 2, (name, proc.stderr)
        assert proc.stdout == "" and len(proc.stderr.strip().splitlines()) == 1, (name, proc.stderr)
        assert proc.stderr.startswith("seqc: error: ") and words in proc.stderr and "Traceback" not in proc.stderr
