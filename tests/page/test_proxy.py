"""The preview's H.264 proxy (seqc.page.proxy): an output no browser plays (ProRes, DNxHR, FFV1, any
.mkv) reaches the page as an H.264 MP4 with the same frames, made once per version, in the
background, never changing the output; an H.264 output is sent as it is; a proxy that fails is one
line on the terminal and on the page. The files are real ones, made here with the bundled ffmpeg."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from mediaprobe import probe
from servekit import request

from seqc.media.ffmpeg import run
from seqc.media.mp4 import read_track
from seqc.media.reader import read_frames
from seqc.page.artifacts import Artifacts
from seqc.page.bus import EventBus
from seqc.page.proxy import ProxyError, ProxyMaker, needs_proxy
from seqc.page.publish import PublishingView
from seqc.page.server import PreviewServer
from seqc.render.driver import RenderResult
from seqc.store import Cache
from seqc.watch.views import LogView

FRAMES = 12
SOURCE = "testsrc2=size=256x128:rate=24,format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='255*X/W'"
# name -> (the encoder, its pixel format, what the page calls it); DNxHR needs at least 256x120.
CODECS = {
    "prores.mov": (["-c:v", "prores_ks", "-profile:v", "3"], "yuv422p10le", "ProRes 422 HQ"),
    "alpha.mov": (["-c:v", "prores_ks", "-profile:v", "4"], "yuva444p10le", "ProRes 4444"),
    "dnxhr.mov": (["-c:v", "dnxhd", "-profile:v", "dnxhr_hqx"], "yuv422p10le", "DNxHR"),
    "ffv1.mkv": (["-c:v", "ffv1"], "yuv444p10le", "FFV1"),
    "ffv1.mov": (["-c:v", "ffv1"], "yuv444p10le", "FFV1"),
    "h264.mp4": (["-c:v", "libx264"], "yuv420p", None),
    "h264.mov": (["-c:v", "libx264"], "yuv420p", None),
    "vp9.webm": (["-c:v", "libvpx-vp9", "-b:v", "0", "-crf", "40"], "yuv420p", None),
}


def make_video(path: Path, name: str, source: str = SOURCE, frames: int = FRAMES, audio: bool = False) -> Path:
    """A real file of `frames` frames of ffmpeg's test picture in the codec of CODECS[name], converted
    and tagged BT.709 as a render's are (with a PCM tone if `audio`)."""
    encoder, pix_fmt, _ = CODECS[name]
    tone = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-c:a", "pcm_s16le", "-shortest"]
    run(["-loglevel", "error", "-f", "lavfi", "-i", source, *(tone if audio else []), "-frames:v", str(frames),
         "-vf", f"scale=out_color_matrix=bt709:out_range=tv,format={pix_fmt}", *encoder, "-colorspace", "bt709",
         "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv", "-y", str(path)], f"make {path.name}")
    return path


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("mezzanine")
    return {name: make_video(folder / name, name) for name in CODECS}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_file_says_whether_it_needs_a_proxy(videos):
    for name, (_, _, label) in CODECS.items():
        expected = "" if name == "ffv1.mkv" else label  # a .mkv is labelled by ffmpeg (see below)
        assert needs_proxy(videos[name]) == expected, name
    assert read_track(videos["prores.mov"]).codec == "apch" and read_track(videos["alpha.mov"]).codec == "ap4h"
    assert read_track(videos["dnxhr.mov"]).codec == "AVdh"
    assert ProxyMaker().codec_label(videos["ffv1.mkv"]) == "FFV1"


@pytest.mark.parametrize("name", ["prores.mov", "alpha.mov", "dnxhr.mov", "ffv1.mkv", "ffv1.mov"])
def test_a_proxy_is_h264_with_the_same_frames_and_picture(videos, tmp_path, name):
    target = tmp_path / "proxy.tmp"  # any name: the proxy is an MP4 whatever it is called
    ProxyMaker().make(videos[name], target, timeout=60)
    track = read_track(target)
    assert (track.codec, track.frames, track.width, track.height) == ("h264", FRAMES, 256, 128)
    info = probe(target)
    assert info.color == ("tv", "bt709", "bt709", "bt709") and info.fps == pytest.approx(24)
    source, proxy = (np.stack(list(read_frames(p))).astype(np.float64) for p in (videos[name], target))
    assert source.shape == proxy.shape == (FRAMES, 128, 256, 3)
    # The same picture: 4:2:0 chroma and x264 blur the test picture's sharp colour edges, so compare 8x8
    # block means (a few levels) and the mean colour (no shift of matrix or range: under 1.5 levels).
    blocks = [a.reshape(FRAMES, 16, 8, 32, 8, 3).mean(axis=(2, 4)) for a in (source, proxy)]
    assert np.abs(blocks[0] - blocks[1]).mean() < 3, np.abs(blocks[0] - blocks[1]).mean()
    assert np.abs(source.mean(axis=(0, 1, 2)) - proxy.mean(axis=(0, 1, 2))).max() < 1.5


