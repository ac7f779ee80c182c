"""A render as an editor's timeline (OpenTimelineIO): one clip per segment, markers at keyframes
and beats, the soundtrack on an audio track, written by OTIO's adapters by the file's extension.

Every clip points into the rendered video (one file, its frames exact: a clip's source range is
its segment's first frame and frame count), so the timeline plays the render and the editor can
cut, trim and re-time at the segment joins. Each clip carries the segment's seqc metadata (its
keyframes, method, easing, clip key); keyframe markers are green and named for the keyframe, beat
markers red and named "bar.beat" (four beats a bar, from the soundtrack's `first_beat`).
OpenTimelineIO and its adapters are the `export` extra, imported here only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from seqc.errors import InputError, RenderError
from seqc.plan import Plan

EXPORT_HINT = "pip install 'seqc[export]'"
# Extension -> OTIO adapter. EDL takes the video track alone (CMX 3600 has no separate audio media).
ADAPTERS = {".otio": "otio_json", ".otioz": "otioz", ".edl": "cmx_3600", ".xml": "fcp_xml", ".fcpxml": "fcpx_xml"}
BEATS_PER_BAR = 4


@dataclass(frozen=True)
class TimelinePlan:
    """What a timeline holds, from a plan and the rendered video, before OTIO is imported."""

    name: str
    fps: float
    total_frames: int
    media: Path
    clips: list[dict]  # name, first_frame, frames, metadata
    markers: list[dict]  # name, frame, colour
    audio: dict | None  # path, start (seconds into the file), seconds


def timeline_plan(plan: Plan, media: Path) -> TimelinePlan:
    """The clips, markers and soundtrack of the render of `plan` in `media`."""
    story = plan.storyboard
    fps = story.output.fps
    clips = []
    for job in [*plan.jobs, *([plan.end] if plan.end is not None else [])]:
        seg = job.segment
        name = f"{seg.target} (final frame)" if job.end else f"{seg.source} -> {seg.target}"
        meta = {"segment": None if job.end else seg.index, "from": seg.source, "to": seg.target,
                "method": seg.method, "easing": seg.easing, "key": job.key}
        clips.append({"name": name, "first_frame": seg.first_frame, "frames": seg.frames, "metadata": meta})
    markers = [{"name": job.segment.source, "frame": job.segment.first_frame, "colour": "GREEN"} for job in plan.jobs]
    if plan.end is not None:
        markers.append({"name": plan.end.segment.target, "frame": plan.total_frames - 1, "colour": "GREEN"})
    audio = None
    if story.audio is not None:
        seconds = plan.total_frames / fps
        audio = {"path": story.audio.path, "start": story.audio.start, "seconds": seconds,
                 "length": story.audio.seconds}
        if story.audio.bpm is not None:
            beat_seconds = 60.0 / story.audio.bpm
            first = math.ceil(-story.audio.first_beat / beat_seconds - 1e-9)
            beat = first
            while (at := story.audio.first_beat + beat * beat_seconds) < seconds:
                markers.append({"name": f"{beat // BEATS_PER_BAR + 1}.{beat % BEATS_PER_BAR + 1}",
                                "frame": round(at * fps), "colour": "RED"})
                beat += 1
    return TimelinePlan(story.path.stem, fps, plan.total_frames, media, clips,
                        sorted(markers, key=lambda m: (m["frame"], m["colour"] != "GREEN")), audio)


def build(shape: TimelinePlan, video_only: bool = False):
    """The OTIO Timeline of `shape` (an opentimelineio.schema.Timeline)."""
    otio = _otio()
    rate = shape.fps
    frames = otio.opentime.RationalTime

    def span(start: float, duration: float) -> object:
        return otio.opentime.TimeRange(frames(start, rate), frames(duration, rate))

    timeline = otio.schema.Timeline(name=shape.name)
    video = otio.schema.Track(name="seqc", kind=otio.schema.TrackKind.Video)
    for clip in shape.clips:
        reference = otio.schema.ExternalReference(target_url=shape.media.resolve().as_uri(),
                                                  available_range=span(0, shape.total_frames))
        item = otio.schema.Clip(name=clip["name"], media_reference=reference,
                                source_range=span(clip["first_frame"], clip["frames"]),
                                metadata={"seqc": clip["metadata"]})
        # Markers go on the clip they fall in (in its media's time, as every adapter reads them).
        end = clip["first_frame"] + clip["frames"]
        for marker in (m for m in shape.markers if clip["first_frame"] <= m["frame"] < end):
            item.markers.append(otio.schema.Marker(name=marker["name"], marked_range=span(marker["frame"], 0),
                                                   color=getattr(otio.schema.MarkerColor, marker["colour"])))
        video.append(item)
    timeline.tracks.append(video)
    if shape.audio is not None and not video_only:
        sound = otio.schema.Track(name="soundtrack", kind=otio.schema.TrackKind.Audio)
        reference = otio.schema.ExternalReference(target_url=Path(shape.audio["path"]).resolve().as_uri(),
                                                  available_range=span(0, round(shape.audio["length"] * rate)))
        start = round(shape.audio["start"] * rate)
        sound.append(otio.schema.Clip(name=Path(shape.audio["path"]).name, media_reference=reference,
                                      source_range=span(start, shape.total_frames)))
        timeline.tracks.append(sound)
    return timeline


def write(shape: TimelinePlan, out: Path) -> None:
    """Write the timeline to `out` with the adapter its extension names, whole or not at all."""
    suffix = out.suffix.lower()
    if suffix not in ADAPTERS:
        raise InputError(f"cannot export to '{out.name}': the timeline formats are "
                         f"{', '.join(ADAPTERS)} (by the file's extension)")
    otio = _otio()
    timeline = build(shape, video_only=suffix == ".edl")
    temporary = out.with_name(f".{out.name}.seqc-tmp{suffix}")
    try:
        try:
            otio.adapters.write_to_file(timeline, str(temporary), adapter_name=ADAPTERS[suffix])
        except Exception as exc:  # noqa: BLE001 - an adapter's failure is one line to the user
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RenderError(f"OpenTimelineIO's {ADAPTERS[suffix]} adapter cannot write {out.name}: {first}") from None
        temporary.replace(out)
    finally:
        temporary.unlink(missing_ok=True)


def _otio():
    """opentimelineio, or one line naming the extra."""
    try:
        import opentimelineio
    except ImportError:
        raise InputError(f"exporting a timeline needs OpenTimelineIO, which is not installed: {EXPORT_HINT}") from None
    return opentimelineio
