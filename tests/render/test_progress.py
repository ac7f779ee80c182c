"""The progress events (seqc/render/progress.py): each Reporter call is one event, every event
survives `to_dict` / `from_dict` (and JSON), and a render replayed from a watch process's socket
draws on the terminal exactly what the same calls draw in-process."""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path

import pytest
from servekit import make_project, story_text

from seqc.handoff.client import Lines, _follow
from seqc.handoff.listener import SocketReporter
from seqc.render.progress import (
    EVENTS,
    Advance,
    Begin,
    End,
    Reporter,
    SegmentBegin,
    SegmentEnd,
    Stage,
    Warn,
    Worked,
    Worker,
    Working,
    from_dict,
    to_dict,
)
from seqc.store import Cache
from seqc.ui import progress as terminal
from seqc.ui.load import load_and_plan


class Recorder(Reporter):
    def __init__(self) -> None:
        super().__init__()
        self.events: list = []

    def report(self, event) -> None:
        self.events.append(event)


@pytest.fixture
def plan(tmp_path: Path):
    folder = make_project(tmp_path)
    story = folder / "story.yaml"
    story.write_text(story_text([("dawn", "noon", 6), ("noon", "dusk", 4, "ease-in")]))
    return load_and_plan(str(story), Cache(folder / "cache"), quiet=True)


def _calls(reporter: Reporter, plan) -> None:
    """What a render with a cluster worker and the join after it calls, in order."""
    first, end = plan.jobs[0], plan.end
    reporter.begin(plan, plan.missing, 11)
    reporter.stage("loading model 'builtin'")
    reporter.segment_begin(first, 6)
    reporter.advance(4)
    reporter.advance(2)
    reporter.segment_end(first)
    reporter.worker(2, plan.jobs[1])
    reporter.advance(4)
    reporter.segment_end(plan.jobs[1])
    reporter.worker(2, None)
    reporter.segment_begin(end, 1)
    reporter.advance(1)
    reporter.segment_end(end)
    reporter.warn("the remote cache is slow")
    reporter.end()
    with reporter.working("joining 3 clips"):
        pass


def test_each_reporter_call_is_exactly_one_event(plan):
    recorder = Recorder()
    _calls(recorder, plan)
    first, second = plan.jobs[0].label, plan.jobs[1].label
    assert recorder.events == [
        Begin(plan.count(plan.missing), 3, 11), Stage("loading model 'builtin'"), SegmentBegin(first, 0, 6),
        Advance(4), Advance(2), SegmentEnd(first, 0, 6), Worker(2, second, 4), Advance(4),
        SegmentEnd(second, 1, 4), Worker(2, None, 0), SegmentBegin(plan.end.label, "end", 1), Advance(1),
        SegmentEnd(plan.end.label, "end", 1), Warn("the remote cache is slow"), End(), Working("joining 3 clips"),
        Worked(),
    ]


def test_a_working_step_ends_even_when_it_fails():
    recorder = Recorder()
    with pytest.raises(OSError), recorder.working("joining"):
        raise OSError("disk full")
    assert recorder.events == [Working("joining"), Worked()]


def test_the_base_reporter_shows_only_warnings():
    warned: list[str] = []
    Reporter(warn=warned.append).warn("careful")
    Reporter(warn=warned.append).stage("quiet")
    Reporter().warn("nobody listens")
    assert warned == ["careful"]


@pytest.mark.parametrize("event", [Begin("2 of 9 segments and the final frame", 3, 120), Stage("loading"),
                                   SegmentBegin("segment 1: a -> b", 1, 24), Advance(8),
                                   SegmentEnd("final frame: b", "end", 1), Worker(3, "segment 2: b -> c", 12),
                                   Worker(1, None, 0), End(), Warn("w"), Working("joining"), Worked()],
                         ids=lambda e: type(e).__name__ + str(getattr(e, "label", "")))
def test_every_event_survives_to_dict_and_from_dict(event):
    data = to_dict(event)
    assert data["ev"] == event.kind and EVENTS[event.kind] is type(event)
    assert from_dict(json.loads(json.dumps(data))) == event


def test_every_event_type_is_covered_above():
    assert set(EVENTS) == {"begin", "stage", "segment_begin", "advance", "segment_end", "worker", "end", "warn",
                           "working", "worked"}


@pytest.mark.parametrize("data", [{"ev": "done"}, {}, {"ev": "advance"}, {"ev": "advance", "frames": 1, "x": 2}])
def test_anything_else_is_not_an_event(data):
    with pytest.raises(ValueError):
        from_dict(data)


def test_a_render_replayed_from_the_socket_draws_what_it_draws_in_process(plan, capsys, monkeypatch):
    """Plain lines (stderr is no terminal here), on a frozen clock so the rates are the same."""
    monkeypatch.setattr(terminal.time, "monotonic", lambda: 100.0)
    _calls(terminal.ProgressReporter(), plan)
    in_process = capsys.readouterr().err
    assert "render 2 of 2 segments and the final frame (11 frames)" in in_process
    assert "segment 1" in in_process and "the remote cache is slow" in in_process

    producer, consumer = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with producer, consumer:
        def watch_side() -> None:  # as the listener runs the job, then answers
            _calls(SocketReporter(producer), plan)
            producer.sendall(json.dumps({"ev": "done", "result": {"rendered": 3}, "warnings": []}).encode() + b"\n")

        sender = threading.Thread(target=watch_side)
        sender.start()
        outcome = _follow(Lines(consumer), "story.yaml", {"pid": os.getpid()}, False, "cache")
        sender.join(10)
    replayed = capsys.readouterr().err
    assert outcome.result == {"rendered": 3} and outcome.warnings == []
    said = "rendering in the running seqc watch"
    assert replayed.splitlines()[0].startswith(said)
    assert [line for line in replayed.splitlines() if not line.startswith(said)] == in_process.splitlines()
