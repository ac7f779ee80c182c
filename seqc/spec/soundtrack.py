"""The storyboard's `audio:` section checked: the file is a sound ffmpeg decodes, `start` lies inside it.

The decode is what a render will read, done once per file state: a pass is remembered in the
session (`audio`, a seqc.audio.memo.AudioCache) by the file's path and stat signature, and in the
cache's file memo once the planner has hashed the file, so watch mode, later plans and renders do
not decode an unchanged file again (unless `pacing: audio` needs its samples).
"""

from __future__ import annotations

import os
from pathlib import Path

from seqc.audio.memo import AudioCache
from seqc.audio.pcm import AudioError, AudioInfo, AudioMemo, check_audio
from seqc.spec import model as m
from seqc.spec.paths import local_path, resolved
from seqc.store.files import path_key


def checked_audio(path: Path, memo: AudioMemo | None = None, *, audio: AudioCache | None = None) -> AudioInfo:
    """`check_audio`, remembered by the file's stat signature in `audio` (the session's) and
    across processes in `memo`, the cache's file memo, when given."""
    audio = audio if audio is not None else AudioCache()
    try:
        key = path_key(path, os.stat(path))
    except OSError:
        return check_audio(path)  # raises the right AudioError
    info = audio.checked.get(key)
    if info is None:
        info = check_audio(path, memo, audio=audio)
        audio.checked[key] = info
    return info


def audio_path_problem(data: dict, out, base: Path, memo: AudioMemo | None = None, *,
                       audio: AudioCache | None = None) -> tuple[Path | None, AudioInfo | None]:
    """Resolve and check `audio.path`; problems go to `out` (seqc.spec.checks._Collector)."""
    section = data.get("audio")
    if not isinstance(section, dict) or not out.ok(("audio",)) or not out.ok(("audio", "path")):
        return None, None
    text = section.get("path")
    if not isinstance(text, str):
        return None, None
    path, why = local_path(base, text)
    if path is None:
        out.error(("audio", "path"), f"audio path {why}")
        return None, None
    try:
        return path, checked_audio(path, memo, audio=audio)
    except AudioError as exc:
        out.error(("audio", "path"), exc.message, exc.hint)
        return None, None


def compile_audio(data: dict, doc, out, base: Path, memo: AudioMemo | None = None, *,
                  audio: AudioCache | None = None) -> m.Audio | None:
    """The checked soundtrack of a schema-valid document, or None (without `audio:`, or if broken)."""
    section = data.get("audio")
    if not isinstance(section, dict):
        return None
    path, info = audio_path_problem(data, out, base, memo, audio=audio)
    if path is None or info is None:
        return None
    start = float(section.get("start", 0))
    if start >= info.seconds:
        out.error(("audio", "start"), f"start {start:g} s is past the end of the audio ({info.seconds:.2f} s)",
                  "start is the point of the file that plays at video time 0")
        return None
    line, col = doc.where(("audio",), key=True)
    bpm = section.get("bpm")
    return m.Audio(path=resolved(path), start=start, bpm=None if bpm is None else float(bpm),
                   first_beat=float(section.get("first_beat", 0)), mux=bool(section.get("mux", True)),
                   seconds=info.seconds, line=line, column=col)
