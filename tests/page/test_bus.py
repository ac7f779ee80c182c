"""The event bus and the page's state: ids, history, waiting streams, and what each event changes."""

from __future__ import annotations

import json
import threading
import time

from seqc.page.bus import EventBus


def _plan(statuses: list[str]) -> dict:
    rows = [{"index": i, "from": "a", "to": "b", "frames": 4, "easing": "linear", "method": "lerp", "status": s,
             "reason": "new" if s == "missing" else "cached", "changes": [], "done": 0} for i, s in enumerate(statuses)]
    return {"rows": rows, "to_render_frames": 4 * statuses.count("missing")}


def test_events_have_increasing_ids_and_a_publication_time():
    bus = EventBus()
    before = time.time()
    first, second = bus.publish("watching", {"story": "s.yaml"}), bus.publish("storyboard-loaded")
    assert (first.id, second.id) == (1, 2) and before <= first.t <= second.t <= time.time()
    assert first.sse().startswith(b"id: 1\nevent: watching\ndata: {") and first.sse().endswith(b"\n\n")
    assert bus.after(0, 0) == [first, second] and bus.after(2, 0) == []


def test_a_stream_waits_for_the_next_event_and_wakes_on_close():
    bus = EventBus()
    got = []
    waiter = threading.Thread(target=lambda: got.append(bus.after(0, 10)))
    waiter.start()
    time.sleep(0.1)
    event = bus.publish("render-failed", {"message": "x"})
    waiter.join(5)
    assert got == [[event]]
    started = time.monotonic()
    closer = threading.Timer(0.1, bus.close)
    closer.start()
    assert bus.after(event.id, 10) == [] and time.monotonic() - started < 5


def test_a_stream_too_far_behind_starts_again_from_the_state():
    bus = EventBus(history=4)
    for _ in range(10):
        bus.publish("storyboard-loaded")
    assert bus.after(2, 0) is None  # events 3..6 are gone: send the whole state
    assert [e.id for e in bus.after(7, 0)] == [8, 9, 10]


def test_the_state_follows_a_render_and_keeps_the_last_video_on_errors():
    bus = EventBus()
    bus.publish("watching", {"story": "s.yaml"})
    bus.publish("render-started", {"reason": "first render", "plan": _plan(["missing", "cached"])})
    _, state = bus.snapshot()
    assert state["status"] == "rendering" and state["progress"] == {"done": 0, "total": 4, "stage": ""}
    bus.publish("segment-started", {"index": 0, "frames": 4})
    bus.publish("progress", {"index": 0, "done": 2, "total_done": 2})
    _, state = bus.snapshot()
    assert state["plan"]["rows"][0]["status"] == "rendering" and state["plan"]["rows"][0]["done"] == 2
    assert state["progress"]["done"] == 2 and state["video"] is None  # no video before publish
    bus.publish("segment-done", {"index": 0, "total_done": 4})
    video = {"version": "v1", "url": "/a/video?v=v1"}
    bus.publish("render-finished", {"summary": "1 of 2", "video": video})
    _, state = bus.snapshot()
    assert state["status"] == "idle" and state["video"] == video and state["extras"] == {"state": "pending"}
    assert [r["status"] for r in state["plan"]["rows"]] == ["rendered", "cached"]
    problems = [{"file": "s.yaml", "line": 3, "column": 5, "text": "s.yaml:3:5: bad"}]
    bus.publish("storyboard-invalid", {"problems": problems, "kept": True})
    _, state = bus.snapshot()
    assert state["status"] == "error" and state["problems"] == problems and state["video"] == video
    bus.publish("storyboard-loaded")
    bus.publish("render-failed", {"message": "render failed: disk full"})
    _, state = bus.snapshot()
    assert state["problems"] == [] and state["failure"] == "render failed: disk full" and state["video"] == video


def test_an_event_stays_as_published_while_the_state_moves_on():
    """A stream that sends render-started late (a busy machine) still sends the plan's rows as they
    were: the state's update of a row must not reach into the published event."""
    bus = EventBus()
    plan = {"rows": [{"index": 0, "status": "cached", "frames": 6}, {"index": 1, "status": "missing", "frames": 6}],
            "to_render_frames": 6}
    started = bus.publish("render-started", {"reason": "saved", "plan": plan})
    bus.publish("segment-started", {"index": 1})
    bus.publish("segment-done", {"index": 1})
    sent = json.loads(started.sse().decode().split("data: ", 1)[1])
    assert [row["status"] for row in sent["plan"]["rows"]] == ["cached", "missing"]
    assert [row["status"] for row in bus.snapshot()[1]["plan"]["rows"]] == ["cached", "rendered"]


def test_each_event_carries_what_it_changed_of_the_state():
    """The page only merges and draws: a progress event carries its one row, not the plan; a new
    plan is sent whole; an event that changes nothing carries nothing."""
    bus = EventBus()
    started = bus.publish("render-started", {"reason": "saved", "plan": _plan(["cached", "missing", "missing"])})
    assert set(started.changed["set"]) == {"status", "reason", "plan", "progress"} and "rows" not in started.changed
    progress = bus.publish("progress", {"index": 1, "done": 2, "total_done": 2})
    assert progress.changed == {"set": {"progress": {"done": 2, "total": 8, "stage": ""}},
                                "rows": [{**_plan(["cached", "missing", "missing"])["rows"][1],
                                          "status": "rendering", "done": 2}]}
    assert bus.publish("warning", {"message": "x"}).changed == {"set": {}}
    sent = json.loads(progress.sse().decode().split("data: ", 1)[1])
    assert sent["changed"] == progress.changed and sent["total_done"] == 2  # the event's own data too


def test_merging_every_event_s_change_gives_the_state():
    """What the page's merge does (page.html `merge`), replayed here: the same state as the server's."""
    bus = EventBus()
    _, page = bus.snapshot()
    bus.publish("watching", {"story": "s.yaml"})
    bus.publish("render-started", {"reason": "first", "plan": _plan(["missing", "missing"])})
    for index in (0, 1):
        bus.publish("segment-started", {"index": index, "frames": 4})
        bus.publish("progress", {"index": index, "done": 3, "total_done": 4 * index + 3})
        bus.publish("segment-done", {"index": index, "total_done": 4 * index + 4})
    bus.publish("render-finished", {"summary": "2 of 2", "video": {"version": "v1"}})
    bus.publish("extras", {"state": "ready", "for": "v1"})
    bus.publish("storyboard-invalid", {"problems": [{"text": "bad"}], "kept": True})
    for event in bus.after(0, 0):
        page.update(event.changed["set"])
        for row in event.changed.get("rows", []):
            rows = page["plan"]["rows"]
            rows[[r["index"] for r in rows].index(row["index"])] = row
    assert page == bus.snapshot()[1]
