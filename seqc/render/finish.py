"""Finishing clips in the background: while the next segment decodes, one thread waits for the
last clip's encoder to drain, checks the clip and publishes it in the cache.

For a short segment, waiting for ffmpeg to flush and exit costs as much as decoding its frames
(about 15 ms each for a 2-frame clip here), so overlapping the two halves the fixed cost of a
segment. Clips are finished in order, one at a time; a failure is raised in the render's
thread at the next hand-over or at `wait()`. `close()` always waits for what was handed over,
so no ffmpeg is left running and no temp file is left behind, whatever stopped the render.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import Future, ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

from seqc.media.clips import ClipWriter
from seqc.media.mp4 import TrackInfo
from seqc.plan import SegmentJob
from seqc.store import Cache


class ClipFinisher:
    """Start a clip's writer (`start`), hand it over once its frames are written (`finish`), collect
    the published clips (`wait`); use as a context manager so `close` runs."""

    def __init__(self, cache: Cache):
        self.cache = cache
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seqc-finish")
        self._pending: list[tuple[str, Future]] = []

    def __enter__(self) -> ClipFinisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, job: SegmentJob, size: tuple[int, int], fps: float | Fraction) -> ClipWriter:
        """A running writer for the job's clip, into a temp file beside its cache entry."""
        self._raise_failures()
        writer = ClipWriter(self.cache.temp_path("clips", job.key), size, fps)
        try:
            writer.start()
        except BaseException:
            writer.abort()
            raise
        return writer

    def finish(self, job: SegmentJob, writer: ClipWriter) -> None:
        """Close, check and publish the clip in the background (all its frames are written)."""
        self._pending.append((job.key, self._pool.submit(self._publish, job, writer)))

    def wait(self) -> dict[str, tuple[Path, TrackInfo]]:
        """Every clip handed over, published: key -> (cache path, track). Raises the first failure."""
        return {key: future.result() for key, future in self._pending}

    def close(self) -> None:
        """Wait for what was handed over (its ffmpeg has all its frames), then stop the thread."""
        for _, future in self._pending:
            with contextlib.suppress(BaseException):  # the render's own error is the one to report
                future.result()
        self._pool.shutdown(wait=True)

    def _raise_failures(self) -> None:
        for _, future in self._pending:
            if future.done() and future.exception() is not None:
                future.result()

    def _publish(self, job: SegmentJob, writer: ClipWriter) -> tuple[Path, TrackInfo]:
        try:
            writer.close()
            assert writer.track is not None
            path = self.cache.put("clips", job.key, writer.path, job.inputs, facts={"track": writer.track.as_dict()})
            return path, writer.track
        finally:
            with contextlib.suppress(FileNotFoundError):
                writer.path.unlink()
