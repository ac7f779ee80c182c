"""Helpers for tests/watch/test_watch.py: storyboards, keyframes, editor-style saves, and a
`seqc watch --quiet` subprocess whose log lines can be awaited with timeouts.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# `seqc watch --quiet` log lines (see seqc.watch.LogView).
RENDERING = r"rendering: "
RENDERED_RE = re.compile(r"rendered: (\d+) of (\d+) segments \[([\d, ]*)\], (\d+) cached, (\d+) frames")
SUPERSEDED = r"superseded: "
ERROR = r"error: "
PROBLEM_RE = re.compile(r"^story\.yaml:\d+:\d+: ")  # FILE:LINE:COL, as `seqc validate` prints


def png_bytes(name: str, seed: int = 0, size: tuple[int, int] = (64, 64)) -> bytes:
    """A painted keyframe (tools.paint) as PNG bytes; another seed gives another picture."""
    import io

    from tools.paint import paint

    buffer = io.BytesIO()
    paint(name, size, seed=seed).save(buffer, format="PNG")
    return buffer.getvalue()


def storyboard(model: Path, segments: list[tuple], keyframes: dict[str, str] | None = None,
               output: str = "out/video.mp4", size: int = 32, fps: int = 8) -> str:
    """Storyboard text. segments: (from, to, frames) or (from, to, frames, easing).
    keyframes: name -> image path (default: kf/<name>.png for every name the segments use)."""
    if keyframes is None:
        names = dict.fromkeys(n for seg in segments for n in seg[:2])
        keyframes = {name: f"kf/{name}.png" for name in names}
    lines = [
        "version: 1",
        f"output: {{path: {output}, size: [{size}, {size}], fps: {fps}}}",
        f"model: {json.dumps(str(model))}",
        "defaults: {easing: linear, method: lerp}",
        "keyframes:",
        *(f"  {name}: {{image: {image}}}" for name, image in keyframes.items()),
        "segments:",
    ]
    for seg in segments:
        easing = f", easing: {seg[3]}" if len(seg) > 3 else ""
        lines.append(f"  - {{from: {seg[0]}, to: {seg[1]}, frames: {seg[2]}{easing}}}")
    return "\n".join(lines) + "\n"


def total_frames(segments: list[tuple]) -> int:
    """Frames in the video: the segments' frames plus the last segment's end frame."""
    return sum(seg[2] for seg in segments) + 1


def save_by_rename(path: Path, data: str | bytes) -> None:
    """Save as vim, JetBrains and `sed -i` do: write a temp file beside it, then rename it over."""
    tmp = path.with_name(path.name + ".new")
    tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    os.replace(tmp, path)


def temp_files(*folders: Path) -> list[Path]:
    """seqc temp files (`.tmp-` in the name) left anywhere under the folders."""
    return [p for folder in folders if folder.exists() for p in folder.rglob("*.tmp-*")]


def processes_mentioning(text: str) -> list[int]:
    """Pids of live processes whose command line contains `text` (e.g. an ffmpeg writing a clip there)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().split(") ", 1)[1][:1]
        except OSError:
            continue
        if text in cmdline and state != "Z" and int(entry.name) != os.getpid():
            found.append(int(entry.name))
    return found


def wait_until(predicate, timeout: float, what: str, interval: float = 0.05):
    """Poll `predicate` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@dataclass
class Render:
    """One `rendered:` line."""

    rendered: int
    segments: int
    indices: list[int]
    cached: int
    frames: int


def parse_render(line: str) -> Render | None:
    match = RENDERED_RE.search(line)
    if match is None:
        return None
    rendered, segments, indices, cached, frames = match.groups()
    return Render(int(rendered), int(segments), [int(i) for i in indices.split(",") if i.strip()],
                  int(cached), int(frames))


class WatchProcess:
    """`seqc watch --quiet` in a subprocess; stdout and stderr are read line by line in a thread."""

    def __init__(self, folder: Path, *extra: str, story: str = "story.yaml", debounce: float = 0.3):
        cmd = [sys.executable, "-m", "seqc", "watch", story, "--quiet", "--cache-dir", "cache",
               "--debounce", str(debounce), "--device", "cpu", *extra]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1", "COLUMNS": "400"}
        env.pop("SEQC_CACHE_DIR", None)
        self.folder = folder
        self.lines: list[str] = []
        self._eof = False
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(cmd, cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def mark(self) -> int:
        """The number of lines so far: pass it as `since` to look only at what comes after."""
        with self._cond:
            return len(self.lines)

    def since(self, mark: int) -> list[str]:
        with self._cond:
            return list(self.lines[mark:])

    def output(self) -> str:
        return "\n".join(self.since(0))

    def wait_for(self, pattern: str | re.Pattern, since: int = 0, timeout: float = 60.0) -> tuple[int, str]:
        """The first line at or after `since` matching `pattern`: (its index, the line)."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        i = since
        with self._cond:
            while True:
                while i < len(self.lines):
                    if regex.search(self.lines[i]):
                        return i, self.lines[i]
                    i += 1
                if self._eof:
                    raise AssertionError(f"watcher exited ({self.proc.poll()}) before a line matching "
                                         f"{regex.pattern!r}; output:\n{self.output_tail()}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no line matching {regex.pattern!r} within {timeout:.0f} s; "
                                         f"output:\n{self.output_tail()}")
                self._cond.wait(remaining)

    def wait_render(self, since: int = 0, timeout: float = 60.0) -> tuple[int, Render]:
        """The next `rendered:` line at or after `since`, parsed."""
        index, line = self.wait_for(RENDERED_RE, since, timeout)
        render = parse_render(line)
        assert render is not None
        return index, render

    def renders(self, since: int = 0) -> list[Render]:
        return [r for r in map(parse_render, self.since(since)) if r is not None]

    def count(self, pattern: str, since: int = 0) -> int:
        regex = re.compile(pattern)
        return sum(1 for line in self.since(since) if regex.search(line))

    def output_tail(self, lines: int = 40) -> str:
        return "\n".join(self.lines[-lines:])

    def interrupt(self, timeout: float = 20.0, sig: int = signal.SIGINT) -> int:
        """Ctrl-C (or `sig`): send it and return the exit code (fails if it does not exit within `timeout`)."""
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"watcher still running {timeout:.0f} s after {signal.Signals(sig).name}; "
                                 f"output:\n{self.output_tail()}") from None

    def close(self) -> None:
        """Kill the process if it still runs (after a failed test) and reap it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self._reader.join(5)
