"""The storyboard JSON Schema (seqc/spec/schema.py): generated, current, valid draft 2020-12, documented,
strict; the problems the schema step reports; and the examples."""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from speckit import one, refuse, storyboard

from seqc.motion.curves import NAMED_EASINGS, EasingError, parse_easing
from seqc.spec import load_text, schema, schema_text

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "schemas" / "storyboard.schema.json"
PACKAGE_COPY = ROOT / "seqc" / "spec" / "storyboard.schema.json"
EXAMPLES = sorted(ROOT.glob("examples/*/storyboard.yaml"))
# The examples of image keyframes on the built-in autoencoder (the default); the others name their model.
IMAGE_EXAMPLES = [p for p in EXAMPLES if "\nmodel:" not in p.read_text()]



def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def subschemas(node: object, path: str = "#"):
    """Every schema object inside the schema, with a JSON-pointer-like path."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            if key in ("properties", "$defs"):
                for name, child in value.items():
                    yield from subschemas(child, f"{path}/{key}/{name}")
            elif key in ("items", "additionalProperties", "propertyNames", "not"):
                yield from subschemas(value, f"{path}/{key}")
            elif key in ("anyOf", "oneOf", "allOf", "prefixItems"):
                for i, child in enumerate(value):
                    yield from subschemas(child, f"{path}/{key}/{i}")


# ---------------------------------------------------------------------------------------------
# Generated and current


def test_both_copies_are_identical_and_current():
    assert SCHEMA_FILE.read_bytes() == PACKAGE_COPY.read_bytes()
    checked = run("tools/make_schema.py", "--check")
    assert checked.returncode == 0, checked.stderr


def load_tool():
    spec = importlib.util.spec_from_file_location("make_schema", ROOT / "tools" / "make_schema.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_make_schema_writes_both_copies_and_check_notices_a_stale_one(tmp_path, monkeypatch, capsys):
    tool = load_tool()
    assert tool.render() == SCHEMA_FILE.read_text(encoding="utf-8")
    targets = (tmp_path / "schemas" / "storyboard.schema.json", tmp_path / "pkg" / "storyboard.schema.json")
    monkeypatch.setattr(tool, "TARGETS", targets)
    monkeypatch.setattr(tool, "ROOT", tmp_path)
    assert tool.main(["--check"]) == 1  # missing copies are stale
    assert tool.main([]) == 0
    assert all(t.read_text(encoding="utf-8") == tool.render() for t in targets)
    assert tool.main(["--check"]) == 0
    targets[1].write_text("{}\n")
    capsys.readouterr()
    assert tool.main(["--check"]) == 1
    assert "stale: pkg/storyboard.schema.json" in capsys.readouterr().err
    assert targets[1].read_text() == "{}\n"  # --check writes nothing


def test_packaged_schema_is_the_file():
    assert schema_text() == SCHEMA_FILE.read_text(encoding="utf-8")
    assert schema() == json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def test_seqc_schema_prints_the_file():
    printed = run("-m", "seqc", "schema")
    assert printed.returncode == 0, printed.stderr
    assert json.loads(printed.stdout) == json.loads(SCHEMA_FILE.read_text())
    assert printed.stdout == SCHEMA_FILE.read_text()


# ---------------------------------------------------------------------------------------------
# Valid, documented, strict


def test_schema_is_valid_draft_2020_12():
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema())


def test_every_property_has_a_title_and_description():
    missing = []
    for path, node in subschemas(schema()):
        for name, prop in node.get("properties", {}).items():
            for word in ("title", "description"):
                if not str(prop.get(word, "")).strip():
                    missing.append(f"{path}/properties/{name}: {word}")
    assert not missing, missing
    assert sum(len(node.get("properties", {})) for _, node in subschemas(schema())) >= 20


def test_objects_refuse_unknown_fields():
    objects = [(path, node) for path, node in subschemas(schema()) if node.get("type") == "object"]
    assert len(objects) >= 5
    for path, node in objects:
        assert node.get("title") and node.get("description"), path
        if "properties" in node:
            assert node.get("additionalProperties") is False, path
        else:  # a map keyed by name (keyframes): names are constrained, values are strict objects
            assert "pattern" in node["propertyNames"], path
            assert node["additionalProperties"]["additionalProperties"] is False, path


def test_easing_names_come_from_the_curves_module():
    easing = schema()["properties"]["defaults"]["properties"]["easing"]
    assert easing["anyOf"][0]["enum"] == list(NAMED_EASINGS)
    validator = jsonschema.Draft202012Validator(easing)
    for good in ["ease-in-out", "cubic-bezier(0.1, 0.7, 1, 0.1)", "steps(4, jump-start)", "steps(3)"]:
        assert validator.is_valid(good), good
    for bad in ["ease-inn", "cubic-bezier(0.1, 0.7)", "steps(x)", ""]:
        assert not validator.is_valid(bad), bad


def test_the_easing_patterns_accept_exactly_what_seqc_parses():
    """steps(0), steps(1, jump-none) and an x outside [0, 1] are refused by the schema as by seqc; a
    number with an exponent is refused by both (a pattern cannot bound it: `cubic-bezier(2e0, ...)`
    passed the editor, issue 24 item 12, and a y of 1e999 is infinite)."""
    validator = jsonschema.Draft202012Validator(schema()["properties"]["defaults"]["properties"]["easing"])
    numbers = ["0", "1", "0.5", "1.0", "1.5", "-0.2", "-0", "+0.3", ".5", "2", "01", "10", "1.0001", "00.3",
               "5e-1", "1e0", "2e0", "1E-9"]
    cases = [f"cubic-bezier({a}, {b}, {c}, {d})" for a, b, c, d in
             itertools.product(numbers, ["0", "-3", "2.5", "2e0"], numbers, ["1", "-0.5", "-1E-1"])]
    cases += [f"steps({n}{pos})" for n in ["0", "1", "2", "10", "01", "00", "007"]
              for pos in ["", ", jump-none", ", jump-start", ", end", ", jump-both", ",jump-end"]]
    for text in cases:
        try:
            parse_easing(text)
            parsed = True
        except EasingError:
            parsed = False
        exponent = text.startswith("cubic") and "e" in text[len("cubic-bezier"):].lower()
        assert validator.is_valid(text) == (parsed and not exponent), text
    y = "9" * 309  # finite as written, yet past a float: seqc's parser refuses it, so must the schema
    assert not validator.is_valid(f"cubic-bezier(0, {y}, 1, 1)") and validator.is_valid("cubic-bezier(0, 99, 1, 1)")


def test_editors_get_titles_examples_and_snippets():
    props = schema()["properties"]["defaults"]["properties"]
    easing = props["easing"]
    assert [branch["title"] for branch in easing["anyOf"]] == [
        "Named easing", "cubic-bezier(x1, y1, x2, y2)", "steps(n, position)"]
    validator = jsonschema.Draft202012Validator(easing)
    assert easing["examples"] and all(validator.is_valid(example) for example in easing["examples"])
    assert {snippet["label"] for snippet in easing["defaultSnippets"]} == {"cubic-bezier", "steps"}
    for snippet in easing["defaultSnippets"]:  # the snippet with its placeholders' defaults filled in
        assert validator.is_valid(re.sub(r"\$\{\d+:([^}]*)\}", r"\1", snippet["body"])), snippet
    for name in ("duration", "frames"):  # completion offers a value that is valid, not 0
        field = jsonschema.Draft202012Validator(props[name])
        assert props[name]["examples"] and all(field.is_valid(v) for v in props[name]["examples"]), name
    keyframe = schema()["properties"]["keyframes"]["additionalProperties"]
    keyframe_validator = jsonschema.Draft202012Validator(keyframe)
    assert not keyframe_validator.is_valid({}) and not keyframe_validator.is_valid({"fit": "cover"})
    assert keyframe_validator.is_valid({"image": "a.png"}) and keyframe_validator.is_valid({"prompt": "x"})


# ---------------------------------------------------------------------------------------------
# What the schema step reports


@pytest.mark.parametrize("text, where, fragment", [
    ("- 1\n", (1, 1), "the top level must be a mapping"),
    ("version: 2\n", (1, 10), "unsupported version 2"),
    ("version: '1'\n", (1, 10), "unsupported version '1'"),
    ("version: true\n", (1, 10), "unsupported version true"),
])
def test_top_level_and_version(story_dir, text, where, fragment):
    errors = refuse(story_dir, text + "model: ./vae\nkeyframes: {a: {image: a.png}}\nsegments: [{from: a, to: a}]\n"
                    if not text.startswith("-") else text)
    assert (errors[0].line, errors[0].column) == where
    assert fragment in errors[0].message


def test_problem_lines_are_single_and_escaped(story_dir):
    p = one(story_dir, storyboard("  - {from: a, to: b}\n").replace(
        "b: {image: b.png}", 'b: {image: b.png}\n  "x\\ny": {image: a.png}'))
    assert re.match(r"keyframe name 'x\\ny' is not allowed", p.message)
    assert "\n" not in p.format() and p.path == "keyframes.x\\ny"


# ---------------------------------------------------------------------------------------------
# The examples


def test_there_are_examples():
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize("story", EXAMPLES, ids=lambda p: p.parent.name)
def test_example_starts_with_the_schema_line(story):
    first = story.read_text().splitlines()[0]
    match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
    assert match, first
    assert (story.parent / match[1]).resolve() == SCHEMA_FILE


@pytest.mark.parametrize("story", IMAGE_EXAMPLES, ids=lambda p: p.parent.name)
def test_example_is_valid_apart_from_the_model(story, tiny_vae):
    """The examples use the built-in model; with any autoencoder they are valid, with no warning."""
    text = story.read_text()
    assert not re.search(r"^model:", text, re.M)
    board = load_text(text.replace("\nversion: 1\n", f"\nversion: 1\nmodel: {tiny_vae}\n"), story)
    assert board.warnings == ()
    assert board.total_frames > 100
    assert all(kf.image is not None and kf.image.is_file() for kf in board.keyframes.values())


def test_the_prompt_examples_use_the_builtin_text_to_image_model():
    prompt_examples = [p for p in EXAMPLES if p not in IMAGE_EXAMPLES]
    assert prompt_examples and len(IMAGE_EXAMPLES) >= 3
    for story in prompt_examples:
        board = load_text(story.read_text(), story)
        assert board.model == "builtin-emoji" and board.warnings == ()
        assert all(kf.prompt and kf.image is None for kf in board.keyframes.values())


def test_examples_validate_with_the_cli():
    checked = run("-m", "seqc", "validate", *[str(p.relative_to(ROOT)) for p in EXAMPLES])
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr == ""
    assert checked.stdout.count(": ok: ") == len(EXAMPLES)


def test_a_plain_json_schema_validator_refuses_every_schema_case_of_the_bad_corpus():
    """What editors and check-jsonschema see: the published schema alone (no seqc code but the YAML 1.2
    reading, which is the editors', tests/spec/test_yamlload.py) refuses every storyboard of the corpus
    that seqc refuses at its schema step, and accepts the examples."""
    from seqc.spec.yamlload import load_document

    repo = Path(__file__).resolve().parents[2]
    published = json.loads((repo / "schemas" / "storyboard.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(published)
    cases = sorted((repo / "tests" / "data" / "bad").glob("schema_*.yaml"))
    assert len(cases) >= 25
    for case in cases:
        document = load_document(case.read_text(), case.name).data
        assert list(validator.iter_errors(document)), f"{case.name} passes the published schema"
    for example in sorted((repo / "examples").glob("*/storyboard.yaml")):
        assert not list(validator.iter_errors(load_document(example.read_text(), example.name).data)), example
