"""Write the storyboard JSON Schema (schemas/ and the package copy) from one Python definition.

Run `python tools/make_schema.py` after changing a field; `--check` only compares (tests run it),
so both copies are always current.
Kept as code so the names it shares with the modules that implement them (easings, methods,
pacings, fits, schedulers) cannot drift.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from seqc.backends.pipeline_info import SCHEDULER_NAMES  # noqa: E402
from seqc.families import FAMILY_CONFIGS  # noqa: E402
from seqc.media.encode import CODECS, MEZZANINE, MIN_SIZE, OUTPUT_SUFFIXES  # noqa: E402
from seqc.media.formats import OUTPUT_FORMATS  # noqa: E402
from seqc.motion.curves import NAMED_EASINGS, STRICT_CUBIC_BEZIER_PATTERN, STRICT_STEPS_PATTERN  # noqa: E402
from seqc.motion.methods import METHODS  # noqa: E402
from seqc.render.frames import PACINGS  # noqa: E402
from seqc.render.pixels import FITS  # noqa: E402
from seqc.spec.checks import GENERATIVE_MODELS  # noqa: E402
from seqc.spec.colours import HEX_PATTERN, colour_names  # noqa: E402
from seqc.spec.timeline import LENGTH_FIELDS, TIME_PATTERN  # noqa: E402

SCHEMA_ID = "https://seqc.dev/schemas/storyboard.schema.json"


def prop(title: str, description: str, **schema) -> dict:
    """A property with the hover help editors show."""
    return {"title": title, "description": description, **schema}


def timing_props() -> dict:
    """Fields shared by `defaults` and each segment: how long and how the segment moves."""
    return {
        "duration": prop(
            "Duration",
            "Length in seconds; frames = round(duration x fps), at least 1.",
            type="number", exclusiveMinimum=0, maximum=86400, examples=[2, 0.5],
        ),
        "frames": prop(
            "Frame count",
            "Exact number of frames from this segment's start keyframe up to (not including) its end keyframe.",
            type="integer", minimum=1, maximum=1000000, examples=[24, 12],
        ),
        "easing": prop(
            "Easing",
            "How t moves from 0 to 1: a named curve (linear, ease, ease-in-out, ease-in-out-cubic, ...), "
            "cubic-bezier(x1, y1, x2, y2) or steps(n).",
            type="string",
            anyOf=[
                {"title": "Named easing", "description": "linear, the CSS names, and ease-in/out-X curves.",
                 "enum": list(NAMED_EASINGS)},
                {"title": "cubic-bezier(x1, y1, x2, y2)",
                 "description": "A CSS cubic Bezier of plain decimals: x1 and x2 in [0, 1], y1 and y2 any number "
                                "(quote it inside { }).",
                 "pattern": STRICT_CUBIC_BEZIER_PATTERN,
                 **forbid("cubic-bezier takes plain decimals, without an exponent, under 300 digits",
                          matching={"pattern": UNCHECKABLE_BEZIER_PATTERN})},
                {"title": "steps(n, position)",
                 "description": "n equal jumps (n >= 1; n >= 2 with jump-none); position jump-end (default), "
                                "jump-start, jump-none or jump-both.",
                 "pattern": STRICT_STEPS_PATTERN},
            ],
            examples=["ease-in-out", "linear", "cubic-bezier(0.25, 0.1, 0.25, 1)", "steps(4)"],
            defaultSnippets=[
                {"label": "cubic-bezier", "description": "a CSS cubic Bezier curve",
                 "body": "cubic-bezier(${1:0.25}, ${2:0.1}, ${3:0.25}, ${4:1})"},
                {"label": "steps", "description": "n equal jumps", "body": "steps(${1:4})"},
            ],
        ),
        "method": prop(
            "Method",
            "Path between the keyframes: " + "; ".join(f"{m.name}: {m.summary}" for m in METHODS.values()) + ".",
            type="string", enum=list(METHODS),
        ),
        "pacing": prop(
            "Pacing",
            "linear (default): t moves by the easing alone. even: t is re-parameterised so every frame changes "
            "the picture by the same amount, then the easing applies (costs 9 probe decodes per segment). "
            "audio: the picture changes in step with the soundtrack's onsets over the segment (see `smooth`), "
            "then the easing applies.",
            type="string", enum=list(PACINGS),
        ),
        "beats": prop(
            "Beats",
            "Length in beats of `audio.bpm` (needs the tempo); the boundary lands on round(time x fps), "
            "never rounded per segment.",
            type="number", exclusiveMinimum=0, maximum=1000000, examples=[8, 4, 0.5],
        ),
        "smooth": prop(
            "Smooth",
            "pacing: audio: 0 follows the onset envelope alone, 1 is linear; blended in between. Default 0.3.",
            type="number", minimum=0, maximum=1,
        ),
    }


def timeline_props() -> dict:
    """Segment ends given as a point on the video's timeline (only on a segment, not in defaults)."""
    return {
        "until": prop(
            "Until",
            'The segment ends at this time of the video: seconds (19.5) or "m:ss.s" ("0:19.5").',
            anyOf=[{"type": "number", "minimum": 0, "maximum": 86400},
                   {"type": "string", "pattern": TIME_PATTERN}],
            examples=["0:19.5", 12],
        ),
        "until_beat": prop(
            "Until beat",
            "The segment ends on this beat (beat 0 is at `audio.first_beat`; needs `audio.bpm`).",
            type="number", minimum=0, maximum=1000000, examples=[32],
        ),
    }


