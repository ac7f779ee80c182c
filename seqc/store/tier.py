"""The remote cache behind the local one, as a session and a render use it: the remotes a session
opened (`Remotes`), a few transfers at once (`transfer`), and one render's fetch-before and
push-after (`RemoteTier`).

A remote that fails during a render never stops it: the tier warns once, stops using the remote
for the rest of that render and the segments are rendered locally (a push that fails leaves the
entries in the local cache, for `seqc cache push FILE` later). The local cache and the output are
written as without a remote; on the remote, nothing a failed push wrote is trusted, because a
reader trusts only a commit record and content that matches it (seqc.store.remote).

Store code: it knows cache entries as (kind, key) pairs, never a plan or a render (the caller
says which entries), so the store stays a leaf.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from seqc.store.kinds import CACHED

if TYPE_CHECKING:
    from seqc.store import Cache
    from seqc.store.remote import Remote

WORKERS = 8  # transfers at once: object stores are latency-bound
Entry = tuple[str, str]  # (kind, key) of a cache entry


class Remotes:
    """The remotes one session opened, by URL: each is opened and checked once (the command opens
    it before rendering; the render and every watch iteration reuse it)."""

    def __init__(self) -> None:
        self._opened: dict[str, Remote] = {}

    def open(self, url: str | None) -> Remote | None:
        """The remote at `url`, opened and checked on first use; None for no remote."""
        if not url:
            return None
        if url not in self._opened:
            from seqc.store.remote import open_remote

            self._opened[url] = open_remote(url)
        return self._opened[url]

    def close(self) -> None:
        """Forget the opened remotes (they hold no process or file; the next open checks again)."""
        self._opened.clear()


class Notices(Protocol):
    """What the tier tells the user (a render's Reporter is one)."""

    def warn(self, message: str) -> None: ...
    def stage(self, text: str) -> None: ...
    def working(self, text: str) -> AbstractContextManager[Any]: ...


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


class RemoteTier:
    """One render's use of the remote (or of none: then every method does nothing)."""

    def __init__(self, remote: Remote | None, cache: Cache, notices: Notices):
        self.remote = remote
        self.cache = cache
        self.notices = notices
        self.fetched_keys: set[str] = set()
        self.pushed = 0

    def _failed(self, doing: str, exc: Exception, after: str) -> None:
        """Warn once and stop using the remote for this render."""
        if self.remote is not None:
            self.notices.warn(f"{doing} {self.remote.url} failed ({exc}); {after}")
        self.remote = None

    def fetch_missing(self, clip_keys: Iterable[str], endpoints: Callable[[], Iterable[Entry]]) -> None:
        """Before a render looks at its clips: fetch those of `clip_keys` the local cache lacks, then
        the keyframe entries it lacks (`endpoints()`: the latents and conditionings the clips need),
        so the render finds them cached."""
        if self.remote is None:
            return
        from seqc.store.remote import RemoteUnavailable

        cache = self.cache
        keys = sorted({key for key in clip_keys if cache.status("clips", key) != CACHED})
        if not keys:
            return
        remote = self.remote
        try:
            with self.notices.working(f"looking for {len(keys)} clips in {remote.url}"):
                transfer(keys, lambda key: remote.fetch(cache, "clips", key),
                         lambda key, path: path is not None and self.fetched_keys.add(key))  # type: ignore[func-returns-value]
                # The keyframes' latents too (small): the segments still missing need them, and
                # `seqc analyze` measures the fetched ones' latent distances.
                entries = [e for e in endpoints() if cache.status(*e) != CACHED]
                transfer(entries, lambda entry: remote.fetch(cache, *entry))
        except RemoteUnavailable as exc:
            self._failed("fetching from", exc, "rendering locally what is missing")

    def push(self, entries: Callable[[], list[Entry]]) -> None:
        """After a render: push the entries it made (`entries()`: its clips and the keyframe entries
        they used), unless there is no remote."""
        if self.remote is None:
            return
        from seqc.store.remote import RemoteUnavailable

        cache, remote = self.cache, self.remote
        todo = entries()
        if not todo:
            return
        self.notices.stage(f"pushing {len(todo)} entries to {remote.url}")

        def count(_entry: object, committed: object) -> None:
            self.pushed += bool(committed)

        try:
            transfer(todo, lambda entry: remote.push(cache, *entry), count)
        except RemoteUnavailable as exc:
            self._failed("pushing to", exc, "the new clips stay in the local cache only "
                                            "(`seqc cache push FILE` sends them later)")

    def settle(self) -> None:
        """Let the file memo vouch for the fetched entries (one sync for all of them)."""
        if self.fetched_keys:
            self.cache.sync_published()
