"""Semantic checks after the schema: turn a schema-valid document into a Storyboard.

Every problem is collected, not just the first: names that do not exist, image files that are
not images, a model that cannot do what the keyframes ask, budgets, and the timeline's gaps
(a warning, not an error). When the schema already failed, `partial_problems` still runs the
checks that only need well-typed values (keyframe names, image files, the model), so one run
reports a typo in an easing and a missing image together.
"""

from __future__ import annotations

import dataclasses
import math
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

from seqc.errors import ModelError, Problem
from seqc.models import ModelRef, resolve_model
from seqc.motion.curves import EasingError, parse_easing
from seqc.motion.methods import METHODS
from seqc.spec.colours import keyframe_background
from seqc.spec.generation import (
    GENERATION_FIELDS,
    check_morph,
    check_pipeline_segment,
    default_seed,
    family_defaults,
    segment_generation,
    warn_pipeline_only,
)
from seqc.spec.images import ImageMemo, check_image
from seqc.spec.model import (
    DEFAULT_DURATION,
    DEFAULT_EASING,
    DEFAULT_FIT,
    DEFAULT_FPS,
    DEFAULT_METHOD,
    DEFAULT_MODEL,
    DEFAULT_SIZE,
    Audio,
    Keyframe,
    Output,
    Segment,
    Storyboard,
    frames_for,
)
from seqc.spec.paths import local_path, output_problem, resolved
from seqc.spec.schema import suggest
from seqc.spec.soundtrack import audio_path_problem, compile_audio
from seqc.spec.timeline import Clock, format_time, uses_timeline
from seqc.spec.yamlload import Document, format_path

if TYPE_CHECKING:
    from seqc.audio.memo import AudioCache
    from seqc.audio.pcm import AudioMemo

MAX_TOTAL_FRAMES = 1_000_000
MAX_TOTAL_PIXELS = 100_000_000_000  # frames x width x height: about 1.5M frames at 256x256
GENERATIVE_MODELS = ("`builtin-emoji` (the built-in text-to-image model, which draws prompts) or a Stable Diffusion "
                     "family pipeline (a folder with model_index.json or a hub id)")


class _Collector:
    """Problems and warnings with positions from the document."""

    def __init__(self, doc: Document, skip: frozenset[str] = frozenset()):
        self.doc = doc
        self.skip = skip  # paths the schema already complained about
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []
        self.error_paths: list[tuple] = []
        self.depends: list[tuple] = []  # for each warning, the paths of what it reads

    def ok(self, path: tuple) -> bool:
        """Whether `path` is free of schema problems (so checking its value makes sense)."""
        return format_path(path) not in self.skip

    def error(self, path: tuple, message: str, hint: str = "", key: bool = False) -> None:
        line, col = self.doc.where(path, key=key)
        self.errors.append(Problem(self.doc.file, line, col, format_path(path), message, hint))
        self.error_paths.append(tuple(path))

    def warn(self, path: tuple, message: str, hint: str = "", depends: tuple = ()) -> None:
        """A warning at `path`, which reads the values at `depends` too (`*` in a path: any index)."""
        line, col = self.doc.where(path)
        self.warnings.append(Problem(self.doc.file, line, col, format_path(path), message, hint, "warning"))
        self.depends.append((tuple(path), *depends))

    def sound_warnings(self) -> list[Problem]:
        """The warnings that build on no error, sorted by position. A warning that reads a value with an
        error, or inside one, would reason from a typo (`add a segment to 'dusj'`), so it is left out;
        the others stay beside the errors."""
        def related(error: tuple, read: tuple) -> bool:  # one is inside the other
            return all(r == "*" or e == r for e, r in zip(error, read, strict=False))

        kept = [w for w, reads in zip(self.warnings, self.depends, strict=True)
                if not any(related(e, r) for r in reads for e in self.error_paths)]
        return sorted(dict.fromkeys(kept), key=lambda p: (p.line, p.column, p.path))  # each once


