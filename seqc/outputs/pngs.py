"""The PNG output (`--frames DIR`): every frame of the video as `frame_NNNNNN.png`, decoded from the
cached clips, with frames left over from a longer earlier export removed."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from pathlib import Path

from seqc.plan import Plan

_FRAME_RE = re.compile(r"frame_(\d{6,})\.png")


def write_frames(plan: Plan, clips: Mapping[str, Path], folder: Path) -> int:
    """Write the plan's frames into `folder` in timeline order (a repeated segment is written again
    where it repeats); return how many. Each PNG is published atomically."""
    from seqc.media.reader import (  # numpy and PIL: only when exporting
        read_frames,
        write_png_sequence,
    )

    folder = Path(folder)
    index = 0
    for job in plan.clip_jobs:
        index += write_png_sequence(read_frames(clips[job.key]), folder, start=index)
    # Frames of an earlier, longer export would read as part of this one: remove them.
    for path in folder.iterdir():
        match = _FRAME_RE.fullmatch(path.name)
        if match and int(match.group(1)) >= index:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return index
