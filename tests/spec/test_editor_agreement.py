"""The editor and seqc agree (issue 24 item 12): a storyboard the published schema accepts, read as
YAML 1.2 reads it (what yaml-language-server and check-jsonschema do), is one seqc accepts, unless
what refuses it is something no schema can know (a file's contents, a name that refers to another
part of the storyboard, arithmetic over several values); and one it refuses, seqc refuses too."""

from __future__ import annotations

import json
import re
import wave
from pathlib import Path

import jsonschema
import pytest
import test_load  # its shim lets hypothesis-jsonschema run on this Hypothesis; its LONG settings
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from speckit import story_folder, without_rules

from seqc.errors import SpecError
from seqc.spec import load_text
from seqc.spec.yamlload import format_path, load_document

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = json.loads((ROOT / "schemas" / "storyboard.schema.json").read_text(encoding="utf-8"))
EDITOR = jsonschema.Draft202012Validator(PUBLISHED)

# What seqc may refuse in a storyboard the schema accepts: arithmetic over several values and the
# timeline, which JSON Schema cannot express. (Names, files and the model are made real below.)
BEYOND_A_SCHEMA = ("less than one frame", "does not move forward", "over the budget", "past seqc's limit",
                   "past the end of the audio")


class _Dumper(yaml.SafeDumper):
    """PyYAML's dumper quotes text that YAML 1.1 would read as another type; this one also quotes
    text that YAML 1.2 would (`5e-1`, `0o17`), so the file means the instance to either reader."""


# YAML 1.2 core schema, yaml.org/spec/1.2.2 section 10.3.2 (written out here, not taken from seqc)
for _tag, _regexp, _first in (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    ("float", r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
     "-+.0123456789"),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
):
    _Dumper.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_regexp), list(_first))


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # PyYAML writes NEL and the Unicode line separators raw in single quotes, and reads them back
    # folded to a space: in double quotes they are escapes (\N, \L, \P).
    style = '"' if any(c in value for c in "\x85\u2028\u2029") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def dump(value: object) -> str:
    return yaml.dump(value, Dumper=_Dumper, allow_unicode=True, sort_keys=False)


def editor_errors(text: str) -> list[jsonschema.ValidationError]:
    """What an editor shows: the published schema on the YAML 1.2 reading (tests/spec/test_yamlload.py
    checks that seqc's loader reads plain scalars exactly as YAML 1.2's core schema)."""
    return list(EDITOR.iter_errors(load_document(text, "s.yaml").data))


def walk(errors) -> list[jsonschema.ValidationError]:
    """Errors and, inside each `anyOf`, its branches' errors (where an editor underlines them)."""
    return [e for error in errors for e in [error, *walk(error.context or [])]]


def seqc_problems(text: str, folder: Path) -> list:
    try:
        load_text(text, folder / "s.yaml")
    except SpecError as exc:
        return [p for p in exc.problems if p.severity == "error"]
    return []


@pytest.fixture(scope="module")
def folder(tmp_path_factory, tiny_vae, keyframe_pngs) -> Path:
    """Keyframe images a.png, b.png, c.png, the tiny model as ./vae and 30 s of silence as track.wav."""
    folder = story_folder(tmp_path_factory.mktemp("agree"), tiny_vae, keyframe_pngs)
    with wave.open(str(folder / "track.wav"), "wb") as track:
        track.setnchannels(1)
        track.setsampwidth(2)
        track.setframerate(8000)
        track.writeframes(b"\0\0" * 8000 * 30)
    return folder


def board(segments: str = "  - {from: a, to: b}\n", *, model: str = "model: ./vae\n", extra: str = "",
          keyframes: str = "  a: {image: a.png}\n  b: {image: b.png}\n") -> str:
    return f"version: 1\n{model}{extra}keyframes:\n{keyframes}segments:\n{segments}"


AUDIO = "audio: {path: track.wav}\n"
TEMPO = "audio: {path: track.wav, bpm: 120}\n"