def _check_model(data: dict, out: _Collector, base: Path) -> tuple[str, ModelRef | None]:
    """Resolve `model:` to a local folder; a problem if it cannot be."""
    name = data.get("model", DEFAULT_MODEL)
    if not isinstance(name, str) or not out.ok(("model",)):
        return str(name), None
    if name != DEFAULT_MODEL:
        _, why = local_path(base, name)
        if why:
            out.error(("model",), f"model '{name}' {why}")
            return name, None
    try:
        return name, resolve_model(name, base)
    except ModelError as exc:
        out.error(("model",), str(exc))
    except (OSError, ValueError, RuntimeError) as exc:
        out.error(("model",), f"model '{name}' cannot be used: {exc}")
    return name, None


def _check_keyframe(name: str, kf: dict, out: _Collector, base: Path, model_name: str,
                    model_ref: ModelRef | None, images: ImageMemo | None = None) -> Path | None | Literal[False]:
    """Checks one keyframe; returns its image path (None for a prompt), or False if it is broken."""
    kpath = ("keyframes", name)
    has_image, has_prompt = "image" in kf, "prompt" in kf
    generative = model_ref is not None and model_ref.can_generate
    if not has_image and not has_prompt:
        out.error(kpath, "a keyframe needs `image` or `prompt` (or both, for img2img)" if generative
                  else "a keyframe needs exactly one of `image` or `prompt`", key=True)
        return False
    if has_image and has_prompt and not generative:
        out.error(kpath, "a keyframe has either `image` or `prompt`, not both",
                  f"an image with a prompt (img2img) needs {GENERATIVE_MODELS}", key=True)
        return False
    if has_prompt and not has_image:
        if model_ref is not None and not model_ref.can_generate:
            out.error(kpath + ("prompt",),
                      f"prompt keyframes need a text-to-image model, and '{model_name}' is an autoencoder",
                      f"set `model:` to {GENERATIVE_MODELS}; or use `image:`")
        return None
    text = kf["image"]
    if not isinstance(text, str) or not out.ok(kpath + ("image",)):
        return False
    image, why = local_path(base, text)
    if image is None:
        out.error(kpath + ("image",), f"image path {why}")
        return False
    message, hint = check_image(image, images)
    if message:
        out.error(kpath + ("image",), message, hint)
        return False
    return image


def _check_names(segments: list, keyframes: dict, out: _Collector) -> None:
    """Every segment's `from` and `to` names a keyframe."""
    names = list(keyframes)
    for index, seg in enumerate(segments):
        if not isinstance(seg, dict):
            continue
        for end in ("from", "to"):
            ref = seg.get(end)
            where = ("segments", index, end)
            if isinstance(ref, str) and ref not in keyframes and out.ok(where):
                out.error(where, f"no keyframe named '{ref}'",
                          suggest(ref, names) or (f"keyframes: {', '.join(names[:8])}" if names else ""))


def partial_problems(doc: Document, path: Path, schema_problems: list[Problem], *,
                     audio: AudioCache | None = None) -> list[Problem]:
    """The checks that still make sense on a document the schema refused: names, images, model.

    Values at paths the schema complained about are skipped, so nothing is reported twice.
    `audio`: the session's decoded soundtracks (None: nothing kept).
    """
    data = doc.data
    if not isinstance(data, dict):
        return []
    out = _Collector(doc, frozenset(p.path for p in schema_problems))
    base = path.parent
    model_name, model_ref = _check_model(data, out, base)
    keyframes = data.get("keyframes")
    if isinstance(keyframes, dict) and out.ok(("keyframes",)):
        for name, kf in keyframes.items():
            if isinstance(kf, dict) and out.ok(("keyframes", name)):
                _check_keyframe(name, kf, out, base, model_name, model_ref)
        segments = data.get("segments")
        if isinstance(segments, list):
            _check_names(segments, keyframes, out)
    _check_timing(data, out)
    audio_path_problem(data, out, base, audio=audio)
    return out.errors


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_timing(data: dict, out: _Collector) -> None:
    """Segment timing on a document the schema refused: a duration under one frame, for each
    segment whose timing values are well typed (two lengths in one segment are the schema's)."""
    output: dict = data["output"] if isinstance(data.get("output"), dict) else {}
    fps = output.get("fps", DEFAULT_FPS)
    if not _is_number(fps) or fps <= 0 or not out.ok(("output", "fps")):
        return
    defaults: dict = data["defaults"] if isinstance(data.get("defaults"), dict) and out.ok(("defaults",)) else {}
    if not all(_is_number(defaults.get(f, 1)) and out.ok(("defaults", f)) for f in ("duration", "frames")):
        return
    segments = data.get("segments")
    for index, seg in enumerate(segments if isinstance(segments, list) else []):
        spath = ("segments", index)
        if not isinstance(seg, dict) or not out.ok(spath) or not all(
                _is_number(seg.get(f, 1)) and out.ok(spath + (f,)) for f in ("duration", "frames")):
            continue
        if not ("duration" in seg and "frames" in seg):
            _frames(seg, defaults, fps, out, spath)


