"""Finishing clips in the background: while the next segment decodes, one thread waits for the
last clip's encoder to drain, checks the clip and publishes it in the cache.

For a short segment, waiting for ffmpeg to flush and exit costs as much as decoding its frames
(about 15 ms each for a 2-frame clip here), so overlapping the two halves the fixed cost of a
segment. A clip whose raw frames are small is not streamed into an ffmpeg of its own: its frames
are held and encoded with the next short clips by one ffmpeg (seqc.media.batch), which pays one
launch for up to `BATCH_CLIPS` clips. Clips are finished in order, one batch at a time; a failure
is raised in the render's thread at the next hand-over or at `wait()`. `close()` always finishes
what was handed over, so no ffmpeg is left running and no temp file is left behind, whatever
stopped the render.
"""

from __future__ import annotations

import contextlib
import time
from concurrent.futures import Future, ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

from seqc.media.batch import HeldClip, encode_batch
from seqc.media.clips import ClipWriter
from seqc.media.encode import depth
from seqc.media.mp4 import TrackInfo
from seqc.plan import SegmentJob
from seqc.store import Cache

# A clip of at most this many raw RGB bytes is held and encoded in a batch (at 32x32, 85 frames; at
# 64x64, 21; at 256x256, one): around there ffmpeg's launch costs as much as the encode. Above it,
# frames stream into an ffmpeg of the clip's own.
SMALL_CLIP_BYTES = 256 << 10
# A batch goes to ffmpeg at this many clips, or once its first clip has waited this long (a crash
# or Ctrl-C loses at most that much finished work, and watch mode's clips appear steadily).
BATCH_CLIPS = 32
BATCH_SECONDS = 0.5

Published = dict[str, tuple[Path, TrackInfo]]  # clip key -> (cache path, track)


class ClipFinisher:
    """Start a clip's writer (`start`), hand it over once its frames are written (`finish`), collect
    the published clips (`wait`); use as a context manager so `close` runs. `batch=False` streams
    every clip into its own ffmpeg."""

    def __init__(self, cache: Cache, batch: bool = True):
        self.cache = cache
        self.batch = batch
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seqc-finish")
        self._pending: list[Future[Published]] = []
        self._held: list[tuple[SegmentJob, HeldClip]] = []
        self._held_since = 0.0

    def __enter__(self) -> ClipFinisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, job: SegmentJob, size: tuple[int, int], fps: float | Fraction,
              frames: int) -> ClipWriter | HeldClip:
        """A writer for the job's clip of `frames` frames, into a temp file beside its cache entry:
        a running ffmpeg, or (a short clip) a holder whose frames wait for the next batch. The clip is
        encoded with the recipe its key names (`job.encoding`), so the key says what the bytes are."""
        self._raise_failures()
        path = self.cache.temp_path("clips", job.key)
        settings = job.encoding
        if self.batch and frames * size[0] * size[1] * 3 * depth(settings) // 8 <= SMALL_CLIP_BYTES:
            return HeldClip(path, size, fps, settings)
        writer = ClipWriter(path, size, fps, settings)
        try:
            writer.start()
        except BaseException:
            writer.abort()
            raise
        return writer

    def finish(self, job: SegmentJob, writer: ClipWriter | HeldClip) -> None:
        """Close, check and publish the clip in the background (all its frames are written)."""
        if isinstance(writer, ClipWriter):
            self._flush()  # clips are published in order
            self._pending.append(self._pool.submit(self._publish, job, writer))
            return
        if not self._held:
            self._held_since = time.monotonic()
        self._held.append((job, writer))
        if len(self._held) >= BATCH_CLIPS or time.monotonic() - self._held_since >= BATCH_SECONDS:
            self._flush()

    def wait(self) -> Published:
        """Every clip handed over, published. Raises the first failure."""
        self._flush()
        published: Published = {}
        for future in self._pending:
            published.update(future.result())
        return published

    def close(self) -> None:
        """Finish what was handed over (its frames are all there), then stop the thread."""
        with contextlib.suppress(BaseException):  # the render's own error is the one to report
            self._flush()
        for future in self._pending:
            with contextlib.suppress(BaseException):
                future.result()
        self._pool.shutdown(wait=True)

    def _flush(self) -> None:
        if self._held:
            held, self._held = self._held, []
            self._pending.append(self._pool.submit(self._publish_batch, held))

    def _raise_failures(self) -> None:
        for future in self._pending:
            if future.done() and future.exception() is not None:
                future.result()

    def _publish(self, job: SegmentJob, writer: ClipWriter) -> Published:
        try:
            writer.close()
            assert writer.track is not None
            return {job.key: (self._put(job, writer.path, writer.track), writer.track)}
        finally:
            with contextlib.suppress(FileNotFoundError):
                writer.path.unlink()

    def _publish_batch(self, held: list[tuple[SegmentJob, HeldClip]]) -> Published:
        try:
            tracks = encode_batch([clip for _, clip in held])
            return {job.key: (self._put(job, clip.path, track), track)
                    for (job, clip), track in zip(held, tracks, strict=True)}
        finally:
            for _, clip in held:
                with contextlib.suppress(FileNotFoundError):
                    clip.path.unlink()

    def _put(self, job: SegmentJob, temp: Path, track: TrackInfo) -> Path:
        return self.cache.put("clips", job.key, temp, job.inputs, facts={"track": track.as_dict()})
