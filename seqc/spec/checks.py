"""Semantic checks after the schema: turn a schema-valid document into a Storyboard.

Every problem is collected, not just the first: names that do not exist, image files that are
not images, a model that cannot do what the keyframes ask, budgets, and the timeline's gaps
(a warning, not an error). When the schema already failed, `partial_problems` still runs the
checks that only need well-typed values (keyframe names, image files, the model), so one run
reports a typo in an easing and a missing image together.
"""

from __future__ import annotations

import os
from pathlib import Path

from seqc.curves import EasingError, parse_easing
from seqc.errors import ModelError, Problem
from seqc.models import ModelRef, resolve_model
from seqc.spec import model as m
from seqc.spec.images import check_image
from seqc.spec.schema import suggest
from seqc.spec.yamlload import Document, format_path

MAX_TOTAL_FRAMES = 1_000_000
MAX_TOTAL_PIXELS = 100_000_000_000  # frames x width x height: about 1.5M frames at 256x256
OUTPUT_SUFFIXES = (".mp4", ".mov", ".mkv", ".gif", ".webm")  # the formats seqc.video writes
GENERATIVE_MODELS = "a Stable Diffusion family text-to-image pipeline, a folder with model_index.json or a hub id"


class _Collector:
    """Problems and warnings with positions from the document."""

    def __init__(self, doc: Document, skip: frozenset[str] = frozenset()):
        self.doc = doc
        self.skip = skip  # paths the schema already complained about
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []

    def ok(self, path: tuple) -> bool:
        """Whether `path` is free of schema problems (so checking its value makes sense)."""
        return format_path(path) not in self.skip

    def error(self, path: tuple, message: str, hint: str = "", key: bool = False) -> None:
        line, col = self.doc.where(path, key=key)
        self.errors.append(Problem(self.doc.file, line, col, format_path(path), message, hint))

    def warn(self, path: tuple, message: str, hint: str = "") -> None:
        line, col = self.doc.where(path)
        self.warnings.append(Problem(self.doc.file, line, col, format_path(path), message, hint, "warning"))


def _local_path(base: Path, text: str) -> tuple[Path | None, str]:
    """`base / text` with `~` expanded (not resolved), or (None, why it cannot be a path)."""
    if "\x00" in text:
        return None, "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return None, "is not valid Unicode text (it has a lone surrogate escape)"
    path = Path(text)
    if text.startswith("~"):
        try:
            path = path.expanduser()
        except RuntimeError:
            return None, f"starts with '{text.split('/', 1)[0]}', a home folder that does not exist"
    return (base / path).absolute(), ""


def _resolved(path: Path) -> Path:
    """The real path, or the absolute one when it cannot be resolved (a symlink loop)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):
        return Path(os.path.abspath(path))


def _check_model(data: dict, out: _Collector, base: Path) -> tuple[str, ModelRef | None]:
    """Resolve `model:` to a local folder; a problem if it cannot be."""
    name = data.get("model", m.DEFAULT_MODEL)
    if not isinstance(name, str) or not out.ok(("model",)):
        return str(name), None
    if name != m.DEFAULT_MODEL:
        _, why = _local_path(base, name)
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


def _check_keyframe(name: str, kf: dict, out: _Collector, base: Path,
                    model_name: str, model_ref: ModelRef | None) -> Path | None | bool:
    """Checks one keyframe; returns its image path (None for a prompt), or False if it is broken."""
    kpath = ("keyframes", name)
    has_image, has_prompt = "image" in kf, "prompt" in kf
    if has_image == has_prompt:
        out.error(kpath, "a keyframe needs exactly one of `image` or `prompt`"
                  if not has_image else "a keyframe has either `image` or `prompt`, not both", key=True)
        return False
    if has_prompt:
        if model_ref is not None and not model_ref.can_generate:
            out.error(kpath + ("prompt",),
                      f"prompt keyframes need a text-to-image model, and '{model_name}' is an autoencoder",
                      f"set `model:` to {GENERATIVE_MODELS}; or use `image:`")
        return None
    text = kf["image"]
    if not isinstance(text, str) or not out.ok(kpath + ("image",)):
        return False
    image, why = _local_path(base, text)
    if image is None:
        out.error(kpath + ("image",), f"image path {why}")
        return False
    message, hint = check_image(image)
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


def partial_problems(doc: Document, path: Path, schema_problems: list[Problem]) -> list[Problem]:
    """The checks that still make sense on a document the schema refused: names, images, model.

    Values at paths the schema complained about are skipped, so nothing is reported twice.
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
    return out.errors


