"""One torch thread per model call on the CPU, so a frame's bytes do not depend on the core count.

torch's CPU kernels split some sums by their thread count (GroupNorm on channels-last tensors,
a UNet's matrix products), so a frame computed with one thread and with two can round to other
bytes, and a cache key does not name the thread count: a Ray worker (one thread each) and a local
render (every core) would put different clips under the same key. So on the CPU every model call
runs with exactly one intra-op thread, and the speed comes from running several calls at once on
Python threads instead (torch lets go of the GIL inside its kernels).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

import torch

T = TypeVar("T")
R = TypeVar("R")


@contextmanager
def one_thread() -> Iterator[None]:
    """torch's intra-op thread count set to one in this thread for the block, then put back."""
    # get_num_threads first: it runs torch's once-per-thread set-up, which would otherwise
    # run at the first kernel and reset the count to the process default.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def parallel_calls(fn: Callable[[T], R], items: Sequence[T], workers: int | None = None) -> list[R]:
    """`fn(item)` for every item, each on one torch thread under inference mode, up to `workers`
    at once (default: torch's thread count in this thread, which a Ray worker sets to one);
    the results in the items' order, the same bytes whatever `workers` is."""
    workers = torch.get_num_threads() if workers is None else workers

    def call(item: T) -> R:
        with torch.inference_mode(), one_thread():
            return fn(item)

    if workers <= 1 or len(items) <= 1:
        return [call(item) for item in items]
    before = torch.get_num_threads()
    pool = ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="seqc-frame")
    try:
        return list(pool.map(call, items))
    finally:
        # On Ctrl-C the frames not started are dropped, not computed; those running finish.
        pool.shutdown(wait=True, cancel_futures=True)
        # A new thread takes torch's process-wide default, which the pool's threads just set to one.
        torch.set_num_threads(before)
