"""`seqc audio FILE`: suggested bpm, first beat and onsets of a soundtrack, to check by ear and paste."""

from __future__ import annotations

import json
import re
from pathlib import Path

from seqc.ui import console

SHOWN_ONSETS = 16


def run(file: str, start: float = 0.0, fps: float | None = None, use_librosa: bool = True,
        as_json: bool = False) -> int:
    """Print the suggestions; the render never uses them, only what the storyboard says."""
    from seqc.audio.beats import librosa_available, suggest

    found = suggest(Path(file), use_librosa=use_librosa)
    period = 60.0 / found.bpm if found.bpm else None
    first = _video_time(found.first_beat, start, period)
    other = _video_time(found.alternative, start, period) if found.doubt else None
    if as_json:
        console.print_json({"file": file, "seconds": round(found.seconds, 3), "method": found.method,
                            "bpm": found.bpm, "first_beat_in_file": found.first_beat, "start": start,
                            "first_beat": first, "first_beat_uncertain": bool(found.doubt),
                            "first_beat_doubt": found.doubt or None,
                            "other_first_beat_in_file": found.alternative if found.doubt else None,
                            "other_first_beat": other,
                            "beats": [round(t, 3) for t in found.beats],
                            "onsets": [round(t, 3) for t in found.onsets]})
        return 0
    hint = "" if found.method != "numpy" or librosa_available() or not use_librosa else \
        console.escape(" (pip install 'seqc[audio]' for librosa's beat tracker)")
    console.out.print(f"{console.escape(file)}: {found.seconds:.2f} s; analysed with {found.method}{hint}")
    if found.bpm is None or first is None:
        console.out.print("no steady beat found: time the segments with `duration` or `until` instead")
    else:
        frames = f" = {60.0 / found.bpm * fps:.2f} frames at {fps:g} fps" if fps else ""
        console.out.print(f"tempo:      {found.bpm:g} bpm (a beat every {60.0 / found.bpm:.3f} s{frames})")
        line = f"first beat: {found.first_beat:.3f} s into the file"
        if found.doubt:
            line += (f", or {found.alternative:.3f} s" if found.alternative is not None else "") + \
                f" (uncertain: {console.escape(found.doubt)}; check by ear)"
        console.out.print(line)
    shown = ", ".join(f"{t:.3f}" for t in found.onsets[:SHOWN_ONSETS])
    more = f" (first {SHOWN_ONSETS} of {len(found.onsets)})" if len(found.onsets) > SHOWN_ONSETS else ""
    console.out.print(f"onsets{more}: {shown or 'none'}")
    if found.bpm is not None and first is not None:
        if not found.doubt:
            console.out.print("check by ear, then paste (the path is relative to the storyboard):")
        else:
            console.out.print("check both by ear, then paste one (the path is relative to the storyboard):")
        path = file if re.fullmatch(r"[\w./-]+", file) else json.dumps(file)  # YAML-safe in a { } mapping
        console.out.print(f"  audio: {{path: {console.escape(path)}, start: {start:g}, bpm: {found.bpm:g}, "
                          f"first_beat: {first:g}}}", soft_wrap=True)
        if other is not None:
            console.out.print(f"  audio: {{path: {console.escape(path)}, start: {start:g}, bpm: {found.bpm:g}, "
                              f"first_beat: {other:g}}}", soft_wrap=True)
    return 0


def _video_time(in_file: float | None, start: float, period: float | None) -> float | None:
    """The first beat at or after `start` of the grid through `in_file`, as a video time (seconds after `start`)."""
    if in_file is None or period is None:
        return None
    first = in_file - start
    while first < 0:
        first += period
    return round(first, 3)
