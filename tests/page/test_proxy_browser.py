"""A ProRes output on the preview page in a real browser (Debian's chromium, driven by playwright):
the page's <video> gets the H.264 proxy, which loads (readyState >= 2, no error) with the output's
duration, and the page says it shows a proxy. The server and the publishing view run in-process
(no render: the output is a ProRes file made with ffmpeg). Skipped if chromium or playwright is missing."""

from __future__ import annotations

import shutil
import time

import pytest

from seqc.media.ffmpeg import run
from seqc.page.artifacts import Artifacts
from seqc.page.bus import EventBus
from seqc.page.publish import PublishingView
from seqc.page.server import PreviewServer
from seqc.render.driver import RenderResult
from seqc.store import Cache
from seqc.watch.views import LogView

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PLAYING = """() => { const v = document.getElementById('video');
  return v && v.tagName === 'VIDEO' && v.readyState >= 2 && !v.error
    ? {duration: v.duration, width: v.videoWidth, src: v.currentSrc} : null; }"""


def test_a_prores_output_plays_on_the_page_through_its_proxy(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    out = tmp_path / "out" / "x.mov"
    out.parent.mkdir()
    run(["-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=256x128:rate=24", "-frames:v", "24",
         "-c:v", "prores_ks", "-profile:v", "3", "-pix_fmt", "yuv422p10le", str(out)], "make a ProRes file")
    bus, artifacts = EventBus(), Artifacts()
    view = PublishingView(LogView(), bus, artifacts, Cache(tmp_path / "cache"))
    server = PreviewServer(bus, artifacts)
    url = server.start()
    try:
        view.watching(tmp_path / "story.yaml", 0, 0, "test")
        view.rendered(RenderResult(clips={}, frames=24, segments=1, rendered=1, cached=0, seconds=1.0, output=out))
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 860})
                errors: list[str] = []
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.goto(url)
                shown = page.wait_for_function(PLAYING, timeout=60_000).json_value()
                assert shown["duration"] == pytest.approx(1.0, abs=0.1) and shown["width"] == 256
                assert "/a/video?v=" in shown["src"]
                assert "H.264 proxy of out/x.mov (ProRes 422 HQ)" in page.locator("#meta").inner_text()
                assert not page.locator("#proxynote").is_visible()  # made: no "making" line left
                time.sleep(0.3)
                assert page.locator("#empty").is_hidden() and not errors, errors
            finally:
                browser.close()
    finally:
        view.extras.close()
        server.close()
        artifacts.close()
