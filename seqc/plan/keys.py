"""Cache keys: sha256 over canonical JSON of explicitly named inputs.

A key is never "hash whatever is reachable": each key function below lists exactly what
determines the bytes it names. Keyframe names, comments, YAML key order, a segment's
position and the output path are deliberately absent, so renaming or reordering re-renders
nothing. Any change to what goes into a key, or to how a keyed thing is computed, must bump
KEY_VERSION (a golden test pins the keys of a fixture storyboard).
"""

from __future__ import annotations

import hashlib
import json
import math

# 2: clips are tagged with their colour primaries and transfer (encoder recipe 2).
# 3: the resolved precision is in every model-made key; the video's final frame is its own clip.
KEY_VERSION = 3
FLOAT_DIGITS = 10  # floats are rounded to this many significant digits before hashing


_PLAIN = frozenset({str, int, bool, type(None)})  # canonical as they are


def _normalise(value: object) -> object:
    """Make a value canonical: floats rounded (and integral floats kept as floats), tuples as lists."""
    kind = type(value)  # exact types first: a plan of a thousand segments normalises tens of thousands
    if kind in _PLAIN:
        return value
    if kind is dict:
        return {k if type(k) is str else str(k): _normalise(v) for k, v in value.items()}  # type: ignore[attr-defined]  # `kind is dict` narrows nothing
    if kind is list or kind is tuple:
        return [_normalise(v) for v in value]  # type: ignore[attr-defined]  # a list or tuple, as above
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"non-finite number in a cache key: {value!r}")
        return float(f"{value:.{FLOAT_DIGITS}g}")
    if isinstance(value, dict):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalise(v) for v in value]
    raise TypeError(f"cannot put {type(value).__name__} in a cache key")


def canonical_json(inputs: dict) -> str:
    """The canonical text of a key's inputs: sorted keys, no spaces, rounded floats, UTF-8."""
    return json.dumps(_normalise(inputs), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(inputs: dict) -> str:
    """sha256 of the canonical JSON of `inputs` plus KEY_VERSION."""
    text = canonical_json({**inputs, "key_version": KEY_VERSION})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def model_fingerprint(fingerprint_inputs: dict) -> str:
    """One hex string for a model, from seqc.models.fingerprint_inputs."""
    return digest({"kind": "model", **fingerprint_inputs})


def latent_inputs(*, image_sha256: str, size: tuple[int, int], fit: str, model: str, precision: str,
                  background: str | None = None) -> dict:
    """Named inputs of an image keyframe's latent: its bytes, how it is fitted, the model and its precision.

    `background` ("#rrggbb") is present only where it changes pixels (seqc.spec.colours), so the
    keys of keyframes on black, the default, or of opaque images never change because of it.
    """
    extra = {"background": background} if background is not None else {}
    return {
        **extra,
        "kind": "latent",
        "image_sha256": image_sha256,
        "size": list(size),
        "fit": fit,
        "resample": "lanczos",
        "model": model,
        "precision": precision,
    }


def embed_inputs(*, prompt: str, negative_prompt: str, model: str, precision: str,
                 loras: list[dict] | None = None) -> dict:
    """Named inputs of a prompt's conditioning (embeddings) under a text-to-image model.

    `loras` ([{"sha256", "weight"}], the keyframe's LoRA files by content) is present only where a
    keyframe has some: a LoRA's text-encoder part shapes the conditioning, and its UNet part every
    frame drawn from this keyframe, so this key, and through it the endpoint, trajectory and clip
    keys, change with a keyframe's LoRAs; keyframes without one keep their keys."""
    extra = {"loras": loras} if loras else {}
    return {**extra, "kind": "embed", "prompt": prompt, "negative_prompt": negative_prompt, "model": model,
            "precision": precision}


def endpoint_inputs(*, latent: str | None, embed: str, seed: int, size: tuple[int, int],
                    control: dict | None = None) -> dict:
    """Named inputs of a keyframe under a pipeline: its image latent (if any), conditioning and noise
    seed; `control` (what a ControlNet follows there: the picture's sha256, or "own" for the keyframe's
    image, the scale, whether edges are traced) only where the keyframe has one."""
    extra = {"control": control} if control else {}
    return {**extra, "kind": "endpoint", "latent": latent, "embed": embed, "seed": seed, "size": list(size)}


def trajectory_inputs(*, mode: str, embed: str, size: tuple[int, int], steps: int, stop: int, scheduler: str,
                      guidance: float, model: str, precision: str, seed: int | None = None,
                      latent: str | None = None, control: dict | None = None) -> dict:
    """Named inputs of where one end keyframe of a morph is at step `stop` of a `steps`-step schedule
    under `scheduler` ("default", or a name and its revision): `denoise` a prompt keyframe's noise
    (its `seed`) with its conditioning and `guidance`; or `invert` an image keyframe's `latent`
    under its conditioning, with what the model draws back from there under `guidance` (the
    residual that keeps the ends exact, seqc.render.morph). Each end is computed alone (one call of
    one frame), so segments, frame counts and pacings that share an end share the entry; the
    morph's other knobs are not in it."""
    source: dict = {"seed": seed} if mode == "denoise" else {"latent": latent, "residual": "pixels"}
    if control:  # the keyframe's ControlNet picture steers its trajectory too (endpoint_inputs)
        source["control"] = control
    return {**source, "kind": "trajectory", "mode": mode, "embed": embed, "size": list(size), "steps": steps,
            "stop": stop, "scheduler": scheduler, "guidance": guidance, "model": model, "precision": precision,
            "call": "alone"}


def clip_inputs(
    *,
    start: str,
    end: str,
    frames: int,
    fps: float,
    size: tuple[int, int],
    easing: str,
    method: str,
    model: str,
    precision: str,
    encoder: dict,
    generation: dict | None = None,
    pacing: dict | None = None,
    neighbours: dict | None = None,
) -> dict:
    """Named inputs of a segment's clip of `frames` frames (from its start up to, not including, its
    end): both endpoint keys and everything that shapes those frames.

    `generation` (steps, guidance, scheduler, strength) is present only for pipeline models,
    `pacing` only for even pacing, `neighbours` (the keys of the keyframes before and after)
    only for splines, so keys of segments that use none of them never change because of them.
    """
    extra: dict = {}
    if generation is not None:
        extra["generation"] = generation
    if pacing is not None:
        extra["pacing"] = pacing
    if neighbours is not None:
        extra["neighbours"] = neighbours
    return {
        **extra,
        "kind": "clip",
        "start": start,
        "end": end,
        "frames": frames,
        "fps": float(fps),
        "size": list(size),
        "easing": easing,
        "method": method,
        "model": model,
        "precision": precision,
        "encoder": encoder,
    }


def end_frame_inputs(*, end: str, fps: float, size: tuple[int, int], model: str, precision: str,
                     encoder: dict, generation: dict | None = None) -> dict:
    """Named inputs of the video's final frame, a one-frame clip of the keyframe the timeline ends on.

    Apart from the last segment, so appending a segment or toggling `loop:` re-renders no old
    segment. `generation` is the last segment's (a pipeline denoises the final frame with it).
    """
    extra = {"generation": generation} if generation is not None else {}
    return {**extra, "kind": "end_frame", "end": end, "fps": float(fps), "size": list(size), "model": model,
            "precision": precision, "encoder": encoder}