def audio_schema() -> dict:
    """The soundtrack: what times the segments, paces `pacing: audio`, and is muxed into the output."""
    return {
        "title": "Audio",
        "description": "A soundtrack: times segments by beats or timestamps, paces `pacing: audio` segments, and "
                       "is muxed into the video (trimmed and padded to its exact length).",
        "type": "object",
        "additionalProperties": False,
        "required": ["path"],
        "properties": {
            "path": prop("Path", "Audio file (wav, mp3, m4a/aac, flac, ogg, opus), relative to the storyboard; "
                         "hashed by its bytes.", type="string", minLength=1, maxLength=4096,
                         pattern=NO_NUL),
            "start": prop("Start", "Seconds into the file that play at video time 0. Default 0.",
                          type="number", minimum=0, maximum=86400),
            "bpm": prop("BPM", "Tempo in beats per minute; enables `beats` and `until_beat` "
                        "(`seqc audio FILE` suggests one).", type="number", exclusiveMinimum=0, maximum=1000),
            "first_beat": prop("First beat", "Video time in seconds (after `start`) of beat 0. Default 0.",
                               type="number", minimum=-86400, maximum=86400),
            "mux": prop("Mux", "Put the audio in the output video (mp4/mov/mkv: AAC, webm: Opus; GIF stays "
                        "silent). Default true.", type="boolean"),
        },
    }


def generation_props() -> dict:
    """Settings of a text-to-image pipeline: per segment, per keyframe (for its segments) or in defaults."""
    return {
        "steps": prop(
            "Steps",
            "Denoising steps per frame (pipeline models). Default: 25, or 2 for Turbo models.",
            type="integer", minimum=1, maximum=1000,
        ),
        "guidance": prop(
            "Guidance",
            "Classifier-free guidance scale (pipeline models). Default: 7.5 (SD), 5 (SDXL), 0 (Turbo).",
            type="number", minimum=0, maximum=100,
        ),
        "scheduler": prop(
            "Scheduler",
            "Denoising scheduler (pipeline models); default is the pipeline's own.",
            type="string", enum=list(SCHEDULER_NAMES),
        ),
        "strength": prop(
            "Strength",
            "Between two image keyframes under a pipeline model: how much of each frame is re-generated "
            "(img2img), 0 to 1. 0 is plain latent interpolation through the pipeline's VAE. Default 0.5. "
            "No effect with `method: morph`, which inverts image keyframes instead.",
            type="number", minimum=0, maximum=1,
        ),
        "morph_start": prop(
            "Morph start",
            "With `method: morph`: how far down the schedule the in-betweens start, from the two ends' "
            "trajectories, 0.05 to 0.95 of the steps. Later keeps more of the ends' layout (smoother, "
            "nearer a blend); earlier lets the model draw more anew. Default 0.4.",
            type="number", minimum=0.05, maximum=0.95,
        ),
        "morph_damping": prop(
            "Morph damping",
            "With `method: morph`: how much the guidance is lowered at the middle of the transition "
            "(guidance x (1 - damping x 4t(1 - t))), 0 to 1. Higher keeps the middle from being pushed "
            "to either end, and draws it paler. Default 0.6.",
            type="number", minimum=0, maximum=1,
        ),
    }


