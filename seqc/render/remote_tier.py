"""The remote cache as a render uses it: fetch what the local cache lacks before rendering, push
what the render made after it.

A remote that fails during a render never stops it: the tier warns once, stops using the remote
for the rest of that render and the segments are rendered locally (a push that fails leaves the
entries in the local cache, for `seqc cache push FILE` later). The local cache and the output are
written as without a remote; on the remote, nothing a failed push wrote is trusted, because a
reader trusts only a commit record and content that matches it (seqc.store.remote).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from seqc.store.kinds import CACHED

if TYPE_CHECKING:
    from seqc.plan import Plan, SegmentJob
    from seqc.render.render import RenderResult, Reporter
    from seqc.store import Cache
    from seqc.store.remote import Remote

WORKERS = 8  # transfers at once: object stores are latency-bound
_opened: dict[str, Remote] = {}  # URL -> the remote opened for it in this process


def connect(url: str | None) -> Remote | None:
    """Open and check the remote once per process (the command calls this before rendering; the
    render and every watch iteration reuse it). None for no remote."""
    if not url:
        return None
    if url not in _opened:
        from seqc.store.remote import open_remote

        _opened[url] = open_remote(url)
    return _opened[url]


def transfer(items: list, work: Callable, done: Callable[[Any, Any], object] | None = None) -> None:
    """Run `work(item)` over `items` on a few threads; `done(item, result)` after each that
    succeeded, in the caller's thread. After a failure the transfers not started are cancelled,
    the running ones finish (and are counted), then the first exception is raised."""
    if not items:
        return
    from concurrent.futures import CancelledError, ThreadPoolExecutor

    failure: Exception | None = None
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(items)), thread_name_prefix="seqc-remote") as pool:
        futures = [(item, pool.submit(work, item)) for item in items]
        try:
            for item, future in futures:
                try:
                    result = future.result()
                except CancelledError:
                    continue
                except Exception as exc:  # noqa: BLE001 - raised below, once the others are done
                    if failure is None:
                        failure = exc
                        for _, other in futures:
                            other.cancel()
                    continue
                if done is not None:
                    done(item, result)
        except BaseException:  # Ctrl-C: stop what has not started
            for _, future in futures:
                future.cancel()
            raise
    if failure is not None:
        raise failure


def endpoint_entries(plan: Plan, jobs: Iterable[SegmentJob]) -> list[tuple[str, str]]:
    """The keyframe latents and prompt conditionings that rendering `jobs` needs."""
    entries: list[tuple[str, str]] = []
    for job in jobs:
        seg = job.segment
        for name in (seg.before, seg.source, seg.target, seg.after):
            for kind, table in (("latents", plan.latents), ("embeds", plan.embeds)):
                if name is not None and name in table and (kind, table[name].key) not in entries:
                    entries.append((kind, table[name].key))
    return entries


class RemoteTier:
    """One render's use of the remote (or of none: then every method does nothing)."""

    def __init__(self, remote: Remote | None, cache: Cache, reporter: Reporter):
        self.remote = remote
        self.cache = cache
        self.reporter = reporter
        self.fetched_keys: set[str] = set()
        self.pushed = 0

    @classmethod
    def start(cls, url: str | None, cache: Cache, reporter: Reporter) -> RemoteTier:
        return cls(connect(url), cache, reporter)

    def _failed(self, doing: str, exc: Exception, after: str) -> None:
        """Warn once and stop using the remote for this render."""
        if self.remote is not None:
            self.reporter.warn(f"{doing} {self.remote.url} failed ({exc}); {after}")
        self.remote = None

    def fetch_missing(self, plan: Plan) -> None:
        """Before step 1: fetch the clips the local cache lacks, then the keyframe latents and
        conditionings it lacks, so step 1 (and step 2, for what is still missing) finds them cached."""
        if self.remote is None:
            return
        from seqc.store.remote import RemoteUnavailable

        cache = self.cache
        keys = sorted({job.key for job in plan.clip_jobs if cache.status("clips", job.key) != CACHED})
        if not keys:
            return
        remote = self.remote
        try:
            with self.reporter.working(f"looking for {len(keys)} clips in {remote.url}"):
                transfer(keys, lambda key: remote.fetch(cache, "clips", key),
                         lambda key, path: path is not None and self.fetched_keys.add(key))  # type: ignore[func-returns-value]
                # The keyframes' latents too (small): the segments still missing need them, and
                # `seqc analyze` measures the fetched ones' latent distances.
                entries = [e for e in endpoint_entries(plan, plan.clip_jobs) if cache.status(*e) != CACHED]
                transfer(entries, lambda entry: remote.fetch(cache, *entry))
        except RemoteUnavailable as exc:
            self._failed("fetching from", exc, "rendering locally what is missing")

    def push_rendered(self, plan: Plan, todo: list[SegmentJob]) -> None:
        """After the render: push the clips it made and the keyframe entries they used."""
        if self.remote is None or not todo:
            return
        from seqc.store.remote import RemoteUnavailable

        cache, remote = self.cache, self.remote
        entries = [("clips", key) for key in dict.fromkeys(job.key for job in todo)]
        entries += endpoint_entries(plan, todo)
        self.reporter.stage(f"pushing {len(entries)} entries to {remote.url}")

        def count(_entry: object, committed: object) -> None:
            self.pushed += bool(committed)

        try:
            transfer(entries, lambda entry: remote.push(cache, *entry), count)
        except RemoteUnavailable as exc:
            self._failed("pushing to", exc, "the new clips stay in the local cache only "
                                            "(`seqc cache push FILE` sends them later)")

    def finish(self, plan: Plan, result: RenderResult) -> RenderResult:
        """Count the segments whose clip came from the remote (`cached` includes them) and what was
        pushed; let the file memo vouch for the fetched entries."""
        if self.fetched_keys:
            self.cache.sync_published()
        result.fetched = sum(1 for job in plan.jobs if job.key in self.fetched_keys)
        result.pushed = self.pushed
        return result
