"""Storyboard -> Plan: the ordered segment jobs, each with its key, status and the reason for it.

Fast, and torch-free: it hashes keyframe files (memoised by stat in the cache's file memo,
which it saves) and reads sidecars, nothing more. The reason for a re-render comes from comparing each segment's key inputs with
those recorded by the last render of the same storyboard (as Ninja's `-d explain` does).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from seqc.media.encode import ENCODER_SETTINGS
from seqc.models import fingerprint_inputs
from seqc.motion.methods import METHODS
from seqc.plan import keys
from seqc.plan.explain import explain, previous_records
from seqc.spec import Segment, Storyboard
from seqc.store import CACHED, Cache

PACING_PROBES = 8  # probe intervals along a segment's path for `pacing: even` (9 decodes)


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

    @property
    def needs_render(self) -> bool:
        return self.status != CACHED


@dataclass(frozen=True)
class Plan:
    """What a render of this storyboard will do, in timeline order."""

    storyboard: Storyboard
    model: str  # the model fingerprint
    latents: dict[str, LatentJob]  # image keyframes' latents
    jobs: tuple[SegmentJob, ...]
    run_id: str
    embeds: dict[str, LatentJob] = field(default_factory=dict)  # prompt conditioning (pipelines)
    endpoints: dict[str, str] = field(default_factory=dict)  # keyframe -> the key its segments use
    descriptors: dict[str, dict] = field(default_factory=dict)  # keyframe -> what defines it, for reasons
    previous: dict = field(default_factory=dict)  # the last render's run record (read once, here)

    @property
    def total_frames(self) -> int:
        return self.storyboard.total_frames

    @property
    def missing(self) -> list[SegmentJob]:
        """Jobs that must be rendered."""
        return [job for job in self.jobs if job.needs_render]

    def leased_keys(self) -> list[tuple[str, str]]:
        """Every cache entry this plan uses."""
        return ([("clips", j.key) for j in self.jobs] + [("latents", lat.key) for lat in self.latents.values()]
                + [("embeds", e.key) for e in self.embeds.values()])

    def record(self) -> dict:
        """What to store after a render, so the next plan can say why a segment changed."""
        return {
            "storyboard": str(self.storyboard.path),
            "segments": [
                {"from": j.segment.source, "to": j.segment.target, "key": j.key, "inputs": j.inputs,
                 "keyframes": {n: self.descriptors.get(n, {}) for n in (j.segment.source, j.segment.target)}}
                for j in self.jobs
            ],
        }


def run_id_for(story: Storyboard) -> str:
    """The id under which the last render of this storyboard file is remembered."""
    ident = str(story.path.resolve()) + ("#draft" if story.draft else "")
    return hashlib.sha256(ident.encode()).hexdigest()[:24]


def compile_plan(story: Storyboard, cache: Cache) -> Plan:
    """Compute every key and status, and the reason for each segment that must render."""
    # 1. The model's fingerprint (config plus weight hashes, memoised by stat).
    assert story.model_ref is not None
    model_fp = keys.model_fingerprint(fingerprint_inputs(story.model_ref, cache.hash_file))
    width, height = story.output.size

    # 2. Per keyframe: its image latent's key (from the image bytes), its prompt conditioning's
    #    key (pipelines), and the key its segments start and end on.
    pipeline = story.model_ref.kind == "pipeline"
    latents: dict[str, LatentJob] = {}
    embeds: dict[str, LatentJob] = {}
    endpoints: dict[str, str] = {}
    descriptors: dict[str, dict] = {}
    for name, kf in story.keyframes.items():
        descriptor: dict = {}
        if kf.image is not None:
            image_sha = cache.hash_file(kf.image)
            inputs = keys.latent_inputs(image_sha256=image_sha, size=(width, height), fit=kf.fit, model=model_fp)
            key = keys.digest(inputs)
            latents[name] = LatentJob(name, key, inputs, cache.status("latents", key))
            descriptor.update(image=image_sha, fit=kf.fit)
            endpoints[name] = key
        if pipeline:
            inputs = keys.embed_inputs(prompt=kf.prompt or "", negative_prompt=kf.negative_prompt, model=model_fp)
            key = keys.digest(inputs)
            embeds[name] = LatentJob(name, key, inputs, cache.status("embeds", key))
            endpoints[name] = keys.digest(keys.endpoint_inputs(
                latent=latents[name].key if name in latents else None, embed=key, seed=int(kf.seed or 0),
                size=(width, height)))
            descriptor.update(prompt=kf.prompt or "", negative_prompt=kf.negative_prompt, seed=kf.seed)
        descriptors[name] = descriptor

    # 3. A clip key per segment, with its status and the reason.
    previous = cache.read_run(run_id_for(story)) or {}
    old_segments = previous.get("segments", []) if isinstance(previous, dict) else []
    old_records = previous_records(story.segments, old_segments if isinstance(old_segments, list) else [])
    jobs = []
    for segment in story.segments:
        inputs = keys.clip_inputs(
            start=endpoints[segment.source], end=endpoints[segment.target],
            frames=segment.frames, include_end=segment.include_end, fps=story.output.fps,
            size=(width, height), easing=segment.easing, method=segment.method, model=model_fp,
            encoder=ENCODER_SETTINGS, generation=segment.generation,
            pacing={"mode": "even", "probes": PACING_PROBES} if segment.pacing == "even" else None,
            neighbours=({"before": endpoints[segment.before or segment.source],
                         "after": endpoints[segment.after or segment.target]}
                        if METHODS[segment.method].uses_neighbours else None),
        )
        key = keys.digest(inputs)
        status = cache.status("clips", key)
        inputs = {**inputs, "key_version": keys.KEY_VERSION}  # recorded, so a format change is explained
        reason, changes = explain(segment, inputs, descriptors, status, old_records[segment.index])
        jobs.append(SegmentJob(segment, key, inputs, status, reason, tuple(changes)))
    cache.save_memo()
    return Plan(story, model_fp, latents, tuple(jobs), run_id_for(story), embeds, endpoints, descriptors,
                previous if isinstance(previous, dict) else {})
