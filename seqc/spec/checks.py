"""Semantic checks after the schema: turn a schema-valid document into a Storyboard.

Every problem is collected, not just the first: names that do not exist, image files that are
not images, a model that cannot do what the keyframes ask, budgets, and the timeline's gaps
(a warning, not an error). When the schema already failed, `partial_problems` still runs the
checks that only need well-typed values (keyframe names, image files, the model), so one run
reports a typo in an easing and a missing image together.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from seqc.errors import ModelError, Problem
from seqc.models import (
    ModelRef,
    resolve_controlnet,
    resolve_embeddings,
    resolve_model,
    resolve_single_file,
    resolve_vae,
)
from seqc.spec.colours import keyframe_background
from seqc.spec.generation import (
    GENERATION_FIELDS,
    default_seed,
)
from seqc.spec.images import ImageMemo, check_image
from seqc.spec.keyframe_models import LoraFiles, keyframe_control
from seqc.spec.model import (
    DEFAULT_FIT,
    DEFAULT_FPS,
    DEFAULT_MODEL,
    DEFAULT_SIZE,
    Audio,
    Keyframe,
    Output,
    Storyboard,
)
from seqc.spec.paths import codec_problem, local_path, output_problem, resolved
from seqc.spec.segments import check_names, compile_segments, frame_count, warn_unused_keyframes
from seqc.spec.soundtrack import audio_path_problem, compile_audio
from seqc.spec.timeline import format_time
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
    """Resolve `model:` to a local folder (or a single file and its config folder); a problem if it cannot be."""
    value = data.get("model", DEFAULT_MODEL)
    single = isinstance(value, dict)
    name = value.get("file") if single else value
    broken_mapping = single and not all(out.ok(("model", key)) for key in value)
    if not isinstance(name, str) or not out.ok(("model",)) or broken_mapping:
        return str(name), None
    for where, written in (("file", name), ("config", value.get("config") if single else None)):
        if written is None or written == DEFAULT_MODEL:
            continue
        _, why = local_path(base, written)
        if why:
            out.error(("model", where) if single else ("model",), f"model '{written}' {why}")
            return name, None
    try:
        if single:
            ref = resolve_single_file(name, name, value.get("config"), base, value.get("family"))
        else:
            ref = resolve_model(name, base)
    except ModelError as exc:
        out.error(("model",), str(exc))
        return name, None
    except (OSError, ValueError, RuntimeError) as exc:
        out.error(("model",), f"model '{name}' cannot be used: {exc}")
        return name, None
    parts: tuple[tuple[str, Callable[[ModelRef, Any, Path], ModelRef]], ...] = (
        ("vae", resolve_vae), ("controlnet", resolve_controlnet), ("embeddings", resolve_embeddings))
    for part, resolve in parts:
        ref = _check_part(data, part, resolve, ref, out, base)
    return name, ref


def _check_part(data: dict, part: str, resolve: Callable[[ModelRef, Any, Path], ModelRef], ref: ModelRef,
                out: _Collector, base: Path) -> ModelRef:
    """The model with the storyboard's `vae:`, `controlnet:` or `embeddings:` in it (as it is when there
    is none, or when the field is wrong: that is one problem there, not also at every prompt keyframe)."""
    value = data.get(part)
    entries = [value] if isinstance(value, str) else value if isinstance(value, list) else None
    paths = [e if isinstance(e, str) else e.get("path") if isinstance(e, dict) else None for e in entries or []]
    if entries is None or not out.ok((part,)) or not all(isinstance(p, str) for p in paths) or \
            not all(out.ok((part, i)) for i in range(len(paths))):
        return ref  # the schema said what is wrong
    try:
        for text in paths:
            if why := local_path(base, str(text))[1]:
                raise ModelError(f"{part} '{text}' {why}")
        return resolve(ref, value, base)
    except (ModelError, OSError, ValueError) as exc:
        out.error((part,), str(exc))
    return ref


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
            check_names(segments, keyframes, out)
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
            frame_count(seg, defaults, fps, out, spath)


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
    codec = data.get("output", {}).get("codec", "h264")
    out_path = _output_path(base, out_text, out)
    if out_path is not None:
        _check_codec(codec, out_path, tuple(data.get("output", {}).get("size", DEFAULT_SIZE)), out)
    # A draft is for a quick look: H.264 (in the container asked for), at its own keys.
    output = Output(out_path or base, (int(size[0]), int(size[1])), float(fps), "h264" if draft else codec)

    # 2. Model.
    model_name, model_ref = _check_model(data, out, base)

    # 2b. The soundtrack (checked by decoding it once, as a render will read it).
    soundtrack = compile_audio(data, doc, out, base, audio_memo, audio=audio)

    # 3. Keyframes, then what the output must not overwrite.
    keyframes = _compile_keyframes(data, doc, out, base, model_name, model_ref, images)
    if out_path is not None:
        _check_output_path(out_path, path, keyframes, soundtrack, out)

    # 4. Segments: names, timing, easing, and gaps in the timeline; `loop` adds the closing one.
    segments, total = compile_segments(data, doc, out, fps, output.size, model_ref, draft)
    warn_unused_keyframes(data["keyframes"], segments, out)

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
    suffix = ".mp4" if output_data.get("codec", "h264") == "h264" else ".mov"  # ProRes & co. have no MP4
    out_text = output_data.get("path", f"out/{stem}{suffix}")
    if draft:
        size = draft_size(size)
        fps = fps / 2
        stem, dot, ext = out_text.rpartition(".")
        out_text = f"{stem}.draft.{ext}" if dot and "/" not in ext else f"{out_text}.draft"
    return size, fps, out_text


def _check_codec(codec: str, out_path: Path, size: tuple, out: _Collector) -> None:
    """The codec's clips must fit the output's container, and the frames the encoder's minimum size."""
    problem = codec_problem(codec, out_path, (int(size[0]), int(size[1])))
    if problem is not None:
        out.error(("output", problem[0]), problem[1])


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
    loras = LoraFiles(base, out)
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
            loras=loras.keyframe_loras(kf, defaults, kpath, generative),
            control=keyframe_control(kf, defaults, kpath, image if isinstance(image, Path) else None,
                                     model_ref is not None and model_ref.controlnet is not None, out, base, images),
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

