"""Why a segment re-renders: compare its key inputs with the last render's record of it.

The reasons come from the same inputs as the keys, so `plan`, `render` and `diff` always agree
(Ninja's `-d explain`, shown by default).
"""

from __future__ import annotations

from collections.abc import Sequence

from seqc.spec import Segment
from seqc.spec.generation import GENERATION_FIELDS, MORPH_FIELDS
from seqc.store import CACHED, INVALID


def previous_records(segments: Sequence[Segment], old_segments: list) -> list[dict | None]:
    """The last render's record of each segment, matched by identity, never by a first name match.

    With as many segments as last time, segment i is old segment i. Otherwise the k-th segment
    from `a` to `b` is the old k-th segment from `a` to `b` (so a ping-pong or looping board that
    joins the same pair twice compares each with its own), and a segment with none is new.
    """
    old = [record if isinstance(record, dict) else None for record in old_segments]
    if len(old) == len(segments):
        return old
    by_pair: dict[tuple, list[dict]] = {}
    for record in old:
        if record is not None:
            by_pair.setdefault((record.get("from"), record.get("to")), []).append(record)
    seen: dict[tuple, int] = {}
    matched: list[dict | None] = []
    for segment in segments:
        pair = (segment.source, segment.target)
        k = seen.get(pair, 0)
        seen[pair] = k + 1
        candidates = by_pair.get(pair, [])
        matched.append(candidates[k] if k < len(candidates) else None)
    return matched


# Most fundamental first: the first change is the reason shown; the rest go to --explain.
_LABELS = {
    "key_version": "seqc's cache format changed",
    "model": "model changed",
    "precision": "precision changed",
    "size": "size changed",
    "fps": "fps changed",
    "frames": "duration changed",
    "method": "method changed",
    "easing": "easing changed",
    "encoder": "encoder settings changed",
    "pacing": "pacing changed",
    "neighbours": "a neighbouring keyframe of the spline changed",
}
_SHOW_VALUES = ("frames", "easing", "method", "fps", "precision")


_KEYFRAME_FIELDS = (("image", "image"), ("fit", "fit"), ("background", "background"), ("prompt", "prompt"),
                    ("negative_prompt", "negative prompt"), ("seed", "seed"), ("lora", "LoRA"),
                    ("control", "control"))


def _only_ffmpeg_differs(new: object, old: object) -> bool:
    if not isinstance(new, dict) or not isinstance(old, dict):
        return False
    return {k: v for k, v in new.items() if k != "ffmpeg"} == {k: v for k, v in old.items() if k != "ffmpeg"}


def _codec(encoder: object) -> str:
    """The encoder recipe's codec as `output.codec` names it (ProRes by its profile)."""
    if not isinstance(encoder, dict):
        return "unknown"
    from seqc.media.encode import codec_name

    return codec_name(encoder)


def _pacing_change(new: object, old: object) -> str:
    """What changed about `pacing: audio` (the soundtrack under the segment, smooth, the envelope)."""
    if not (isinstance(new, dict) and isinstance(old, dict) and new.get("mode") == old.get("mode") == "audio"):
        modes = [p.get("mode") if isinstance(p, dict) else "linear" for p in (old, new)]
        return f"pacing changed ({modes[0]} -> {modes[1]})"
    if new.get("smooth") != old.get("smooth"):
        return f"smooth changed ({old.get('smooth')} -> {new.get('smooth')})"
    if new.get("envelope") != old.get("envelope"):
        return "the onset envelope's settings changed"
    return "the soundtrack under it changed (audio edited, or moved by audio.start or the timing)"


def explain(segment: Segment, inputs: dict, descriptors: dict, status: str, old: dict | None
            ) -> tuple[str, list[str]]:
    """A short human reason for a segment's status, plus the full list of changed inputs, against
    `old`, the last render's record of this segment (`previous_records`), or None if it had none."""
    if status == CACHED:
        return "cached", []
    if status == INVALID:
        return "cache entry corrupt", ["cache entry corrupt"]
    if old is None:
        return "new", ["new"]
    old_inputs = old.get("inputs", {})
    old_keyframes = old.get("keyframes", {})
    changes: list[str] = []
    new_nb, old_nb = inputs.get("neighbours"), old_inputs.get("neighbours")
    for field_name, label in _LABELS.items():
        if field_name == "neighbours" and new_nb and old_nb:
            for side, name in (("before", segment.before), ("after", segment.after)):
                if new_nb.get(side) != old_nb.get(side) and name is None:
                    end = "starts" if side == "before" else "ends"
                    changes.append(f"the spline's neighbour {side} it changed (the timeline now {end} here)")
                elif new_nb.get(side) != old_nb.get(side):
                    changes.append(f"neighbouring keyframe '{name}' changed (the spline passes through it)")
            continue
        if inputs.get(field_name) != old_inputs.get(field_name):
            if field_name == "encoder" and _only_ffmpeg_differs(inputs.get("encoder"), old_inputs.get("encoder")):
                label = (f"ffmpeg build changed ({old_inputs['encoder'].get('ffmpeg', 'unknown')} -> "
                         f"{inputs['encoder'].get('ffmpeg')})")
            elif field_name == "encoder" and _codec(inputs.get("encoder")) != _codec(old_inputs.get("encoder")):
                label = f"codec changed ({_codec(old_inputs.get('encoder'))} -> {_codec(inputs.get('encoder'))})"
            elif field_name == "pacing":
                label = _pacing_change(inputs.get("pacing"), old_inputs.get("pacing"))
            elif field_name in _SHOW_VALUES and field_name in old_inputs:
                unit = " frames" if field_name == "frames" else ""
                label = f"{label} ({old_inputs[field_name]}{unit} -> {inputs[field_name]}{unit})"
            changes.append(label)
    # Generation settings of a pipeline model, one by one.
    new_gen, old_gen = inputs.get("generation") or {}, old_inputs.get("generation") or {}
    for name in GENERATION_FIELDS:
        if name in MORPH_FIELDS and (name not in new_gen or name not in old_gen):
            continue  # a switch to or from `method: morph`: "method changed" says it
        if new_gen.get(name) != old_gen.get(name):
            changes.append(f"{name} changed ({old_gen.get(name)} -> {new_gen.get(name)})")
    # Endpoint keyframes: say which keyframe and what about it changed.
    for end, name in (("start", segment.source), ("end", segment.target)):
        if inputs.get(end) == old_inputs.get(end):  # the final frame's clip has only an end
            continue
        old_name = old.get("from" if end == "start" else "to")
        if old_name != name and inputs.get("kind") == "end_frame":
            changes.append(f"the video now ends on '{name}' (was '{old_name}')")
            continue
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
    # The model, the size and the precision change every latent, and fps changes frame counts: keep the root cause.
    if any(c.startswith(("model changed", "size changed", "precision changed")) for c in changes):
        changes = [c for c in changes if "preprocessing" not in c]
    if any(c.startswith("fps changed") for c in changes):
        changes = [c for c in changes if not c.startswith("duration changed")]
    return changes[0] if len(changes) == 1 else f"{changes[0]} (+{len(changes) - 1} more)", changes