def compile_storyboard(doc: Document, path: Path, draft: bool = False, images: ImageMemo | None = None, *,
                       audio_memo: AudioMemo | None = None, audio: AudioCache | None = None
                       ) -> tuple[Storyboard | None, list[Problem], list[Problem]]:
    """Resolve defaults, check meaning, compute frames; return (storyboard or None, errors, warnings).

    `draft` halves the size (to a multiple of 8) and the fps and writes `<name>.draft.<ext>`, for fast
    iteration; its keys differ (size and fps are in every key), so drafts are cached separately.
    `images` and `audio_memo`: the cache's file memo of keyframe images and soundtracks that passed
    their checks before; `audio`: the session's decoded soundtracks (None: nothing kept).
    """
    data = cast(dict, doc.data)  # schema-valid
    out = _Collector(doc)
    base = path.parent

    # 1. Output.
    size, fps, out_text = _output_settings(data.get("output", {}), path.stem, draft)
    out_path = _output_path(base, out_text, out)
    output = Output(out_path or base, (int(size[0]), int(size[1])), float(fps))

    # 2. Model.
    model_name, model_ref = _check_model(data, out, base)

    # 2b. The soundtrack (checked by decoding it once, as a render will read it).
    soundtrack = compile_audio(data, doc, out, base, audio_memo, audio=audio)

    # 3. Keyframes, then what the output must not overwrite.
    keyframes = _compile_keyframes(data, doc, out, base, model_name, model_ref, images)
    if out_path is not None:
        _check_output_path(out_path, path, keyframes, soundtrack, out)

    # 4. Segments: names, timing, easing, and gaps in the timeline; `loop` adds the closing one.
    segments, total = _compile_segments(data, doc, out, fps, output.size, model_ref, draft)
    _warn_unused_keyframes(data["keyframes"], segments, out)

    # 5. Budgets, checked on arithmetic alone, before anything is allocated.
    _check_budgets(total, output.size, out)

    # 6. A timeline longer than the soundtrack: a warning, the rest is silence.
    if soundtrack is not None:
        _warn_silence(total, fps, soundtrack, out)

    warnings = out.sound_warnings()
    if out.errors:
        return None, out.errors, warnings
    story = Storyboard(
        path=path, version=int(data["version"]), output=output, model=model_name, model_ref=model_ref,
        keyframes=keyframes, segments=tuple(segments), warnings=tuple(warnings), draft=draft,
        audio=soundtrack,
    )
    return story, [], warnings


def _output_settings(output_data: dict, stem: str, draft: bool) -> tuple[tuple, float, str]:
    """The output's size, fps and path text as written (halved and `<name>.draft.<ext>` in a draft)."""
    size = tuple(output_data.get("size", DEFAULT_SIZE))
    fps = output_data.get("fps", DEFAULT_FPS)
    out_text = output_data.get("path", f"out/{stem}.mp4")
    if draft:
        size = draft_size(size)
        fps = fps / 2
        stem, dot, ext = out_text.rpartition(".")
        out_text = f"{stem}.draft.{ext}" if dot and "/" not in ext else f"{out_text}.draft"
    return size, fps, out_text


def _output_path(base: Path, out_text: str, out: _Collector) -> Path | None:
    """The output file, resolved; None (and a problem) if its path cannot be used."""
    out_path, why = local_path(base, out_text)
    if out_path is None:
        out.error(("output", "path"), f"output path {why}")
        return None
    return resolved(out_path)