def lora_prop() -> dict:
    """A keyframe's LoRA files and weights (pipeline models)."""
    entry = {
        "title": "LoRA", "description": "A LoRA file and its weight at this keyframe.",
        "type": "object", "additionalProperties": False, "required": ["path"],
        "properties": {
            "path": prop("LoRA file", "A LoRA in a .safetensors file (diffusers/peft or kohya naming), relative "
                         "to the storyboard.", type="string", minLength=1, maxLength=4096, pattern=NO_NUL),
            "weight": prop("Weight", "How strongly it applies at this keyframe. Default 1; a file listed twice "
                           "adds its weights.", type="number", minimum=-10, maximum=10),
        },
    }
    return prop(
        "LoRAs",
        "LoRA files and their weights at this keyframe (pipeline models). Along a segment each weight moves "
        "from its start keyframe's to its end keyframe's (0 where a keyframe does not list the file), eased "
        "like the segment. A keyframe's own list replaces the defaults' (`lora: []` for none).",
        examples=[[{"path": "style.safetensors", "weight": 0.8}]],
        type="array", maxItems=16, items=entry,
    )


def control_prop() -> dict:
    """What a ControlNet follows at a keyframe (with `controlnet:`)."""
    return prop(
        "Control",
        "What the ControlNet (`controlnet:`) follows at this keyframe: a control picture, or without one "
        "the edges of the keyframe's own picture. Along a segment the ControlNet follows both ends' "
        "pictures, each at its scale times its nearness.",
        examples=[{"scale": 0.8}, {"image": "edges.png"}],
        type="object", additionalProperties=False,
        properties={
            "image": prop("Control picture", "A control picture (an edge map, a depth map, a pose) relative to "
                          "the storyboard. Default: the keyframe's own image, traced for edges.",
                          type="string", minLength=1, maxLength=4096, pattern=NO_NUL),
            "scale": prop("Scale", "How strongly the ControlNet holds the picture to it. Default 1.",
                          type="number", minimum=0, maximum=4),
            "edges": prop("Trace edges", "Trace the picture's edges (Canny, as the canny ControlNets were "
                          "trained on) before the ControlNet sees it. Default: true without `image`, "
                          "false with one (a control picture is used as it is).", type="boolean"),
        },
    )


def background_prop() -> dict:
    """The colour behind a transparent keyframe image and around a `contain` fit (keyframe or defaults)."""
    return prop(
        "Background",
        "Colour behind the transparent parts of an image and around it with `fit: contain`: "
        '"#rrggbb", "#rgb" or a CSS colour name (white, black, ...); quote a # colour, as # starts a '
        "YAML comment. Default black.",
        type="string",
        anyOf=[{"title": "#rrggbb or #rgb", "description": "Hex red, green, blue.", "pattern": HEX_PATTERN},
               {"title": "Colour name", "description": "A CSS colour name.", "enum": list(colour_names())}],
        examples=["white", "#ffffff", "#1e1e1e"],
    )


