"""Start and stop what `seqc watch` runs beside the watcher: the preview server (`--serve`) and the
warm-render socket. Either failing to start is one line; the watcher goes on without it. Both stop
when the watcher does (Ctrl-C included), and the socket file is removed."""

from __future__ import annotations

import contextlib
import threading
import webbrowser
from collections.abc import Iterator
from dataclasses import dataclass

from seqc import interrupts
from seqc.serve.listener import HandoffListener
from seqc.store import Cache
from seqc.ui import console

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class ServeOptions:
    """`--serve`, `--host`, `--port`, `--open`."""

    host: str = "127.0.0.1"
    port: int = 0
    open: bool = False


@contextlib.contextmanager
def serving(watcher, cache: Cache, serve: ServeOptions | None, handoff: bool = True) -> Iterator[None]:
    """Around `watcher.run()`: the preview server if asked, and the warm-render socket."""
    with contextlib.ExitStack() as stack:
        log = watcher.view.line
        listener = None
        if handoff:
            with contextlib.suppress(OSError):  # the socket lives in the cache folder: make it now
                cache._ensure_root()
            listener = HandoffListener(cache.root, watcher.post, log, models=_loaded_models,
                                       watcher_busy=lambda: watcher.rendering)
            if listener.start():
                stack.callback(listener.close)
                log(f"warm renders: `seqc render` on this cache renders here ({listener.path})")
            else:
                listener = None
        after_render = (lambda: watcher.post(lambda: _prewarm(watcher, log))) if listener else None
        if serve is not None:
            _start_preview(watcher, cache, serve, stack, log, after_render)
        elif after_render is not None:
            _after_first_render(watcher, after_render)
        yield


def _start_preview(watcher, cache: Cache, serve: ServeOptions, stack: contextlib.ExitStack, log,
                   after_render) -> None:
    from seqc.serve.artifacts import Artifacts
    from seqc.serve.events import EventBus
    from seqc.serve.publish import PublishingView
    from seqc.serve.server import PreviewServer, ServeError

    bus, artifacts = EventBus(), Artifacts()
    stack.callback(artifacts.close)
    server = PreviewServer(bus, artifacts, host=serve.host, port=serve.port,
                           on_error=lambda message: log(message, "red"))
    try:
        url = server.start()
    except ServeError as exc:
        log(f"{exc}; watching without a preview", "red")
        if after_render is not None:
            _after_first_render(watcher, after_render)
        return
    stack.callback(server.close)
    if serve.host not in LOOPBACK:
        console.warn(f"preview: listening on {serve.host}, not only this machine: anyone who can reach it and "
                     "has the URL's token sees your renders")
    # The URL, alone on stdout (scripts read it), and in the log.
    console.out.print(f"preview: {url}", markup=False, highlight=False)
    watcher.view = PublishingView(watcher.view, bus, artifacts, cache, after_render=after_render)
    if serve.open:
        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()


def _after_first_render(watcher, callback) -> None:
    """Call `callback` once, after the watcher's first render (or its first error)."""
    view = watcher.view
    for name in ("rendered", "invalid", "failed"):
        original = getattr(view, name)

        def hooked(*args, _original=original, **kwargs):
            _original(*args, **kwargs)
            nonlocal callback
            if callback is not None:
                call, callback = callback, None
                call()
        setattr(view, name, hooked)


def _prewarm(watcher, log) -> None:
    """Load the watched storyboard's model now (a no-op if its render did), so the first handed-over
    render starts warm. In the main thread, between renders."""
    story = watcher.last_good
    if story is None:
        return
    try:
        from seqc.backends import load_backend
        from seqc.plan import compile_plan

        plan = compile_plan(story, watcher.cache, precision=watcher.options.precision)
        load_backend(story.model_ref, watcher.options.device, watcher.options.dtype, fingerprint=plan.model)
    except Exception as exc:  # noqa: BLE001 - warm renders just start cold then
        interrupts.raise_if_interrupted(exc)
        log(f"warm renders: the model is not preloaded ({type(exc).__name__}: {exc})", "yellow")


def _loaded_models() -> list[str]:
    import sys

    backends = sys.modules.get("seqc.backends")
    return [str(ident[0]) for ident in getattr(backends, "_loaded", {})] if backends else []
