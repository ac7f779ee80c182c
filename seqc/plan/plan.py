"""Storyboard -> Plan: the ordered segment jobs, each with its key, status and the reason for it.

Fast, and torch-free: it hashes keyframe files (memoised by stat in the cache's file memo,
which it saves) and reads sidecars, nothing more. The reason for a re-render comes from comparing each segment's key inputs with
those recorded by the last render of the same storyboard (as Ninja's `-d explain` does).
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field

from seqc.audio.memo import AudioCache
from seqc.audio.pcm import ENVELOPE, AudioWindow, window_for
from seqc.media.encode import ENCODER_SETTINGS, encoding
from seqc.media.ffmpeg import encoder_build
from seqc.models import fingerprint_inputs
from seqc.motion.methods import METHODS
from seqc.plan import keys
from seqc.plan.explain import explain, previous_records
from seqc.spec import Segment, Storyboard
from seqc.spec.images import transparent_file
from seqc.store import CACHED, Cache

PACING_PROBES = 8  # probe intervals along a segment's path for `pacing: even` (9 decodes)
PACING_REUSE = 0.25  # a probe stands in for a frame within this fraction of the frame's spacing (seqc.render.pacing)


def pacing_reuse(segment: Segment) -> float:
    """How near a probe must be to stand in for a frame under `pacing: even` (seqc.render.pacing), as a
    fraction of the frame's spacing: a quarter where frames are denoised (each costs a model run), none
    where they are decoded (cheap, so every frame goes exactly to its even place)."""
    return PACING_REUSE if segment.generation is not None else 0.0


def pacing_probes(segment: Segment) -> int:
    """Probe intervals for a segment's `pacing: even`: a morph's change comes in a few frames, so more."""
    from seqc.motion.methods import MORPH_PROBES, get_method

    return MORPH_PROBES if get_method(segment.method).morphs else PACING_PROBES


@dataclass(frozen=True)
class LatentJob:
    """The latent of one keyframe: its key, named inputs and cache status."""

    keyframe: str
    key: str
    inputs: dict
    status: str


@dataclass(frozen=True)
class SegmentJob:
    """One segment of the timeline: what to render, under which key, and why (or why not)."""

    segment: Segment
    key: str
    inputs: dict
    status: str
    reason: str
    changes: tuple[str, ...]  # every changed input, for `plan --explain`
    end: bool = False  # the video's final frame: a one-frame hold on the keyframe the timeline ends on
    window: AudioWindow | None = None  # pacing: audio: the soundtrack's samples under this segment
    traces: tuple[str, str] | None = None  # method: morph: its two ends' stored latents at step k (keys)

    @property
    def needs_render(self) -> bool:
        return self.status != CACHED

    @property
    def encoding(self) -> dict:
        """The recipe its clip is encoded with, as its key names it (less the ffmpeg build, which is
        whatever runs: `encoder_build` keys it); H.264's for a job made without one (a test's)."""
        named = self.inputs.get("encoder", ENCODER_SETTINGS)
        return {name: value for name, value in named.items() if name != "ffmpeg"}

    @property
    def label(self) -> str:
        """How progress and logs name this job."""
        if self.end:
            return f"final frame: {self.segment.target}"
        return f"segment {self.segment.index}: {self.segment.source} -> {self.segment.target}"


@dataclass(frozen=True)
class Plan:
    """What a render of this storyboard will do, in timeline order."""

    storyboard: Storyboard
    model: str  # the model fingerprint
    latents: dict[str, LatentJob]  # image keyframes' latents
    jobs: tuple[SegmentJob, ...]  # the segments, in timeline order
    run_id: str
    precision: str = "float32"  # the precision the keys are for (seqc.backends.precision)
    end: SegmentJob | None = None  # the final frame's clip (None when the timeline loops)
    embeds: dict[str, LatentJob] = field(default_factory=dict)  # prompt conditioning (pipelines)
    endpoints: dict[str, str] = field(default_factory=dict)  # keyframe -> the key its segments use
    descriptors: dict[str, dict] = field(default_factory=dict)  # keyframe -> what defines it, for reasons
    previous: dict = field(default_factory=dict)  # the last render's run record (read once, here)
    audio_sha256: str | None = None  # the soundtrack's bytes (muxed into the output, stamped)
    trajectories: dict[str, LatentJob] = field(default_factory=dict)  # key -> a morph's end at step k

    @property
    def total_frames(self) -> int:
        return self.storyboard.total_frames

    @property
    def clip_jobs(self) -> tuple[SegmentJob, ...]:
        """Every clip of the video in timeline order: the segments, then the final frame."""
        return self.jobs + ((self.end,) if self.end is not None else ())

    @property
    def missing(self) -> list[SegmentJob]:
        """Clips that must be rendered (segments, and the final frame if it is one of them)."""
        return [job for job in self.clip_jobs if job.needs_render]

    def count(self, jobs: list[SegmentJob]) -> str:
        """How many of the plan's clips `jobs` are, in words: '2 of 9 segments and the final frame'."""
        segments = sum(1 for job in jobs if not job.end)
        final = " and the final frame" if any(job.end for job in jobs) else ""
        return f"{segments} of {len(self.jobs)} segments{final}"

    def clips_of(self, job: SegmentJob) -> list[str]:
        """The clip keys that hold a segment's frames on the timeline: its own, and for the last
        segment of a timeline that does not loop, the final frame's."""
        keys = [job.key]
        if job.segment.include_end and self.end is not None:
            keys.append(self.end.key)
        return keys

    def leased_keys(self) -> list[tuple[str, str]]:
        """Every cache entry this plan uses."""
        return ([("clips", j.key) for j in self.clip_jobs] + [("latents", lat.key) for lat in self.latents.values()]
                + [("embeds", e.key) for e in self.embeds.values()]
                + [("trajectories", key) for key in self.trajectories])

    def record(self) -> dict:
        """What to store after a render, so the next plan can say why a segment changed."""
        record: dict = {"storyboard": str(self.storyboard.path), "segments": [self._job_record(j) for j in self.jobs]}
        if self.end is not None:
            record["end"] = self._job_record(self.end)
        record["uses"] = sorted({f"{kind}/{key}" for kind, key in self.leased_keys()})  # gc's last use
        return record

    def _job_record(self, job: SegmentJob) -> dict:
        names = (job.segment.source, job.segment.target)
        return {"from": names[0], "to": names[1], "key": job.key, "inputs": job.inputs,
                "keyframes": {n: self.descriptors.get(n, {}) for n in names}}


