"""Loading a storyboard (seqc/spec/__init__.py): `read_storyboard_bytes`, the three steps of
`load_storyboard` / `load_text` reporting every problem in order, no torch, and property tests
that loading never fails with anything but SpecError (the long run: `-m fuzz`)."""

from __future__ import annotations

import copy
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from speckit import GOOD, load, story_folder, storyboard, without_rules, write

from seqc.errors import Problem, SpecError
from seqc.motion.curves import NAMED_EASINGS, parse_easing
from seqc.spec import Storyboard, load_storyboard, load_text, read_storyboard_bytes, schema
from seqc.spec.checks import MAX_TOTAL_FRAMES, MAX_TOTAL_PIXELS
from seqc.spec.yamlload import MAX_BYTES

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(ROOT.glob("examples/*/storyboard.yaml"))


# ---------------------------------------------------------------------------------------------
# Reading the file


def test_read_storyboard_bytes_returns_the_bytes(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes(b"version: 1\n\xff")
    assert read_storyboard_bytes(path, "shown.yaml") == b"version: 1\n\xff"


def refusal(path: Path) -> Problem:
    with pytest.raises(SpecError) as info:
        read_storyboard_bytes(path, "shown.yaml")
    (problem,) = info.value.problems
    assert (problem.file, problem.line, problem.column, problem.path) == ("shown.yaml", 1, 1, "")
    return problem


def test_read_storyboard_bytes_refuses_what_is_not_a_small_regular_file(tmp_path):
    assert refusal(tmp_path / "missing.yaml").message == "file not found"
    (tmp_path / "folder.yaml").mkdir()
    assert refusal(tmp_path / "folder.yaml").message == "not a regular file"
    os.mkfifo(tmp_path / "fifo.yaml")
    assert refusal(tmp_path / "fifo.yaml").message == "not a regular file"  # never opened: no hang
    big = tmp_path / "big.yaml"
    with open(big, "wb") as fh:
        fh.truncate(MAX_BYTES + 1)  # sparse: nothing is written
    problem = refusal(big)
    assert problem.message == f"file is {MAX_BYTES + 1:,} bytes, over the {MAX_BYTES:,}-byte limit"
    assert problem.hint == "a storyboard is a small text file"
    with open(big, "r+b") as fh:
        fh.truncate(MAX_BYTES)  # at the limit: read
    assert len(read_storyboard_bytes(big, "shown.yaml")) == MAX_BYTES


def test_load_storyboard_names_the_file_as_given(story_dir, monkeypatch):
    monkeypatch.chdir(story_dir)
    with pytest.raises(SpecError) as info:
        load_storyboard("missing.yaml")
    assert [p.format() for p in info.value.problems] == ["missing.yaml:1:1: file not found"]
    write(story_dir, storyboard("  - {from: a, to: b}\n"))
    board = load_storyboard("s.yaml")
    assert board.path == story_dir / "s.yaml" and board.path.is_absolute()


# ---------------------------------------------------------------------------------------------
# Every problem, in order


def test_every_problem_is_reported_sorted_by_position(story_dir):
    with pytest.raises(SpecError) as info:
        load(story_dir, """\
            version: 1
            model: ./vae
            keyframes:
              a: {image: missing.png}
              b: {image: b.png}
            segments:
              - {from: a, to: c, easing: ease-inn}
              - {from: b, to: b, duration: .nan}
              - {from: b, to: b, method: slurp}
            """)
    found = [(p.line, p.column, p.path) for p in info.value.problems]
    assert found == [
        (4, 14, "keyframes.a.image"),
        (7, 19, "segments[0].to"),
        (7, 30, "segments[0].easing"),
        (8, 32, "segments[1].duration"),
        (9, 30, "segments[2].method"),
    ]
    assert str(info.value).splitlines()[2].endswith(
        "segments[0].easing: unknown easing 'ease-inn' (did you mean 'ease-in'?)")


# ---------------------------------------------------------------------------------------------
# Imports


def test_spec_curves_interp_do_not_import_torch(story_dir):
    (story_dir / "s.yaml").write_text(GOOD)
    script = textwrap.dedent(f"""
        import sys
        import seqc.spec, seqc.motion.curves, seqc.motion.interp
        board = seqc.spec.load_storyboard({str(story_dir / 's.yaml')!r})
        assert board.total_frames == 72
        heavy = sorted(name for name in sys.modules if name.split(".")[0] in ("torch", "diffusers"))
        print(heavy)
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


# ---------------------------------------------------------------------------------------------
# Property tests: load_text returns a Storyboard or raises SpecError, never anything else


FUZZ = int(os.environ.get("SEQC_FUZZ_EXAMPLES", "10000"))
QUICK = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LONG = settings(max_examples=FUZZ, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory, tiny_vae, keyframe_pngs) -> Path:
    """Like story_dir, but one for the module (hypothesis runs many examples in one test)."""
    return story_folder(tmp_path_factory.mktemp("fuzz"), tiny_vae, keyframe_pngs)


def check_accepted(board: Storyboard) -> None:
    """What every accepted storyboard promises."""
    assert isinstance(board, Storyboard)
    assert board.segments and board.keyframes
    total = board.total_frames
    assert isinstance(total, int) and 1 <= total <= MAX_TOTAL_FRAMES
    width, height = board.output.size
    assert width % 8 == 0 and height % 8 == 0 and 8 <= width <= 4096 and 8 <= height <= 4096
    assert total * width * height <= MAX_TOTAL_PIXELS
    assert 0 < board.output.fps <= 240 and math.isfinite(board.duration)
    # only the last segment may render its end frame (not with `loop: true`: the first frame follows)
    ends = [s.include_end for s in board.segments]
    assert not any(ends[:-1])
    assert total == sum(s.frames for s in board.segments) + ends[-1]
    offset = 0
    for segment in board.segments:
        assert segment.frames >= 1 and segment.first_frame == offset
        assert segment.source in board.keyframes and segment.target in board.keyframes
        assert parse_easing(segment.easing).name == segment.easing
        offset += segment.rendered_frames
    for keyframe in board.keyframes.values():
        assert (keyframe.image is None) != (keyframe.prompt is None)


def attempt(text: str | bytes, where: Path) -> Storyboard | None:
    """load_text: a checked Storyboard, or None for a SpecError with well-formed problems."""
    try:
        board = load_text(text, where)
    except SpecError as exc:
        assert exc.problems
        for p in exc.problems:
            assert p.line >= 1 and p.column >= 1 and p.message
            assert "\n" not in p.format()
        assert [(p.line, p.column) for p in exc.problems if p.file == exc.problems[0].file] == sorted(
            (p.line, p.column) for p in exc.problems if p.file == exc.problems[0].file)
        return None
    check_accepted(board)
    return board


# Python values -> YAML

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=20)


def mostly(good, bad):
    """Usually `good`, one time in eight `bad`: deep structures stay valid often enough to be accepted."""
    return st.sampled_from([good] * 7 + [bad]).flatmap(lambda strategy: strategy)


names = mostly(st.sampled_from(["a", "b", "c"]), st.sampled_from(["d", "A-1", "", "a b", "1"]))
durations = mostly(st.floats(0.05, 20) | st.integers(1, 30),
                   st.floats() | st.integers(-5, 10**7) | st.text(max_size=5) | st.none())
easings = mostly(
    st.sampled_from(NAMED_EASINGS)
    | st.builds("cubic-bezier({}, {}, {}, {})".format, st.floats(0, 1), st.floats(-2, 2),
                st.floats(0, 1), st.floats(-2, 2))
    | st.builds("steps({}, {})".format, st.integers(1, 50), st.sampled_from(["start", "end", "jump-both"])),
    st.text(max_size=12) | st.builds("steps({})".format, st.integers(-2, 10**6))
    | st.builds("cubic-bezier({}, {}, {}, {})".format, *[st.floats()] * 4))


keyframe_values = mostly(
    st.fixed_dictionaries({"image": st.sampled_from(["a.png", "b.png", "c.png"])}, optional={
        "fit": mostly(st.sampled_from(["cover", "contain", "stretch"]), st.text(max_size=8))}),
    st.fixed_dictionaries({}, optional={
        "image": st.sampled_from(["x.png", ".", "vae", "", "a.png"]), "prompt": st.text(max_size=5),
        "seed": st.integers(-1, 2**64), "fit": st.text(max_size=8)}))


output_values = st.fixed_dictionaries({}, optional={
    "size": mostly(st.lists(st.sampled_from([8, 64, 256, 4096]), min_size=2, max_size=2),
                   st.lists(st.integers(-8, 9000), max_size=3)),
    "fps": mostly(st.sampled_from([1, 12, 24, 29.97, 240]), durations),
    "path": mostly(st.sampled_from(["out/v.mp4", "v.mkv"]), st.sampled_from(["v.gif", "", "out/", "s.yaml"]))})


defaults_values = st.fixed_dictionaries({}, optional={
    "duration": durations, "frames": mostly(st.integers(1, 100), st.integers(-1, 10**7)),
    "easing": easings, "fit": st.sampled_from(["cover", "crop"])})


@st.composite
def storyboard_values(draw):
    """Storyboard-shaped values: mostly valid, with segments mostly naming existing keyframes."""
    keyframes = draw(st.dictionaries(names, keyframe_values, min_size=1, max_size=4))
    known = st.sampled_from(sorted(keyframes))
    segment = st.fixed_dictionaries({"from": mostly(known, names), "to": mostly(known, names)}, optional={
        "duration": durations,
        "frames": mostly(st.integers(1, 100), st.integers(-1, 2_000_000) | st.floats()),
        "easing": easings,
        "method": mostly(st.sampled_from(["lerp", "slerp", "crossfade", "cut"]), st.just("morph") | st.integers()),
    })
    value = {
        "version": draw(mostly(st.just(1), st.sampled_from([2, "1", 1.0, True, None]))),
        "model": draw(mostly(st.just("./vae"), st.sampled_from(["./nope", "builtin", "", "a/b"]))),
        "keyframes": keyframes,
        "segments": draw(st.lists(segment, min_size=1, max_size=5)),
    }
    for key, strategy in (("output", output_values), ("defaults", defaults_values)):
        if draw(st.booleans()):
            value[key] = draw(strategy)
    if draw(mostly(st.just(False), st.just(True))):
        value[draw(st.sampled_from(["extra", "version", "segments"]))] = draw(values)
    return value


def dump(value: object) -> str:
    return yaml.safe_dump(value, allow_unicode=True, sort_keys=False)


@QUICK
@given(values)
def test_any_yaml_value(fuzz_dir, value):
    attempt(dump(value), fuzz_dir / "s.yaml")


def accepted_outcomes(strategy, load, examples: int) -> list[bool]:
    """Run `load` on `examples` values of `strategy`; return which were accepted.

    For properties whose strategies aim at valid storyboards, so a test can also check that
    some really are accepted (else "every accepted storyboard ..." would hold vacuously).
    """
    outcomes: list[bool] = []

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def check(value):
        outcomes.append(load(value) is not None)

    check()
    return outcomes


def test_storyboard_shaped_values(fuzz_dir):
    accepted = accepted_outcomes(storyboard_values(), lambda v: attempt(dump(v), fuzz_dir / "s.yaml"), 200)
    assert sum(accepted) >= len(accepted) // 20, f"{sum(accepted)} of {len(accepted)} accepted"


@QUICK
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_any_text(fuzz_dir, text):
    attempt(text, fuzz_dir / "s.yaml")


# Mutated examples


def example_texts(model: Path) -> list[tuple[str, Path]]:
    """Every example, on `model` unless it names its own (builtin-emoji's examples keep theirs)."""
    texts = [p.read_text() for p in EXAMPLES]
    return [(t if "\nmodel:" in t else t.replace("\nversion: 1\n", f"\nversion: 1\nmodel: {model}\n"), p)
            for t, p in zip(texts, EXAMPLES, strict=True)]


@st.composite
def mutated(draw, sources):
    text, path = draw(st.sampled_from(sources))
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "char", "insert"]))
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            line = lines[i]
            at = draw(st.integers(0, len(line)))
            char = draw(st.sampled_from(list(":-{}[],'\"#&*!|>%@` \t\n0123456789.xe")) | st.characters())
            lines[i] = line[:at] + char + line[at + (1 if kind == "char" else 0):]
    return "".join(lines), path


