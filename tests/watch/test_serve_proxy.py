"""`seqc watch --serve` with an output no browser plays, as a user runs it: the page is sent an H.264
proxy of it (H.264 in Matroska today; ProRes once `output.codec` writes it), with the output's frames,
while the output itself stays as the render wrote it; an edit gets a new proxy."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from servekit import ServeWatch, SSEClient, make_project, request, story_text
from watchutil import save_by_rename

from seqc.media.mp4 import read_track

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("output", "codec", "label"), [("out/x.mkv", None, "H.264"),
                                                         ("out/x.mov", "prores", "ProRes 422 HQ")])
def test_watch_serve_shows_an_unplayable_output_through_its_proxy(tmp_path: Path, output, codec, label):
    folder = make_project(tmp_path, size=256 if codec else 64)

    def text(frames: int) -> str:
        body = story_text([("dawn", "noon", frames), ("noon", "dusk", 6)], output=output, size=256 if codec else 64)
        return body.replace("fps: 8}", f"fps: 8, codec: {codec}}}") if codec else body

    story = folder / "story.yaml"
    story.write_text(text(6))
    watch = ServeWatch(folder)
    try:
        client = SSEClient(watch.wait_url())
        finished = client.wait("render-finished", timeout=240)
        out = folder / output
        if codec and finished.data["video"] is not None and read_track(out).codec == "h264":
            pytest.skip(f"`output.codec: {codec}` does not write {label} yet (the render still writes H.264)")
        assert finished.data["video"] is None  # never the unplayable file itself
        assert finished.data["proxy"] == {"state": "making", "for": finished.data["proxy"]["for"], "of": output,
                                          "codec": "" if output.endswith(".mkv") else label}
        written = hashlib.sha256(out.read_bytes()).hexdigest()
        ready = client.wait("proxy-ready", timeout=120)
        video = ready.data["video"]
        assert video["type"] == "video/mp4" and video["proxy"] == {"of": output, "codec": label}
        body = request(watch.port, watch.path(video["url"]))
        assert body.status == 200 and body.headers["content-type"] == "video/mp4"
        proxy = tmp_path / "proxy.mp4"
        proxy.write_bytes(body.body)
        track = read_track(proxy)
        assert (track.codec, track.frames) == ("h264", video["frames"]) and video["frames"] == 13
        assert hashlib.sha256(out.read_bytes()).hexdigest() == written  # the output is only read
        # An edit: a new render, a new proxy with the new frame count.
        mark = client.mark()
        save_by_rename(story, text(10))
        second = client.wait("proxy-ready", mark, timeout=240).data["video"]
        assert second["version"] != video["version"] and second["frames"] == 17
        proxy.write_bytes(request(watch.port, watch.path(second["url"])).body)
        assert read_track(proxy).frames == 17
        client.close()
        assert watch.interrupt() == 130
    finally:
        watch.close()
    assert "Traceback" not in watch.output() and "no H.264 proxy" not in watch.output()