def clip_encoding(story: Storyboard) -> dict:
    """The recipe every clip of the storyboard is encoded with: its codec's, with an alpha plane
    where the codec keeps one and a keyframe image is transparent."""
    alpha = story.output.codec == "prores4444" and any(
        kf.image is not None and transparent_file(kf.image) for kf in story.keyframes.values())
    return encoding(story.output.codec, alpha=alpha)


def run_id_for(story: Storyboard) -> str:
    """The id under which the last render of this storyboard file is remembered."""
    ident = str(story.path.resolve()) + ("#draft" if story.draft else "")
    return hashlib.sha256(ident.encode()).hexdigest()[:24]


def compile_plan(story: Storyboard, cache: Cache, precision: str = "float32", *,
                 audio: AudioCache | None = None) -> Plan:
    """Compute every key and status, and the reason for each segment that must render, for a model
    running in `precision` (seqc.backends.precision.planned_precision gives the one a render uses).
    `audio`: the session's decoded soundtracks, for `pacing: audio` (None: a fresh one for this plan,
    so its segments decode the soundtrack once, and nothing is kept after it)."""
    audio = audio if audio is not None else AudioCache()
    # 1. The model's fingerprint (config plus weight hashes, memoised by stat).
    assert story.model_ref is not None
    model_fp = keys.model_fingerprint(fingerprint_inputs(story.model_ref, cache.hash_file))

    # 2. Per keyframe: its image latent's key, its prompt conditioning's key, and the key its
    #    segments start and end on.
    keyframes = _keyframe_keys(story, cache, model_fp, precision)

    # 3. A clip key per segment, with its status and the reason. The encoder is the codec's
    #    recipe plus the ffmpeg build that applies it.
    encoder = {**clip_encoding(story), "ffmpeg": encoder_build()}
    previous = cache.read_run(run_id_for(story)) or {}
    if not isinstance(previous, dict):
        previous = {}
    audio_sha = cache.hash_file(story.audio.path) if story.audio is not None else None
    jobs = _segment_jobs(story, cache, keyframes, model_fp, precision, encoder, previous, audio)
    trajectories = {job.key: job for job in keyframes.trajectories.values()}

    # 4. The final frame, its own one-frame clip, unless the timeline loops back to its start.
    last = story.segments[-1] if story.segments else None
    end = None
    if last is not None and last.include_end:
        old_end = previous.get("end")
        end = _end_job(story, cache, last, keyframes, model_fp, precision, encoder,
                       old_end if isinstance(old_end, dict) else None)

    # 5. Keep the new file hashes and image checks: every command plans, and a plan-only one
    #    (`seqc plan`, `diff`, watch's replans) must not hash the weights again next time.
    cache.save_memo()
    return Plan(story, model_fp, keyframes.latents, tuple(jobs), run_id_for(story), precision, end,
                keyframes.embeds, keyframes.endpoints, keyframes.descriptors, previous, audio_sha, trajectories)


