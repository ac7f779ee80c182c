"""`seqc export FILE -o cut.otio`: render the storyboard (as `seqc render` does, nothing if it is up
to date), then write its timeline for an editor (seqc.outputs.editor_timeline), by the file's extension."""

from __future__ import annotations

from pathlib import Path

from seqc.app.render import RenderRequest
from seqc.errors import RenderError
from seqc.ui import console


def run(request: RenderRequest, timeline: Path, *, quiet: bool = False) -> int:
    """Render `request`, then write the timeline of its video to `timeline`."""
    from seqc.cli.commands import render
    from seqc.outputs.editor_timeline import ADAPTERS, timeline_plan, write
    from seqc.ui.load import load_and_plan, open_cache

    # 1. The format, before anything renders.
    if timeline.suffix.lower() not in ADAPTERS:
        from seqc.errors import InputError

        raise InputError(f"cannot export to '{timeline.name}': the timeline formats are {', '.join(ADAPTERS)} "
                         "(by the file's extension)")
    # 2. The render, and the plan it rendered.
    render.run(request, quiet=quiet)
    plan = load_and_plan(request.file, open_cache(request.cache_dir, request.file), quiet=True, draft=request.draft)
    media = request.output or plan.storyboard.output.path
    if not media.is_file():
        raise RenderError(f"the render wrote no video at {media}; nothing to put on a timeline")
    # 3. The timeline.
    shape = timeline_plan(plan, media)
    write(shape, timeline)
    if not quiet:
        console.info(f"{timeline}: {len(shape.clips)} clips of {media.name}, {len(shape.markers)} markers"
                     + (", the soundtrack" if shape.audio is not None and timeline.suffix.lower() != ".edl" else ""))
    return 0