# ---------------------------------------------------------------------------------------------
# Rules between fields: what seqc refuses beyond each field's own type and range, said in the schema
# so an editor shows it too. Only draft-07 keywords (if/then/else, not): yaml-language-server knows
# no later ones. A refused value is `not` something, placed at that value, with `errorMessage` (what
# editors that read it show, and the message seqc prints) and `x-hint` (seqc's hint in parentheses).


def forbid(message: str, hint: str = "", matching: dict | None = None) -> dict:
    """A value refused here (any value, or one `matching` a schema), with what to say about it."""
    return {"not": matching or {}, "errorMessage": message, **({"x-hint": hint} if hint else {})}


LENGTH_HINT = "a segment's length is one of duration, frames, beats, until, until_beat"


def one_length(fields: tuple[str, ...]) -> list[dict]:
    """At most one of `fields`, the ways to give a length: each later one is refused beside an earlier one."""
    rules = []
    for i, first in enumerate(fields[:-1]):
        rules.append({"if": {"required": [first]}, "then": {"properties": {
            later: forbid("give `duration` or `frames`, not both" if (first, later) == ("duration", "frames")
                          else f"give one length: `{first}` or `{later}`, not both", LENGTH_HINT)
            for later in fields[i + 1:]
        }}})
    return rules


def storyboard_rules() -> list[dict]:
    """Rules across sections: beat units need `audio.bpm`, `pacing: audio` needs `audio`, and the
    built-in model (an autoencoder) takes image keyframes only."""
    def timings(fields: dict, defaults: dict | None = None) -> dict:
        """The same refusals in every segment, the closing `loop` segment and `defaults`."""
        return {"properties": {
            "segments": {"items": {"properties": fields}},
            "loop": {"properties": fields},
            "defaults": {"properties": fields if defaults is None else defaults},
        }}

    def needs_bpm(name: str) -> dict:
        return forbid(f"`{name}` needs the tempo: `audio.bpm` is not set",
                      "add `bpm` (and `first_beat`) to `audio:`; `seqc audio FILE` suggests them")

    audio_pacing = forbid("`pacing: audio` needs a soundtrack", "add `audio: {path: ...}` to the storyboard",
                          {"const": "audio"})
    generative = GENERATIVE_MODELS
    return [
        {"if": {"not": {"required": ["audio"], "properties": {"audio": {"required": ["bpm"]}}}},
         "then": timings({"beats": needs_bpm("beats"), "until_beat": needs_bpm("until_beat")},
                         {"beats": needs_bpm("beats")})},
        {"if": {"not": {"required": ["audio"]}}, "then": timings({"pacing": audio_pacing})},
        {"if": {"properties": {"model": {"const": "builtin"}}},  # also when `model` is not given
         "then": {"properties": {"keyframes": {"additionalProperties": {
             "if": {"required": ["image"]},
             "then": {"properties": {"prompt": forbid(
                 "a keyframe has either `image` or `prompt`, not both",
                 f"an image with a prompt (img2img) needs {generative}")}},
             "else": {"properties": {"prompt": forbid(
                 "prompt keyframes need a text-to-image model, and 'builtin' is an autoencoder",
                 f"set `model:` to {generative}; or use `image:`")}},
         }}}}},
    ]


def output_path_pattern() -> str:
    """A path ending in a format seqc writes (any case), with a name before the dot and no NUL."""
    def any_case(suffix: str) -> str:
        return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in suffix)

    return (r"^[^\u0000]*[^/\u0000]\.(?:" + "|".join(any_case(s.lstrip(".")) for s in OUTPUT_FORMATS) + ")$")


