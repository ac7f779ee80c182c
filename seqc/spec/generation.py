"""Generation settings of a storyboard on a text-to-image pipeline: the model family's defaults,
each segment's steps, guidance, scheduler and strength, a prompt keyframe's default seed, and what
a segment may join. Torch-free: the family's defaults are read from the model's JSON files."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from seqc.errors import ModelError
from seqc.models import ModelRef
from seqc.motion.methods import MORPH_DAMPING, MORPH_START

if TYPE_CHECKING:
    from seqc.spec.checks import _Collector as Collector

GENERATION_FIELDS = ("steps", "guidance", "scheduler", "strength", "morph_start", "morph_damping")
MORPH_FIELDS = ("morph_start", "morph_damping")  # `method: morph`'s settings (seqc.render.morph)
PIPELINE_ONLY = ("seed", "negative_prompt", *GENERATION_FIELDS)  # settings an autoencoder model ignores
DEFAULT_STRENGTH = 0.5


def default_seed(prompt: str | None) -> int:
    """A prompt keyframe's seed when none is given: from the prompt text, so renaming changes nothing."""
    return int(hashlib.sha256((prompt or "").encode("utf-8")).hexdigest()[:8], 16)


def warn_pipeline_only(where: tuple, settings: dict, out: Collector) -> None:
    """Warn about each setting in `settings` (a keyframe, a segment, `loop` or `defaults`) that only a
    text-to-image pipeline uses: an autoencoder model ignores it, and nothing else would say so."""
    for name in PIPELINE_ONLY:
        if name in settings:
            out.warn(where + (name,), f"`{name}` has no effect with an autoencoder model")


def family_defaults(model_ref: ModelRef | None, size: tuple, out: Collector) -> dict | None:
    """The model family's generation defaults (steps, guidance), or None for an autoencoder."""
    if model_ref is None or not model_ref.can_generate:
        return None
    from seqc.backends.pipeline_info import (  # torch-free: reads JSON only
        check_size,
        read_pipeline_info,
    )

    try:
        info = read_pipeline_info(model_ref)
        check_size(tuple(size), model_ref.name)
    except ModelError as exc:
        out.error(("model",), str(exc))
        return None
    return info.defaults()


def segment_generation(seg: dict, start_kf: dict, defaults: dict, family: dict | None) -> dict:
    """Generation settings of a segment: its own, else its start keyframe's, else `defaults`, else the family's."""
    if family is None:
        return {}
    def pick(name: str, fallback):
        for source in (seg, start_kf if isinstance(start_kf, dict) else {}, defaults):
            if name in source:
                return source[name]
        return fallback

    return {
        "steps": int(pick("steps", family["steps"])),
        "guidance": float(pick("guidance", family["guidance"])),
        "scheduler": str(pick("scheduler", "default")),
        "strength": float(pick("strength", DEFAULT_STRENGTH)),
        "morph_start": float(pick("morph_start", MORPH_START)),
        "morph_damping": float(pick("morph_damping", MORPH_DAMPING)),
    }


def check_pipeline_segment(seg: dict, defaults: dict, keyframes: dict, out: Collector, spath: tuple) -> None:
    """A segment under a pipeline joins two prompt keyframes or two image keyframes, not one of each;
    a morph joins any two (each end reaches the morph's step k its own way, seqc.render.morph)."""
    if seg.get("method", defaults.get("method")) == "morph":
        return
    kinds = []
    for end in ("from", "to"):
        kf = keyframes.get(seg[end])
        if isinstance(kf, dict):
            kinds.append("image" if "image" in kf else "prompt")
    if len(kinds) == 2 and kinds[0] != kinds[1]:
        article = {"image": "an", "prompt": "a"}
        out.error(spath, f"a segment from {article[kinds[0]]} {kinds[0]} keyframe to {article[kinds[1]]} {kinds[1]} "
                  "keyframe is not supported",
                  "give both keyframes an image, or both a prompt (an image keyframe may also have a prompt); "
                  "or use `method: morph`, which joins one of each")


def check_morph(seg: dict, defaults: dict, keyframes: dict, model_ref: ModelRef | None, out: Collector,
                spath: tuple) -> None:
    """`method: morph` needs a text-to-image pipeline; its settings warn on any other method, and
    `strength` (image-to-image's) warns on a morph."""
    if seg.get("method", defaults.get("method")) != "morph":
        for name in MORPH_FIELDS:
            if name in seg:
                out.warn(spath + (name,), f"`{name}` has no effect without `method: morph`",
                         depends=(spath + ("method",), ("defaults", "method")))
        return
    where = spath + ("method",) if "method" in seg else ("defaults", "method")
    if "strength" in seg:
        out.warn(spath + ("strength",), "`strength` has no effect with `method: morph`: its image keyframes are "
                 "inverted, not noised", "remove it, or use `slerp` for image-to-image",
                 depends=(spath + ("method",), ("defaults", "method")))
    if model_ref is not None and not model_ref.can_generate:
        out.error(where, f"method 'morph' draws its in-betweens with a text-to-image model, and "
                  f"'{model_ref.name}' is an autoencoder",
                  "set `model:` to `builtin-emoji` or a Stable Diffusion folder; or use `slerp`")
        return
