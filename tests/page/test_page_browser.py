"""The preview page in a real browser: Debian's chromium driven by playwright (no browser download).

Opens the page of a `seqc watch --serve`, edits the storyboard and waits for the new video to load
(readyState >= 2) with the new duration, then saves an invalid storyboard and finds the problem with
its line:col while the last good video stays. The screenshot is kept: under the test's tmp folder,
and copied to $SEQC_TEST_ARTIFACTS if set. Then the page always comes back: after 20 quick reloads,
and with every event stream taken (it shows /state, then goes live when a stream frees). Skipped
only if chromium or playwright is missing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from servekit import ServeWatch, make_project, open_stream, story_text
from watchutil import save_by_rename

from seqc.page.server import MAX_STREAMS

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
FPS = 8

NEW_VIDEO = """(old) => { const v = document.getElementById('video');
  return v && v.tagName === 'VIDEO' && v.readyState >= 2 && v.dataset.version !== old
    ? {version: v.dataset.version, duration: v.duration} : null; }"""
SHOWN = """(story) => document.getElementById('story').textContent === story
  && document.querySelector('#plan tr') !== null"""
LIVE = "() => document.getElementById('conn').classList.contains('live')"


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def keep(screenshot: Path) -> None:
    folder = os.environ.get("SEQC_TEST_ARTIFACTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(screenshot, Path(folder) / screenshot.name)


def test_the_page_follows_edits_and_shows_errors(browser, tmp_path):
    folder = make_project(tmp_path)
    story = folder / "story.yaml"
    story.write_text(story_text([("dawn", "noon", 6), ("noon", "dusk", 6)], fps=FPS))
    watch = ServeWatch(folder)
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text) if m.type == "error" else None)
    try:
        page.goto(watch.wait_url())
        # 1. The first render: its video plays, with the storyboard's duration.
        first = page.wait_for_function(NEW_VIDEO, arg="", timeout=240_000).json_value()
        assert first["duration"] == pytest.approx(13 / FPS, abs=0.15)
        assert page.locator("#plan tr").count() == 3  # two segments and the final frame
        # 2. An edit in the editor: the new video replaces it once rendered and published.
        save_by_rename(story, story_text([("dawn", "noon", 6), ("noon", "dusk", 14, "ease-in")], fps=FPS))
        second = page.wait_for_function(NEW_VIDEO, arg=first["version"], timeout=120_000).json_value()
        assert second["duration"] == pytest.approx(21 / FPS, abs=0.15)
        row = page.locator("#plan tr[data-index='1']").inner_text()
        assert "ease-in" in row and "14" in row and "rendered" in row and "duration changed" in row
        assert "cached" in page.locator("#plan tr[data-index='0']").inner_text()
        page.wait_for_function("() => document.querySelector('#sheet img') && document.querySelector('#sheet img')"
                               ".naturalWidth > 0", timeout=120_000)
        # 3. An invalid save: the problem in red with its line:col; the last good video stays.
        save_by_rename(story, story_text([("dawn", "noon", 6), ("noon", "dusk", 14)], fps=FPS)
                       .replace("easing: linear", "easing: lineer"))
        page.wait_for_selector("#errors.show", timeout=60_000)
        problems = page.locator("#problems").inner_text()
        assert "story.yaml:3:" in problems and "lineer" in problems, problems
        assert page.locator("#problems .where").first.inner_text().startswith("story.yaml:3:")
        assert page.locator("#video").get_attribute("data-version") == second["version"]
        assert page.locator("#badge").is_visible()
        latencies = page.evaluate("window.seqcLatencies")
        assert latencies and max(latencies) < 1.0, latencies
        shot = tmp_path / "preview-page.png"
        page.screenshot(path=str(shot), full_page=True)
        keep(shot)
        assert shot.stat().st_size > 10_000
        assert not messages, messages  # no script errors, no CSP violations
        assert watch.interrupt() == 130
    finally:
        page.close()
        watch.close()


def test_the_page_comes_back_after_quick_reloads_and_with_every_stream_taken(browser, tmp_path):
    """Issue 24 item 5: 20 reloads 0.3 s apart left the page blank for good (each reloaded page's
    stream held its slot until a keep-alive failed, the 17th got 503, and an EventSource never
    retries after that). Now a stream frees its slot when its page goes; a refused page shows the
    state from /state and retries with backoff until its stream is live."""
    folder = make_project(tmp_path)
    (folder / "story.yaml").write_text(story_text([("dawn", "noon", 4)], fps=FPS))
    watch = ServeWatch(folder)
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    policy: list[str] = []
    page.on("console", lambda m: policy.append(m.text) if "Content Security Policy" in m.text else None)
    held = []
    try:
        url = watch.wait_url()
        page.goto(url)
        page.wait_for_function(NEW_VIDEO, arg="", timeout=240_000)
        # 1. Twenty reloads, 0.3 s apart: the last page is live, with the state and the video.
        for _ in range(20):
            page.reload(wait_until="domcontentloaded")
            page.wait_for_timeout(300)
        page.wait_for_function(LIVE, timeout=10_000)
        page.wait_for_function(SHOWN, arg="story.yaml", timeout=10_000)
        page.wait_for_function(NEW_VIDEO, arg="", timeout=30_000)
        # 2. Every stream taken (other tabs): the page shows the state it polls from /state ...
        page.goto("about:blank")
        page.wait_for_timeout(1500)  # the page's own stream is freed (a stream looks every 0.5 s)
        held = [open_stream(watch.port, watch.token) for _ in range(MAX_STREAMS)]
        page.goto(url)
        page.wait_for_function(SHOWN, arg="story.yaml", timeout=10_000)
        assert not page.evaluate(LIVE)
        assert "polling" in page.locator("#conn").get_attribute("title")
        # ... and goes live once a stream is free again, retrying by itself.
        held.pop().close()
        page.wait_for_function(LIVE, timeout=20_000)
        assert not policy, policy
        assert watch.interrupt() == 130
    finally:
        for stream in held:
            stream.close()
        page.close()
        watch.close()
