"""What one session remembers about soundtracks: passed checks and the last file decoded whole.

A `Session` (seqc.render.session) owns one, so watch mode's plans and the renders after them check
and decode an unchanged file once; a function handed None makes a fresh one and keeps nothing. Both
are keyed by the file's absolute path and stat signature (seqc.store.files.path_key), so a changed
file is checked and decoded again. Not the cache's file memo (`AudioMemo`), which keeps passed checks
across processes. No numpy here: the planner imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from seqc.audio.pcm import AudioInfo


@dataclass
class AudioCache:
    """Audio checks passed, by file state, and the PCM of one soundtrack (a long file is tens of MB)."""

    checked: dict[tuple, AudioInfo] = field(default_factory=dict)
    _decoded: tuple[tuple, bytes] | None = field(default=None, repr=False)

    def decoded(self, key: tuple) -> bytes | None:
        """The PCM kept for this file state, or None."""
        if self._decoded is not None and self._decoded[0] == key:
            return self._decoded[1]
        return None

    def keep_decoded(self, key: tuple, data: bytes) -> None:
        """Keep this file state's PCM, in place of any other (one soundtrack at a time)."""
        self._decoded = (key, data)