def test_odd_sizes_become_even_and_the_soundtrack_aac(tmp_path):
    source = make_video(tmp_path / "odd.mov", "prores.mov", "testsrc2=size=255x121:rate=24", audio=True)
    target = tmp_path / "proxy.mp4"
    ProxyMaker().make(source, target, timeout=60)
    track = read_track(target)
    assert (track.codec, track.width, track.height, track.frames) == ("h264", 254, 120, FRAMES)
    log = run(["-loglevel", "info", "-i", str(target), "-f", "null", "-"], "read the proxy").stderr.decode()
    assert "Audio: aac" in log


def _view(tmp_path: Path):
    bus, artifacts = EventBus(), Artifacts()
    view = PublishingView(LogView(), bus, artifacts, Cache(tmp_path / "cache"))
    view.watching(tmp_path / "story.yaml", 0, 0, "test")
    return bus, artifacts, view


def _render(view: PublishingView, output: Path) -> None:
    view.rendered(RenderResult(clips={}, frames=FRAMES, segments=1, rendered=1, cached=0, seconds=1.0, output=output))


def _wait(bus: EventBus, kinds: tuple[str, ...], after: int, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e for e in bus.after(after, 0.2) if e.kind in kinds]
        if found:
            return found[0]
    raise AssertionError(f"no {kinds} event within {timeout} s: {[e.kind for e in bus.after(after, 0)]}")


def test_a_prores_output_is_published_as_an_h264_proxy_and_served_as_mp4(videos, tmp_path, capsys):
    out = tmp_path / "out" / "x.mov"
    out.parent.mkdir()
    out.write_bytes(videos["prores.mov"].read_bytes())
    before, stat = digest(out), out.stat()
    bus, artifacts, view = _view(tmp_path)
    server = PreviewServer(bus, artifacts)
    server.start()
    try:
        mark = bus.last_id
        _render(view, out)
        finished = _wait(bus, ("render-finished",), mark)
        assert finished.data["video"] is None  # not the ProRes file: the proxy follows
        assert finished.data["proxy"]["state"] == "making" and finished.data["proxy"]["of"] == "out/x.mov"
        ready = _wait(bus, ("proxy-ready", "proxy-failed"), mark)
        assert ready.kind == "proxy-ready", ready.data
        video = ready.data["video"]
        assert video["type"] == "video/mp4" and video["file"] == "x.mov" and video["frames"] == FRAMES
        assert video["proxy"] == {"of": "out/x.mov", "codec": "ProRes 422 HQ"}
        artifact = artifacts.lookup("video", video["version"])
        track = read_track(artifact.path)
        assert (track.codec, track.frames) == ("h264", FRAMES)
        _, state = bus.snapshot()
        assert state["video"] == video and state["proxy"] is None  # the page swaps it in
        response = request(server.port, f"{video['url']}&token={server.token}")
        assert response.status == 200 and response.headers["content-type"] == "video/mp4"
        assert response.body == artifact.path.read_bytes()
        # The output itself is never touched.
        assert digest(out) == before and out.stat().st_mtime_ns == stat.st_mtime_ns
        assert "no H.264 proxy" not in capsys.readouterr().err
    finally:
        view.extras.close()
        server.close()
        artifacts.close()