@dataclass
class _KeyframeKeys:
    """Step 2 of compile_plan: the keyframes' latent and embed jobs, endpoint keys and descriptors."""

    latents: dict[str, LatentJob] = field(default_factory=dict)  # image keyframes' latents
    embeds: dict[str, LatentJob] = field(default_factory=dict)  # prompt conditioning (pipelines)
    endpoints: dict[str, str] = field(default_factory=dict)  # keyframe -> the key its segments use
    descriptors: dict[str, dict] = field(default_factory=dict)  # keyframe -> what defines it, for reasons
    trajectories: dict[str, LatentJob] = field(default_factory=dict)  # a morph's ends at step k, by key (step 3)
    controls: dict[str, dict | None] = field(default_factory=dict)  # what a ControlNet follows, by keyframe


def _control_inputs(kf, cache: Cache) -> dict | None:
    """What a ControlNet follows at a keyframe, for keys: its picture (sha256, or "own"), scale, edges."""
    if kf.control is None:
        return None
    image = "own" if kf.control.image is None else cache.hash_file(kf.control.image)
    return {"image": image, "scale": kf.control.scale, "edges": kf.control.edges}


def _keyframe_keys(story: Storyboard, cache: Cache, model_fp: str, precision: str) -> _KeyframeKeys:
    """Per keyframe: its image latent's key (from the image bytes), its prompt conditioning's key
    (pipelines), and the key its segments start and end on."""
    assert story.model_ref is not None
    pipeline = story.model_ref.kind == "pipeline"
    size = story.output.size
    found = _KeyframeKeys()
    for name, kf in story.keyframes.items():
        descriptor: dict = {}
        if kf.image is not None:
            image_sha = cache.hash_file(kf.image)
            inputs = keys.latent_inputs(image_sha256=image_sha, size=size, fit=kf.fit, model=model_fp,
                                        precision=precision, background=kf.background)
            key = keys.digest(inputs)
            found.latents[name] = LatentJob(name, key, inputs, cache.status("latents", key))
            descriptor.update(image=image_sha, fit=kf.fit, **({"background": kf.background} if kf.background else {}))
            found.endpoints[name] = key
        if pipeline:
            loras = [{"sha256": cache.hash_file(lora.path), "weight": lora.weight} for lora in kf.loras]
            inputs = keys.embed_inputs(prompt=kf.prompt or "", negative_prompt=kf.negative_prompt, model=model_fp,
                                       precision=precision, loras=loras)
            key = keys.digest(inputs)
            found.embeds[name] = LatentJob(name, key, inputs, cache.status("embeds", key))
            control = _control_inputs(kf, cache)
            found.endpoints[name] = keys.digest(keys.endpoint_inputs(
                latent=found.latents[name].key if name in found.latents else None, embed=key, seed=int(kf.seed or 0),
                size=size, control=control))
            found.controls[name] = control
            descriptor.update(prompt=kf.prompt or "", negative_prompt=kf.negative_prompt, seed=kf.seed,
                              **({"lora": loras} if loras else {}), **({"control": control} if control else {}))
        found.descriptors[name] = descriptor
    return found


def _segment_jobs(story: Storyboard, cache: Cache, keyframes: _KeyframeKeys, model_fp: str, precision: str,
                  encoder: dict, previous: dict, audio: AudioCache | None) -> list[SegmentJob]:
    """Each segment's clip key, status and reason (against the last render's `previous` record)."""
    endpoints = keyframes.endpoints
    old_segments = previous.get("segments", [])
    old_records = previous_records(story.segments, old_segments if isinstance(old_segments, list) else [])
    soundtrack = story.audio
    jobs = []
    for segment in story.segments:
        window = None
        if segment.pacing == "audio" and soundtrack is not None:
            window = window_for(soundtrack.path, soundtrack.start, story.output.fps, segment.first_frame,
                                segment.frames, audio=audio)
        inputs = keys.clip_inputs(
            start=endpoints[segment.source], end=endpoints[segment.target],
            frames=segment.frames, fps=story.output.fps, size=story.output.size, easing=segment.easing,
            method=segment.method, model=model_fp, precision=precision, encoder=encoder,
            generation=segment.generation,
            pacing=_pacing_inputs(segment, window),
            neighbours=({"before": endpoints[segment.before or segment.source],
                         "after": endpoints[segment.after or segment.target]}
                        if METHODS[segment.method].uses_neighbours else None),
        )
        key = keys.digest(inputs)
        status = cache.status("clips", key)
        inputs = {**inputs, "key_version": keys.KEY_VERSION}  # recorded, so a format change is explained
        reason, changes = explain(segment, inputs, keyframes.descriptors, status, old_records[segment.index])
        traces = _traces(story, cache, segment, keyframes, model_fp, precision) if METHODS[segment.method].morphs else None
        jobs.append(SegmentJob(segment, key, inputs, status, reason, tuple(changes), window=window, traces=traces))
    return jobs


