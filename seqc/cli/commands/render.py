"""`seqc render FILE`: plan, render what is missing, write the video (or PNG frames), report."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from seqc.errors import Problem
from seqc.outputs import stamp
from seqc.ui import console
from seqc.ui.load import open_cache

if TYPE_CHECKING:
    from seqc.render.options import RenderOptions
    from seqc.render.render import Reporter


def run(file: str, cache_dir: str | None, options: RenderOptions, *, draft: bool = False,
        output: Path | None = None, frames: Path | None = None, no_cache: bool = False,
        quiet: bool = False, as_json: bool = False, no_server: bool = False, reporter: Reporter | None = None,
        report: Callable[[dict, list[Problem]], None] | None = None) -> int:
    """Render FILE to its video (or `output`), or to PNG frames in `frames`.

    `no_cache` renders into a throwaway cache, so nothing is read from or written to the real one.
    A `seqc watch` on the same cache renders the job with its model loaded unless `no_server`
    (seqc.serve.handoff); it calls this with its `reporter` and a `report(result, warnings)`.
    """
    started = time.monotonic()
    inputs = stamp.InputWatch()
    inputs.add([file])
    cache = open_cache(cache_dir, file)
    # 1. Nothing to do if the last render of this very command stands as it was (seqc.outputs.stamp):
    #    no storyboard parse, no plan, no numpy.
    stamped = None
    precision = options.precision
    if frames is None and not no_cache:
        stamped = stamp.stamp_path(cache.root, Path(file), draft, output, precision)
        hit = stamp.check(stamped)
        if hit is not None and "fps" in hit[0]:  # a stamp of an older seqc lacks what --json reports now
            done, warnings = hit
            warnings = [dataclasses.replace(w, file=file) for w in warnings]  # as this command names it
            if report is not None:
                report(done, warnings)
                return 0
            _report({**done, "seconds": round(time.monotonic() - started, 3), "cache": str(cache.root)}, warnings,
                    frames, quiet, as_json)
            return 0
    # 1a. The remote cache (--remote): opened and checked before anything renders (seqc.store.remote).
    if options.remote is not None:
        from seqc.render.remote_tier import connect

        connect(options.remote)
    # 1b. --executor ray: Ray installed (else exit 2) and its address answering (else exit 1), before
    #     anything loads (seqc.cluster.connect; Ray itself is joined when something must render).
    if options.executor == "ray":
        from seqc.cluster.connect import check

        check(options)
    # 1c. A running `seqc watch` on this cache has the model loaded: it renders the job (seqc.serve.handoff).
    if not no_server and not no_cache:
        from seqc.serve import handoff

        handed = handoff.try_render(cache.root, file, options, draft=draft, output=output, frames=frames,
                                    quiet=quiet, as_json=as_json)
        if handed is not None:
            _report({**handed[0], "seconds": round(time.monotonic() - started, 3), "cache": str(cache.root)},
                    handed[1], frames, quiet, as_json)
            return 0
    from seqc.outputs.produce import FramesOutput, VideoOutput, produce
    from seqc.outputs.video import check_output
    from seqc.plan import compile_plan
    from seqc.render.render import Reporter
    from seqc.spec import read_storyboard
    from seqc.store import Cache
    from seqc.ui.estimate import for_render
    from seqc.ui.progress import EstimateReporter, ProgressReporter

    with tempfile.TemporaryDirectory(prefix="seqc-nocache-") if no_cache else contextlib.nullcontext() as scratch:
        store = Cache(scratch, warn=console.warn) if scratch else cache
        # 2. The storyboard and the output path, checked before planning touches the cache.
        text, story = read_storyboard(file, draft=draft, images=store)
        if frames is not None:
            target: FramesOutput | VideoOutput = FramesOutput(frames)
        else:
            target = VideoOutput((output or story.output.path).absolute())
            check_output(story, target.path, cache)
        warnings = list(story.warnings)
        if not quiet:
            console.print_problems(warnings)
        # 3. Plan, then render what is missing and write the output.
        images = [kf.image for kf in story.keyframes.values() if kf.image is not None]
        if story.audio is not None:  # the soundtrack is an input like an image (seqc/audio)
            images.append(story.audio.path)
        inputs.add(images)
        assert story.model_ref is not None
        model = stamp.model_files(story.model_ref.path, story.model_ref.source)
        inputs.add(model or [])
        inputs.link([file, *images])
        if story.model_ref.source == "folder":  # as the storyboard names it: a link may be retargeted
            inputs.link([story.path.parent / Path(story.model).expanduser()])
        plan = compile_plan(story, store, precision=options.precision)
        # A long render says how long before it starts (seqc.ui.estimate; not on a cluster: its speed is the workers').
        estimate = for_render(options.device) if not quiet and options.executor == "local" else None
        if reporter is None:
            reporter = (Reporter(warn=console.warn) if quiet else EstimateReporter(estimate) if as_json
                        else ProgressReporter(estimate=estimate))
        result = produce(plan, store, options, target, reporter)
    # 4. Stamp what this render read and wrote, for the next identical command.
    if stamped is not None:
        used = {str(kf.image): plan.descriptors[name]["image"] for name, kf in story.keyframes.items()
                if kf.image is not None}
        if story.audio is not None and plan.audio_sha256 is not None:
            used[str(story.audio.path)] = plan.audio_sha256
        settled = inputs.settled({file: hashlib.sha256(text).hexdigest(), **used})
        replanned = options.precision != precision  # the model ran in another precision than guessed
        if settled is None or model is None or result.output is None or replanned:
            stamp.discard(stamped)
        else:
            clips = sorted({str(p) for p in result.clips.values()})
            clips += [str(p.with_suffix(".json")) for p in result.clips.values()]
            stamp.write(stamped, inputs, settled, [*clips, str(result.output)], result.as_dict(), warnings)
    # 5. Report.
    if report is not None:
        report(result.as_dict(), warnings)
        return 0
    _report({**result.as_dict(), "cache": None if no_cache else str(cache.root)}, [], frames, quiet, as_json)
    return 0


def _report(result: dict, warnings: list[Problem], frames: Path | None, quiet: bool, as_json: bool) -> None:
    """The result as one JSON line (--json), or one summary line naming the output and the cache."""
    if not quiet:
        console.print_problems(warnings)
    if as_json:
        console.print_json(result)
    elif not quiet:
        where = result["output"] or frames
        video = f"{console.plural(result['frames'], 'frame')}"
        if result.get("fps"):
            width, height = result["size"]
            video += f" ({result['duration']:.2f} s at {result['fps']:g} fps, {width}x{height})"
        remote = f" ({result['fetched']} fetched from the remote)" if result.get("fetched") else ""
        if result.get("pushed"):
            remote += f"; pushed {console.plural(result['pushed'], 'entry', 'entries')} to the remote"
        console.info(f"{where}: {video}; rendered {result['rendered']} of "
                     f"{console.plural(result['segments'], 'segment')}, {result['cached']} cached{remote}; "
                     f"{result['seconds']:.2f} s; cache: {_cache_name(result.get('cache'))}")


def _cache_name(root: str | None) -> str:
    """The cache folder as the summary names it: ~ for the home folder, and the per-user cache said
    to be one (a project without its own tagged cache/ renders into it)."""
    if root is None:
        return "none (--no-cache)"
    from seqc.store.location import user_cache_dir

    path = Path(root)
    shown = str(path)
    with contextlib.suppress(ValueError, RuntimeError):
        shown = "~/" + str(path.relative_to(Path.home()))
    return f"{shown} (the per-user cache)" if path == user_cache_dir() else shown
