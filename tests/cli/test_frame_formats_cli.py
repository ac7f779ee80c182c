"""`seqc render --frames DIR --frame-format png|png16|exr|tiff16` end to end with the built-in model:
the cached clips' frames in each format, as many as the video has, an earlier longer export's extra
frames removed; `--frame-format` without `--frames` is one line and exit 2, with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from framekit import exr_channels, png_depth, read_image
from PIL import Image
from renderkit import paint_seasons, render_json, run_seqc, write_story

from seqc import media

pytestmark = pytest.mark.slow  # real renders in subprocesses: run with the full suite, not the inner loop

SEGMENTS = "segments:\n  - {from: summer, to: autumn, frames: 5}\n  - {from: autumn, to: winter, frames: 4}\n"
SUFFIXES = {"png": ".png", "png16": ".png", "exr": ".exr", "tiff16": ".tif"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[Path, Path, np.ndarray]:
    """A short storyboard rendered once: (storyboard, cache, the video's frames)."""
    project = paint_seasons(tmp_path_factory.mktemp("frame-formats"))
    story = write_story(project, "short", SEGMENTS)
    result = render_json(story, project / "cache")
    video = np.stack(list(media.read_frames(Path(result["output"]))))
    assert len(video) == result["frames"] == media.count_frames(Path(result["output"])) == 10
    return story, project / "cache", video


def srgb_to_linear(video: np.ndarray) -> np.ndarray:
    encoded = video / 255.0
    return np.where(encoded <= 0.04045, encoded / 12.92, ((encoded + 0.055) / 1.055) ** 2.4)


@pytest.mark.parametrize("frame_format", ["png", "png16", "exr", "tiff16"])
def test_each_frame_format_holds_the_videos_frames(rendered, tmp_path, frame_format):
    story, cache, video = rendered
    suffix = SUFFIXES[frame_format]
    out = tmp_path / "frames"
    out.mkdir()
    (out / f"frame_{len(video) + 3:06d}{suffix}").write_bytes(b"old")  # left by an earlier, longer export
    (out / "notes.txt").write_text("mine")
    proc = run_seqc("render", str(story), "--cache-dir", str(cache), "--frames", str(out),
                    "--frame-format", frame_format, "--json")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["rendered"] == 0 and result["frames"] == len(video)  # from the cached clips
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f"frame_{i:06d}{suffix}" for i in range(len(video))] + ["notes.txt"])
    for index in (0, 5, len(video) - 1):
        path = out / f"frame_{index:06d}{suffix}"
        if frame_format == "png":
            with Image.open(path) as image:
                assert image.mode == "RGB" and np.array_equal(np.asarray(image), video[index])
        elif frame_format == "exr":
            assert exr_channels(path) == {"R": 1, "G": 1, "B": 1}  # half floats
            stored = read_image(path, (64, 64), "gbrpf16le")
            assert np.allclose(stored, srgb_to_linear(video[index]), rtol=2**-11, atol=1e-7)
        else:
            assert np.array_equal(read_image(path, (64, 64)), video[index].astype(np.uint16) * 257)
    if frame_format == "png16":
        assert png_depth(out / "frame_000000.png") == (16, 2)
    if frame_format == "tiff16":
        with Image.open(out / "frame_000000.tif") as image:
            assert image.tag_v2[258] == (16, 16, 16)


@pytest.mark.parametrize("command", ["render", "watch"])
def test_frame_format_without_frames_is_one_line_and_exit_2(rendered, tmp_path, command):
    story, cache, _ = rendered
    other = write_story(story.parent, "never", SEGMENTS)  # never rendered: its video must not appear
    proc = run_seqc(command, str(other), "--cache-dir", str(cache), "--frame-format", "exr", check=False,
                    timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--frame-format" in lines[0] and "--frames" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (story.parent / "out" / "never.mp4").exists()


def test_an_unknown_frame_format_is_refused(rendered, tmp_path):
    story, cache, _ = rendered
    proc = run_seqc("render", str(story), "--cache-dir", str(cache), "--frames", str(tmp_path / "f"),
                    "--frame-format", "jpeg", check=False, timeout=60)
    assert proc.returncode == 2 and "invalid choice: 'jpeg'" in proc.stderr
    assert not (tmp_path / "f").exists()
