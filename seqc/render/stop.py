"""How a render is stopped early: `Superseded`, raised between frame batches when `should_stop()`
says a newer storyboard has arrived (watch mode). Its own module, so the watcher and a no-op
render can name it without importing numpy and the renderer's frame code."""

from __future__ import annotations


class Superseded(Exception):
    """Raised inside a render when `should_stop()` says a newer storyboard has arrived (watch mode)."""