@pytest.mark.parametrize("name", ["h264.mp4", "h264.mov", "vp9.webm"])
def test_an_output_a_browser_plays_is_published_as_it_is(videos, tmp_path, name):
    out = tmp_path / f"out{videos[name].suffix}"
    out.write_bytes(videos[name].read_bytes())
    bus, artifacts, view = _view(tmp_path)
    try:
        mark = bus.last_id
        _render(view, out)
        finished = _wait(bus, ("render-finished",), mark)
        video = finished.data["video"]
        assert finished.data["proxy"] is None and video["proxy"] is None
        assert video["type"] == ("video/webm" if name.endswith(".webm") else "video/mp4")  # H.264 in MOV too
        artifact = artifacts.lookup("video", video["version"])
        assert artifact.path.read_bytes() == out.read_bytes()  # the same bytes: no proxy
        time.sleep(0.3)
        assert not [e for e in bus.after(mark, 0) if e.kind.startswith("proxy")]
    finally:
        view.extras.close()
        artifacts.close()


def test_a_version_already_made_is_not_made_again(videos, tmp_path, monkeypatch):
    out = tmp_path / "x.mkv"
    out.write_bytes(videos["ffv1.mkv"].read_bytes())
    made: list[Path] = []
    real = ProxyMaker.make
    monkeypatch.setattr(ProxyMaker, "make", lambda self, source, target, timeout:
                        (made.append(source), real(self, source, target, timeout))[1])
    bus, artifacts, view = _view(tmp_path)
    try:
        versions = []
        for _ in range(2):  # the same file twice (a render that left the output as it was)
            mark = bus.last_id
            _render(view, out)
            ready = _wait(bus, ("proxy-ready", "proxy-failed"), mark)
            assert ready.kind == "proxy-ready" and ready.data["video"]["proxy"]["codec"] == "FFV1"
            versions.append(ready.data["video"]["version"])
        assert versions[0] == versions[1] and len(made) == 1
        out.write_bytes(out.read_bytes())  # a new identity (mtime): a new version, made once more
        mark = bus.last_id
        _render(view, out)
        assert _wait(bus, ("proxy-ready",), mark).data["video"]["version"] != versions[0] and len(made) == 2
    finally:
        view.extras.close()
        artifacts.close()


def test_a_proxy_that_fails_is_one_line_and_the_watcher_goes_on(tmp_path, capsys):
    out = tmp_path / "broken.mkv"
    out.write_bytes(b"\x1a\x45\xdf\xa3 not really matroska" * 100)
    bus, artifacts, view = _view(tmp_path)
    try:
        mark = bus.last_id
        _render(view, out)
        failed = _wait(bus, ("proxy-ready", "proxy-failed"), mark)
        assert failed.kind == "proxy-failed" and "could not make an H.264 proxy of broken.mkv" in failed.data["message"]
        _, state = bus.snapshot()
        assert state["proxy"]["state"] == "failed" and state["proxy"]["of"] == "broken.mkv" and state["video"] is None
        lines = [line for line in capsys.readouterr().err.splitlines() if "no H.264 proxy" in line]
        assert len(lines) == 1 and "preview: no H.264 proxy of broken.mkv" in lines[0]
        view.loaded()  # the view still works
        assert bus.after(bus.last_id - 1, 0)[-1].kind == "storyboard-loaded"
    finally:
        view.extras.close()
        artifacts.close()


def test_a_late_proxy_never_replaces_a_newer_render_s_video():
    bus = EventBus()
    bus.publish("render-finished", {"summary": "1", "video": None, "proxy": {"state": "making", "for": "old"}})
    newer = {"version": "new", "url": "/a/video?v=new", "proxy": None}
    bus.publish("render-finished", {"summary": "2", "video": newer, "proxy": None})
    assert bus.publish("proxy-ready", {"for": "old", "video": {"version": "old"}}).changed == {"set": {}}
    assert bus.publish("proxy-failed", {"for": "old", "message": "x"}).changed == {"set": {}}
    assert bus.snapshot()[1]["video"] == newer


def test_ffmpeg_is_time_bounded_and_a_cancel_stops_it_at_once():
    endless = ["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=24", "-f", "null", "-"]
    maker = ProxyMaker()
    started = time.monotonic()
    with pytest.raises(ProxyError, match="in 0.5 s"):
        maker._ffmpeg(endless, 0.5, "run forever")
    assert time.monotonic() - started < 10
    errors: list[Exception] = []

    def work() -> None:
        try:
            maker._ffmpeg(endless, 60, "run forever")
        except ProxyError as exc:
            errors.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    time.sleep(0.5)
    started = time.monotonic()
    maker.cancel()
    worker.join(10)
    assert not worker.is_alive() and time.monotonic() - started < 5
    assert len(errors) == 1 and "closing" in str(errors[0])
