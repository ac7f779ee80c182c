"""The timeline's segments, checked and compiled: the entries (with `loop`'s closing one), each
segment's frame count, easing, pacing, method checks and generation settings, the neighbours a
spline needs; and the names segments must use. Part of the checks after the schema
(seqc.spec.checks), which collects every problem through one collector."""

from __future__ import annotations

import dataclasses
import math
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from seqc.models import ModelRef
from seqc.motion.curves import EasingError, parse_easing
from seqc.motion.methods import METHODS
from seqc.spec.generation import (
    check_morph,
    check_pipeline_segment,
    family_defaults,
    segment_generation,
    warn_pipeline_only,
)
from seqc.spec.model import (
    DEFAULT_DURATION,
    DEFAULT_EASING,
    DEFAULT_FPS,
    DEFAULT_METHOD,
    Segment,
    frames_for,
)
from seqc.spec.schema import suggest
from seqc.spec.timeline import Clock, uses_timeline
from seqc.spec.yamlload import Document

if TYPE_CHECKING:
    from seqc.spec.checks import _Collector


def check_names(segments: list, keyframes: dict, out: _Collector) -> None:
    """Every segment's `from` and `to` names a keyframe."""
    names = list(keyframes)
    for index, seg in enumerate(segments):
        if not isinstance(seg, dict):
            continue
        for end in ("from", "to"):
            ref = seg.get(end)
            where = ("segments", index, end)
            if isinstance(ref, str) and ref not in keyframes and out.ok(where):
                out.error(where, f"no keyframe named '{ref}'",
                          suggest(ref, names) or (f"keyframes: {', '.join(names[:8])}" if names else ""))



def _timeline(data: dict, out: _Collector) -> tuple[list[tuple[tuple, dict]], dict[tuple, tuple[tuple, tuple]]]:
    """The timeline's entries, (path, segment), with the closing one `loop` adds; and for each, where
    its `from` and `to` are written (the jump warning reads them)."""
    # (Two lengths in one place, beat units without `audio.bpm` and `pacing: audio` without `audio`
    # are refused by the schema, where editors see them too: tools/make_schema.py's rules.)
    check_names(data["segments"], data["keyframes"], out)
    loop = data.get("loop", False)
    raw_segments = list(enumerate(data["segments"]))
    entries: list[tuple[tuple, dict]] = [(("segments", i), seg) for i, seg in raw_segments]
    last_to = ("segments", len(raw_segments) - 1, "to")
    ends = {spath: (spath + ("from",), spath + ("to",)) for spath, _ in entries}  # where each end is written
    if loop is not False:
        first, last = data["segments"][0], data["segments"][-1]
        if last["to"] != first["from"]:
            settings = loop if isinstance(loop, dict) else {}
            entries.append((("loop",), {"from": last["to"], "to": first["from"], **settings}))
            ends[("loop",)] = (last_to, ("segments", 0, "from"))
        elif isinstance(loop, dict) and loop:
            out.warn(("loop",), f"the timeline already ends at '{first['from']}', where it starts: `loop` adds no "
                     "closing segment, so its settings are not used",
                     "set them on the last segment, or write `loop: true`", depends=(last_to, ("segments", 0, "from")))
    return entries, ends


def _clock(data: dict, fps: float, defaults: dict) -> Clock | None:
    """The absolute timeline's clock, or None where each segment's length is rounded on its own
    (storyboards without a soundtrack or a time on the timeline: their frame counts and keys stay as
    they were)."""
    if not uses_timeline(data):
        return None
    section = data.get("audio")
    bpm = section.get("bpm") if isinstance(section, dict) else None
    first_beat = section.get("first_beat", 0) if isinstance(section, dict) else 0
    return Clock(fps, data.get("output", {}).get("fps", DEFAULT_FPS), defaults, bpm, first_beat)


def compile_segments(data: dict, doc: Document, out: _Collector, fps: float, size: tuple[int, int],
                      model_ref: ModelRef | None, draft: bool) -> tuple[list[Segment], int]:
    """The timeline's segments, each with its frames, easing and generation settings; and the
    video's frame count."""
    defaults = data.get("defaults", {})
    loop = data.get("loop", False)
    entries, ends = _timeline(data, out)
    pipeline_defaults = family_defaults(model_ref, size, out)
    if model_ref is not None and not model_ref.can_generate:  # steps, strength...: warned, not silently ignored
        for where, settings in [(("defaults",), defaults), *entries]:
            warn_pipeline_only(where, settings, out)
    segments: list[Segment] = []
    first_frame = 0
    previous_target, previous_end = None, ()
    clock = _clock(data, fps, defaults)
    for index, (spath, seg) in enumerate(entries):
        start_time = clock.seconds if clock is not None else first_frame / fps
        frames = clock.advance(seg, spath, out) if clock is not None else frame_count(seg, defaults, fps, out, spath, draft)
        pacing, easing = _pacing_and_easing(seg, defaults, spath, out)
        check_morph(seg, defaults, data["keyframes"], model_ref, out, spath)
        if previous_target is not None and seg["from"] != previous_target:
            out.warn(spath + ("from",), f"starts at '{seg['from']}' but the previous segment ended at "
                     f"'{previous_target}': the video jumps here",
                     f"add a segment from '{previous_target}' to '{seg['from']}' for a smooth join",
                     depends=(ends[spath][0], previous_end))
        previous_target, previous_end = seg["to"], ends[spath][1]
        line, col = doc.where(spath)
        last = index == len(entries) - 1 and loop is False
        generation = segment_generation(seg, data["keyframes"].get(seg["from"], {}), defaults, pipeline_defaults)
        if pipeline_defaults is not None:
            check_pipeline_segment(seg, defaults, data["keyframes"], out, spath)
        segments.append(Segment(
            index=index, source=seg["from"], target=seg["to"], frames=frames, include_end=last,
            first_frame=first_frame, easing=easing,
            method=seg.get("method", defaults.get("method", DEFAULT_METHOD)), line=line, column=col,
            pacing=pacing, start_time=start_time,
            smooth=float(seg.get("smooth", defaults.get("smooth", DEFAULT_SMOOTH))) if pacing == "audio" else None,
            **generation,
        ))
        first_frame += frames + (1 if last else 0)
    return _with_neighbours(segments, loop is not False), first_frame


