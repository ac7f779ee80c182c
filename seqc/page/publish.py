"""What the watcher publishes to the preview: a view that wraps the terminal's view (the same calls,
also sent to the event bus), its reporter (the terminal's progress events, also published), and the
contact sheet and curves of each new version.

The sheet and the curves decode every clip again (seqc.inspect), which costs about as much as the
join, so they are made after the video is published, in a background thread at a lower CPU
priority, for the newest version only: the video never waits for them. An output no browser plays
(ProRes, DNxHR, FFV1, any .mkv) is published as its H.264 proxy (seqc.page.proxy), made first in
that thread: the watcher never waits for it, and a proxy that fails is one line, on the page too.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from seqc.errors import Problem
from seqc.page.artifacts import Artifacts, SourceChanged
from seqc.page.bus import EventBus
from seqc.page.proxy import ISO_SUFFIXES, ProxyMaker, needs_proxy, timeout_for
from seqc.plan import Plan, SegmentJob
from seqc.render.driver import RenderResult
from seqc.render.progress import (
    Advance,
    Begin,
    ProgressEvent,
    Reporter,
    SegmentBegin,
    SegmentEnd,
    Stage,
    Working,
    to_dict,
)
from seqc.store import Cache

PROGRESS_EVERY = 0.2  # seconds between progress events of one render
PROXY_TAG = "h264-proxy"  # in a proxy's version, so it never shares one with a copy of its source


def plan_rows(plan: Plan) -> dict:
    """The plan as the page's table shows it: a row per segment, then the final frame."""
    def row(job: SegmentJob, index: int | str) -> dict:
        seg = job.segment
        return {"index": index, "from": seg.source, "to": seg.target, "frames": seg.frames,
                "easing": "" if job.end else seg.easing, "method": "" if job.end else seg.method,
                "status": job.status, "reason": job.reason, "changes": list(job.changes), "done": 0}

    rows = [row(job, job.segment.index) for job in plan.jobs]
    if plan.end is not None:
        rows.append(row(plan.end, "end"))
    story = plan.storyboard
    missing = plan.missing
    return {"rows": rows, "total_frames": plan.total_frames, "fps": story.output.fps,
            "size": list(story.output.size), "duration": round(story.duration, 3), "precision": plan.precision,
            "to_render": plan.count(missing), "to_render_frames": sum(j.segment.frames for j in missing)}


def problem_dict(problem: Problem) -> dict:
    return {**problem.as_dict(), "text": problem.format()}


