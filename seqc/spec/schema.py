"""The storyboard JSON Schema: load the packaged copy, validate, and word errors for people.

jsonschema's own messages name Python values ("'ease-inn' is not valid under any of the given
schemas"); users get "unknown easing 'ease-inn' (did you mean 'ease-in'?)" at the right line.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import re
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

import jsonschema

from seqc.errors import Problem
from seqc.spec.yamlcore import is_number_text
from seqc.spec.yamlload import Document, format_path

_TYPE_NAMES = {
    "object": "a mapping (key: value)",
    "array": "a list",
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
}


@functools.cache
def schema_text() -> str:
    """The schema as shipped inside the package (identical to schemas/storyboard.schema.json)."""
    return (resources.files("seqc.spec") / "storyboard.schema.json").read_text(encoding="utf-8")


@functools.cache
def schema() -> dict:
    """The parsed schema."""
    return json.loads(schema_text())


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema())


def suggest(value: object, choices) -> str:
    """A 'did you mean' hint for a mistyped name, or ''."""
    if not isinstance(value, str):
        return ""
    match = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{match[0]}'?" if match else ""


def describe(value: object) -> str:
    """A short, human description of a value for messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, str):
        return f"text '{value[:40]}'" if len(value) <= 40 else f"text '{value[:40]}...'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _field(path: tuple) -> str:
    for part in reversed(path):
        if isinstance(part, str):
            return part
    return "value"


PATH_FIELDS = ("path", "image", "model", "file", "config", "vae", "controlnet", "embeddings")  # a NUL: one line


def _problems_for(error: jsonschema.ValidationError, doc: Document) -> list[Problem]:
    """One or more Problems for one schema error, placed at the offending key or value."""
    path = tuple(error.absolute_path)
    kind = error.validator
    # types-jsonschema allows bool and Unset here; for the errors worded below both are set
    rule: Any = error.schema
    expected: Any = error.validator_value
    value = error.instance
    name = _field(path)

    def at(p: tuple, message: str, hint: str = "", key: bool = False) -> Problem:
        line, col = doc.where(p, key=key)
        return Problem(doc.file, line, col, format_path(p), message, hint)

    if kind == "additionalProperties" and isinstance(value, dict):
        allowed = list(rule.get("properties", {}))
        extra = [k for k in value if k not in allowed]
        return [at(path + (k,), f"unknown field '{k}'",
                   suggest(k, allowed) or f"allowed: {', '.join(allowed)}", key=True) for k in extra]
    if kind == "not" and "errorMessage" in rule:
        # A rule between fields (tools/make_schema.py's `forbid`): the schema says what to say.
        return [at(path, rule["errorMessage"], rule.get("x-hint", ""))]
    codec_rule = _codec_problem(doc, path, kind)
    if codec_rule is not None:  # at the field (a size's two sides: one problem)
        return [at(path[:2], codec_rule)]
    if kind == "pattern" and isinstance(value, str) and name in PATH_FIELDS:
        return [_path_problem(value, path, at)]
    if kind == "anyOf" and name == "until":
        return [_until_problem(value, path, at, path in doc.quoted)]
    if kind == "anyOf" and path == ("model",):  # a name or folder, or {file, config}
        branch = 0 if isinstance(value, str) else 1 if isinstance(value, dict) else None
        if branch is not None:
            return [p for sub in error.context if sub.relative_schema_path[0] == branch for p in _problems_for(sub, doc)]
        return [at(path, f"expected a model name or folder, or a mapping, got {describe(value)}",
                   "model: builtin-emoji, model: ./sd-folder, or model: {file: model.safetensors, config: ./sd-folder}")]
    if kind == "anyOf" and len(path) == 2 and path[0] == "embeddings":  # a file, or {path, token}
        branch = 0 if isinstance(value, str) else 1 if isinstance(value, dict) else None
        if branch is not None:
            return [p for sub in error.context if sub.relative_schema_path[0] == branch for p in _problems_for(sub, doc)]
        return [at(path, f"expected an embedding file or a mapping, got {describe(value)}",
                   "embeddings: [easynegative.safetensors], or [{path: x.safetensors, token: my-style}]")]
    if kind == "anyOf" and path == ("loop",):  # true/false, or the closing segment's settings
        if isinstance(value, dict):
            return [p for sub in error.context if sub.relative_schema_path[0] == 1 for p in _problems_for(sub, doc)]
        return [at(path, f"expected true, false or a mapping, got {describe(value)}",
                   "loop: true, or the closing segment's settings such as {duration: 2}")]
    if kind == "required":
        missing = expected
        names = [m for m in missing if isinstance(value, dict) and m not in value]
        return [at(path, f"missing required field '{m}'") for m in names]
    if kind in ("type", "anyOf") and path[-1:] == ("background",) and path[:-1] in (("defaults",), ("keyframes", path[1])):
        from seqc.spec.colours import colour_problem  # imports this module

        return [at(path, *colour_problem(value))]
    return _value_problems(error, doc, at)


