"""Storyboard -> Plan: the ordered segment jobs, each with its key, status and the reason for it.

Pure and fast: it hashes keyframe files (memoised by stat in the cache) and reads sidecars,
nothing more. The reason for a re-render comes from comparing each segment's key inputs with
those recorded by the last render of the same storyboard (as Ninja's `-d explain` does).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from seqc import keys
from seqc.cache import Cache
from seqc.models import fingerprint_inputs
from seqc.spec import Segment, Storyboard
from seqc.video import ENCODER_SETTINGS

CACHED, MISSING, INVALID = "cached", "missing", "invalid"
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
                        if segment.method == "spline" else None),
        )
        key = keys.digest(inputs)
        status = cache.status("clips", key)
        inputs = {**inputs, "key_version": keys.KEY_VERSION}  # recorded, so a format change is explained
        reason, changes = explain(segment, inputs, descriptors, status, old_segments)
        jobs.append(SegmentJob(segment, key, inputs, status, reason, tuple(changes)))
    cache.save_memo()
    return Plan(story, model_fp, latents, tuple(jobs), run_id_for(story), embeds, endpoints, descriptors)


def _previous_for(segment: Segment, old_segments: list) -> dict | None:
    """The last render's record of this segment: same keyframe names first, else same position."""
    for old in old_segments:
        if isinstance(old, dict) and old.get("from") == segment.source and old.get("to") == segment.target:
            return old
    if segment.index < len(old_segments) and isinstance(old_segments[segment.index], dict):
        return old_segments[segment.index]
    return None


# Most fundamental first: the first change is the reason shown; the rest go to --explain.
_LABELS = {
    "key_version": "seqc's cache format changed",
    "model": "model changed",
    "size": "size changed",
    "fps": "fps changed",
    "frames": "duration changed",
    "include_end": "end frame changed (the segment became or stopped being the last)",
    "method": "method changed",
    "easing": "easing changed",
    "encoder": "encoder settings changed",
    "pacing": "pacing changed",
    "neighbours": "a neighbouring keyframe of the spline changed",
}
_SHOW_VALUES = ("frames", "easing", "method", "fps")


_KEYFRAME_FIELDS = (("image", "image"), ("fit", "fit"), ("prompt", "prompt"),
                    ("negative_prompt", "negative prompt"), ("seed", "seed"))
_GENERATION_FIELDS = ("steps", "guidance", "scheduler", "strength")


def explain(segment: Segment, inputs: dict, descriptors: dict, status: str, old_segments: list) -> tuple[str, list[str]]:
    """A short human reason for a segment's status, plus the full list of changed inputs."""
    if status == CACHED:
        return "cached", []
    if status == INVALID:
        return "cache entry corrupt", ["cache entry corrupt"]
    old = _previous_for(segment, old_segments)
    if old is None:
        return "new", ["new"]
    old_inputs = old.get("inputs", {})
    old_keyframes = old.get("keyframes", {})
    changes: list[str] = []
    new_nb, old_nb = inputs.get("neighbours"), old_inputs.get("neighbours")
    for field_name, label in _LABELS.items():
        if field_name == "neighbours" and new_nb and old_nb:
            for side, name in (("before", segment.before), ("after", segment.after)):
                if new_nb.get(side) != old_nb.get(side):
                    changes.append(f"neighbouring keyframe '{name}' changed (the spline passes through it)")
            continue
        if inputs.get(field_name) != old_inputs.get(field_name):
            if field_name in _SHOW_VALUES and field_name in old_inputs:
                unit = " frames" if field_name == "frames" else ""
                label = f"{label} ({old_inputs[field_name]}{unit} -> {inputs[field_name]}{unit})"
            changes.append(label)
    # Generation settings of a pipeline model, one by one.
    new_gen, old_gen = inputs.get("generation") or {}, old_inputs.get("generation") or {}
    for name in _GENERATION_FIELDS:
        if new_gen.get(name) != old_gen.get(name):
            changes.append(f"{name} changed ({old_gen.get(name)} -> {new_gen.get(name)})")
    # Endpoint keyframes: say which keyframe and what about it changed.
    for end, name in (("start", segment.source), ("end", segment.target)):
        if inputs[end] == old_inputs.get(end):
            continue
        old_name = old.get("from" if end == "start" else "to")
        if old_name != name:
            changes.append(f"{'from' if end == 'start' else 'to'} keyframe changed ('{old_name}' -> '{name}')")
            continue
        new_desc, old_desc = descriptors.get(name, {}), old_keyframes.get(name, {})
        what = [label for field_name, label in _KEYFRAME_FIELDS if new_desc.get(field_name) != old_desc.get(field_name)]
        if what:
            changes.append(f"keyframe '{name}' {' and '.join(what)} changed")
        else:
            changes.append(f"keyframe '{name}' preprocessing changed")
    changes = list(dict.fromkeys(changes))  # a hold names its keyframe once
    if not changes:
        return "cache entry missing (deleted or collected)", ["cache entry missing"]
    # The model and the size change every latent, and fps changes frame counts: keep the root cause.
    if any(c.startswith(("model changed", "size changed")) for c in changes):
        changes = [c for c in changes if "preprocessing" not in c]
    if any(c.startswith("fps changed") for c in changes):
        changes = [c for c in changes if not c.startswith("duration changed")]
    return changes[0] if len(changes) == 1 else f"{changes[0]} (+{len(changes) - 1} more)", changes