def test_examples_load_unmutated(tiny_vae):
    for text, path in example_texts(tiny_vae):
        assert attempt(text, path) is not None


def test_mutated_examples(tiny_vae):
    accepted = accepted_outcomes(mutated(example_texts(tiny_vae)), lambda v: attempt(*v), 200)
    assert sum(accepted) >= len(accepted) // 20, f"{sum(accepted)} of {len(accepted)} accepted"


# Instances of the schema


SCHEMA = without_rules(schema())  # instances may break a rule between fields: seqc refuses them
_END = object()


def _compat_many_more() -> None:
    """Let hypothesis-jsonschema 0.23.1 (the latest release) run on current Hypothesis.

    It draws objects with `while elements.more(): ...` on Hypothesis' internal `many`, which
    newer Hypothesis replaced by `with many(...) as elements: for _ in elements: ...`, so every
    object schema fails with "'many' object has no attribute 'more'". This gives `many` the old
    method, written with the new protocol; it does nothing once either side is fixed.
    """
    from hypothesis.internal.conjecture import utils as cu

    if hasattr(cu.many, "more"):
        return

    def more(self) -> bool:
        if getattr(self, "_compat_iterator", None) is None:
            self.__enter__()
            self._compat_iterator = iter(self)
        if next(self._compat_iterator, _END) is _END:
            self.__exit__(None)
            return False
        return True

    cu.many.more = more


