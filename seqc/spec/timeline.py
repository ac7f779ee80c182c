"""Segment lengths on the video's timeline: seconds, frames, beats, `until` a time, `until_beat`.

Two rules, chosen per storyboard:

- Without `audio:` and without `until`/`until_beat`/`beats` (every storyboard before soundtracks),
  each segment is rounded on its own, n = round(duration x fps), exactly as before: their frame
  counts, and so their cache keys, stay what they were.
- With a soundtrack or a time on the timeline, segment k ends at an exact time T_(k+1) (a
  Fraction: the decimal numbers as written, never binary floats), the boundary lands on frame
  F_k = round(T_k x fps) (halves up) and the segment has n_k = F_(k+1) - F_k frames. Nothing is
  rounded per segment, so the error never grows along the timeline (at most half a frame at every
  boundary, the cumulative-drift bug of stable-diffusion-videos #75 cannot happen). `frames: N`
  advances exactly N frames (T by N / fps).
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any

LENGTH_FIELDS = ("duration", "frames", "beats", "until", "until_beat")
TIMELINE_FIELDS = ("beats", "until", "until_beat")  # fields that put a storyboard on the absolute timeline
TIME_PATTERN = r"^(\d{1,4}):([0-5]\d(?:\.\d{1,6})?)$"
_TIME = re.compile(TIME_PATTERN)
# No segment ends later than this on the timeline (about 317 years; a million frames at 0.001 fps
# is 1e9 s): past it a time is refused, so no boundary, start or message overflows a float.
MAX_SECONDS = 10**10


def exact(value: float | int | str) -> Fraction:
    """A number as its shortest decimal text means it: 0.1 -> 1/10, not the nearest binary float."""
    if isinstance(value, int) and not isinstance(value, bool):
        return Fraction(value)
    return Fraction(repr(float(value)) if not isinstance(value, str) else value)


def parse_time(value: object) -> Fraction | None:
    """Seconds as a number, or "m:ss.s" text ("1:23.5" is 83.5 s); None if it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return exact(value) if math.isfinite(value) and value >= 0 else None
    if isinstance(value, str):
        match = _TIME.match(value.strip())
        if match:
            return int(match.group(1)) * 60 + Fraction(match.group(2))
    return None


def format_time(seconds: float | Fraction) -> str:
    """m:ss.ff for tables: 83.5 -> "1:23.50" (exact for a Fraction; past MAX_SECONDS, only that)."""
    if seconds > MAX_SECONDS:
        return f"more than {MAX_SECONDS:.0e} s"
    hundredths = math.floor(seconds * 100 + Fraction(1, 2))
    minutes, rest = divmod(hundredths, 6000)
    return f"{minutes}:{rest // 100:02d}.{rest % 100:02d}"


def frame_at(time: Fraction, fps: Fraction) -> int:
    """The frame a boundary at `time` lands on: round(time x fps), halves up."""
    return math.floor(time * fps + Fraction(1, 2))


def uses_timeline(data: dict) -> bool:
    """Whether a (schema-valid) storyboard is timed on the absolute timeline (see the module's rules)."""
    if "audio" in data:
        return True
    defaults = data["defaults"] if isinstance(data.get("defaults"), dict) else {}
    if "beats" in defaults:
        return True
    segments = data["segments"] if isinstance(data.get("segments"), list) else []
    loop = data["loop"] if isinstance(data.get("loop"), dict) else {}
    return any(isinstance(seg, dict) and any(f in seg for f in TIMELINE_FIELDS) for seg in [*segments, loop])


class Clock:
    """Walks the segments along the absolute timeline: each `advance` returns a segment's frame count.

    `fps` is the video's (halved in a draft); `full_fps` the storyboard's, which `frames: N` counts
    in (a draft keeps the time, N / full_fps, and lands on its own frames). `out` collects problems
    (seqc.spec.checks._Collector); a broken length still advances by a frame so later checks go on.
    """

    def __init__(self, fps: float, full_fps: float, defaults: dict, bpm: float | None, first_beat: float):
        self.fps, self.full_fps = exact(fps), exact(full_fps)
        self.defaults = defaults
        self.beat = None if bpm is None else Fraction(60) / exact(bpm)  # seconds per beat
        self.first_beat = exact(first_beat)
        self.time = Fraction(0)  # where the next segment starts
        self.frame = 0  # the frame it starts on

    def _length(self, seg: dict, spath: tuple) -> tuple[str, Any, tuple]:
        """The segment's length field, its value and where it is written (the segment or `defaults`)."""
        for name in LENGTH_FIELDS:
            if name in seg:
                return name, seg[name], spath + (name,)
        for name in ("frames", "beats", "duration"):
            if name in self.defaults:
                return name, self.defaults[name], ("defaults", name)
        from seqc.spec.model import DEFAULT_DURATION

        return "duration", DEFAULT_DURATION, ("defaults", "duration")

    def advance(self, seg: dict, spath: tuple, out) -> int:
        """The frame count of the segment starting at `self.time`; moves the clock to its end."""
        name, value, where = self._length(seg, spath)
        start = self.time
        end: Fraction | None
        if name == "frames":
            end = start + int(value) / self.full_fps
        elif name == "duration":
            end = start + exact(value)
        elif name in ("beats", "until_beat") and self.beat is None:
            out.error(where, f"`{name}` needs the tempo: `audio.bpm` is not set",
                      "add `bpm` (and `first_beat`) to `audio:`; `seqc audio FILE` suggests them")
            return self._skip()
        elif name == "beats":
            assert self.beat is not None  # the branch above returned when it is
            end = start + exact(value) * self.beat
        else:
            if name == "until":
                end = parse_time(value)
                if end is None:
                    out.error(where, f"`until: {value}` is not a time", 'give seconds (19.5) or "m:ss.s" ("0:19.5")')
                    return self._skip()
                what = f"until {value}"
            else:
                assert self.beat is not None  # until_beat: the branch above returned when it is None
                end = self.first_beat + exact(value) * self.beat
                what = f"until_beat {value} (at {format_time(end)})"
            if end <= start:
                out.error(where, f"{what} does not move forward: the segment starts at {format_time(start)}",
                          "times on the timeline must grow from segment to segment")
                return self._skip()
        if end > MAX_SECONDS:
            out.error(where, f"{name} {value} ends the segment past seqc's limit for the timeline, "
                      f"{MAX_SECONDS:.0e} s (at {float(self.fps):g} fps)", "shorten the timeline, or raise output.fps")
            return self._skip()
        frame = frame_at(end, self.fps)
        frames = frame - self.frame
        if frames < 1:
            out.error(where, f"{name} {value} is less than one frame here (the segment would start and end on "
                      f"frame {self.frame} at {float(self.fps):g} fps)", "make it longer, or use `frames: 1`")
            return self._skip()
        self.time, self.frame = end, frame
        return frames

    @property
    def seconds(self) -> float:
        """Where the next segment starts, in seconds (capped at MAX_SECONDS: a refused timeline may run past it)."""
        return float(min(self.time, Fraction(MAX_SECONDS)))

    def _skip(self) -> int:
        self.frame += 1
        self.time = Fraction(self.frame) / self.fps
        return 1
