"""The storyboard JSON Schema: load the packaged copy, validate, and word errors for people.

jsonschema's own messages name Python values ("'ease-inn' is not valid under any of the given
schemas"); users get "unknown easing 'ease-inn' (did you mean 'ease-in'?)" at the right line.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
from importlib import resources

import jsonschema

from seqc.errors import Problem
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


def _problems_for(error: jsonschema.ValidationError, doc: Document) -> list[Problem]:
    """One or more Problems for one schema error, placed at the offending key or value."""
    path = tuple(error.absolute_path)
    kind = error.validator
    value = error.instance
    name = _field(path)

    def at(p: tuple, message: str, hint: str = "", key: bool = False) -> Problem:
        line, col = doc.where(p, key=key)
        return Problem(doc.file, line, col, format_path(p), message, hint)

    if kind == "additionalProperties" and isinstance(value, dict):
        allowed = list(error.schema.get("properties", {}))
        extra = [k for k in value if k not in allowed]
        return [at(path + (k,), f"unknown field '{k}'",
                   suggest(k, allowed) or f"allowed: {', '.join(allowed)}", key=True) for k in extra]
    if kind == "required":
        missing = error.validator_value
        names = [m for m in missing if isinstance(value, dict) and m not in value]
        return [at(path, f"missing required field '{m}'") for m in names]
    if kind in ("type", "anyOf") and path[-1:] == ("background",) and path[:-1] in (("defaults",), ("keyframes", path[1])):
        from seqc.spec.colours import colour_problem  # imports this module

        return [at(path, *colour_problem(value))]
    if kind == "type":
        wanted = error.validator_value
        wanted = wanted if isinstance(wanted, list) else [wanted]
        wanted_text = " or ".join(_TYPE_NAMES.get(w, w) for w in wanted)
        if not path:
            return [at(path, f"the top level must be {wanted_text}, not {describe(value)}",
                       "a storyboard starts with `version: 1`")]
        return [at(path, f"expected {wanted_text}, got {describe(value)}", _type_hint(value, wanted))]
    if kind == "const" and name == "version":
        shown = json.dumps(value) if isinstance(value, (bool, type(None))) else repr(value)
        return [at(path, f"unsupported version {shown}", "this seqc reads storyboard version 1")]
    if kind == "enum":
        choices = error.validator_value
        return [at(path, f"unknown {name} {value!r}", suggest(value, choices) or f"choose one of: {', '.join(map(str, choices))}")]
    if kind == "anyOf" and name == "easing":
        return [_easing_problem(value, at, path)]
    if kind == "anyOf" and len(path) == 2 and path[0] == "keyframes":
        return [at(path, "a keyframe needs `image` or `prompt`",
                   "e.g. {image: kf/dawn.png}, or {prompt: \"a meadow at dawn\"} with a text-to-image model",
                   key=True)]
    if "propertyNames" in error.relative_schema_path:
        # jsonschema reports a bad key at its mapping, with the key as the instance.
        return [at(path + (value,), f"keyframe name {value!r} is not allowed",
                   "a name is 1 to 64 letters, digits, '_', '.' or '-', and starts with a letter, digit or '_'",
                   key=True)]
    if kind == "multipleOf":
        return [at(path, f"{value} is not a multiple of {error.validator_value}",
                   f"use {round(value / error.validator_value) * error.validator_value or error.validator_value}")]
    if kind in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        words = {"minimum": "at least", "exclusiveMinimum": "more than",
                 "maximum": "at most", "exclusiveMaximum": "less than"}[kind]
        return [at(path, f"{name} must be {words} {error.validator_value}, got {value}")]
    if kind in ("minItems", "maxItems"):
        count = len(value) if isinstance(value, list) else 0
        words = "at least" if kind == "minItems" else "at most"
        return [at(path, f"{name} needs {words} {error.validator_value} item(s), got {count}")]
    if kind == "minProperties":
        return [at(path, f"{name} needs at least {error.validator_value} entry")]
    if kind in ("minLength", "maxLength"):
        return [at(path, f"{name} is {'empty' if kind == 'minLength' else 'too long'}")]
    return [at(path, error.message)]


def _type_hint(value: object, wanted: list) -> str:
    """Hints for YAML 1.1's surprises: `1e3` is text, `yes`/`1`/`true` are not names."""
    if isinstance(value, str) and ("number" in wanted or "integer" in wanted):
        try:
            number = float(value.replace("_", ""))
        except ValueError:
            return ""
        if math.isfinite(number) and not value.strip().lower().lstrip("+-").startswith(("inf", "nan")):
            plain = f"{number:f}".rstrip("0").rstrip(".") if abs(number) < 1e15 else repr(number)
            return f"YAML 1.1 reads {value!r} as text, not a number: write it as {plain}"
        return ""
    if "string" in wanted and isinstance(value, (bool, int, float)):
        return "YAML reads this as a number or true/false: put it in quotes to make it text"
    return ""


def _easing_problem(value: object, at, path: tuple) -> Problem:
    from seqc.motion.curves import NAMED_EASINGS, EasingError, parse_easing

    if isinstance(value, str):
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
        hint = suggest(value, NAMED_EASINGS) or "see `seqc schema` for the names, or use cubic-bezier(x1, y1, x2, y2) / steps(n)"
        return at(path, f"unknown easing '{value}'", hint)
    return at(path, f"expected text, got {describe(value)}")


def schema_problems(doc: Document) -> list[Problem]:
    """Every schema violation in a document, worded for people and placed by line:column."""
    problems: list[Problem] = []
    seen = set()
    for error in _validator().iter_errors(doc.data):
        for problem in _problems_for(error, doc):
            ident = (problem.line, problem.column, problem.path, problem.message)
            if ident not in seen:
                seen.add(ident)
                problems.append(problem)
    return problems