# (storyboard, where the refusal is, or None for a storyboard both accept): the cases issue 24 found,
# each with its neighbour that is fine.
CASES = [
    (board("  - {from: a, to: b, beats: 4}\n"), "segments[0].beats"),
    (board("  - {from: a, to: b, beats: 4}\n", extra=AUDIO), "segments[0].beats"),
    (board("  - {from: a, to: b, beats: 4}\n", extra=TEMPO), None),
    (board("  - {from: a, to: b, until_beat: 4}\n"), "segments[0].until_beat"),
    (board("  - {from: a, to: b, until_beat: 4}\n", extra=TEMPO), None),
    (board(extra="defaults: {beats: 2}\n"), "defaults.beats"),
    (board(extra="defaults: {beats: 2}\n" + TEMPO), None),
    (board(extra="loop: {until_beat: 9}\n"), "loop.until_beat"),
    (board("  - {from: a, to: b, pacing: audio}\n"), "segments[0].pacing"),
    (board(extra="defaults: {pacing: audio}\n"), "defaults.pacing"),
    (board(extra="loop: {pacing: audio}\n"), "loop.pacing"),
    (board("  - {from: a, to: b, pacing: audio}\n", extra=AUDIO), None),
    (board("  - {from: a, to: b, duration: 1, frames: 3}\n"), "segments[0].frames"),
    (board("  - {from: a, to: b, beats: 1, until: 3}\n", extra=TEMPO), "segments[0].until"),
    (board("  - {from: a, to: b, frames: 2, until_beat: 3}\n", extra=TEMPO), "segments[0].until_beat"),
    (board(extra="defaults: {duration: 1, frames: 3}\n"), "defaults.frames"),
    (board(extra="defaults: {frames: 3, beats: 1}\n" + TEMPO), "defaults.beats"),
    (board(extra="loop: {duration: 1, frames: 3}\n"), "loop.frames"),
    (board(extra="loop: {frames: 3}\n"), None),
    (board(model="", keyframes="  a: {image: a.png, prompt: dawn}\n  b: {image: b.png}\n"), "keyframes.a.prompt"),
    (board(model="model: builtin\n", keyframes="  a: {image: a.png, prompt: x}\n  b: {image: b.png}\n"),
     "keyframes.a.prompt"),
    (board(model="", keyframes="  a: {prompt: dawn}\n  b: {image: b.png}\n"), "keyframes.a.prompt"),
    (board('  - {from: a, to: b, easing: "cubic-bezier(2e0, 0, 1, 1)"}\n'), "segments[0].easing"),
    (board('  - {from: a, to: b, easing: "cubic-bezier(5e-1, 0, 1, 1)"}\n'), "segments[0].easing"),
    (board('  - {from: a, to: b, easing: "cubic-bezier(0, 0, 1e0, 1)"}\n'), "segments[0].easing"),
    (board('  - {from: a, to: b, easing: "cubic-bezier(0.5, 2e0, 1, 1)"}\n'), "segments[0].easing"),
    (board(f'  - {{from: a, to: b, easing: "cubic-bezier(0.5, 1{"0" * 310}, 1, 1)"}}\n'), "segments[0].easing"),
    (board('  - {from: a, to: b, easing: "cubic-bezier(\\n5e-1, 0, 1, 1)"}\n'), "segments[0].easing"),  # found by the search
    (board('  - {from: a, to: b, easing: "cubic-bezier(0.5, 2, 1, -0.1)"}\n'), None),
    (board(extra="output: {path: out/v.avi}\n"), "output.path"),
    (board(extra="output: {path: out/v}\n"), "output.path"),
    (board(extra="output: {path: out/.mp4}\n"), "output.path"),
    (board(extra='output: {path: "out/v\\0.mp4"}\n'), "output.path"),
    (board(extra="output: {path: out/V.MP4}\n"), None),
    (board(extra="output: {path: out/..gif}\n"), None),
    (board(keyframes='  a: {image: "a\\0.png"}\n  b: {image: b.png}\n'), "keyframes.a.image"),
    # YAML 1.2 readings: numbers the editor sees are numbers to seqc, text is text to both
    (board("  - {from: a, to: b, duration: 5e-1}\n"), None),
    (board("  - {from: a, to: b, duration: 1e0, easing: linear}\n"), None),
    (board("  - {from: a, to: b, frames: 010}\n"), None),
    (board("  - {from: a, to: b, frames: 0x10}\n"), None),
    (board("  - {from: a, to: b, frames: 1_000}\n"), "segments[0].frames"),
    (board("  - {from: a, to: b, duration: 1:30}\n"), "segments[0].duration"),
    (board("  - {from: a, to: b, until: 0:01.5}\n"), None),
    (board(extra="loop: yes\n"), "loop"),
    (board(extra="output: {fps: '15'}\n"), "output.fps"),
]