class PublishingView:
    """The watcher's view, plus an event for each call (the watcher calls it from its main thread)."""

    def __init__(self, inner, bus: EventBus, artifacts: Artifacts, cache: Cache):
        self.inner, self.bus, self.artifacts, self.cache = inner, bus, artifacts, cache
        self.extras = ExtrasWorker(bus, artifacts, cache, warn=lambda text: inner.line(text, "yellow"))
        self._plan: Plan | None = None
        self._folder: Path | None = None  # the storyboard's, which output paths are shown relative to

    def __enter__(self):
        self.inner.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.extras.close()
        self.inner.__exit__(*exc)

    def line(self, text: str, style: str = "") -> None:
        self.inner.line(text, style)

    def watching(self, story: Path, images: int, folders: int, mechanism: str) -> None:
        self.inner.watching(story, images, folders, mechanism)
        self._folder = story.parent
        self._publish(lambda: self.bus.publish("watching", {"story": story.name, "images": images,
                                                            "mechanism": mechanism}))

    def rendering(self, reason: str, plan: Plan) -> None:
        self.inner.rendering(reason, plan)
        self._plan = plan
        self._publish(lambda: self.bus.publish("render-started", {"reason": reason, "plan": plan_rows(plan)}))

    def rendered(self, result: RenderResult) -> None:
        self.inner.rendered(result)
        self._publish(lambda: self._publish_render(result))

    def _publish_render(self, result: RenderResult) -> None:
        """The new video as an artifact (a version of its own), then the event that swaps it in; an
        output no browser plays is left to the background thread, to publish as its H.264 proxy."""
        video = note = proxy = job = None
        if result.output is None:
            note = "this watch writes image frames (--frames): there is no video to play"
        elif result.output.is_file():
            info = {"file": result.output.name, "frames": result.frames,
                    "fps": self._plan.storyboard.output.fps if self._plan else None,
                    "rendered_at": time.strftime("%H:%M:%S"), "proxy": None}
            codec = needs_proxy(result.output)
            if codec is None:  # H.264 in a .mov plays as it is, sent as MP4 (what a browser asks for)
                mp4 = result.output.suffix.lower() in ISO_SUFFIXES
                artifact = self.artifacts.publish("video", result.output, content_type="video/mp4" if mp4 else None)
                video = {**artifact.as_dict(), **info}
            else:
                version = self.artifacts.version(result.output, PROXY_TAG)
                proxy = {"state": "making", "for": version, "of": self._shown(result.output), "codec": codec}
                job = ProxyJob(result.output, version, info, proxy)
        summary = (f"{result.rendered} of {result.segments} segments re-rendered, {result.cached} cached, "
                   f"{result.frames} frames in {result.seconds:.2f} s")
        self.bus.publish("render-finished", {"summary": summary, "video": video, "note": note, "proxy": proxy,
                                             "result": result.as_dict()})
        if video is not None:
            self.extras.submit(video["version"], self._plan, dict(result.clips))
        elif job is not None:
            self.extras.submit(job.version, self._plan, dict(result.clips), job)

    def _shown(self, output: Path) -> str:
        """The output's path as the page names it: from the storyboard's folder if it is inside it."""
        try:
            return output.resolve().relative_to((self._folder or Path.cwd()).resolve()).as_posix()
        except (ValueError, OSError):
            return output.name

    def superseded(self, reason: str) -> None:
        self.inner.superseded(reason)
        self._publish(lambda: self.bus.publish("superseded", {"reason": reason}))

    def loaded(self) -> None:
        self.inner.loaded()
        self._publish(lambda: self.bus.publish("storyboard-loaded", {}))

    def invalid(self, story: Path, problems: list[Problem], kept: bool) -> None:
        self.inner.invalid(story, problems, kept)
        self._publish(lambda: self.bus.publish("storyboard-invalid", {"problems": [problem_dict(p) for p in problems],
                                                                      "kept": kept}))

    def failed(self, message: str) -> None:
        self.inner.failed(message)
        self._publish(lambda: self.bus.publish("render-failed", {"message": message}))

    def warn(self, message: str) -> None:
        self.inner.warn(message)
        self._publish(lambda: self.bus.publish("warning", {"message": message}))

    def _publish(self, action: Callable[[], object]) -> None:
        """Publish, never letting the preview stop the watcher: a failure is one line."""
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - the watcher goes on; the page misses this update
            self.inner.line(f"preview: cannot publish this update: {type(exc).__name__}: {exc}", "red")

    def reporter(self) -> Reporter:
        return TeeReporter(self.inner.reporter(), self.bus)

    def after_first_render(self, callback: Callable[[], None]) -> None:
        """As the terminal's view: `callback` once, after the first render (or its first error)."""
        self.inner.after_first_render(callback)


class TeeReporter(Reporter):
    """The terminal's progress events, each also published: the stage, a segment's start and end,
    and (throttled) the frames done."""

    def __init__(self, inner: Reporter, bus: EventBus):
        super().__init__()
        self.inner, self.bus = inner, bus
        self.total_done = 0
        self.segment_done = 0
        self.index: int | str | None = None
        self.sent = 0.0

    def report(self, event: ProgressEvent) -> None:
        self.inner.report(event)
        match event:
            case Begin():
                self.total_done = 0
            case Stage(text=text) | Working(text=text):
                self.bus.publish("stage", {"text": text})
            case SegmentBegin(index=index):
                self.index, self.segment_done = index, 0
                self.bus.publish("segment-started", _fields(event))
            case Advance(frames=frames):
                self._advance(frames)
            case SegmentEnd():
                self.bus.publish("segment-done", {**_fields(event), "total_done": self.total_done})

    def _advance(self, frames: int) -> None:
        self.total_done += frames
        self.segment_done += frames
        now = time.monotonic()
        if now - self.sent >= PROGRESS_EVERY:
            self.sent = now
            self.bus.publish("progress", {"index": self.index, "done": self.segment_done,
                                          "total_done": self.total_done})


def _fields(event: ProgressEvent) -> dict:
    """An event's data as the page's stream carries it (its `to_dict`, less the kind)."""
    data = to_dict(event)
    del data["ev"]
    return data


