"""Finishing clips in the background (seqc/render/finish.py): clips are published in order with
their tracks, short ones in batches, a failure reaches the render's thread, and nothing is left
running or behind."""

from __future__ import annotations

import signal
from types import SimpleNamespace

import numpy as np
import pytest

from seqc.errors import RenderError
from seqc.media.encode import ENCODER_SETTINGS
from seqc.render.finish import ClipFinisher
from seqc.store import Cache

KEY_A, KEY_B = "a" * 64, "b" * 64


def job(key: str):
    return SimpleNamespace(key=key, inputs={"kind": "clip", "test": key[0]}, encoding=ENCODER_SETTINGS)


def frames(n: int, level: int) -> np.ndarray:
    return np.full((n, 16, 16, 3), level, dtype=np.uint8)


def leftovers(cache: Cache) -> list:
    """Temp files (their names start with a dot) left in the clips folder."""
    return [p.name for p in (cache.root / "clips").rglob(".*") if p.is_file()]


def test_clips_are_published_with_their_tracks_while_the_caller_goes_on(tmp_path):
    cache = Cache(tmp_path / "cache")
    with ClipFinisher(cache) as finisher:
        for key, n in ((KEY_A, 3), (KEY_B, 5)):
            writer = finisher.start(job(key), (16, 16), 12, n)
            writer.write(frames(n, 100))
            finisher.finish(job(key), writer)
        done = finisher.wait()
    assert {key: track.frames for key, (_, track) in done.items()} == {KEY_A: 3, KEY_B: 5}
    assert all(cache.get("clips", key) == path for key, (path, _) in done.items())
    assert cache.read_facts("clips", KEY_B)["track"]["frames"] == 5
    assert leftovers(cache) == []


def test_a_failed_clip_is_raised_in_the_callers_thread_and_leaves_nothing(tmp_path):
    cache = Cache(tmp_path / "cache")
    with ClipFinisher(cache, batch=False) as finisher:  # a clip of its own ffmpeg
        writer = finisher.start(job(KEY_A), (16, 16), 12, 2)
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
        writer = finisher.start(job(KEY_A), (16, 16), 12, 4)
        writer.write(frames(4, 200))
        finisher.finish(job(KEY_A), writer)
        raise KeyboardInterrupt  # Ctrl-C while the next segment decodes
    assert cache.status("clips", KEY_A) == "cached" and leftovers(cache) == []


def test_short_clips_share_an_ffmpeg_and_long_ones_stream(tmp_path, monkeypatch):
    import seqc.render.finish as finish

    batches = []
    real = finish.encode_batch
    monkeypatch.setattr(finish, "encode_batch", lambda clips: batches.append(len(clips)) or real(clips))
    monkeypatch.setattr(finish, "BATCH_CLIPS", 3)
    long_frames = finish.SMALL_CLIP_BYTES // (16 * 16 * 3) + 1
    cache = Cache(tmp_path / "cache")
    streamed = Cache(tmp_path / "streamed")
    counts = [2, 1, 3, 2, long_frames, 2]
    keys = [f"{i:x}" * 64 for i in range(len(counts))]
    for target, batch in ((cache, True), (streamed, False)):
        with ClipFinisher(target, batch=batch) as finisher:
            for i, (key, n) in enumerate(zip(keys, counts, strict=True)):
                writer = finisher.start(job(key), (16, 16), 12, n)
                writer.write(frames(n, 20 * i))
                finisher.finish(job(key), writer)
            done = finisher.wait()
        assert [done[key][1].frames for key in keys] == counts
    # Three short clips fill a batch; the long clip streams and flushes the one held before it; the
    # last short one goes at wait(). Every clip is the same bytes as when streamed alone.
    assert batches == [3, 1, 1]
    for key in keys:
        assert cache.get("clips", key).read_bytes() == streamed.get("clips", key).read_bytes()
    assert leftovers(cache) == []


def test_a_batch_handed_over_before_an_error_is_still_published(tmp_path):
    cache = Cache(tmp_path / "cache")
    with pytest.raises(KeyboardInterrupt), ClipFinisher(cache) as finisher:
        for key in (KEY_A, KEY_B):
            writer = finisher.start(job(key), (16, 16), 12, 2)
            writer.write(frames(2, 90))
            finisher.finish(job(key), writer)
        raise KeyboardInterrupt  # the batch was not full yet
    assert cache.status("clips", KEY_A) == cache.status("clips", KEY_B) == "cached"
    assert leftovers(cache) == []


def test_a_batch_does_not_wait_longer_than_batch_seconds(tmp_path, monkeypatch):
    """Held clips go to ffmpeg once the first has waited BATCH_SECONDS, full batch or not."""
    import seqc.render.finish as finish

    batches = []
    real = finish.encode_batch
    monkeypatch.setattr(finish, "encode_batch", lambda clips: batches.append(len(clips)) or real(clips))
    monkeypatch.setattr(finish, "BATCH_SECONDS", 0.0)
    cache = Cache(tmp_path / "cache")
    with ClipFinisher(cache) as finisher:
        for key in (KEY_A, KEY_B):
            writer = finisher.start(job(key), (16, 16), 12, 2)
            writer.write(frames(2, 30))
            finisher.finish(job(key), writer)
            assert finisher._held == []  # handed to the thread at once
        finisher.wait()
    assert batches == [1, 1]
