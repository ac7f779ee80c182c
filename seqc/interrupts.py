"""How seqc stops on a signal. Ctrl-C (SIGINT), a `kill` (SIGTERM) and a closed terminal (SIGHUP)
all unwind the main thread as a KeyboardInterrupt, so each command cleans up the one way it does
for Ctrl-C: ffmpeg killed, temp files removed, the preview server and its socket closed.

- `stop_signals()`: while the CLI runs, SIGTERM and SIGHUP raise `Stopped` (a KeyboardInterrupt;
  exit 128 + the signal). A signal the caller set to be ignored (`nohup`) stays ignored.
- `hold()` / `release()`: defer those signals across a few lines that must not be cut.
- `interrupt_in(exc)`: the Ctrl-C inside an error. A library can wrap one: Python 3.11 turns an
  exception raised while a class body's `__set_name__` runs into a RuntimeError, and an import
  cut short by Ctrl-C does exactly that (seen in diffusers and torch). It is still a Ctrl-C.
- `forget_unhandled()`: CPython marks a KeyboardInterrupt raised inside `exec()` of a string
  (every dataclass definition runs one) as unhandled even when it is caught, and `python -m`
  then ends the process by SIGINT instead of with the exit code `main` returned.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where Ctrl-C raises KeyboardInterrupt."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_code = 128 + signum


def _raise_stopped(signum: int, frame) -> None:
    raise Stopped(signum)


@contextlib.contextmanager
def stop_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP raise `Stopped` in the main thread inside the block; restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    for sig, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(sig, _raise_stopped)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def hold():
    """Record SIGINT, SIGTERM and SIGHUP instead of acting on them (main thread only); pass the
    result to `release`."""
    if threading.current_thread() is not threading.main_thread():
        return None
    caught: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, frame: caught.append(signum))
                for sig in (signal.SIGINT, *STOP_SIGNALS)}
    return previous, caught


def release(state) -> None:
    """Restore the handlers `hold` replaced, then act on the first signal that came meanwhile, as
    the restored handler would have."""
    if state is None:
        return
    previous, caught = state
    for sig, handler in previous.items():
        signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
    if caught:
        handler = previous[caught[0]]
        if callable(handler):
            handler(caught[0], None)  # Python's KeyboardInterrupt, or `Stopped`
        elif handler is not signal.SIG_IGN:
            os.kill(os.getpid(), caught[0])  # the default action, now that it is restored


def interrupt_in(exc: BaseException) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt that `exc` is, or was caused by (through `raise ... from` or while
    handling it, `from None` included), else None."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        if isinstance(current, KeyboardInterrupt):
            return current
        seen.add(id(current))
        todo += [current.__cause__, current.__context__]
    return None


def raise_if_interrupted(exc: BaseException) -> None:
    """Raise the Ctrl-C inside `exc`, if there is one: call it where an error is shown and work goes on."""
    found = interrupt_in(exc)
    if found is not None:
        raise found from None


def forget_unhandled() -> None:
    """Clear CPython's "unhandled KeyboardInterrupt" mark once seqc has handled the interrupt.

    Every `exec()` of a string resets the mark before it runs, and this one raises nothing.
    """
    exec("pass")  # noqa: S102 - a constant string; the reset is the point
