"""What the commands and the watcher do first: open the cache, load the storyboard (printing its
warnings on the terminal), plan."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from seqc.store import Cache, default_cache_dir

if TYPE_CHECKING:
    from seqc.audio.memo import AudioCache
    from seqc.plan import Plan


def open_cache(cache_dir: str | None, storyboard: str | Path | None = None) -> Cache:
    """The cache chosen by --cache-dir, $SEQC_CACHE_DIR, the project's tagged cache/ above the
    storyboard (or the current folder), else the per-user cache (seqc.store.location)."""
    from seqc.ui import console

    near = Path(storyboard).absolute().parent if storyboard is not None else None
    return Cache(default_cache_dir(cache_dir, near=near), warn=console.warn)


def load_and_plan(file: str, cache: Cache, quiet: bool = False, draft: bool = False,
                  precision: str = "float32", audio: AudioCache | None = None) -> Plan:
    """Validate a storyboard (printing its warnings unless quiet) and compile its plan for a model
    running in `precision` (the session's `models.precision(device, dtype)`); `audio`: the session's
    decoded soundtracks (None: a fresh one, nothing kept)."""
    from seqc.plan import compile_plan
    from seqc.spec import load_storyboard
    from seqc.ui import console

    story = load_storyboard(file, draft=draft, images=cache, audio_memo=cache, audio=audio)
    if not quiet:
        console.print_problems(list(story.warnings))
    return compile_plan(story, cache, precision=precision, audio=audio)
