"""Finishing clips in the background (seqc/render/finish.py): clips are published in order with
their tracks, a failure reaches the render's thread, and nothing is left running or behind."""

from __future__ import annotations

import signal
from types import SimpleNamespace

import numpy as np
import pytest

from seqc.errors import RenderError
from seqc.render.finish import ClipFinisher
from seqc.store import Cache

KEY_A, KEY_B = "a" * 64, "b" * 64


def job(key: str):
    return SimpleNamespace(key=key, inputs={"kind": "clip", "test": key[0]})


def frames(n: int, level: int) -> np.ndarray:
    return np.full((n, 16, 16, 3), level, dtype=np.uint8)


def leftovers(cache: Cache) -> list:
    """Temp files (their names start with a dot) left in the clips folder."""
    return [p.name for p in (cache.root / "clips").rglob(".*") if p.is_file()]


def test_clips_are_published_with_their_tracks_while_the_caller_goes_on(tmp_path):
    cache = Cache(tmp_path / "cache")
    with ClipFinisher(cache) as finisher:
        for key, n in ((KEY_A, 3), (KEY_B, 5)):
            writer = finisher.start(job(key), (16, 16), 12)
            writer.write(frames(n, 100))
            finisher.finish(job(key), writer)
        done = finisher.wait()
    assert {key: track.frames for key, (_, track) in done.items()} == {KEY_A: 3, KEY_B: 5}
    assert all(cache.get("clips", key) == path for key, (path, _) in done.items())
    assert cache.read_facts("clips", KEY_B)["track"]["frames"] == 5
    assert leftovers(cache) == []


def test_a_failed_clip_is_raised_in_the_callers_thread_and_leaves_nothing(tmp_path):
    cache = Cache(tmp_path / "cache")
    with ClipFinisher(cache) as finisher:
        writer = finisher.start(job(KEY_A), (16, 16), 12)
        writer.write(frames(2, 50))
        writer._proc.send_signal(signal.SIGKILL)  # ffmpeg dies before its clip is finished
        writer._proc.wait()
        finisher.finish(job(KEY_A), writer)
        with pytest.raises(RenderError, match="ffmpeg"):
            finisher.wait()
    assert cache.status("clips", KEY_A) == "missing" and leftovers(cache) == []


def test_close_after_the_callers_error_still_publishes_what_was_handed_over(tmp_path):
    cache = Cache(tmp_path / "cache")
    with pytest.raises(KeyboardInterrupt), ClipFinisher(cache) as finisher:
        writer = finisher.start(job(KEY_A), (16, 16), 12)
        writer.write(frames(4, 200))
        finisher.finish(job(KEY_A), writer)
        raise KeyboardInterrupt  # Ctrl-C while the next segment decodes
    assert cache.status("clips", KEY_A) == "cached" and leftovers(cache) == []