def _value_problems(error: jsonschema.ValidationError, doc: Document, at) -> list[Problem]:
    """`_problems_for` of a value's own rules (type, version, choices, bounds, sizes), in its order;
    `at` places a problem, as there."""
    path = tuple(error.absolute_path)
    kind = error.validator
    expected: Any = error.validator_value
    value = error.instance
    name = _field(path)
    if kind == "type":
        wanted: list[str] = expected if isinstance(expected, list) else [expected]
        wanted_text = " or ".join(_TYPE_NAMES.get(w, w) for w in wanted)
        if not path:
            return [at(path, f"the top level must be {wanted_text}, not {describe(value)}",
                       "a storyboard starts with `version: 1`")]
        return [at(path, f"expected {wanted_text}, got {describe(value)}",
                   _type_hint(value, wanted, name, path in doc.quoted))]
    if kind == "const" and name == "version":
        shown = json.dumps(value) if isinstance(value, (bool, type(None))) else repr(value)
        return [at(path, f"unsupported version {shown}", "this seqc reads storyboard version 1")]
    if kind == "enum":
        choices = expected
        return [at(path, f"unknown {name} {value!r}", suggest(value, choices) or f"choose one of: {', '.join(map(str, choices))}")]
    if kind == "anyOf" and name == "easing":
        return [_easing_problem(value, at, path)]
    if kind == "anyOf" and len(path) == 2 and path[0] == "keyframes":
        if isinstance(value, dict) and "prompt" in value and isinstance(value.get("control"), dict):
            return [at(path + ("control",), "a prompt keyframe's `control` needs an `image`",
                       "a prompt has no picture of its own to trace: control: {image: edges.png}")]
        return [at(path, "a keyframe needs `image` or `prompt`",
                   "e.g. {image: kf/dawn.png}, or {prompt: \"a meadow at dawn\"} with a text-to-image model",
                   key=True)]
    if "propertyNames" in error.relative_schema_path:
        # jsonschema reports a bad key at its mapping, with the key as the instance.
        return [at(path + (value,), f"keyframe name {value!r} is not allowed",
                   "a name is 1 to 64 letters, digits, '_', '.' or '-', and starts with a letter, digit or '_'",
                   key=True)]
    if kind == "multipleOf":
        return [at(path, f"{value} is not a multiple of {expected}",
                   f"use {round(value / expected) * expected or expected}")]
    if kind in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        words = {"minimum": "at least", "exclusiveMinimum": "more than",
                 "maximum": "at most", "exclusiveMaximum": "less than"}[kind]
        return [at(path, f"{name} must be {words} {expected}, got {value}")]
    if kind in ("minItems", "maxItems"):
        count = len(value) if isinstance(value, list) else 0
        words = "at least" if kind == "minItems" else "at most"
        return [at(path, f"{name} needs {words} {expected} item(s), got {count}")]
    if kind == "minProperties":
        return [at(path, f"{name} needs at least {expected} entry")]
    if kind in ("minLength", "maxLength"):
        return [at(path, f"{name} is {'empty' if kind == 'minLength' else 'too long'}")]
    return [at(path, error.message)]