def _traces(story: Storyboard, cache: Cache, segment: Segment, keyframes: _KeyframeKeys, model_fp: str,
            precision: str) -> tuple[str, str]:
    """A morph's two ends at its step k, as stored-latent jobs (added to `keyframes.trajectories`):
    a prompt keyframe's noise denoised to k, or an image keyframe's latent inverted to k (with the
    residual of what the model draws back from there)."""
    from seqc.backends.pipeline_info import SCHEDULER_REVISIONS
    from seqc.motion.methods import MORPH_START, inject_step

    assert segment.steps is not None and segment.scheduler is not None  # a morph's segment is a pipeline's
    revision = SCHEDULER_REVISIONS.get(segment.scheduler)
    scheduler = segment.scheduler + (f" (revision {revision})" if revision else "")
    stop = inject_step(segment.steps, MORPH_START if segment.morph_start is None else segment.morph_start)
    guidance = float(segment.guidance or 0.0)
    found = []
    for name in (segment.source, segment.target):
        embed, size = keyframes.embeds[name].key, story.output.size
        if name in keyframes.latents:
            inputs = keys.trajectory_inputs(mode="invert", latent=keyframes.latents[name].key, embed=embed, size=size,
                                            steps=segment.steps, stop=stop, scheduler=scheduler, guidance=guidance,
                                            model=model_fp, precision=precision, control=keyframes.controls[name])
        else:
            inputs = keys.trajectory_inputs(mode="denoise", seed=int(story.keyframes[name].seed or 0), embed=embed,
                                            size=size, steps=segment.steps, stop=stop, scheduler=scheduler,
                                            guidance=guidance, model=model_fp, precision=precision,
                                            control=keyframes.controls[name])
        key = keys.digest(inputs)
        keyframes.trajectories.setdefault(key, LatentJob(name, key, inputs, cache.status("trajectories", key)))
        found.append(key)
    return found[0], found[1]


def _end_job(story: Storyboard, cache: Cache, last: Segment, keyframes: _KeyframeKeys, model_fp: str,
             precision: str, encoder: dict, old_end: dict | None) -> SegmentJob:
    """The final frame's one-frame clip: a hold on the keyframe the last segment ends on."""
    hold = dataclasses.replace(last, index=len(story.segments), source=last.target, frames=1,
                               include_end=False, first_frame=story.total_frames - 1, easing="linear",
                               method="lerp", pacing="linear", before=None, after=None,
                               start_time=(story.total_frames - 1) / story.output.fps, smooth=None,
                               # a morph ends on the keyframe's own picture: an image decoded as it is
                               strength=0.0 if METHODS[last.method].morphs and last.strength is not None
                               else last.strength)
    inputs = keys.end_frame_inputs(end=keyframes.endpoints[last.target], fps=story.output.fps,
                                   size=story.output.size, model=model_fp, precision=precision, encoder=encoder,
                                   generation=hold.generation)  # the last segment's, less a morph's settings
    key = keys.digest(inputs)
    status = cache.status("clips", key)
    inputs = {**inputs, "key_version": keys.KEY_VERSION}
    reason, changes = explain(hold, inputs, keyframes.descriptors, status, old_end)
    return SegmentJob(hold, key, inputs, status, reason, tuple(changes), end=True)


def _pacing_inputs(segment: Segment, window: AudioWindow | None) -> dict | None:
    """The pacing part of a clip key: even pacing's probes; for `pacing: audio`, the digest of exactly
    the samples under the segment (not the file's bytes, not `audio.start`), their count, the
    envelope's settings and `smooth`. So editing the track re-renders only the segments whose
    stretch of it changed, and moving `audio.start` re-renders only the audio-paced ones (their
    stretch moves); every other clip key holds nothing of the soundtrack."""
    if segment.pacing == "even":
        reuse = pacing_reuse(segment)
        return {"mode": "even", "probes": pacing_probes(segment), **({"reuse": reuse} if reuse else {})}
    if segment.pacing == "audio" and window is not None:
        return {"mode": "audio", "smooth": segment.smooth, "envelope": ENVELOPE, "window": window.sha256,
                "samples": window.last - window.first}
    return None