@dataclass(frozen=True)
class ProxyJob:
    """An output to publish as its H.264 proxy: the version it will have, the video's fields for the
    page, and the `proxy` state the render-finished event announced."""

    source: Path
    version: str
    info: dict
    proxy: dict


class ExtrasWorker:
    """Makes the H.264 proxy (if the output needs one), then the contact sheet and the curves, of the
    newest version in a background thread. `warn`: a line on the watcher's terminal."""

    def __init__(self, bus: EventBus, artifacts: Artifacts, cache: Cache, warn: Callable[[str], None] | None = None):
        self.bus, self.artifacts, self.cache = bus, artifacts, cache
        self.warn = warn or (lambda text: None)
        self.proxies = ProxyMaker()
        self._cond = threading.Condition()
        self._job: tuple[str, Plan | None, dict, ProxyJob | None] | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="seqc-preview-extras", daemon=True)
        self._thread.start()

    def submit(self, version: str, plan: Plan | None, clips: dict, proxy: ProxyJob | None = None) -> None:
        with self._cond:
            self._job = (version, plan, clips, proxy)
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self.proxies.cancel()  # a long encode never holds the watcher's exit
        self._thread.join(10)

    def _newer(self) -> bool:
        with self._cond:
            return self._job is not None or self._closed

    def _run(self) -> None:
        with contextlib.suppress(OSError, AttributeError):  # Linux: a thread's own nice value
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        while True:
            with self._cond:
                while self._job is None and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                assert self._job is not None  # the loop above waits for one
                version, plan, clips, proxy = self._job
                self._job = None
            if proxy is not None and (not self._proxy(proxy) or self._newer()):
                continue
            try:
                if plan is not None:
                    self._make(version, plan, clips)
            except Exception as exc:  # noqa: BLE001 - shown on the page; the watcher goes on
                self.bus.publish("extras", {"state": "failed", "for": version,
                                            "message": f"{type(exc).__name__}: {exc}"})

    def _proxy(self, job: ProxyJob) -> bool:
        """Publish the H.264 proxy of `job.source` (made once per version); a failure is one line on
        the terminal and on the page. False when a newer job replaces this one (the source with it)."""
        timeout = timeout_for(job.info.get("frames") or 0)
        proxy = {k: v for k, v in job.proxy.items() if k not in ("state", "for")}
        try:
            if not proxy["codec"]:  # a .mkv: ask ffmpeg what it holds, for the label
                proxy["codec"] = self.proxies.codec_label(job.source)
            artifact = self.artifacts.publish("video", job.source, PROXY_TAG, content_type="video/mp4", suffix=".mp4",
                                              make=lambda source, path: self.proxies.make(source, path, timeout))
            if artifact.version != job.version:
                raise SourceChanged(f"{job.source.name} changed after its render")
        except Exception as exc:  # noqa: BLE001 - the page says so; the watcher goes on
            if self._newer():
                return False
            self.warn(f"preview: no H.264 proxy of {proxy['of']} for the page: {exc}")
            self.bus.publish("proxy-failed", {"for": job.version, "message": str(exc)})
            return True
        self.bus.publish("proxy-ready", {"for": job.version, "video": {**artifact.as_dict(), **job.info,
                                                                       "proxy": proxy}})
        return True

    def _make(self, version: str, plan: Plan, clips: dict) -> None:
        from seqc.inspect.analyze import analyze, plot
        from seqc.inspect.sheet import contact_sheet, write_sheet

        started = time.monotonic()
        made: dict = {}
        with self.cache.lease(plan.leased_keys()):
            scratch = self.artifacts.scratch("sheet")
            write_sheet(contact_sheet(plan, clips), scratch)
            made["sheet"] = self.artifacts.publish("sheet", scratch, tag=version).as_dict()
            scratch.unlink()
            if self._newer():
                return
            scratch = self.artifacts.scratch("curves")
            plot(analyze(plan, clips, self.cache), scratch, title="frame-to-frame change by video frame")
            made["curves"] = self.artifacts.publish("curves", scratch, tag=version).as_dict()
            scratch.unlink()
        self.bus.publish("extras", {"state": "ready", "for": version, **made,
                                    "seconds": round(time.monotonic() - started, 2)})
