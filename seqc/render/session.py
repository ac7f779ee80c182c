"""What one command keeps between its renders: the loaded model, the precision it learned, the
open remote caches, the decoded soundtracks and the executors' workers (issue 25 item 3).

A `seqc render` owns one for its single render; `seqc watch` owns one for all its renders, and
its warm-render listener renders handed-over jobs with that same session, so the model stays
loaded. Nothing of it is a module global: a test makes its own, and two sessions share nothing.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from seqc.audio.memo import AudioCache
from seqc.backends.loaded import LoadedModels
from seqc.render.execute import Executor
from seqc.store.tier import Remotes


@dataclass
class Session:
    """The memory of one command's renders (each part is owned by its stage; see the field comments);
    `close()` when the command ends."""

    # Fields are added here, one per stage that keeps something between renders (issue 25 item 3).
    models: LoadedModels = field(default_factory=LoadedModels)  # the model kept loaded, learned precisions
    audio: AudioCache = field(default_factory=AudioCache)  # audio checks passed, the decoded soundtrack
    remotes: Remotes = field(default_factory=Remotes)  # the remote caches opened, by URL (seqc.store.tier)
    executors: dict[str, Executor] = field(default_factory=dict)  # kept between renders (a Ray pool), by name

    def close(self) -> None:
        """Let go of what the session holds (the executors' workers, the open remotes)."""
        executors, self.executors = list(self.executors.values()), {}
        with contextlib.ExitStack() as closing:  # each is closed even if another one fails
            closing.callback(self.remotes.close)
            for executor in executors:
                closing.callback(executor.close)