def _compile_keyframes(data: dict, doc: Document, out: _Collector, base: Path, model_name: str,
                       model_ref: ModelRef | None, images: ImageMemo | None) -> dict[str, Keyframe]:
    """The keyframes that pass their checks, with their defaults resolved (a broken one is left out)."""
    defaults = data.get("defaults", {})
    generative = model_ref is not None and model_ref.can_generate
    keyframes: dict[str, Keyframe] = {}
    for name, kf in data["keyframes"].items():
        kpath = ("keyframes", name)
        line, col = doc.where(kpath, key=True)
        image = _check_keyframe(name, kf, out, base, model_name, model_ref, images)
        if image is False:
            continue
        if not generative:
            for field in ("seed", "negative_prompt", *GENERATION_FIELDS):
                if field in kf:
                    out.warn(kpath + (field,), f"`{field}` has no effect with an autoencoder model",
                             depends=(("model",),))
        prompt = kf.get("prompt")
        seed = kf.get("seed")
        if seed is None and generative:
            seed = default_seed(prompt) if image is None else 0
        keyframes[name] = Keyframe(
            name=name, image=image, prompt=prompt if prompt is not None else ("" if generative else None),
            seed=None if seed is None else int(seed), fit=(fit := kf.get("fit", defaults.get("fit", DEFAULT_FIT))),
            line=line, column=col, negative_prompt=kf.get("negative_prompt", defaults.get("negative_prompt", "")),
            background=keyframe_background(kf, defaults, image if isinstance(image, Path) else None, fit, out,
                                           kpath),
        )
    return keyframes


def _check_output_path(out_path: Path, path: Path, keyframes: dict[str, Keyframe], soundtrack: Audio | None,
                       out: _Collector) -> None:
    """The output must not overwrite the storyboard, a keyframe image or the soundtrack."""
    kf_images = {name: kf.image for name, kf in keyframes.items() if kf.image is not None}
    problem = output_problem(out_path, path, kf_images)
    if soundtrack is not None and resolved(soundtrack.path) == resolved(out_path):
        problem = ("the output would overwrite the soundtrack (`audio.path`)", "")
    if problem is not None:
        out.error(("output", "path"), *problem)


def _timeline(data: dict, out: _Collector) -> tuple[list[tuple[tuple, dict]], dict[tuple, tuple[tuple, tuple]]]:
    """The timeline's entries, (path, segment), with the closing one `loop` adds; and for each, where
    its `from` and `to` are written (the jump warning reads them)."""
    # (Two lengths in one place, beat units without `audio.bpm` and `pacing: audio` without `audio`
    # are refused by the schema, where editors see them too: tools/make_schema.py's rules.)
    _check_names(data["segments"], data["keyframes"], out)
    loop = data.get("loop", False)
    raw_segments = list(enumerate(data["segments"]))
    entries: list[tuple[tuple, dict]] = [(("segments", i), seg) for i, seg in raw_segments]
    last_to = ("segments", len(raw_segments) - 1, "to")
    ends = {spath: (spath + ("from",), spath + ("to",)) for spath, _ in entries}  # where each end is written
    if loop is not False:
        first, last = data["segments"][0], data["segments"][-1]
        if last["to"] != first["from"]:
            settings = loop if isinstance(loop, dict) else {}
            entries.append((("loop",), {"from": last["to"], "to": first["from"], **settings}))
            ends[("loop",)] = (last_to, ("segments", 0, "from"))
        elif isinstance(loop, dict) and loop:
            out.warn(("loop",), f"the timeline already ends at '{first['from']}', where it starts: `loop` adds no "
                     "closing segment, so its settings are not used",
                     "set them on the last segment, or write `loop: true`", depends=(last_to, ("segments", 0, "from")))
    return entries, ends


def _clock(data: dict, fps: float, defaults: dict) -> Clock | None:
    """The absolute timeline's clock, or None where each segment's length is rounded on its own
    (storyboards without a soundtrack or a time on the timeline: their frame counts and keys stay as
    they were)."""
    if not uses_timeline(data):
        return None
    section = data.get("audio")
    bpm = section.get("bpm") if isinstance(section, dict) else None
    first_beat = section.get("first_beat", 0) if isinstance(section, dict) else 0
    return Clock(fps, data.get("output", {}).get("fps", DEFAULT_FPS), defaults, bpm, first_beat)


