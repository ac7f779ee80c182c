"""`seqc analyze` on the mezzanine codecs an output may use (ProRes 422 HQ, ProRes 4444 with alpha,
DNxHR HQX, FFV1): frames are read through ffmpeg (seqc.media.reader) whatever the codec, so a report
on such a file, or on a storyboard whose clips use it, measures the same picture as on H.264.
The files are real ones, made here with the bundled ffmpeg from its test picture, converted and tagged
BT.709 as a render's are (untagged, ffmpeg would convert with BT.601 and the DNxHR decoder read 709)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from renderkit import run_seqc
from servekit import make_project, story_text

from seqc.inspect.analyze import _steps, analyze_video, is_video, thumbnails
from seqc.media.ffmpeg import run
from seqc.media.mp4 import read_track
from seqc.media.reader import read_frames

FRAMES, WIDTH, HEIGHT = 12, 256, 128  # DNxHR needs at least 256x120
# A moving test picture with an alpha ramp (the ProRes 4444 keeps it; the others drop it).
SOURCE = (f"testsrc2=size={WIDTH}x{HEIGHT}:rate=24,format=rgba,"
          "geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='255*X/W'")
CODECS = {  # name -> (encoder, pixel format)
    "prores.mov": (["-c:v", "prores_ks", "-profile:v", "3"], "yuv422p10le"),
    "alpha.mov": (["-c:v", "prores_ks", "-profile:v", "4"], "yuva444p10le"),
    "dnxhr.mov": (["-c:v", "dnxhd", "-profile:v", "dnxhr_hqx"], "yuv422p10le"),
    "ffv1.mkv": (["-c:v", "ffv1"], "yuv444p10le"),
}
BT709 = ["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv"]
FOURCCS = {"prores.mov": "apch", "alpha.mov": "ap4h", "dnxhr.mov": "AVdh"}


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("mezzanine-analyze")
    for name, (encoder, pix_fmt) in CODECS.items():
        run(["-loglevel", "error", "-f", "lavfi", "-i", SOURCE, "-frames:v", str(FRAMES),
             "-vf", f"scale=out_color_matrix=bt709:out_range=tv,format={pix_fmt}", *encoder, *BT709,
             "-y", str(folder / name)], f"make {name}")
    return {name: folder / name for name in CODECS}


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    """The test picture's RGB frames straight from ffmpeg's generator (no codec in between)."""
    raw = run(["-loglevel", "error", "-f", "lavfi", "-i", SOURCE, "-frames:v", str(FRAMES), "-f", "rawvideo",
               "-pix_fmt", "rgb24", "-"], "make the reference frames").stdout
    return np.frombuffer(raw, dtype=np.uint8).reshape(FRAMES, HEIGHT, WIDTH, 3)


@pytest.mark.parametrize("name", list(CODECS))
def test_frames_of_each_mezzanine_codec_are_the_picture(videos, reference, name):
    if name in FOURCCS:
        assert read_track(videos[name]).codec == FOURCCS[name]  # really that codec
    frames = np.stack(list(read_frames(videos[name])))
    assert frames.dtype == np.uint8 and frames.shape == (FRAMES, HEIGHT, WIDTH, 3)
    # 4:2:2 chroma blurs the test picture's sharp colour edges, so compare 8x8 block means (a level or
    # two) and the mean colour (no shift of matrix or range); the alpha ramp of the ProRes 4444 is
    # dropped, its colour kept as it is (not darkened towards transparent).
    blocks = [a.reshape(FRAMES, HEIGHT // 8, 8, WIDTH // 8, 8, 3).mean(axis=(2, 4)) for a in (frames, reference)]
    assert np.abs(blocks[0] - blocks[1]).mean() < 2, np.abs(blocks[0] - blocks[1]).mean()
    assert np.abs(frames.mean(axis=(0, 1, 2)) - reference.mean(axis=(0, 1, 2))).max() < 1


def test_mezzanine_files_are_videos_to_analyze(videos, tmp_path):
    assert all(is_video(path) for path in videos.values())
    for suffix in (".mov", ".mkv", ".mxf"):
        assert is_video(tmp_path / f"missing{suffix}")  # by suffix: never read as a storyboard


@pytest.mark.parametrize("name", list(CODECS))
def test_seqc_analyze_reports_on_a_mezzanine_file(videos, reference, name):
    proc = run_seqc("analyze", str(videos[name]), "--json")
    report = json.loads(proc.stdout)
    [segment] = report["segments"]
    assert report["file"] == str(videos[name]) and segment["file"] == name and segment["frames"] == FRAMES
    expected = _steps(thumbnails(reference))  # what the same report measures on the codec-free frames
    assert len(segment["changes"]) == FRAMES - 1
    assert np.abs(np.array(segment["changes"]) - expected).max() < 0.5, (segment["changes"], expected)


def test_an_alpha_prores_reads_like_the_same_picture_without_alpha(videos):
    with_alpha, without = analyze_video(videos["alpha.mov"]), analyze_video(videos["prores.mov"])
    assert with_alpha.frames == without.frames == FRAMES
    assert np.abs(with_alpha.changes - without.changes).max() < 0.5


@pytest.mark.slow  # two renders in subprocesses (the latents are shared; only the clips differ)
def test_analyze_on_a_prores_storyboard_matches_the_h264_one(tmp_path):
    folder = make_project(tmp_path, size=256)
    text = story_text([("dawn", "noon", 6), ("noon", "dusk", 4)], output="out/x.mov", size=256)
    (folder / "h264.yaml").write_text(text)
    (folder / "prores.yaml").write_text(text.replace("out/x.mov", "out/p.mov").replace("fps: 8}", "fps: 8, codec: prores}"))
    cache = str(folder / "cache")
    run_seqc("render", str(folder / "prores.yaml"), "--cache-dir", cache)
    if read_track(folder / "out/p.mov").codec == "h264":
        pytest.skip("`output.codec: prores` does not write ProRes yet (the render still writes H.264)")
    assert read_track(folder / "out/p.mov").codec == "apch"
    reports = {name: json.loads(run_seqc("analyze", str(folder / f"{name}.yaml"), "--json", "--cache-dir",
                                         cache).stdout)["segments"] for name in ("h264", "prores")}
    assert [s["frames"] for s in reports["prores"]] == [s["frames"] for s in reports["h264"]] == [6, 5]
    for prores, h264 in zip(reports["prores"], reports["h264"], strict=True):
        assert len(prores["changes"]) == len(h264["changes"])
        assert np.abs(np.array(prores["changes"]) - np.array(h264["changes"])).max() < 1.0
        assert prores["latent_rms"] == h264["latent_rms"]  # the same latents, read from the same cache
    video = json.loads(run_seqc("analyze", str(folder / "out/p.mov"), "--json").stdout)["segments"][0]
    assert video["frames"] == 11 and video["file"] == "p.mov"