_compat_many_more()


def repair(instance: dict, draw) -> dict:
    """A copy of a schema instance made to name real files and keyframes and to stay within the
    budgets, keeping everything else it drew (sizes, fps, fits, methods, easings that parse)."""
    instance = copy.deepcopy(instance)
    instance["model"] = "./vae"
    for part in ("vae", "controlnet", "embeddings"):  # a pipeline's parts: ./vae is an autoencoder
        instance.pop(part, None)
    names = list(instance["keyframes"])
    for kf in instance["keyframes"].values():
        kf.pop("prompt", None)
        kf["image"] = draw(st.sampled_from(["a.png", "b.png", "c.png"]))
    instance["segments"] = instance["segments"][:6]
    instance.pop("audio", None)  # no soundtrack file here (tests/audio cover them): nor its units
    defaults = instance.get("defaults", {})
    loop = instance.get("loop") if isinstance(instance.get("loop"), dict) else {}
    for timing in [defaults, *instance["segments"], loop]:
        for name in ("beats", "until", "until_beat"):
            timing.pop(name, None)
        if timing.get("pacing") == "audio":
            del timing["pacing"]
        if timing.get("method") == "morph":  # a text-to-image model's method: ./vae is an autoencoder
            timing["method"] = "slerp"
        if "from" in timing:
            timing["from"] = draw(st.sampled_from(names))
            timing["to"] = draw(st.sampled_from(names))
        if "duration" in timing:
            timing.pop("frames", None)
            timing["duration"] = min(max(timing["duration"], 0.5), 3)
        if "frames" in timing:
            timing["frames"] = min(timing["frames"], 300)
        try:
            parse_easing(timing.get("easing", "linear"))
        except ValueError:
            del timing["easing"]
    output = instance.get("output", {})
    output.pop("path", None)
    if "fps" in output:
        output["fps"] = max(output["fps"], 2)  # so 0.5 s is at least one frame
    return instance