def _type_hint(value: object, wanted: list, name: str = "value", quoted: bool = False) -> str:
    """What makes it the wanted type: `fps: "15"` loses its quotes, `1_000` is written 1000."""
    if isinstance(value, str) and ("number" in wanted or "integer" in wanted):
        if quoted and is_number_text(value.strip()):
            return f"remove the quotes: {name}: {value.strip()}"
        plain = _plain_number(value)
        if plain is None:
            return ""
        return (f"write it as a number, without quotes: {name}: {plain}" if quoted else
                f"YAML reads {value!r} as text, not a number: write it as {plain}")
    if "string" in wanted and isinstance(value, (bool, int, float)):
        return "YAML reads this as a number or true/false: put it in quotes to make it text"
    return ""


_SEXAGESIMAL = re.compile(r"^([-+]?)([0-9]+(?::[0-5]?[0-9])+)(\.[0-9]+)?$")


def _plain_number(text: str) -> str | None:
    """A number in text YAML 1.2 reads as text (`1_000`, `0b101`, `1:30` as seconds), in plain decimal."""
    text = text.strip()
    try:
        return str(int(text, 0))  # underscores, 0b/0o/0x with a sign
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        match = _SEXAGESIMAL.match(text)
        if not match:
            return None
        seconds = 0.0
        for part in match[2].split(":"):
            seconds = seconds * 60 + int(part)
        number = (-1 if match[1] == "-" else 1) * (seconds + float(match[3] or 0))
    if not math.isfinite(number) or text.lower().lstrip("+-").startswith(("inf", "nan")):
        return None
    return f"{number:f}".rstrip("0").rstrip(".") if abs(number) < 1e15 else repr(number)


def _codec_problem(doc: Document, path: tuple, kind: object) -> str | None:
    """What `output.codec` asks of the output's path or size (tools/make_schema.py's codec_rules), in
    the words seqc's own check uses; None for any other error."""
    output = doc.data.get("output") if isinstance(doc.data, dict) else None
    if not isinstance(output, dict) or output.get("codec") in (None, "h264") or path[:1] != ("output",):
        return None
    if not ((kind == "pattern" and path == ("output", "path")) or (kind == "minimum" and path[:2] == ("output", "size"))):
        return None
    from seqc.spec.paths import codec_problem

    text, size = output.get("path", "out/x.mov"), output.get("size", [10**6, 10**6])
    if not isinstance(text, str) or "\x00" in text or not isinstance(size, list) or len(size) != 2 or not all(
            isinstance(side, (int, float)) for side in size):
        return None
    if kind == "pattern":  # the container; the size alone otherwise
        size = [10**6, 10**6]
    else:
        text = "out/x.mov"
    problem = codec_problem(str(output["codec"]), Path(text), (int(size[0]), int(size[1])))
    return None if problem is None else problem[1]


def _path_problem(value: str, path: tuple, at) -> Problem:
    """A path the schema's pattern refused: a NUL character, or an output type seqc does not write."""
    from seqc.media.formats import OUTPUT_FORMATS

    if "\x00" in value:
        return at(path, f"{path[0] if path[-1] == 'path' else path[-1]} path contains a NUL character")
    suffix = PurePosixPath(value).suffix
    return at(path, f"unsupported output type '{suffix or '(none)'}'", f"use one of {', '.join(OUTPUT_FORMATS)}")


_LOOSE_TIME = re.compile(r"^(\d+):(\d+)(?:\.(\d*))?$")
_HOURS = re.compile(r"^(\d+):(\d+):(\d+(?:\.\d*)?)$")