def compile_storyboard(doc: Document, path: Path) -> tuple[m.Storyboard | None, list[Problem], list[Problem]]:
    """Resolve defaults, check meaning, compute frames; return (storyboard or None, errors, warnings)."""
    data: dict = doc.data  # schema-valid
    out = _Collector(doc)
    base = path.parent
    defaults = data.get("defaults", {})

    # 1. Output.
    output_data = data.get("output", {})
    size = tuple(output_data.get("size", m.DEFAULT_SIZE))
    fps = output_data.get("fps", m.DEFAULT_FPS)
    out_text = output_data.get("path", f"out/{path.stem}.mp4")
    out_path, why = _local_path(base, out_text)
    if out_path is None:
        out.error(("output", "path"), f"output path {why}")
    else:
        out_path = _resolved(out_path)
        if out_path.suffix.lower() not in OUTPUT_SUFFIXES:
            out.error(("output", "path"), f"unsupported output type '{out_path.suffix or '(none)'}'",
                      f"use one of {', '.join(OUTPUT_SUFFIXES)}")
        if out_path == _resolved(path):
            out.error(("output", "path"), "the output would overwrite the storyboard itself")
    output = m.Output(out_path or base, (int(size[0]), int(size[1])), float(fps))

    # 2. Model.
    model_name, model_ref = _check_model(data, out, base)

    # 3. Keyframes.
    keyframes: dict[str, m.Keyframe] = {}
    for name, kf in data["keyframes"].items():
        kpath = ("keyframes", name)
        line, col = doc.where(kpath, key=True)
        image = _check_keyframe(name, kf, out, base, model_name, model_ref)
        if image is False:
            continue
        if image is not None:
            if out_path is not None and _resolved(image) == out_path:
                out.error(("output", "path"), f"the output would overwrite keyframe '{name}'s image")
            if "seed" in kf:
                out.warn(kpath + ("seed",), "`seed` has no effect on an image keyframe")
        seed = kf.get("seed")
        keyframes[name] = m.Keyframe(
            name=name, image=image, prompt=kf.get("prompt"), seed=None if seed is None else int(seed),
            fit=kf.get("fit", defaults.get("fit", m.DEFAULT_FIT)), line=line, column=col,
        )

    # 4. Segments: names, timing, easing, and gaps in the timeline.
    raw_segments = data["segments"]
    _check_names(raw_segments, data["keyframes"], out)
    if "duration" in defaults and "frames" in defaults:
        out.error(("defaults", "frames"), "give `duration` or `frames`, not both")
    segments: list[m.Segment] = []
    first_frame = 0
    previous_target = None
    for index, seg in enumerate(raw_segments):
        spath = ("segments", index)
        if "duration" in seg and "frames" in seg:
            out.error(spath + ("frames",), "give `duration` or `frames`, not both")
        frames = _frames(seg, defaults, fps, out, spath)
        easing_text = seg.get("easing", defaults.get("easing", m.DEFAULT_EASING))
        try:
            easing = parse_easing(easing_text).name
        except EasingError as exc:
            where = spath + ("easing",) if "easing" in seg else ("defaults", "easing")
            out.error(where, f"invalid easing '{easing_text}': {exc}")
            easing = easing_text
        if previous_target is not None and seg["from"] != previous_target:
            out.warn(spath + ("from",), f"starts at '{seg['from']}' but the previous segment ended at "
                     f"'{previous_target}': the video jumps here",
                     f"add a segment from '{previous_target}' to '{seg['from']}' for a smooth join")
        previous_target = seg["to"]
        line, col = doc.where(spath)
        last = index == len(raw_segments) - 1
        segments.append(m.Segment(
            index=index, source=seg["from"], target=seg["to"], frames=frames, include_end=last,
            first_frame=first_frame, easing=easing,
            method=seg.get("method", defaults.get("method", m.DEFAULT_METHOD)), line=line, column=col,
        ))
        first_frame += frames + (1 if last else 0)

    used = {s.source for s in segments} | {s.target for s in segments}
    for name in data["keyframes"]:
        if name not in used:
            out.warn(("keyframes", name), f"keyframe '{name}' is not used by any segment")

    # 5. Budgets, checked on arithmetic alone, before anything is allocated.
    total = first_frame
    width, height = output.size
    if total > MAX_TOTAL_FRAMES:
        out.error(("segments",), f"the video would have {total:,} frames, over the budget of {MAX_TOTAL_FRAMES:,}",
                  "shorten durations or lower fps")
    elif total * width * height > MAX_TOTAL_PIXELS:
        out.error(("segments",), f"the video would be {total:,} frames x {width}x{height} = "
                  f"{total * width * height:,} pixels, over the budget of {MAX_TOTAL_PIXELS:,}",
                  "shorten it or lower the size or fps")

    out.warnings.sort(key=lambda p: (p.line, p.column, p.path))
    if out.errors:
        return None, out.errors, out.warnings
    story = m.Storyboard(
        path=path, version=int(data["version"]), output=output, model=model_name, model_ref=model_ref,
        keyframes=keyframes, segments=tuple(segments), warnings=tuple(out.warnings),
    )
    return story, [], out.warnings


def _frames(seg: dict, defaults: dict, fps: float, out: _Collector, spath: tuple) -> int:
    """A segment's frame count by the documented rule; a problem if it rounds to zero."""
    if "frames" in seg:
        return int(seg["frames"])
    if "duration" in seg:
        duration, where = seg["duration"], spath + ("duration",)
    elif "frames" in defaults:
        return int(defaults["frames"])
    else:
        duration, where = defaults.get("duration", m.DEFAULT_DURATION), ("defaults", "duration")
    frames = m.frames_for(duration, fps)
    if frames < 1:
        out.error(where, f"duration {duration} s at {fps:g} fps is less than one frame",
                  f"use at least {1 / fps:.3g} s or `frames: 1`")
        return 1
    return frames