@pytest.mark.parametrize("text, where", CASES, ids=range(len(CASES)))
def test_the_schema_refuses_exactly_what_seqc_refuses(folder, text, where):
    shown = [format_path(e.absolute_path) for e in walk(editor_errors(text))]
    refused = seqc_problems(text, folder)
    if where is None:
        assert shown == [] and refused == [], (shown, [p.format() for p in refused])
        return
    assert where in shown, shown
    assert where in [p.path for p in refused], [p.format() for p in refused]
    for problem in refused:  # seqc's style: one line, a sentence of its own, not jsonschema's
        assert "\n" not in problem.format() and "should not be valid" not in problem.message
        assert "is not valid under any of the given schemas" not in problem.message, problem.format()


def repair(instance: dict, draw) -> dict:
    """A schema instance with what no schema can check made real: images that exist, segments that
    name keyframes, a model that is there (./vae, so prompts go; no `vae:`, `controlnet:` or `embeddings:`;
    no `method: morph`), a soundtrack file, and an output
    path inside the folder. Everything else (lengths, beats, pacing, easings, loop) stays as drawn."""
    instance = json.loads(json.dumps(instance))
    instance["model"] = "./vae"
    for part in ("vae", "controlnet", "embeddings"):  # a pipeline model and its parts' files: only files can say
        instance.pop(part, None)
    names = list(instance["keyframes"])
    for keyframe in instance["keyframes"].values():
        keyframe.pop("prompt", None)
        keyframe["image"] = draw(st.sampled_from(["a.png", "b.png", "c.png"]))
    for segment in instance["segments"]:
        segment["from"], segment["to"] = draw(st.sampled_from(names)), draw(st.sampled_from(names))
    for timing in [instance.get("defaults", {}), instance.get("loop"), *instance["segments"]]:
        if isinstance(timing, dict) and timing.get("method") == "morph":  # only a text-to-image model morphs:
            timing["method"] = "slerp"  # ./vae is an autoencoder, which only its files can say
    if isinstance(instance.get("audio"), dict):
        instance["audio"]["path"] = "track.wav"
    output = instance.get("output", {})
    if "path" in output:
        output["path"] = "out/" + output["path"].lstrip("/~")
    return instance


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(instance=from_schema(without_rules(PUBLISHED)), data=st.data())
def test_search_for_a_storyboard_the_editor_and_seqc_disagree_on(folder, instance, data):
    """Instances of the schema without its rules between fields (drawing with them is 30 s an
    instance), made real where only files can say; then: the editor, on the YAML 1.2 reading of the
    file, and seqc agree, up to arithmetic (`BEYOND_A_SCHEMA`). `pytest -m fuzz` runs many more."""
    check_agreement(folder, instance, data.draw)


@pytest.mark.fuzz
@test_load.LONG
@given(instance=from_schema(without_rules(PUBLISHED)), data=st.data())
def test_fuzz_search_for_disagreement(folder, instance, data):
    check_agreement(folder, instance, data.draw)


def check_agreement(folder: Path, instance: dict, draw) -> None:
    repaired = repair(instance, draw)
    text = dump(repaired)
    assert load_document(text, "s.yaml").data == repaired  # the file says what the editor checks
    shown = editor_errors(text)
    refused = seqc_problems(text, folder)
    if shown:
        assert refused, f"the editor refuses, seqc accepts:\n{text}"
    else:
        beyond = [p for p in refused if not any(reason in p.message for reason in BEYOND_A_SCHEMA)]
        assert not beyond, f"the editor accepts, seqc refuses:\n{text}\n" + "\n".join(p.format() for p in beyond)


def test_a_dumped_instance_reads_back_as_itself():
    """The search above writes files with `dump`: each reads back, as YAML 1.2, as what was dumped."""
    values = {"a": ["5e-1", "010", "0o17", "yes", "1:30", "1_000", "~", "", "null", "0x1f", "true", "a\x85b\u2028"],
              "b": [0.5, 10, 1e-300, -0.0, True, None, 2**40], "5e-1": "x", "010": 1}
    assert load_document(dump(values), "s.yaml").data == values
