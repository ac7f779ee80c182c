"""Tests for seqc.spec.yamlload: safe YAML with line:column marks, and what it refuses."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from seqc.spec import yamlload
from seqc.spec.yamlload import (
    MAX_ALIAS_NODES,
    MAX_BYTES,
    MAX_DEPTH,
    YamlProblems,
    format_path,
    load_document,
)


def load(text: str):
    return load_document(textwrap.dedent(text), "s.yaml")


def problems(text: str | bytes) -> list:
    """The problems loading `text` raises (the test fails if it loads)."""
    with pytest.raises(YamlProblems) as info:
        load_document(text if isinstance(text, bytes) else textwrap.dedent(text), "s.yaml")
    return info.value.problems


def only(text: str | bytes):
    found = problems(text)
    assert len(found) == 1, [p.format() for p in found]
    return found[0]


# ---------------------------------------------------------------------------------------------
# Values and marks


def test_values_are_plain_python():
    doc = load("""\
        version: 1
        output: {size: [64, 48], fps: 12.5}
        flags: [true, false, null, yes, no, on, off]
        big: 1_000
        neg: -2.5e+3
        date: 2024-01-02
        1: numeric key
        """)
    assert doc.data == {
        "version": 1,
        "output": {"size": [64, 48], "fps": 12.5},
        "flags": [True, False, None, "yes", "no", "on", "off"],  # YAML 1.1 words stay text
        "big": "1_000",  # text in YAML 1.2, as editors read it
        "neg": -2500.0,
        "date": "2024-01-02",  # no datetime objects
        "1": "numeric key",  # keys are names
    }
    assert type(doc.data["version"]) is int


def test_marks_of_values_and_keys():
    doc = load("""\
        # a comment
        version: 1
        segments:
          - {from: a, to: b}
          - from: b
            easing:   ease-in
        """)
    # values
    assert doc.marks[("version",)] == (2, 10)
    assert doc.marks[("segments",)] == (4, 3)
    assert doc.marks[("segments", 0)] == (4, 5)
    assert doc.marks[("segments", 0, "to")] == (4, 19)
    assert doc.marks[("segments", 1, "from")] == (5, 11)
    assert doc.marks[("segments", 1, "easing")] == (6, 15)
    # keys
    assert doc.key_marks[("segments", 0, "to")] == (4, 15)
    assert doc.key_marks[("segments", 1, "easing")] == (6, 5)
    # where(): the value, the key, and the nearest known parent for a missing path
    assert doc.where(("segments", 1, "easing")) == (6, 15)
    assert doc.where(("segments", 1, "easing"), key=True) == (6, 5)
    assert doc.where(("segments", 1, "method")) == (5, 5)
    assert doc.where(("nowhere", 3)) == doc.marks[()] == (2, 1)


def test_marks_count_characters_not_bytes():
    doc = load("""\
        title: "été"   # two-byte characters before the next value
        x: {a: "ü", b: 7}
        """)
    assert doc.marks[("x", "b")] == (2, 16)


def test_format_path():
    assert format_path(()) == ""
    assert format_path(("segments", 1, "easing")) == "segments[1].easing"
    assert format_path((0, "a", 2, 3)) == "[0].a[2][3]"


def test_anchors_and_aliases_within_bounds_are_fine():
    doc = load("""\
        base: &hold {from: a, to: a, frames: 3}
        segments: [*hold, *hold]
        """)
    assert doc.data["segments"] == [{"from": "a", "to": "a", "frames": 3}] * 2
    assert doc.marks[("segments", 1)] == (2, 19)  # an alias is placed where it is used


def test_bom_and_bytes_input():
    doc = load_document("\ufeffversion: 1\n".encode(), "s.yaml")
    assert doc.data == {"version": 1}


# ---------------------------------------------------------------------------------------------
# Refusals, each with a position


def test_duplicate_keys_are_all_reported():
    found = problems("""\
        version: 1
        output:
          fps: 24
          fps: 25
        version: 1
        """)
    assert [(p.line, p.column, p.path) for p in found] == [(4, 3, "output.fps"), (5, 1, "version")]
    assert "duplicate key 'fps'" in found[0].message
    assert found[0].hint == "first defined at line 3"


@pytest.mark.parametrize("text", [".nan", ".NaN", ".inf", "-.inf", "+.Inf", ".INF"])
def test_non_finite_numbers(text):
    p = only(f"x: {text}\n")
    assert (p.line, p.column, p.path) == (1, 4, "x")
    assert "non-finite" in p.message


def test_float_overflow():
    p = only("x: 1.0e+400\n")
    assert "too large" in p.message


# What YAML 1.2's core schema (yaml.org/spec/1.2.2, 10.3.2) makes of plain scalars: what editors
# (yaml-language-server) and check-jsonschema read, and so what seqc must read. Where YAML 1.1
# (PyYAML's resolver) differs, its reading is in the comment.
YAML_1_2_CORE = [
    ("5e-1", 0.5), ("1e0", 1.0), ("1E3", 1000.0), ("1.0e5", 100000.0), ("-2.5e+3", -2500.0),  # 1.1: text
    ("010", 10), ("007", 7), ("-010", -10),  # 1.1: octal 8, 7, -8
    ("0o17", 15), ("0x1f", 31), ("0x1F", 31),  # 1.1: text, 31, 31
    ("1_000", "1_000"), ("0b101", "0b101"), ("-0x1F", "-0x1F"), ("+0o7", "+0o7"),  # 1.1: 1000, 5, -31, text
    ("1:30", "1:30"), ("1:30.5", "1:30.5"), ("-2:00", "-2:00"), ("1:02:03", "1:02:03"),  # 1.1: base 60
    ("yes", "yes"), ("No", "No"), ("on", "on"), ("OFF", "OFF"), ("y", "y"),  # 1.1: true/false (not y)
    ("2024-01-02", "2024-01-02"), ("=", "="),  # 1.1: a date, a value tag
    ("true", True), ("False", False), ("TRUE", True), ("null", None), ("~", None), ("Null", None),
    ("15", 15), ("+12", 12), ("-0", 0), ("0.5", 0.5), (".5", 0.5), ("1.", 1.0), ("-.5", -0.5),
    ("-.nan", "-.nan"), (".", "."), ("1.5.2", "1.5.2"), ("0x", "0x"), ("e3", "e3"),
]


@pytest.mark.parametrize("text, value", YAML_1_2_CORE)
def test_plain_scalars_read_as_yaml_1_2_core_schema(text, value):
    """Issue 24 item 12: seqc reads what the editor reads (`5e-1` was text to seqc, 0.5 to the editor)."""
    for doc in (load(f"x: {text}\n"), load(f"x: [{text}]\n")):
        got = doc.data["x"] if not isinstance(doc.data["x"], list) else doc.data["x"][0]
        assert got == value and type(got) is type(value), (text, got)
    assert load(f"x: '{text}'\n").data["x"] == text  # quoted: always text


# Where ruamel.yaml (check-jsonschema's reader) goes beyond the core schema, which yaml-language-server
# follows: it also reads 1_000, 0b101, a signed 0x/0o and dates, and has no constructor for `=`.
RUAMEL_EXTRAS = {"1_000", "0b101", "-0x1F", "+0o7", "2024-01-02", "="}


def test_the_yaml_1_2_table_is_what_a_yaml_1_2_library_reads():
    """The table above, checked against ruamel.yaml where it is installed (not a dependency)."""
    ruamel = pytest.importorskip("ruamel.yaml")
    reader = ruamel.YAML(typ="safe", pure=True)
    for text, value in YAML_1_2_CORE:
        if text not in RUAMEL_EXTRAS:
            got = reader.load(f"x: {text}\n")["x"]
            assert got == value and type(got) is type(value), (text, got)


def test_quoted_values_are_marked():
    doc = load("a: '15'\nb: \"x\"\nc: 15\n'd': 1\n")
    assert doc.quoted == {("a",), ("b",)}


def test_a_huge_whole_number_is_refused_not_a_crash():
    p = only("frames: " + "1" * 5000 + "\n")  # Python refuses int() of more than 4300 digits
    assert "has 5000 digits" in p.message and (p.line, p.column) == (1, 9)
    assert load("frames: 0x" + "f" * 20 + "\n").data["frames"] == 16**20 - 1


@pytest.mark.parametrize("text, fragment", [
    ("!!int abc", "'abc' is not a whole number"),
    ("!!float 1_000", "'1_000' is not a number"),
])
def test_explicit_number_tags_on_other_text(text, fragment):
    assert fragment in only(f"x: {text}\n").message


def test_explicit_tags_read_as_their_type():
    assert load("a: !!int 010\nb: !!float 5\nc: !!str 5\n").data == {"a": 10, "b": 5.0, "c": "5"}


@pytest.mark.parametrize("tag", [
    "!!python/object/apply:os.system ['echo pwned']",
    "!!python/name:os.system",
    "!!python/module:os",
    "!!python/tuple [1, 2]",
    "!!python/object:collections.OrderedDict {}",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "!local {a: 1}",
])
def test_tags_are_refused(tag):
    p = only(f"version: 1\nmodel: {tag}\n")
    assert (p.line, p.column, p.path) == (2, 8, "model")
    assert "is not allowed" in p.message and "plain YAML" in p.hint


def test_python_tag_at_top_level_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    p = only(f"!!python/object/apply:os.system ['touch {marker}']\n")
    assert (p.line, p.column) == (1, 1)
    assert not marker.exists()


def test_merge_keys_are_refused():
    p = only("base: &b {fps: 24}\noutput:\n  <<: *b\n")
    assert (p.line, p.column) == (3, 3)
    assert "merge keys" in p.message


def test_keys_must_be_scalars():
    p = only("keyframes:\n  [a, b]: {image: x.png}\n")
    assert (p.line, p.column, p.path) == (2, 3, "keyframes")


@pytest.mark.parametrize("text, where, fragment", [
    ("", (1, 1), "the file is empty"),
    ("# only a comment\n", (1, 1), "the file is empty"),
    ("a: 1\n---\nb: 2\n", (2, 1), "single document"),
    ("a: [1, 2\n", (1, 4), "this '[' is never closed: the end of the file at line 2, column 1"),
    ("a: 1\n\tb: 2\n", (2, 1), "invalid YAML"),
    ("a: {b: 1\nc: 2\n", (1, 4), "this '{' is never closed: ':' at line 2, column 2"),
    ('a: "open\nb: 2\n', (1, 4), "this quoted text is never closed"),
    ("a: *nowhere\n", (1, 4), "undefined alias"),
    ("a: 'x\x00y'\n", (1, 6), "#x0000"),
    ("a: 1\nb: \x1b[31m\n", (2, 4), "#x001b"),
])
def test_syntax_errors_are_one_line_with_a_position(text, where, fragment):
    p = only(text)
    assert (p.line, p.column) == where, p.format()
    assert fragment in p.message
    assert "\n" not in p.format()


def test_not_utf8():
    p = only("version: 1\nname: ça \xe9\n".encode("latin-1"))  # ç and é in Latin-1
    assert (p.line, p.column) == (2, 7)
    assert p.message == "not UTF-8 text: invalid continuation byte (byte 17)"


def test_size_limit_bytes_and_text():
    body = "# " + "x" * MAX_BYTES + "\n"
    assert load_document("a: 1\n" + body[: MAX_BYTES - 10], "s.yaml").data == {"a": 1}
    p = only(("a: 1\n" + body).encode())
    assert "over the 1,000,000-byte limit" in p.message
    # text is measured in UTF-8 bytes, not characters
    p = only("a: 1\n# " + "é" * (MAX_BYTES // 2 + 10) + "\n")
    assert "over the 1,000,000-byte limit" in p.message


def nested(depth: int) -> str:
    return "x: " + "[" * depth + "]" * depth + "\n"


def test_nesting_limit():
    # the top-level mapping is level 1, so x can hold MAX_DEPTH - 1 nested lists
    assert load_document(nested(MAX_DEPTH - 1), "s.yaml").data["x"] is not None
    p = only(nested(MAX_DEPTH))
    assert "nesting deeper than 64 levels" in p.message
    assert (p.line, p.column) == (1, MAX_DEPTH + 3)  # at the first list too deep
    # a flow list nested more than MAX_DEPTH times is refused by the scanner, at its bracket
    p = only("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert (p.line, p.column) == (1, MAX_DEPTH + 1)
    block = "".join("  " * i + "-\n" for i in range(MAX_DEPTH + 1))  # block style too
    p = only(block)
    assert (p.line, p.column) == (MAX_DEPTH + 1, 2 * MAX_DEPTH + 1)


def test_very_deep_nesting_is_refused_fast():
    text = "x: " + "[" * 200_000 + "]" * 200_000 + "\n"  # 400 kB, under the size limit
    start = time.perf_counter()
    p = only(text)
    assert time.perf_counter() - start < 1.0
    assert "nesting deeper than" in p.message
    block = "".join("  " * i + "- \n" for i in range(900))  # block style too (800 kB)
    start = time.perf_counter()
    assert "nesting deeper than" in only(block).message
    assert time.perf_counter() - start < 1.0


def test_alias_to_itself():
    p = only("a: &x [1, *x]\n")
    assert "refers to the value that contains it" in p.message
    assert (p.line, p.column) == (1, 11)


def billion_laughs(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    return "version: 1\n" + "\n".join(lines) + "\n"


def test_alias_expansion_bound():
    p = only(billion_laughs(9))
    assert "aliases expand to more than" in p.message
    assert p.line == 6 and p.path.startswith("a4")  # 9**4 values: the first list past the bound
    # a document just under the bound loads
    assert 9 ** 4 < MAX_ALIAS_NODES < 9 ** 5
    assert load_document(billion_laughs(3), "s.yaml").data["a3"][8][8][8][8] == "lol"


def test_billion_laughs_is_refused_in_under_a_second_and_100_mb():
    """Measured in a fresh process: wall time of the load and the growth of its peak RSS."""
    script = textwrap.dedent("""
        import json, resource, sys, time
        from seqc.spec.yamlload import YamlProblems, load_document
        text = sys.stdin.read()
        load_document("a: 1", "warm-up")
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        try:
            load_document(text, "laughs.yaml")
            refused = ""
        except YamlProblems as exc:
            refused = exc.problems[0].message
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({"refused": refused, "seconds": elapsed, "grew_kb": after - before}))
    """)
    run = subprocess.run([sys.executable, "-c", script], input=billion_laughs(9),
                         capture_output=True, text=True, timeout=60, check=True)
    result = json.loads(run.stdout)
    assert "aliases expand" in result["refused"]
    assert result["seconds"] < 1.0
    assert result["grew_kb"] < 100 * 1024  # ru_maxrss is in KiB on Linux


# ---------------------------------------------------------------------------------------------
# The libyaml fast path reads exactly as the reference loader


def _tree(node):
    """What the builder reads of a node tree: kinds, tags, values and start positions."""
    if node is None:
        return None
    mark = (node.start_mark.line, node.start_mark.column)
    if isinstance(node, yamlload._Alias):
        return ("alias", mark, _tree(node.value))
    if isinstance(node, yaml.ScalarNode):
        return ("scalar", node.tag, node.value, mark)
    if isinstance(node, yaml.SequenceNode):
        return ("seq", node.tag, mark, [_tree(item) for item in node.value])
    return ("map", node.tag, mark, [(_tree(k), _tree(v)) for k, v in node.value])


def _outcome(compose, text):
    try:
        return "ok", _tree(compose(text))
    except Exception as exc:  # noqa: BLE001 - the outcome is compared, whatever it is
        return type(exc).__name__, str(exc)


def _reference(text):
    loader = yamlload._Loader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


@pytest.mark.skipif(yamlload._FastLoader is None, reason="this PyYAML has no libyaml (the fast path is off)")
def test_the_fast_path_reads_every_mutated_storyboard_as_the_reference_loader(monkeypatch):
    repo = Path(__file__).resolve().parents[2]
    sources = sorted(repo.glob("examples/*/storyboard.yaml")) + sorted((repo / "tests" / "data").rglob("*.yaml"))
    base = [p.read_text(encoding="utf-8", errors="replace") for p in sources]
    base.append("a: 'it''s'\nb: \"\\u00e9\\n\"\nc: [1, 2.5, \"3\", yes, null, ~, 0x1f, 1:30, 1_000, .5, -0, 5e-1, 010]\n")
    pieces = ["", ":", "[", "]", "{", "}", '"', "'", "\n", " ", "  ", "- ", "&a ", "*a", "#", "!!python/object ",
              "é", ",", "? ", "|", ">", "%YAML 1.1\n", "---\n", "...\n", "\r\n", "\ufeff", "!x ", "@", "`", "\t",
              "\\", "-", ".", "0", "a", "1:3", "~", "null"]
    fast_used = []
    real = yamlload._FastLoader
    monkeypatch.setattr(yamlload, "_FastLoader", lambda text: fast_used.append(1) or real(text))
    # Where the two are known to differ (both must then give the reference's reading): empty
    # values (libyaml places them a column later), tabs, tags and complex keys in flow context.
    known = ["a:\n", "a: {b: }\n", "o: {fps: ,24}\n", "- \n", "a: [1, 2,]\n", "a:\t1\n", "a: {b: !x 1}\n",
             "a: {? b: 1}\n", "%YAML 1.1\n---\na: 1\n", "a: 1\n...\n"]
    for text in known:
        assert _outcome(yamlload._compose, text) == _outcome(_reference, text), text
    rng = random.Random(20261202)
    for case in range(3000):
        text = rng.choice(base)
        for _ in range(rng.randrange(1, 4)):
            at = rng.randrange(len(text) + 1)
            text = text[:at] + rng.choice(pieces) + text[at + rng.randrange(3):]
        assert _outcome(yamlload._compose, text) == _outcome(_reference, text), (case, text)
    assert len(fast_used) > 1000  # most cases went through libyaml, so the comparison means something