def _until_problem(value: object, path: tuple, at, quoted: bool) -> Problem:
    """`until` refused: say which rule of a time it breaks, and how to write it."""
    usage = 'give seconds (19.5) or "m:ss.s" ("0:19.5")'
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0:
            return at(path, f"until must be at least 0, got {value}", "times on the timeline start at 0")
        return at(path, f"until must be at most 86400 (24 hours), got {value}", "")
    if not isinstance(value, str):
        return at(path, f"until must be a time, got {describe(value)}", usage)
    text, hint = value.strip(), usage
    loose, hours = _LOOSE_TIME.match(text), _HOURS.match(text)
    if is_number_text(text):
        hint = f"remove the quotes: until: {text}" if quoted else usage
    elif hours:
        hint = f"hours are written as minutes: until: \"{int(hours[1]) * 60 + int(hours[2])}:{hours[3]}\""
    elif loose:
        minutes, seconds, fraction = int(loose[1]), int(loose[2]), loose[3]
        if len(loose[1]) > 4:
            hint = "at most 4 digits of minutes (9999:59)"
        elif fraction is not None and not 1 <= len(fraction) <= 6:
            hint = "1 to 6 digits after the decimal point"
        else:
            minutes, seconds = minutes + seconds // 60, seconds % 60
            hint = f'write it as "{minutes}:{seconds:02d}{"." + fraction if fraction else ""}": two digits of seconds, below 60'
    return at(path, f"until {value!r} is not a time", hint)


def _easing_problem(value: object, at, path: tuple) -> Problem:
    from seqc.motion.curves import NAMED_EASINGS, EasingError, parse_easing

    if isinstance(value, str):
        numbers = re.match(r"\s*cubic-bezier\(([^,]*),([^,]*),([^,]*),([^)]*)\)", value)
        try:
            parse_easing(value)
        except EasingError as exc:
            text = value.strip()
            if text.startswith(("cubic-bezier", "steps")):
                hint = ""
                if "(" in text and not text.endswith(")"):
                    example = "cubic-bezier(0.2, 0, 1, 1)" if text.startswith("cubic") else "steps(4, jump-start)"
                    hint = f'commas end a value inside {{ }}: quote it, easing: "{example}"'
                message = str(exc) if value in str(exc) else f"invalid easing '{value}': {exc}"
                return at(path, message, hint)
        else:  # parsed, so the schema refused a number it cannot bound (tools/make_schema.py)
            if numbers and any(re.search(r"[eE]|[0-9]{300}", x) for x in numbers.groups()):
                if any(c in value for c in "eE"):
                    plain = ", ".join(_plain_number(x) or x.strip() for x in numbers.groups())
                    return at(path, f"cubic-bezier takes plain decimals, without an exponent, got '{value[:80]}'",
                              f"write it as cubic-bezier({plain})" if len(plain) < 80 else "")
                return at(path, f"cubic-bezier takes numbers under 300 digits, got '{value[:80]}...'")
        hint = suggest(value, NAMED_EASINGS) or "see `seqc schema` for the names, or use cubic-bezier(x1, y1, x2, y2) / steps(n)"
        return at(path, f"unknown easing '{value}'", hint)
    return at(path, f"expected text, got {describe(value)}")


def schema_problems(doc: Document) -> list[Problem]:
    """Every schema violation in a document, worded for people and placed by line:column."""
    problems: list[Problem] = []
    seen = set()
    for error in _validator().iter_errors(doc.data):
        for problem in _problems_for(error, doc):
            # One rule's refusal per value: `duration`, `frames` and `beats` together refuse `beats` twice.
            ident = (problem.line, problem.column, problem.path,
                     "rule" if error.validator == "not" else problem.message)
            if ident not in seen:
                seen.add(ident)
                problems.append(problem)
    return problems