def check_schema_instance(instance: dict, draw, folder: Path) -> Storyboard | None:
    """A schema instance as it is (anything may happen), then repaired (often accepted)."""
    attempt(dump(instance), folder / "s.yaml")
    return attempt(dump(repair(instance, draw)), folder / "s.yaml")


def test_schema_instances(fuzz_dir):
    # from_schema draws only a few instances a second from this schema (the easing anyOf and the
    # keyframe-name pattern are costly), so the quick run is smaller; `-m fuzz` runs many more.
    accepted = accepted_outcomes(st.tuples(from_schema(SCHEMA), st.data()),
                                 lambda v: check_schema_instance(v[0], v[1].draw, fuzz_dir), 25)
    assert sum(accepted) >= len(accepted) // 2, f"{sum(accepted)} of {len(accepted)} accepted"


# The long, opt-in run: pytest -m fuzz (SEQC_FUZZ_EXAMPLES examples per test, default 10000)


@pytest.mark.fuzz
@LONG
@given(st.one_of(values, storyboard_values()))
def test_fuzz_yaml_values(fuzz_dir, value):
    attempt(dump(value), fuzz_dir / "s.yaml")


@pytest.mark.fuzz
@LONG
@given(data=st.data())
def test_fuzz_mutated_examples(tiny_vae, data):
    text, path = data.draw(mutated(example_texts(tiny_vae)))
    attempt(text, path)


@pytest.mark.fuzz
@LONG
@given(from_schema(SCHEMA), st.data())
def test_fuzz_schema_instances(fuzz_dir, instance, data):
    check_schema_instance(instance, data.draw, fuzz_dir)