def codec_rules() -> list[dict]:
    """What a mezzanine codec asks of the output: a container that holds it, DNxHR's smallest frame."""
    def any_case(suffix: str) -> str:
        return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in suffix)

    suffixes = [s for s in OUTPUT_FORMATS if not OUTPUT_FORMATS[s].stream_copy or s in OUTPUT_SUFFIXES["prores"]]
    assert all(OUTPUT_SUFFIXES[codec] == OUTPUT_SUFFIXES["prores"] for codec in MEZZANINE)  # one rule for them all
    pattern = r"\.(?:" + "|".join(any_case(s.lstrip(".")) for s in suffixes) + ")$"
    rules = [{"if": {"properties": {"codec": {"enum": list(MEZZANINE)}}, "required": ["codec"]},
              "then": {"properties": {"path": {"pattern": pattern}}}}]
    for codec, (width, height) in MIN_SIZE.items():
        rules.append({"if": {"properties": {"codec": {"const": codec}}, "required": ["codec"]},
                      "then": {"properties": {"size": {"prefixItems": [{"minimum": width}, {"minimum": height}]}}}})
    return rules


NO_NUL = r"^[^\u0000]*$"  # a path is text without NUL characters
# cubic-bezier with a number a pattern cannot bound: an exponent (is 5e-1 an x in [0, 1]? is 1e999 finite?)
# or 300 digits in a row (past 1e308 a y is infinite); plain decimals are bounded by the pattern itself.
UNCHECKABLE_BEZIER_PATTERN = r"^\s*cubic-bezier\([\s\S]*(?:[0-9.][eE]|[0-9]{300})"  # [\s\S]: newlines too


