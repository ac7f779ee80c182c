"""Scenario 9: warm renders and the preview's push latency (seqc.handoff, seqc.page).

Scenario 2's one-keyframe edit, as a CLI render handed to a running `seqc watch --serve` on the same
cache (the model loaded, torch and diffusers imported), against the full CLI render of the same
project; the same edit rendered cold by the CLI (`--no-server`) is measured in the same run for
reference. Then the push latency of the preview's event stream: from an event's publication in
the watch process (its `t`) to its arrival at a client reading `/events`.
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench.measure import cli_env, median, run_seqc
from bench.workload import keyframe_picture, model_yaml, timeline_project

URL_RE = re.compile(r"preview: (http://\S+)")


class _Watch:
    """`seqc watch --serve --quiet` in a subprocess, its output lines read in a thread."""

    def __init__(self, args: list[str], cwd: Path):
        self.proc = subprocess.Popen([sys.executable, "-m", "seqc", "watch", *args], cwd=cwd,
                                     env=cli_env({"PYTHONUNBUFFERED": "1"}), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait(self, pattern: str, since: int = 0, timeout: float = 600) -> re.Match:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines[since:]:
                match = regex.search(line)
                if match:
                    return match
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"seqc watch: no line matching {pattern!r}:\n" + "\n".join(self.lines[-30:]))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                return self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait(10)


class _Events:
    """Reads the preview's event stream; records (kind, published t, arrival time) per event."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
        self.conn.request("GET", f"/events?{parts.query}")
        self.response = self.conn.getresponse()
        self.arrivals: list[tuple[str, float, float]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        kind = ""
        try:
            for raw in self.response:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind != "state":
                    published = json.loads(line[6:]).get("t")
                    if published is not None:
                        self.arrivals.append((kind, published, time.time()))
        except (OSError, ValueError):
            return

    def wait(self, kind: str, since: int, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(k == kind for k, _, _ in self.arrivals[since:]):
                return
            time.sleep(0.02)
        raise RuntimeError(f"no {kind} event")

    def close(self) -> None:
        self.conn.close()


def scenario_warm(bench) -> dict:
    """Scenario 2's edit handed to a warm `seqc watch --serve` vs the full CLI render; push latency."""
    from bench.scenarios import _ratio, figure, r

    s = bench.settings
    # 1. Scenario 2's project, fresh: the full CLI render (nothing running: in-process).
    project = timeline_project(bench.folder("s9"), bench.model, s.size, s.fps, s.keyframes, s.frames_per_segment)
    segments, index = s.keyframes - 1, (s.keyframes - 1) // 2
    full = run_seqc(bench.render_args(project, "--no-server"), project.folder)
    assert full.json()["rendered"] == segments, full.json()
    # 2. The edit rendered cold by the CLI, for reference (`--no-server`).
    project.set_image(project.keyframes[index], keyframe_picture(index, s.size, variant=1))
    cold = run_seqc(bench.render_args(project, "--no-server"), project.folder)
    assert cold.json()["rendered"] == 2, cold.json()
    # 3. The artist's session: `seqc watch --serve` on the same cache, on a short storyboard of the
    #    same model; wait until it rendered, loaded the model and made its contact sheet.
    hold = project.folder / "hold.yaml"
    hold_text = (f"version: 1\noutput: {{path: out/hold.mp4, size: [{s.size}, {s.size}], fps: {s.fps:g}}}\n"
                 f"model: {model_yaml(project.model)}\nkeyframes:\n"
                 f"  a: {{image: keyframes/{project.keyframes[0]}.png}}\n"
                 f"  b: {{image: keyframes/{project.keyframes[1]}.png}}\n"
                 "segments:\n  - {from: a, to: b, frames: FRAMES}\n")
    hold.write_text(hold_text.replace("FRAMES", "2"))
    batch = ["--batch-size", str(s.batch_size)] if s.batch_size else []
    watch = _Watch(["hold.yaml", "--serve", "--quiet", "--cache-dir", str(project.cache), "--device", bench.device,
                    "--dtype", bench.dtype, *batch], project.folder)
    events = None
    try:
        url = watch.wait(URL_RE.pattern).group(1)
        events = _Events(url)
        watch.wait(r"rendered: ")
        events.wait("extras", 0)
        _wait_warm(project.cache)
        # 4. The edit again (another picture), rendered by the CLI: handed to the watch process.
        project.set_image(project.keyframes[index], keyframe_picture(index, s.size, variant=2))
        mark = len(watch.lines)
        warm = run_seqc(bench.render_args(project), project.folder)
        assert warm.json()["rendered"] == 2, warm.json()
        watch.wait(r"served: seqc render storyboard\.yaml .*: 2 of \d+ segments rendered", mark, timeout=30)
        # 5. Push latency: a save of the watched storyboard, every event of its render.
        since = len(events.arrivals)
        hold.write_text(hold_text.replace("FRAMES", str(s.frames_per_segment + 5)))  # a clip no one has
        events.wait("render-finished", since)
        time.sleep(0.2)
        pushed = events.arrivals[since:]
    finally:
        if events is not None:
            events.close()
        code = watch.stop()
    assert code == 130, f"seqc watch exited {code}"
    latencies = [arrived - published for _, published, arrived in pushed]
    finished = [arrived - published for kind, published, arrived in pushed if kind == "render-finished"]
    ratio = _ratio(warm.timing.wall, full.timing.wall)
    figures = [
        figure("full render (CLI wall, nothing running)", r(full.timing.wall, 2), "s"),
        figure("edit re-render, cold CLI (--no-server)", r(cold.timing.wall, 2), "s",
               note=f"edit / full = {_ratio(cold.timing.wall, full.timing.wall):.3f}"),
        figure("edit re-render, CLI handed to a warm seqc watch", r(warm.timing.wall, 2), "s",
               note=f"2 of {segments} segments; {_ratio(warm.timing.wall, cold.timing.wall):.2f} of the cold edit"),
        figure("warm edit / full", r(ratio), "x", ("<=", 0.30), "the issue's target"),
        figure("push latency, median (event published -> received by an /events client)",
               r(median(latencies) * 1000, 2), "ms", note=f"{len(latencies)} events of one render"),
        figure("push latency, max", r(max(latencies) * 1000, 2), "ms"),
        figure("render-finished pushed after publish", r(max(finished) * 1000, 2), "ms", ("<=", 1000.0),
               "the page swaps the video on this event"),
    ]
    return {"title": "Warm renders: scenario 2's edit handed to a running seqc watch; the preview's push latency",
            "figures": figures,
            "details": {"full": full.timing.as_dict(), "cold_edit": cold.timing.as_dict(),
                        "warm_edit": warm.timing.as_dict(), "latencies_ms": [r(x * 1000, 3) for x in latencies],
                        "events": [k for k, _, _ in pushed]}}


def _wait_warm(cache: Path, timeout: float = 300) -> None:
    """Until the watch process says it holds a model and is idle (its prewarm ran)."""
    from seqc.handoff.client import status

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = status(cache) or {}
        if answer.get("models") and not answer.get("busy"):
            return
        time.sleep(0.1)
    raise RuntimeError("the watch process never loaded its model")
