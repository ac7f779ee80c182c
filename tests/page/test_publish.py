"""The publishing view: the plan as the page's rows, events beside the terminal's lines, and a
preview that fails never stopping the watcher."""

from __future__ import annotations

from pathlib import Path

from servekit import make_project, story_text

from seqc.page.artifacts import Artifacts
from seqc.page.bus import EventBus
from seqc.page.publish import PublishingView, TeeReporter, plan_rows
from seqc.render.driver import RenderResult
from seqc.render.progress import (
    Advance,
    Begin,
    Reporter,
    SegmentBegin,
    SegmentEnd,
    Worked,
    Worker,
    Working,
)
from seqc.store import Cache
from seqc.ui.load import load_and_plan
from seqc.watch.views import LogView


def _plan(tmp_path: Path):
    folder = make_project(tmp_path)
    story = folder / "story.yaml"
    story.write_text(story_text([("dawn", "noon", 6), ("noon", "dusk", 4, "ease-in")]))
    cache = Cache(folder / "cache")
    return load_and_plan(str(story), cache, quiet=True), cache


def test_the_plan_rows_say_what_the_table_shows(tmp_path):
    plan, _ = _plan(tmp_path)
    rows = plan_rows(plan)
    assert [r["index"] for r in rows["rows"]] == [0, 1, "end"]
    first, second, end = rows["rows"]
    assert (first["from"], first["to"], first["frames"], first["easing"], first["method"]) == \
           ("dawn", "noon", 6, "linear", "lerp")
    assert second["easing"] == "ease-in" and second["status"] == "missing" and second["reason"] == "new"
    assert end["frames"] == 1 and end["easing"] == "" and end["to"] == "dusk"
    assert (rows["total_frames"], rows["to_render_frames"], rows["size"]) == (11, 11, [64, 64])


def test_each_view_call_is_also_an_event(tmp_path, capsys):
    plan, cache = _plan(tmp_path)
    bus, artifacts = EventBus(), Artifacts()
    view = PublishingView(LogView(), bus, artifacts, cache)
    try:
        view.rendering("story.yaml changed", plan)
        out = tmp_path / "out.mp4"
        out.write_bytes(b"video")
        view.rendered(RenderResult(clips={}, frames=11, segments=2, rendered=2, cached=0, seconds=1.0, output=out))
        kinds = [e.kind for e in bus.after(0, 0)]
        assert kinds == ["render-started", "render-finished"]
        video = bus.after(1, 0)[0].data["video"]
        assert artifacts.lookup("video", video["version"]).path.read_bytes() == b"video"
        assert "rendering: story.yaml changed" in capsys.readouterr().err  # the terminal's line is still there
    finally:
        view.extras.close()
        artifacts.close()


def test_a_preview_that_cannot_publish_never_stops_the_watcher(tmp_path, capsys):
    plan, cache = _plan(tmp_path)
    bus, artifacts = EventBus(), Artifacts()
    view = PublishingView(LogView(), bus, artifacts, cache)
    try:
        view.rendering("first render", plan)
        artifacts.close()  # its private folder is gone: publishing the video fails
        out = tmp_path / "out.mp4"
        out.write_bytes(b"video")
        view.rendered(RenderResult(clips={}, frames=11, segments=2, rendered=2, cached=0, seconds=1.0, output=out))
        err = capsys.readouterr().err
        assert "rendered: 2 of 2 segments" in err
        assert err.count("preview: cannot publish this update") == 1
    finally:
        view.extras.close()


def test_the_tee_reporter_hands_every_event_to_the_terminal_and_publishes_progress(tmp_path):
    """Every event reaches the terminal's reporter (a worker line included); the stage, a segment's
    start and end and the frames done are also published, with the segment's index."""
    plan, _ = _plan(tmp_path)
    seen = []

    class Terminal(Reporter):
        def report(self, event):
            seen.append(event)

    bus = EventBus()
    tee = TeeReporter(Terminal(), bus)
    first = plan.jobs[0]
    tee.begin(plan, plan.missing, 11)
    tee.worker(3, None)
    tee.segment_begin(first, 6)
    tee.advance(6)
    tee.segment_end(first)
    with tee.working("joining 2 clips"):
        pass
    assert [type(e) for e in seen] == [Begin, Worker, SegmentBegin, Advance, SegmentEnd, Working, Worked]
    label = first.label
    assert [(e.kind, e.data) for e in bus.after(0, 0)] == [
        ("segment-started", {"label": label, "index": 0, "frames": 6}),
        ("progress", {"index": 0, "done": 6, "total_done": 6}),
        ("segment-done", {"label": label, "index": 0, "frames": 6, "total_done": 6}),
        ("stage", {"text": "joining 2 clips"}),
    ]
