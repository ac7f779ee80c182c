"""Fill the cache, then read the clips, under one lease: `produce` writes an output (a video file or
image frames) for `seqc render` and `seqc watch`; `rendered` lets preview and analyze read the clips."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from seqc.outputs.frames import FRAME_FORMATS, LABELS, write_frames
from seqc.outputs.video import write_video
from seqc.plan import Plan, compile_plan
from seqc.render.driver import PrecisionMismatch, RenderResult, render
from seqc.render.options import RenderOptions
from seqc.render.progress import Reporter
from seqc.render.session import Session
from seqc.store import Cache

if TYPE_CHECKING:
    from seqc.render.execute import Executor


@dataclass(frozen=True)
class VideoOutput:
    """Write the video file (the storyboard's `output.path`, or `-o`)."""

    path: Path

    def write(self, plan: Plan, result: RenderResult) -> dict | None:
        return write_video(plan, result.clips, self.path, result.tracks)

    def describe(self, plan: Plan) -> str:
        return f"writing {self.path.name} from {len(plan.clip_jobs)} clips"


@dataclass(frozen=True)
class FramesOutput:
    """Write every frame as an image file into a folder (`--frames DIR`), in `frame_format`
    (`--frame-format`: png, png16, exr or tiff16; seqc.outputs.frames)."""

    folder: Path
    frame_format: str = "png"

    def __post_init__(self) -> None:
        if self.frame_format not in FRAME_FORMATS:
            raise ValueError(f"frame format must be one of {', '.join(FRAME_FORMATS)}, got {self.frame_format!r}")

    def write(self, plan: Plan, result: RenderResult) -> dict | None:
        write_frames(plan, result.clips, self.folder, self.frame_format)
        return None  # the video file's record stays as it was

    def describe(self, plan: Plan) -> str:
        return f"writing {plan.total_frames} {LABELS[self.frame_format]} frames into {self.folder}"


Output = VideoOutput | FramesOutput


def produce(plan: Plan, cache: Cache, options: RenderOptions, output: Output, reporter: Reporter | None = None,
            should_stop: Callable[[], bool] | None = None, *, session: Session | None = None,
            executor: Executor | None = None) -> RenderResult:
    """Render what is missing into the cache, write the output from the cached clips, and remember
    what this render used (so the next plan can say why a segment changed). `session` and
    `executor` are render's (None: a fresh session; this process renders)."""
    started = time.monotonic()
    session = session or Session()
    try:
        result = _produce(plan, cache, options, output, reporter, should_stop, session, executor)
    except PrecisionMismatch as exc:
        plan = _replan(plan, cache, options, exc, reporter, session)
        result = _produce(plan, cache, options, output, reporter, should_stop, session, executor)
    return dataclasses.replace(result, seconds=time.monotonic() - started)


def _produce(plan: Plan, cache: Cache, options: RenderOptions, output: Output, reporter: Reporter | None,
             should_stop: Callable[[], bool] | None, session: Session, executor: Executor | None) -> RenderResult:
    with cache.lease(plan.leased_keys()):
        # 1. Fill the cache.
        result = render(plan, cache, options, reporter, should_stop, session=session, executor=executor)
        # 2. Write the output from the cached clips (still leased).
        with (reporter or Reporter()).working(output.describe(plan)):
            output_record = output.write(plan, result)
        # 3. Remember what this render used; a no-op render writes nothing.
        remember(cache, plan, output_record)
    return dataclasses.replace(result, output=output.path.absolute() if isinstance(output, VideoOutput) else None)


def _replan(plan: Plan, cache: Cache, options: RenderOptions, mismatch: PrecisionMismatch,
            reporter: Reporter | None, session: Session) -> Plan:
    """The plan again, for the precision the model really runs in (nothing was rendered yet); the
    session learns it, so its later plans start from it."""
    session.models.learn(options.device, options.dtype, mismatch.actual)
    (reporter or Reporter()).warn(
        f"--dtype auto was planned as {mismatch.planned}, but the model runs in {mismatch.actual} on this "
        f"machine; planning again for {mismatch.actual} (pass --dtype {mismatch.actual} to skip the guess)")
    return compile_plan(plan.storyboard, cache, precision=mismatch.actual, audio=session.audio)


@contextlib.contextmanager
def rendered(plan: Plan, cache: Cache, options: RenderOptions, reporter: Reporter | None = None, *,
             session: Session | None = None, executor: Executor | None = None
             ) -> Iterator[tuple[Plan, RenderResult]]:
    """Fill the cache, and keep the plan's clips leased while the caller reads them (preview, analyze).
    Yields the plan the clips are for (re-planned if the model runs in another precision) and the result."""
    session = session or Session()
    try:
        with cache.lease(plan.leased_keys()):
            result = render(plan, cache, options, reporter, session=session, executor=executor)
            yield plan, result
            remember(cache, plan, None)
            return
    except PrecisionMismatch as exc:
        plan = _replan(plan, cache, options, exc, reporter, session)
    with cache.lease(plan.leased_keys()):
        result = render(plan, cache, options, reporter, session=session, executor=executor)
        yield plan, result
        remember(cache, plan, None)


def remember(cache: Cache, plan: Plan, output_record: dict | None) -> None:
    """Write the run record (segments used, and the output's record unless None: keep the last)."""
    previous = plan.previous
    record = {**plan.record(), "output": previous.get("output", {}) if output_record is None else output_record}
    if previous != record:
        cache.write_run(plan.run_id, record)
    cache.save_memo()
