"""The preview's event bus: what the watcher publishes, kept for the page's event streams.

Each event has an increasing id, a kind (render-started, segment-started, progress, segment-done,
render-finished, proxy-ready, proxy-failed, render-failed, storyboard-invalid, storyboard-loaded,
superseded, extras) and a JSON-able payload, with the wall time it was published (`t`, for the push
latency). The bus keeps the latest `history` events, so a reconnecting EventSource (Last-Event-ID)
misses nothing; a client further behind gets the whole state again. `PreviewState` is that state,
and its `apply` the one reducer: each event also carries what it changed of the state (`changed`),
which the page merges and draws, so the page's script never interprets an event itself.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field

# What a `state` event holds at first, before any render.
EMPTY_STATE: dict = {"story": "", "status": "starting", "reason": "", "plan": None, "progress": None,
               "problems": [], "failure": None, "video": None, "extras": None, "last": None, "note": None,
               "proxy": None}  # proxy: the H.264 proxy being made of an output no browser plays (or why it failed)


@dataclass(frozen=True)
class Event:
    """One published event."""

    id: int
    kind: str
    data: dict
    t: float  # time.time() when published
    changed: dict = field(default_factory=dict)  # what it changed of the page's state (PreviewState.apply)

    def sse(self) -> bytes:
        """The event as a server-sent event: `id:`, `event:` and one `data:` line of JSON (the
        event's data, `t`, and `changed`, the part of the state the page merges)."""
        payload = json.dumps({**self.data, "t": self.t, "changed": self.changed}, separators=(",", ":"))
        return f"id: {self.id}\nevent: {self.kind}\ndata: {payload}\n\n".encode()


class EventBus:
    """Publish events from any thread; each stream waits for the ones after its last id."""

    def __init__(self, history: int = 512):
        self._cond = threading.Condition()
        self._events: deque[Event] = deque(maxlen=history)
        self._next = 1
        self.closed = False
        self.state = PreviewState()

    def publish(self, kind: str, data: dict | None = None) -> Event:
        """Record an event, update the state, and wake every stream."""
        with self._cond:
            data = dict(data or {})
            # The state gets its own copy: it changes rows in place, and an event must stay what was
            # published until every stream has sent it (a late stream sent 'rendering' for 'missing').
            changed = self.state.apply(kind, json.loads(json.dumps(data)))
            event = Event(self._next, kind, data, time.time(), changed)
            self._next += 1
            self._events.append(event)
            self._cond.notify_all()
        return event

    @property
    def last_id(self) -> int:
        with self._cond:
            return self._next - 1

    def snapshot(self) -> tuple[int, dict]:
        """The id of the last event and the state after it (consistent with each other)."""
        with self._cond:
            return self._next - 1, self.state.copy()

    def after(self, last_id: int, timeout: float) -> list[Event] | None:
        """Events after `last_id`, waiting up to `timeout` s for one; None if `last_id` is no longer
        in the history (the stream must start again from a snapshot); [] on timeout or close."""
        with self._cond:
            if not self.closed and self._next - 1 <= last_id:
                self._cond.wait(timeout)
            if self._events and last_id < self._events[0].id - 1:
                return None
            return [e for e in self._events if e.id > last_id]

    def close(self) -> None:
        """Wake every stream so it can end (the server is stopping)."""
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class PreviewState:
    """What the page shows, updated by each event; the page is sent what each event changed."""

    def __init__(self) -> None:
        self.data: dict = json.loads(json.dumps(EMPTY_STATE))

    def copy(self) -> dict:
        return json.loads(json.dumps(self.data))

    def apply(self, kind: str, data: dict) -> dict:
        """Update the state for one event; what it changed, as the page merges it (`changes`)."""
        before = self.copy()
        self._update(kind, data)
        return changes(before, self.data)

    def _update(self, kind: str, data: dict) -> None:
        s = self.data
        if kind == "watching":
            s["story"] = data.get("story", "")
            s["status"] = "idle"
        elif kind == "render-started":
            s.update(status="rendering", reason=data["reason"], plan=data["plan"], failure=None,
                     progress={"done": 0, "total": data["plan"]["to_render_frames"], "stage": ""})
        elif kind == "stage" and s["progress"] is not None:
            s["progress"]["stage"] = data["text"]
        elif kind in ("segment-started", "progress", "segment-done"):
            row = _row(s, data.get("index"))
            if row is not None:
                row["status"] = "rendered" if kind == "segment-done" else "rendering"
                row["done"] = row["frames"] if kind == "segment-done" else data.get("done", 0)
            if kind == "progress" and s["progress"] is not None:
                s["progress"]["done"] = data["total_done"]
        elif kind == "render-finished":
            s.update(status="idle", progress=None, failure=None, last=data["summary"], note=data.get("note"),
                     proxy=data.get("proxy"))
            if data.get("video") is not None:
                s["video"] = data["video"]
            if data.get("video") is not None or s["proxy"] is not None:
                s["extras"] = {"state": "pending"}
            if s["plan"] is not None:
                for row in s["plan"]["rows"]:
                    if row["status"] in ("missing", "rendering"):
                        row["status"] = "rendered"
        elif kind in ("proxy-ready", "proxy-failed"):
            if s["proxy"] is not None and s["proxy"].get("for") == data.get("for"):  # else a newer render's
                if kind == "proxy-ready":
                    s.update(video=data["video"], proxy=None)
                else:
                    s["proxy"] = {**s["proxy"], "state": "failed", "message": data["message"]}
        elif kind == "extras":
            s["extras"] = data
        elif kind == "superseded":
            s.update(status="rendering", reason=data["reason"])
        elif kind == "render-failed":
            s.update(status="error", progress=None, failure=data["message"])
        elif kind == "storyboard-invalid":
            s.update(status="error", progress=None, problems=data["problems"])
        elif kind == "storyboard-loaded":
            s["problems"] = []


def changes(before: dict, after: dict) -> dict:
    """What changed from `before` to `after`, as the page merges it: `set`, the top-level keys with
    their new values, and `rows`, plan rows replaced by index when only some rows of the same plan
    changed (a progress event sends one row, not the plan). A copy: the state moves on."""
    found: dict = {"set": {}}
    for key, value in after.items():
        old = before.get(key)
        if value == old:
            continue
        if key == "plan" and old is not None and _same_plan(old, value):
            found["rows"] = [row for row, was in zip(value["rows"], old["rows"], strict=True) if row != was]
        else:
            found["set"][key] = value
    return json.loads(json.dumps(found))


def _same_plan(old: dict | None, new: dict | None) -> bool:
    """Whether two plans differ at most in their rows' contents (same rows in the same order)."""
    if old is None or new is None or len(old["rows"]) != len(new["rows"]):
        return False
    if any(a["index"] != b["index"] for a, b in zip(old["rows"], new["rows"], strict=True)):
        return False
    return {k: v for k, v in old.items() if k != "rows"} == {k: v for k, v in new.items() if k != "rows"}


def _row(state: dict, index: object) -> dict | None:
    plan = state.get("plan")
    if plan is None or not isinstance(index, (int, str)):
        return None
    for row in plan["rows"]:
        if row["index"] == index:
            return row
    return None