def _compile_segments(data: dict, doc: Document, out: _Collector, fps: float, size: tuple[int, int],
                      model_ref: ModelRef | None, draft: bool) -> tuple[list[Segment], int]:
    """The timeline's segments, each with its frames, easing and generation settings; and the
    video's frame count."""
    defaults = data.get("defaults", {})
    loop = data.get("loop", False)
    entries, ends = _timeline(data, out)
    pipeline_defaults = family_defaults(model_ref, size, out)
    if model_ref is not None and not model_ref.can_generate:  # steps, strength...: warned, not silently ignored
        for where, settings in [(("defaults",), defaults), *entries]:
            warn_pipeline_only(where, settings, out)
    segments: list[Segment] = []
    first_frame = 0
    previous_target, previous_end = None, ()
    clock = _clock(data, fps, defaults)
    for index, (spath, seg) in enumerate(entries):
        start_time = clock.seconds if clock is not None else first_frame / fps
        frames = clock.advance(seg, spath, out) if clock is not None else _frames(seg, defaults, fps, out, spath, draft)
        pacing, easing = _pacing_and_easing(seg, defaults, spath, out)
        check_morph(seg, defaults, data["keyframes"], model_ref, out, spath)
        if previous_target is not None and seg["from"] != previous_target:
            out.warn(spath + ("from",), f"starts at '{seg['from']}' but the previous segment ended at "
                     f"'{previous_target}': the video jumps here",
                     f"add a segment from '{previous_target}' to '{seg['from']}' for a smooth join",
                     depends=(ends[spath][0], previous_end))
        previous_target, previous_end = seg["to"], ends[spath][1]
        line, col = doc.where(spath)
        last = index == len(entries) - 1 and loop is False
        generation = segment_generation(seg, data["keyframes"].get(seg["from"], {}), defaults, pipeline_defaults)
        if pipeline_defaults is not None:
            check_pipeline_segment(seg, data["keyframes"], out, spath)
        segments.append(Segment(
            index=index, source=seg["from"], target=seg["to"], frames=frames, include_end=last,
            first_frame=first_frame, easing=easing,
            method=seg.get("method", defaults.get("method", DEFAULT_METHOD)), line=line, column=col,
            pacing=pacing, start_time=start_time,
            smooth=float(seg.get("smooth", defaults.get("smooth", DEFAULT_SMOOTH))) if pacing == "audio" else None,
            **generation,
        ))
        first_frame += frames + (1 if last else 0)
    return _with_neighbours(segments, loop is not False), first_frame


def _pacing_and_easing(seg: dict, defaults: dict, spath: tuple, out: _Collector) -> tuple[str, str]:
    """A segment's pacing and its easing's canonical name (as written, with a problem, if invalid)."""
    method = seg.get("method", defaults.get("method", DEFAULT_METHOD))
    pacing = seg.get("pacing", defaults.get("pacing", "even" if method == "morph" else "linear"))
    if "smooth" in seg and pacing != "audio":
        out.warn(spath + ("smooth",), "`smooth` has no effect without `pacing: audio`",
                 depends=(spath + ("pacing",), ("defaults", "pacing")))
    easing_text = seg.get("easing", defaults.get("easing", DEFAULT_EASING))
    try:
        return pacing, parse_easing(easing_text).name
    except EasingError as exc:
        where = spath + ("easing",) if "easing" in seg else ("defaults", "easing")
        out.error(where, f"invalid easing '{easing_text}': {exc}")
        return pacing, easing_text


def _warn_unused_keyframes(keyframes: dict, segments: list[Segment], out: _Collector) -> None:
    """A warning for each keyframe no segment starts or ends on."""
    used = {s.source for s in segments} | {s.target for s in segments}
    for name in keyframes:
        if name not in used:
            out.warn(("keyframes", name), f"keyframe '{name}' is not used by any segment",
                     depends=(("segments", "*", "from"), ("segments", "*", "to")))


def _check_budgets(total: int, size: tuple[int, int], out: _Collector) -> None:
    """A problem if the video's frames, or its pixels, are over the budget."""
    width, height = size
    if total > MAX_TOTAL_FRAMES:
        out.error(("segments",), f"the video would have {total:,} frames, over the budget of {MAX_TOTAL_FRAMES:,}",
                  "shorten durations or lower fps")
    elif total * width * height > MAX_TOTAL_PIXELS:
        out.error(("segments",), f"the video would be {total:,} frames x {width}x{height} = "
                  f"{total * width * height:,} pixels, over the budget of {MAX_TOTAL_PIXELS:,}",
                  "shorten it or lower the size or fps")