def _pacing_and_easing(seg: dict, defaults: dict, spath: tuple, out: _Collector) -> tuple[str, str]:
    """A segment's pacing and its easing's canonical name (as written, with a problem, if invalid)."""
    method = seg.get("method", defaults.get("method", DEFAULT_METHOD))
    pacing = seg.get("pacing", defaults.get("pacing", "even" if method == "morph" else "linear"))
    if "smooth" in seg and pacing != "audio":
        out.warn(spath + ("smooth",), "`smooth` has no effect without `pacing: audio`",
                 depends=(spath + ("pacing",), ("defaults", "pacing")))
    easing_text = seg.get("easing", defaults.get("easing", DEFAULT_EASING))
    try:
        return pacing, parse_easing(easing_text).name
    except EasingError as exc:
        where = spath + ("easing",) if "easing" in seg else ("defaults", "easing")
        out.error(where, f"invalid easing '{easing_text}': {exc}")
        return pacing, easing_text


def warn_unused_keyframes(keyframes: dict, segments: list[Segment], out: _Collector) -> None:
    """A warning for each keyframe no segment starts or ends on."""
    used = {s.source for s in segments} | {s.target for s in segments}
    for name in keyframes:
        if name not in used:
            out.warn(("keyframes", name), f"keyframe '{name}' is not used by any segment",
                     depends=(("segments", "*", "from"), ("segments", "*", "to")))


def frame_count(seg: dict, defaults: dict, fps: float, out: _Collector, spath: tuple, draft: bool = False) -> int:
    """A segment's frame count by the documented rule; a problem if it rounds to zero.

    In a draft (half the fps) an exact `frames:` count is halved too, so timing stays the same.
    """
    exact = seg.get("frames", defaults.get("frames") if "duration" not in seg else None)
    if exact is not None:
        return max(1, frames_for(int(exact) / 2, 1)) if draft else int(exact)
    if "duration" in seg:
        duration, where = seg["duration"], spath + ("duration",)
    else:
        duration, where = defaults.get("duration", DEFAULT_DURATION), ("defaults", "duration")
    frames = frames_for(duration, fps)
    if frames < 1:
        out.error(where, f"duration {duration} s at {fps:g} fps is less than one frame",
                  f"use at least {shortest_duration(fps)} s or `frames: 1`")
        return 1
    return frames


def shortest_duration(fps: float) -> str:
    """The shortest duration, as short decimal text, that is one frame at `fps`: frames =
    round(duration x fps) with halves up, so half a frame's time, rounded up to 3 significant digits
    (0.0334 at 15 fps, where 0.0333 x 15 = 0.4995 rounds to 0 frames)."""
    half = Fraction(1, 2) / Fraction(repr(float(fps)))
    exponent = len(str(half.numerator)) - len(str(half.denominator))  # floor(log10(half)), exactly:
    if half < Fraction(10) ** exponent:  # no float, which a tiny fps would overflow
        exponent -= 1
    digits = 2 - exponent  # decimals that give 3 significant digits
    scaled = math.ceil(half * Fraction(10) ** digits)
    return format(Decimal(scaled).scaleb(-digits).normalize(), "f")


DEFAULT_SMOOTH = 0.3  # pacing: audio: how much of linear is blended into the onset curve


def _with_neighbours(segments: list[Segment], loop: bool) -> list[Segment]:
    """Give each segment whose method uses neighbours (a spline) the keyframes before and after it,
    where the timeline is joined there."""
    result = []
    count = len(segments)
    for i, seg in enumerate(segments):
        if not METHODS[seg.method].uses_neighbours:
            result.append(seg)
            continue
        prev = segments[i - 1] if i > 0 or loop else None
        nxt = segments[(i + 1) % count] if i + 1 < count or loop else None
        before = prev.source if prev is not None and prev.target == seg.source else None
        after = nxt.target if nxt is not None and nxt.source == seg.target else None
        result.append(dataclasses.replace(seg, before=before, after=after))
    return result
