"""Semantic checks after the schema: turn a schema-valid document into a Storyboard.

Every problem is collected, not just the first: names that do not exist, image files that are
not images, a model that cannot do what the keyframes ask, budgets, and the timeline's gaps
(a warning, not an error).
"""

from __future__ import annotations

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
OUTPUT_SUFFIXES = (".mp4", ".mov", ".mkv")


class _Collector:
    """Problems and warnings with positions from the document."""

    def __init__(self, doc: Document):
        self.doc = doc
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []

    def error(self, path: tuple, message: str, hint: str = "", key: bool = False) -> None:
        line, col = self.doc.where(path, key=key)
        self.errors.append(Problem(self.doc.file, line, col, format_path(path), message, hint))

    def warn(self, path: tuple, message: str, hint: str = "") -> None:
        line, col = self.doc.where(path)
        self.warnings.append(Problem(self.doc.file, line, col, format_path(path), message, hint, "warning"))


def compile_storyboard(doc: Document, path: Path) -> tuple[m.Storyboard | None, list[Problem], list[Problem]]:
    """Resolve defaults, check meaning, compute frames; return (storyboard or None, errors, warnings)."""
    data: dict = doc.data  # schema-valid
    out = _Collector(doc)
    base = path.parent
    defaults = data.get("defaults", {})

    # 1. Output.
    output_data = data.get("output", {})
    size = tuple(output_data.get("size", m.DEFAULT_SIZE))
    fps = float(output_data.get("fps", m.DEFAULT_FPS))
    out_text = output_data.get("path", f"out/{path.stem}.mp4")
    out_path = (base / Path(out_text).expanduser()).resolve()
    if out_path.suffix.lower() not in OUTPUT_SUFFIXES:
        out.error(("output", "path"), f"unsupported output type '{out_path.suffix or '(none)'}'",
                  f"use one of {', '.join(OUTPUT_SUFFIXES)}")
    if out_path == path.resolve():
        out.error(("output", "path"), "the output would overwrite the storyboard itself")
    output = m.Output(out_path, (int(size[0]), int(size[1])), fps)

    # 2. Model.
    model_name = data.get("model", m.DEFAULT_MODEL)
    model_ref: ModelRef | None = None
    try:
        model_ref = resolve_model(model_name, base)
    except ModelError as exc:
        out.error(("model",), str(exc))

    # 3. Keyframes.
    keyframes: dict[str, m.Keyframe] = {}
    for name, kf in data["keyframes"].items():
        kpath = ("keyframes", name)
        line, col = doc.where(kpath, key=True)
        has_image, has_prompt = "image" in kf, "prompt" in kf
        if has_image == has_prompt:
            out.error(kpath, "a keyframe needs exactly one of `image` or `prompt`"
                      if not has_image else "a keyframe has either `image` or `prompt`, not both", key=True)
            continue
        image = None
        if has_image:
            image = (base / Path(kf["image"]).expanduser()).absolute()
            message, hint = check_image(image)
            if message:
                out.error(kpath + ("image",), message, hint)
            elif image.resolve() == out_path:
                out.error(("output", "path"), f"the output would overwrite keyframe '{name}'s image")
            if "seed" in kf:
                out.warn(kpath + ("seed",), "`seed` has no effect on an image keyframe with an autoencoder model")
        if has_prompt and model_ref is not None and not model_ref.can_generate:
            out.error(kpath + ("prompt",),
                      f"prompt keyframes need a text-to-image model, and '{model_name}' is an autoencoder",
                      "set `model:` to a Stable Diffusion family pipeline folder or hub id, or use `image:`")
        keyframes[name] = m.Keyframe(
            name=name, image=image, prompt=kf.get("prompt"), seed=kf.get("seed"),
            fit=kf.get("fit", defaults.get("fit", m.DEFAULT_FIT)), line=line, column=col,
        )

    # 4. Segments: names, timing, easing, and gaps in the timeline.
    segments: list[m.Segment] = []
    first_frame = 0
    previous_target = None
    raw_segments = data["segments"]
    for index, seg in enumerate(raw_segments):
        spath = ("segments", index)
        for end in ("from", "to"):
            ref = seg[end]
            if ref not in data["keyframes"]:
                out.error(spath + (end,), f"no keyframe named '{ref}'",
                          suggest(ref, data["keyframes"]) or f"keyframes: {', '.join(list(data['keyframes'])[:8])}")
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
    for name in keyframes:
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
                  f"{total * width * height:.3g} pixels, over the budget of {MAX_TOTAL_PIXELS:.3g}",
                  "shorten it or lower the size or fps")

    if out.errors:
        return None, out.errors, out.warnings
    story = m.Storyboard(
        path=path, version=data["version"], output=output, model=model_name, model_ref=model_ref,
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