def _warn_silence(total: int, fps: float, soundtrack: Audio, out: _Collector) -> None:
    """A warning if the video outlasts the soundtrack after `start` (by more than half a frame)."""
    if total / fps > soundtrack.seconds - soundtrack.start + 0.5 / fps:
        out.warn(("audio",), f"the video is {format_time(total / fps)} long but the audio has "
                 f"{format_time(soundtrack.seconds - soundtrack.start)} after `start`: the rest is silence",
                 "shorten the timeline, or start earlier in the file",
                 depends=(("segments",), ("defaults",), ("loop",), ("output", "fps")))


def draft_size(size: tuple) -> tuple[int, int]:
    """About half of `size`, in multiples of 8 (what the models need), with the aspect ratio kept
    to within that rounding: one side is a multiple of 8 next to its half, the other the multiple
    of 8 nearest to what the aspect ratio makes of it; of those, the truest aspect wins."""
    width, height = int(size[0]), int(size[1])

    def nearest8(value: float) -> int:
        return max(8, int(math.floor(value / 8 + 0.5)) * 8)

    def next_to_half(value: int) -> set[int]:
        return {max(8, math.floor(value / 16) * 8), max(8, math.ceil(value / 16) * 8)}

    candidates = [(w, nearest8(w * height / width)) for w in next_to_half(width)]
    candidates += [(nearest8(h * width / height), h) for h in next_to_half(height)]
    return min(candidates, key=lambda c: (abs(math.log(c[0] * height / (c[1] * width))), c[0] * c[1]))


def _frames(seg: dict, defaults: dict, fps: float, out: _Collector, spath: tuple, draft: bool = False) -> int:
    """A segment's frame count by the documented rule; a problem if it rounds to zero.

    In a draft (half the fps) an exact `frames:` count is halved too, so timing stays the same.
    """
    exact = seg.get("frames", defaults.get("frames") if "duration" not in seg else None)
    if exact is not None:
        return max(1, frames_for(int(exact) / 2, 1)) if draft else int(exact)
    if "duration" in seg:
        duration, where = seg["duration"], spath + ("duration",)
    else:
        duration, where = defaults.get("duration", DEFAULT_DURATION), ("defaults", "duration")
    frames = frames_for(duration, fps)
    if frames < 1:
        out.error(where, f"duration {duration} s at {fps:g} fps is less than one frame",
                  f"use at least {shortest_duration(fps)} s or `frames: 1`")
        return 1
    return frames


def shortest_duration(fps: float) -> str:
    """The shortest duration, as short decimal text, that is one frame at `fps`: frames =
    round(duration x fps) with halves up, so half a frame's time, rounded up to 3 significant digits
    (0.0334 at 15 fps, where 0.0333 x 15 = 0.4995 rounds to 0 frames)."""
    half = Fraction(1, 2) / Fraction(repr(float(fps)))
    exponent = len(str(half.numerator)) - len(str(half.denominator))  # floor(log10(half)), exactly:
    if half < Fraction(10) ** exponent:  # no float, which a tiny fps would overflow
        exponent -= 1
    digits = 2 - exponent  # decimals that give 3 significant digits
    scaled = math.ceil(half * Fraction(10) ** digits)
    return format(Decimal(scaled).scaleb(-digits).normalize(), "f")


DEFAULT_SMOOTH = 0.3  # pacing: audio: how much of linear is blended into the onset curve


def _with_neighbours(segments: list[Segment], loop: bool) -> list[Segment]:
    """Give each segment whose method uses neighbours (a spline) the keyframes before and after it,
    where the timeline is joined there."""
    result = []
    count = len(segments)
    for i, seg in enumerate(segments):
        if not METHODS[seg.method].uses_neighbours:
            result.append(seg)
            continue
        prev = segments[i - 1] if i > 0 or loop else None
        nxt = segments[(i + 1) % count] if i + 1 < count or loop else None
        before = prev.source if prev is not None and prev.target == seg.source else None
        after = nxt.target if nxt is not None and nxt.source == seg.target else None
        result.append(dataclasses.replace(seg, before=before, after=after))
    return result
