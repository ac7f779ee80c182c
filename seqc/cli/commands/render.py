"""`seqc render FILE`: plan, render what is missing, write the video (or PNG frames), report."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from seqc.outputs.produce import FramesOutput, VideoOutput, produce
from seqc.outputs.video import check_output
from seqc.plan import compile_plan
from seqc.render.render import RenderOptions, Reporter
from seqc.spec import load_storyboard
from seqc.store import Cache
from seqc.ui import console
from seqc.ui.load import open_cache
from seqc.ui.progress import ProgressReporter


def run(file: str, cache_dir: str | None, options: RenderOptions, *, draft: bool = False,
        output: Path | None = None, frames: Path | None = None, no_cache: bool = False,
        quiet: bool = False, as_json: bool = False) -> int:
    """Render FILE to its video (or `output`), or to PNG frames in `frames`.

    `no_cache` renders into a throwaway cache, so nothing is read from or written to the real one.
    """
    cache = open_cache(cache_dir, file)
    with tempfile.TemporaryDirectory(prefix="seqc-nocache-") if no_cache else contextlib.nullcontext() as scratch:
        store = Cache(scratch, warn=console.warn) if scratch else cache
        # 1. The storyboard and the output path, checked before planning touches the cache.
        story = load_storyboard(file, draft=draft, images=store)
        if frames is not None:
            target: FramesOutput | VideoOutput = FramesOutput(frames)
        else:
            target = VideoOutput((output or story.output.path).absolute())
            check_output(story, target.path, cache)
        if not quiet:
            console.print_problems(list(story.warnings))
        # 2. Plan, then render what is missing and write the output.
        plan = compile_plan(story, store, precision=options.precision)
        reporter = Reporter(warn=console.warn) if quiet or as_json else ProgressReporter()
        result = produce(plan, store, options, target, reporter)
    # 3. Report.
    if as_json:
        console.print_json(result.as_dict())
    elif not quiet:
        where = result.output or frames
        console.info(f"{where}: {result.frames} frames; rendered {result.rendered} of {result.segments} "
                     f"segments, {result.cached} cached; {result.seconds:.2f} s")
    return 0

