"""Start and stop what `seqc watch` runs beside the watcher: the preview page (`--serve`, seqc.page)
and the warm-render socket (seqc.handoff). Either failing to start is one line; the watcher goes on
without it. Both stop when the watcher does (Ctrl-C included), and the socket file is removed."""

from __future__ import annotations

import contextlib
import threading
import webbrowser
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from seqc import interrupts
from seqc.handoff.listener import HandoffListener
from seqc.render.session import Session
from seqc.store import Cache
from seqc.ui import console

if TYPE_CHECKING:
    from seqc.watch.watcher import Watcher

LOOPBACK = ("127.0.0.1", "localhost", "::1")
Log = Callable[..., None]  # the view's `line(text, style="")`


@dataclass(frozen=True)
class ServeOptions:
    """`--serve`, `--host`, `--port`, `--open`."""

    host: str = "127.0.0.1"
    port: int = 0
    open: bool = False


@contextlib.contextmanager
def serving(watcher: Watcher, cache: Cache, serve: ServeOptions | None, handoff: bool = True) -> Iterator[None]:
    """Around `watcher.run()`: the preview page if asked, and the warm-render socket, whose jobs
    render with the watcher's session (so they find its model loaded)."""
    with contextlib.ExitStack() as stack:
        log, session = watcher.view.line, watcher.session
        # 1. The warm-render socket, in the cache folder (made now if it is new).
        listener = _start_listener(watcher, cache, session, stack, log) if handoff else None
        # 2. The preview page: its view wraps the terminal's, before the hook below is set on it.
        if serve is not None:
            _start_preview(watcher, cache, serve, stack, log)
        # 3. After the first render, load the watched storyboard's model, so the first job starts warm.
        if listener is not None:
            watcher.view.after_first_render(lambda: watcher.post(lambda: _prewarm(watcher, session, log)))
        yield


def _start_listener(watcher: Watcher, cache: Cache, session: Session, stack: contextlib.ExitStack,
                    log: Log) -> HandoffListener | None:
    with contextlib.suppress(OSError):
        cache.ensure_root()
    listener = HandoffListener(cache.root, watcher.post, log, session, watcher_busy=lambda: watcher.rendering)
    if not listener.start():
        return None
    stack.callback(listener.close)
    log(f"warm renders: `seqc render` on this cache renders here ({listener.path})")
    return listener


def _start_preview(watcher: Watcher, cache: Cache, serve: ServeOptions, stack: contextlib.ExitStack,
                   log: Log) -> None:
    from seqc.page.artifacts import Artifacts
    from seqc.page.bus import EventBus
    from seqc.page.publish import PublishingView
    from seqc.page.server import PreviewServer, ServeError

    bus, artifacts = EventBus(), Artifacts()
    stack.callback(artifacts.close)
    server = PreviewServer(bus, artifacts, host=serve.host, port=serve.port,
                           on_error=lambda message: log(message, "red"))
    try:
        url = server.start()
    except ServeError as exc:
        log(f"{exc}; watching without a preview", "red")
        return
    stack.callback(server.close)
    if serve.host not in LOOPBACK:
        console.warn(f"preview: listening on {serve.host}, not only this machine: anyone who can reach it and "
                     "has the URL's token sees your renders")
    # The URL, alone on stdout (scripts read it), and in the log.
    console.out.print(f"preview: {url}", markup=False, highlight=False)
    watcher.view = PublishingView(watcher.view, bus, artifacts, cache)
    if serve.open:
        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()


def _prewarm(watcher: Watcher, session: Session, log: Log) -> None:
    """Load the watched storyboard's model now (a no-op if its render did), so the first handed-over
    render starts warm. In the main thread, between renders."""
    story = watcher.last_good
    if story is None or story.model_ref is None:
        return
    try:
        from seqc.plan import compile_plan

        options = watcher.options
        plan = compile_plan(story, watcher.cache, precision=session.models.precision(options.device, options.dtype),
                            audio=session.audio)
        session.models.load(story.model_ref, options.device, options.dtype, fingerprint=plan.model)
    except Exception as exc:  # noqa: BLE001 - warm renders just start cold then
        interrupts.raise_if_interrupted(exc)
        log(f"warm renders: the model is not preloaded ({type(exc).__name__}: {exc})", "yellow")
