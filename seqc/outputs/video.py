"""The video output: join the cached clips into one file without re-encoding, unless it is current;
with a soundtrack, the joined silent video gets it in one mux (seqc.media.mux), and only then is
the output published, so it appears whole, with its sound, or not at all."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from seqc.errors import InputError
from seqc.media.concat import concat
from seqc.media.formats import output_format
from seqc.media.mp4 import TrackInfo
from seqc.media.mux import PCM_MUXERS, mux, takes_audio
from seqc.plan import Plan
from seqc.spec import Storyboard
from seqc.spec.paths import codec_problem, output_problem
from seqc.store import Cache, atomic
from seqc.store.files import OUTPUT_FIELDS, file_signature


def check_output(story: Storyboard, output: Path, cache: Cache) -> None:
    """Refuse an output path (`-o`) that is not a video seqc writes, or that would overwrite the
    storyboard, a keyframe or the cache. Needs only the storyboard, so the CLI runs it before
    planning touches the cache."""
    images = {name: kf.image for name, kf in story.keyframes.items() if kf.image is not None}
    problem = output_problem(output, story.path, images, cache.root)
    if problem is None and story.audio is not None and output.resolve() == story.audio.path.resolve():
        problem = ("the output would overwrite the soundtrack (`audio.path`)", "")
    if problem is None:
        unfit = codec_problem(story.output.codec, output, story.output.size)
        problem = None if unfit is None else (unfit[1], "or change `output.codec`")
    if problem is not None:
        message, hint = problem
        raise InputError(f"{message} ({hint})" if hint else message)


def _record(output: Path, plan: Plan) -> dict:
    """What says the output is exactly what this plan wrote: its path, clips, size and mtime."""
    try:
        st = output.stat()
    except OSError:
        return {}
    record = {"path": str(output), "clips": [j.key for j in plan.clip_jobs], **file_signature(st, OUTPUT_FIELDS)}
    sound = soundtrack(plan, output)
    if sound is not None:  # a new `start` or track rewrites the output (and only the output)
        record["audio"] = sound
    return record


def soundtrack(plan: Plan, output: Path) -> dict | None:
    """What the output's soundtrack is made of (file bytes, start), or None for a silent output:
    no `audio:`, `mux: false`, or a format without sound (GIF)."""
    audio = plan.storyboard.audio
    if audio is None or not audio.mux or plan.audio_sha256 is None:
        return None
    try:
        fmt = output_format(output)
    except ValueError:
        return None
    if not takes_audio(fmt):
        return None
    sound = {"sha256": plan.audio_sha256, "start": audio.start}
    if _pcm(plan) and fmt.muxer in PCM_MUXERS:  # a master's sound: a switch of codec re-muxes it
        sound["codec"] = "pcm_s24le"
    return sound


def _pcm(plan: Plan) -> bool:
    """Whether the soundtrack goes beside the video as PCM: a mezzanine codec's master."""
    return plan.storyboard.output.codec != "h264"


def _current(plan: Plan, output: Path) -> bool:
    """Whether the output file is exactly what the last render of this plan wrote."""
    previous = plan.previous.get("output")
    return isinstance(previous, dict) and bool(previous) and previous == _record(output, plan)


def write_video(plan: Plan, clips: Mapping[str, Path], output: Path,
                tracks: Mapping[str, TrackInfo] | None = None) -> dict:
    """Concatenate the plan's clips into `output` (checking its frame count) unless it is current;
    return the output's record for the run record. `tracks` are the clips' stream parameters and
    frame counts as recorded at publish (any missing one is read from the clip)."""
    output = output.absolute()
    # A render killed while joining leaves its temp output beside the output: remove it (and the
    # temp of a silent join, named after a temp name: `..NAME.tmp-PID-...`).
    atomic.remove_dead_temps_of(output)
    atomic.remove_dead_temps_of(output.with_name(f".{output.stem}{output.suffix}"))
    if not _current(plan, output):
        output.parent.mkdir(parents=True, exist_ok=True)
        known = tracks or {}
        joined = [clips[job.key] for job in plan.clip_jobs], [known.get(job.key) for job in plan.clip_jobs]
        audio = plan.storyboard.audio
        if soundtrack(plan, output) is None or audio is None:
            concat(*joined[:1], output, joined[1])
        else:
            # Join the clips into a silent temp beside the output (a stream copy: the clips stay in
            # the cache, so a new `start` re-renders nothing), mux once into the output's temp, publish.
            silent = atomic.temp_path_for(output)
            try:
                concat(joined[0], silent, joined[1])
                with atomic.atomic_path(output) as tmp:
                    mux(silent, audio.path, audio.start, plan.total_frames / plan.storyboard.output.fps,
                        output_format(output), tmp, plan.total_frames, pcm=_pcm(plan))
            finally:
                silent.unlink(missing_ok=True)
    return _record(output, plan)
