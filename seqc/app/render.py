"""Render a storyboard: the use-case behind `seqc render`, the warm-render listener of `seqc watch`
and anything else that renders a file to its video (or image frames). It prints nothing.

The steps, each a method of `StoryboardRender` that `render_storyboard` runs in order:
1. `up_to_date`: nothing to do if the last render of this very command stands as it was
   (seqc.outputs.stamp): no storyboard parse, no plan, no numpy.
2. `preflight`: the remote cache opened and checked, Ray installed and answering (seqc.app.preflight).
3. `read`: the storyboard and the output path, checked before planning touches the cache.
4. `produce`: plan, render what is missing, write the output (seqc.outputs.produce), then stamp what
   this render read and wrote, for the next identical command.
`seqc render` runs the steps itself (seqc.cli.commands.render), to act between them: it hands the job
to a warm `seqc watch` after the pre-flights, and prints the storyboard's warnings as soon as it is read.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from seqc.app.executors import check_settings
from seqc.errors import Problem
from seqc.outputs import stamp
from seqc.outputs.frames import FRAME_FORMATS
from seqc.render.options import RenderOptions
from seqc.ui.load import open_cache

if TYPE_CHECKING:
    from seqc.outputs.produce import FramesOutput, VideoOutput
    from seqc.plan import Plan
    from seqc.render.driver import RenderResult
    from seqc.render.progress import Reporter
    from seqc.render.session import Session
    from seqc.spec import Storyboard
    from seqc.store import Cache


@dataclass(frozen=True)
class RenderRequest:
    """What to render, where to, and who renders it (the command line of `seqc render`, typed)."""

    file: str
    cache_dir: str | None = None
    options: RenderOptions = field(default_factory=RenderOptions)
    draft: bool = False
    output: Path | None = None  # -o: the video file, instead of the storyboard's output.path
    frames: Path | None = None  # --frames DIR: image frames instead of a video (never stamped)
    frame_format: str = "png"  # --frame-format: png, png16, exr or tiff16 (seqc.outputs.frames)
    no_cache: bool = False  # a throwaway cache: nothing read from or written to the real one
    executor: str = "local"  # who renders the missing segments (seqc.app.executors): "local" or "ray"
    ray_address: str | None = None  # "auto", HOST:PORT, or None: start a local Ray
    workers: int | None = None  # Ray workers (model-holding actors); None: one per GPU, else per CPU

    def __post_init__(self) -> None:
        check_settings(self.executor, self.workers)
        if self.frame_format not in FRAME_FORMATS:
            raise ValueError(f"frame format must be one of {', '.join(FRAME_FORMATS)}, got {self.frame_format!r}")


@dataclass(frozen=True)
class RenderOutcome:
    """What a render did: `result` as `seqc render --json` prints it, the storyboard's warnings, and
    the cache it used (None for a throwaway one)."""

    result: dict
    warnings: list[Problem]
    cache: str | None


def render_storyboard(request: RenderRequest, session: Session, reporter: Reporter | None = None,
                      should_stop: Callable[[], bool] | None = None) -> RenderOutcome:
    """Render the request's storyboard with the session's model, remotes and executors; raise the error
    the user sees (a SpecError for an invalid storyboard). `should_stop` stops it between frame batches."""
    with StoryboardRender(request, session) as steps:
        done = steps.up_to_date()
        if done is not None:
            return done
        steps.preflight()
        steps.read()
        return steps.produce(reporter, should_stop)


class StoryboardRender:
    """One render of a storyboard, step by step (see the module's docstring); a context manager, as a
    --no-cache render's throwaway cache lives from `read` to the end."""

    def __init__(self, request: RenderRequest, session: Session):
        self.request, self.session = request, session
        self.started = time.monotonic()
        self.inputs = stamp.InputWatch()  # what the render reads, watched from now on
        self.inputs.add([request.file])
        self.cache = open_cache(request.cache_dir, request.file)
        self.store: Cache = self.cache  # where it renders: the cache, or a throwaway one (--no-cache)
        self.precision = self._precision()  # what it plans for (torch-free; checked when the model loads)
        self.stamped: Path | None = None
        self.warnings: list[Problem] = []
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> StoryboardRender:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _precision(self) -> str:
        options = self.request.options
        return self.session.models.precision(options.device, options.dtype)

    def up_to_date(self) -> RenderOutcome | None:
        """1. The outcome of the last identical render if nothing it read or wrote changed, else None."""
        request = self.request
        if request.frames is not None or request.no_cache:
            return None
        self.stamped = stamp.stamp_path(self.cache.root, Path(request.file), request.draft, request.output,
                                        self.precision)
        hit = stamp.check(self.stamped)
        if hit is None or "fps" not in hit[0]:  # a stamp of an older seqc lacks what --json reports now
            return None
        done, warnings = hit
        warnings = [dataclasses.replace(w, file=request.file) for w in warnings]  # as this request names it
        result = {**done, "seconds": round(time.monotonic() - self.started, 3), "cache": str(self.cache.root)}
        return RenderOutcome(result, warnings, str(self.cache.root))

    def preflight(self) -> None:
        """2. The remote cache and the executor, checked before anything loads."""
        from seqc.app.preflight import preflight

        preflight(self.session, self.request.options.remote, self.request)

    def read(self) -> list[Problem]:
        """3. Read the storyboard and check the output path; return the storyboard's warnings."""
        from seqc.outputs.produce import FramesOutput, VideoOutput
        from seqc.outputs.video import check_output
        from seqc.spec import read_storyboard
        from seqc.store import Cache
        from seqc.ui import console

        request = self.request
        if request.no_cache:
            scratch = self._stack.enter_context(tempfile.TemporaryDirectory(prefix="seqc-nocache-"))
            self.store = Cache(scratch, warn=console.warn)
        self.text, self.story = read_storyboard(request.file, draft=request.draft, images=self.store,
                                                audio_memo=self.store, audio=self.session.audio)
        if request.frames is not None:
            self.target: FramesOutput | VideoOutput = FramesOutput(request.frames, request.frame_format)
        else:
            self.target = VideoOutput((request.output or self.story.output.path).absolute())
            check_output(self.story, self.target.path, self.cache)
        self.warnings = list(self.story.warnings)
        return self.warnings

    def produce(self, reporter: Reporter | None = None,
                should_stop: Callable[[], bool] | None = None) -> RenderOutcome:
        """4. Plan, render what is missing, write the output; stamp it for the next identical command."""
        from seqc.app.executors import executor_for
        from seqc.outputs.produce import produce
        from seqc.plan import compile_plan

        request, story = self.request, self.story
        model = self._watch_inputs(story)
        plan = compile_plan(story, self.store, precision=self.precision, audio=self.session.audio)
        result = produce(plan, self.store, request.options, self.target, reporter, should_stop,
                         session=self.session, executor=executor_for(request, self.session))
        if self.stamped is not None:
            self._stamp(plan, result, model)
        cache = None if request.no_cache else str(self.cache.root)
        return RenderOutcome({**result.as_dict(), "cache": cache}, self.warnings, cache)

    def _watch_inputs(self, story: Storyboard) -> list[str] | None:
        """Add the keyframe images, the soundtrack and the model's files to the watched inputs; the
        model's files (None when they cannot be listed: then nothing is stamped)."""
        images = [kf.image for kf in story.keyframes.values() if kf.image is not None]
        if story.audio is not None:  # the soundtrack is an input like an image (seqc/audio)
            images.append(story.audio.path)
        keyframes = story.keyframes.values()  # and the LoRAs and control pictures they name
        images += sorted({lora.path for kf in keyframes for lora in kf.loras}
                         | {kf.control.image for kf in keyframes if kf.control and kf.control.image})
        self.inputs.add(images)
        ref = story.model_ref
        assert ref is not None
        model = stamp.model_files(ref.path, ref.source)
        if model is not None and ref.file is not None:  # a single file: its config folder and it
            model = [*model, str(ref.file)]
        parts = [p for p in (ref.vae, ref.controlnet) if p is not None] + [path for _, path in ref.embeddings]
        for part in parts:  # `vae:`, `controlnet:` (a file or a folder), `embeddings:`
            if model is not None:
                model = [*model, *(stamp.model_files(part, "folder") or [] if part.is_dir() else [str(part)])]
        self.inputs.add(model or [])
        self.inputs.link([self.request.file, *images])
        if ref.source in ("folder", "file"):  # as the storyboard names it: a link may be retargeted
            self.inputs.link([story.path.parent / Path(story.model).expanduser()])
        return model

    def _stamp(self, plan: Plan, result: RenderResult, model: list[str] | None) -> None:
        """Stamp what this render read and wrote, or discard the stamp when it cannot stand."""
        assert self.stamped is not None
        story = self.story
        used = {str(kf.image): plan.descriptors[name]["image"] for name, kf in story.keyframes.items()
                if kf.image is not None}
        if story.audio is not None and plan.audio_sha256 is not None:
            used[str(story.audio.path)] = plan.audio_sha256
        settled = self.inputs.settled({self.request.file: hashlib.sha256(self.text).hexdigest(), **used})
        replanned = self._precision() != self.precision  # the model ran in another precision than guessed
        if settled is None or model is None or result.output is None or replanned:
            stamp.discard(self.stamped)
        else:
            clips = sorted({str(p) for p in result.clips.values()})
            clips += [str(p.with_suffix(".json")) for p in result.clips.values()]
            stamp.write(self.stamped, self.inputs, settled, [*clips, str(result.output)], result.as_dict(),
                        self.warnings)
