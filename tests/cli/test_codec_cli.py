"""`output: {codec: ...}` end to end: `seqc render` writes a ProRes .mov whose every frame is
yuv422p10le (and each mezzanine codec its own format), ProRes 4444 carries a transparent keyframe's
alpha eased across the segment, a soundtrack goes beside a master as 24-bit PCM, an H.264 and a ProRes render of one storyboard share latents but
not clips (and the plan says why), and a codec the container cannot hold is one line, exit 2,
nothing written."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from renderkit import plan_json, render_json, run_seqc, write_cutout, write_image

from seqc.media.ffmpeg import ffmpeg_exe

pytestmark = pytest.mark.slow  # real renders in subprocesses

SIZE = (256, 128)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def frame_formats(path: Path) -> list[str]:
    """The pixel format of every decoded frame, as ffmpeg's showinfo prints it."""
    err = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path), "-map", "0:v", "-vf", "showinfo",
                          "-f", "null", "-"], capture_output=True, text=True).stderr
    return re.findall(r"fmt:(\w+)", err)


def story(folder: Path, codec: str, extra: str = "", b: str = "b.png") -> Path:
    """Two keyframes, one segment of 6 frames at 256x128, and the final frame: 7 frames."""
    path = folder / f"{codec}.yaml"
    path.write_text(f"version: 1\noutput: {{size: [{SIZE[0]}, {SIZE[1]}], fps: 12, codec: {codec}{extra}}}\n"
                    f"keyframes:\n  a: {{image: a.png}}\n  b: {{image: {b}}}\n"
                    "segments:\n  - {from: a, to: b, frames: 6, easing: linear}\n")
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("codec")
    write_image(folder / "a.png", 1, SIZE)
    write_image(folder / "b.png", 2, SIZE)
    write_cutout(folder / "cutout.png", 2, SIZE)  # b's picture, its left half transparent
    return folder


def test_a_prores_render_has_every_frame_at_ten_bit_422(folder):
    result = render_json(story(folder, "prores"), folder / "cache")
    out = folder / "out" / "prores.mov"  # the default path of a mezzanine codec
    assert Path(result["output"]) == out
    assert frame_formats(out) == ["yuv422p10le"] * 7
    header = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(out)], capture_output=True, text=True).stderr
    assert "prores (HQ)" in header and "tv, bt709" in header


@pytest.mark.parametrize(("codec", "suffix", "pix_fmt"), [("dnxhr", ".mov", "yuv422p10le"),
                                                          ("ffv1", ".mkv", "yuv444p10le")])
def test_each_mezzanine_codec_writes_its_own_format(folder, codec, suffix, pix_fmt):
    out = folder / "out" / f"{codec}{suffix}"
    render_json(story(folder, codec, f", path: out/{codec}{suffix}"), folder / "cache")
    assert frame_formats(out) == [pix_fmt] * 7


def test_prores_4444_carries_a_transparent_keyframes_alpha(folder):
    render_json(story(folder, "prores4444", b="cutout.png"), folder / "cache")
    out = folder / "out" / "prores4444.mov"
    assert frame_formats(out) == ["yuva444p12le"] * 7
    raw = subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(out), "-f", "rawvideo", "-pix_fmt",
                          "rgba64le", "-"], capture_output=True, check=True).stdout
    alpha = np.frombuffer(raw, "<u2").reshape(7, SIZE[1], SIZE[0], 4)[..., 3] / 65535
    left, right = alpha[:, :, : SIZE[0] // 2 - 4].mean(axis=(1, 2)), alpha[:, :, SIZE[0] // 2 + 4:].mean(axis=(1, 2))
    assert np.allclose(right, 1.0, atol=0.002)  # opaque at both ends
    assert np.allclose(left, 1.0 - np.arange(7) / 6, atol=0.01)  # fades out linearly to the cutout


def test_h264_and_prores_share_latents_not_clips(folder):
    cache = folder / "shared-cache"
    h264 = story(folder, "h264")
    render_json(h264, cache)
    latents = sorted(p.name for p in (cache / "latents").rglob("*.safetensors"))
    h264.write_text(h264.read_text().replace("codec: h264", "codec: prores, path: out/shared.mov"))
    plan = plan_json(h264, cache)
    assert plan["segments"][0]["status"] == "missing"
    assert plan["segments"][0]["changes"] == ["codec changed (h264 -> prores)"]
    render_json(h264, cache)
    assert sorted(p.name for p in (cache / "latents").rglob("*.safetensors")) == latents
    assert len(list((cache / "clips").rglob("*.mp4"))) == 4  # two clips each: the segment and the final frame
    assert frame_formats(folder / "out" / "shared.mov") == ["yuv422p10le"] * 7


@pytest.mark.parametrize(("where", "args"), [("storyboard", ()), ("-o", ("-o", "out/x.mp4"))])
def test_prores_into_mp4_is_one_line_and_exit_2(folder, where, args):
    path = story(folder, "prores", ", path: out/p.mp4" if where == "storyboard" else "")
    proc = run_seqc("render", str(path), "--cache-dir", str(folder / "cache"), *args, check=False)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert "codec prores does not go into .mp4" in line and ".mov" in line
    if where == "storyboard":
        assert re.match(rf"{re.escape(str(path))}:2:\d+: ", line)
    assert not (folder / "out" / "p.mp4").exists() and not (folder / "out" / "x.mp4").exists()


def test_dnxhr_under_its_smallest_frame_is_refused(folder):
    path = folder / "small.yaml"
    path.write_text("version: 1\noutput: {size: [128, 128], codec: dnxhr}\nkeyframes:\n  a: {image: a.png}\n"
                    "  b: {image: b.png}\nsegments:\n  - {from: a, to: b, frames: 2}\n")
    proc = run_seqc("validate", str(path), check=False)
    assert proc.returncode == 2 and "under dnxhr's smallest frame, 256x120" in proc.stderr


def test_a_mezzanine_master_carries_its_soundtrack_as_pcm(folder):
    shutil.copy(EXAMPLES / "music" / "track.opus", folder / "track.opus")
    path = story(folder, "prores", ", path: out/sound.mov")
    path.write_text(path.read_text() + "audio: {path: track.opus, start: 1}\n")
    render_json(path, folder / "cache")
    header = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(folder / "out" / "sound.mov")],
                            capture_output=True, text=True).stderr
    assert "Audio: pcm_s24le" in header and "prores (HQ)" in header
    samples = subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(folder / "out" / "sound.mov"), "-map",
                              "0:a:0", "-f", "s32le", "-ac", "1", "-"], capture_output=True, check=True).stdout
    assert len(samples) // 4 == 48000 * 7 // 12  # exactly the video's 7 frames at 12 fps


def test_an_exported_timeline_points_at_the_prores_master(folder):
    otio = pytest.importorskip("opentimelineio", reason="the export extra (pip install 'seqc[export]')")
    path = story(folder, "prores", ", path: out/cut.mov")
    run_seqc("export", str(path), "-o", str(folder / "cut.otio"), "--cache-dir", str(folder / "cache"), "-q")
    clips = list(otio.adapters.read_from_file(str(folder / "cut.otio")).find_clips())
    assert [c.source_range.duration.value for c in clips] == [6, 1]
    assert {c.media_reference.target_url for c in clips} == {(folder / "out" / "cut.mov").as_uri()}
    assert frame_formats(folder / "out" / "cut.mov") == ["yuv422p10le"] * 7