def build() -> dict:
    """The whole schema, draft 2020-12."""
    fit = prop(
        "Fit",
        "How an image is fitted to the output size: cover (crop), contain (letterbox) or stretch.",
        type="string", enum=list(FITS),
    )
    keyframe = {
        "title": "Keyframe",
        "description": "A picture the video passes through: an image file, or a prompt for a text-to-image model.",
        "type": "object",
        "additionalProperties": False,
        # An image, or a prompt (whose `control:` then names a picture: it has none of its own to trace).
        "anyOf": [{"required": ["image"]}, {"required": ["prompt"], "properties": {"control": {
            "title": "Control", "description": "A prompt keyframe's control names its picture.",
            "required": ["image"]}}}],
        "properties": {
            "image": prop(
                "Image",
                "Path to an image file (PNG, JPEG, WebP, ...), relative to the storyboard.",
                type="string", minLength=1, maxLength=4096, pattern=NO_NUL,
            ),
            "prompt": prop(
                "Prompt",
                "Text for a text-to-image model (needs a diffusion pipeline as `model`).",
                type="string", minLength=1, maxLength=10000,
            ),
            "negative_prompt": prop(
                "Negative prompt",
                "What the text-to-image model should avoid (pipeline models).",
                type="string", maxLength=10000,
            ),
            "seed": prop(
                "Seed",
                "Seed of the keyframe's starting noise (pipeline models). Default: derived from the prompt "
                "text (0 for image keyframes).",
                type="integer", minimum=0, maximum=2**32 - 1,
            ),
            "fit": fit,
            "background": background_prop(),
            "lora": lora_prop(),
            "control": control_prop(),
            **generation_props(),
        },
    }
    segment = {
        "title": "Segment",
        "description": "A transition between two keyframes (the same one twice is a hold).",
        "type": "object",
        "additionalProperties": False,
        "required": ["from", "to"],
        "allOf": one_length(LENGTH_FIELDS),
        "properties": {
            "from": prop("From", "Name of the start keyframe.", type="string", minLength=1),
            "to": prop("To", "Name of the end keyframe.", type="string", minLength=1),
            **timing_props(),
            **timeline_props(),
            **generation_props(),
        },
    }
    loop_settings = {
        "title": "Loop segment",
        "description": "Timing of the closing segment from the last keyframe back to the first.",
        "type": "object",
        "additionalProperties": False,
        "allOf": one_length(LENGTH_FIELDS),
        "properties": {**timing_props(), **timeline_props(), **generation_props()},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "seqc storyboard",
        "description": "Keyframes and the segments between them, compiled by seqc into a video.",
        "type": "object",
        "additionalProperties": False,
        "required": ["version", "keyframes", "segments"],
        "properties": {
            "version": prop("Version", "Storyboard format version.", const=1),
            "output": {
                "title": "Output",
                "description": "Where the video goes and its size and frame rate.",
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "path": prop(
                        "Path",
                        "Output file (.mp4, .mov, .mkv, or .gif / .webm re-encoded), relative to the storyboard. "
                        "Default: out/<storyboard name>.mp4.",
                        type="string", minLength=1, maxLength=4096, pattern=output_path_pattern(),
                    ),
                    "size": prop(
                        "Size",
                        "[width, height] in pixels; multiples of 8, at most 4096. Default [256, 256].",
                        type="array", minItems=2, maxItems=2,
                        items={"type": "integer", "minimum": 8, "maximum": 4096, "multipleOf": 8},
                    ),
                    "fps": prop(
                        "Frame rate",
                        "Frames per second, in (0, 240]. Default 24.",
                        type="number", exclusiveMinimum=0, maximum=240,
                    ),
                    "codec": prop(
                        "Codec",
                        "How the clips are encoded: `h264` (the default; 8-bit 4:2:0, plays anywhere), or a "
                        "mezzanine codec for an edit, 10-bit and intra-only, in a .mov or .mkv: `prores` "
                        "(ProRes 422 HQ), `prores4444` (ProRes 4444, with alpha where a keyframe image is "
                        "transparent), `dnxhr` (DNxHR HQX, frames at least 256x120), `ffv1` (lossless). "
                        "Default path: out/<storyboard name>.mov for those.",
                        enum=list(CODECS),
                    ),
                },
                "allOf": codec_rules(),
            },
            "audio": audio_schema(),
            "model": prop(
                "Model",
                "`builtin` (the default; a tiny autoencoder), `builtin-emoji` (a tiny text-to-image model that "
                "draws the emoji prompts `seqc prompts` lists), a local diffusers folder relative to the "
                "storyboard (./vae), a Hugging Face hub id already in the local cache, or a single-file "
                "checkpoint: `model.safetensors` (Stable Diffusion 1.x, 2.x or XL in the original layout; seqc "
                "ships their configs), or `{file: model.safetensors, family: sd2-base}` to pick the configs, or "
                "`{file: model.safetensors, config: ./folder}` for another architecture (the folder, in "
                "diffusers' layout, gives the configs and tokenizer).",
                examples=["builtin", "builtin-emoji"],
                anyOf=[
                    {"type": "string", "minLength": 1, "maxLength": 4096, "pattern": NO_NUL},
                    {"title": "Checkpoint file and configs", "description": "A single-file checkpoint, and "
                     "which configs load it.",
                     "type": "object", "additionalProperties": False, "required": ["file"],
                     "if": {"required": ["config"]}, "then": {"properties": {"family": forbid(
                         "give `config` or `family`, not both",
                         "family picks the configs seqc ships; config is a folder of your own")}},
                     "properties": {
                        "file": prop("Checkpoint file", "A Stable Diffusion checkpoint in one .safetensors file, "
                                     "original (LDM) layout, relative to the storyboard.",
                                     type="string", minLength=1, maxLength=4096, pattern=NO_NUL),
                        "config": prop("Config folder", "A diffusers-layout pipeline folder of the same "
                                       "architecture (model_index.json, the component configs, the tokenizer; "
                                       "no weights needed), relative to the storyboard.",
                                       type="string", minLength=1, maxLength=4096, pattern=NO_NUL),
                        "family": prop("Configs to use", "Which of the configs seqc ships load the file. "
                                       "Default: the family its tensors show; an SD 2.x file gets `sd2` (768 px, "
                                       "v-prediction, as 2.0-v and 2.1); `sd2-base` is 512 px, epsilon.",
                                       enum=list(FAMILY_CONFIGS)),
                    }},
                ],
            ),
            "vae": prop(
                "VAE",
                "Replaces the model's VAE (diffusion pipelines): a .safetensors file, in the original or "
                "diffusers layout (such as the fp16-fixed SDXL VAE), or a diffusers VAE folder, relative to "
                "the storyboard.",
                examples=["./sdxl_vae.safetensors"],
                type="string", minLength=1, maxLength=4096, pattern=NO_NUL,
            ),
            "controlnet": prop(
                "ControlNet",
                "A ControlNet for the model (diffusion pipelines): a .safetensors file, in the original or "
                "diffusers layout, or a diffusers ControlNet folder, relative to the storyboard. Keyframes say "
                "what it follows with `control:` (in `defaults` for all).",
                examples=["./control_v11p_sd15_canny.safetensors"],
                type="string", minLength=1, maxLength=4096, pattern=NO_NUL,
            ),
            "embeddings": prop(
                "Embeddings",
                "Textual-inversion embeddings for the model's prompts (diffusion pipelines): .safetensors files "
                "(A1111 or diffusers format; SDXL's with clip_l and clip_g), relative to the storyboard. A "
                "prompt uses one by its token: the file's name without `.safetensors`, or the `token` given.",
                examples=[["embeddings/easynegative.safetensors"]],
                type="array", maxItems=64, items={"anyOf": [
                    {"type": "string", "minLength": 1, "maxLength": 4096, "pattern": NO_NUL},
                    {"title": "Embedding and token", "description": "An embedding file and the word that calls it.",
                     "type": "object", "additionalProperties": False, "required": ["path"], "properties": {
                         "path": prop("Embedding file", "A .safetensors embedding, relative to the storyboard.",
                                      type="string", minLength=1, maxLength=4096, pattern=NO_NUL),
                         "token": prop("Token", "The word prompts use for it (no spaces).", type="string",
                                       minLength=1, maxLength=200, pattern=r"^\S+$"),
                     }},
                ]},
            ),
            "defaults": {
                "title": "Defaults",
                "description": "Values every segment and keyframe uses unless it sets its own.",
                "type": "object",
                "additionalProperties": False,
                "allOf": one_length(("duration", "frames", "beats")),
                "properties": {
                    **timing_props(), **generation_props(), "fit": fit, "background": background_prop(),
                    "lora": lora_prop(), "control": control_prop(),
                    "negative_prompt": prop("Negative prompt", "Default negative prompt of prompt keyframes.",
                                            type="string", maxLength=10000),
                },
            },
            "keyframes": {
                "title": "Keyframes",
                "description": "Named keyframes; segments refer to them by name.",
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"pattern": "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$"},
                "additionalProperties": keyframe,
            },
            "segments": {
                "title": "Segments",
                "description": "The timeline, in order: each segment moves from one keyframe to another.",
                "type": "array",
                "minItems": 1,
                "maxItems": 100000,
                "items": segment,
            },
            "loop": {
                "title": "Loop",
                "description": "true: add a closing segment from the last keyframe back to the first (timing from "
                               "`defaults`, or give it here as a mapping) so the video plays as a seamless loop; "
                               "the first frame is not repeated at the end.",
                "anyOf": [{"type": "boolean"}, loop_settings],
            },
        },
        "allOf": storyboard_rules(),  # after `properties`: a value's own problems are reported first
    }


TARGETS = (ROOT / "schemas" / "storyboard.schema.json", ROOT / "seqc" / "spec" / "storyboard.schema.json")


def render() -> str:
    """The schema file's exact text."""
    return json.dumps(build(), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write both copies; with --check, write nothing and exit 1 if either copy is stale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a schema file is not current")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        stale = [t for t in TARGETS if not t.is_file() or t.read_text(encoding="utf-8") != text]
        for target in stale:
            print(f"stale: {target.relative_to(ROOT)} (run python tools/make_schema.py)", file=sys.stderr)
        return 1 if stale else 0
    for target in TARGETS:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
