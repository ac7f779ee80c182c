"""The storyboard loader: Storyboard fields, defaults, the frame rule, warnings, every semantic
check, image-file safety, and property tests that it never fails with anything but SpecError."""

from __future__ import annotations

import copy
import math
import os
import re
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from seqc.errors import Problem, SpecError
from seqc.models import builtin_path
from seqc.motion.curves import NAMED_EASINGS, parse_easing
from seqc.spec import Storyboard, frames_for, load_storyboard, load_text, schema
from seqc.spec import model as m
from seqc.spec.checks import MAX_TOTAL_FRAMES, MAX_TOTAL_PIXELS
from seqc.spec.images import CHECK_RULES, MAX_IMAGE_PIXELS, check_image

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(ROOT.glob("examples/*/storyboard.yaml"))
HAS_BUILTIN = (builtin_path() / "config.json").is_file()

GOOD = """\
version: 1
output: {path: out/video.mp4, size: [64, 48], fps: 12}
model: ./vae
defaults: {duration: 2, easing: ease-out-cubic, method: lerp, fit: contain}
keyframes:
  a: {image: a.png}
  b: {image: b.png, fit: stretch}
  c: {image: c.png}
segments:
  - {from: a, to: b}
  - {from: b, to: c, duration: 1.5, easing: "cubic-bezier(0.10, .7, 1.0, 0.1)"}
  - {from: c, to: c, frames: 5, method: cut}
  - {from: c, to: a, easing: "steps(4, start)", method: slerp}
"""


def write(folder: Path, text: str, name: str = "s.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def load(folder: Path, text: str) -> Storyboard:
    return load_storyboard(write(folder, text))


def refuse(folder: Path, text: str) -> list[Problem]:
    """The errors (not warnings) loading `text` gives; the test fails if it loads."""
    with pytest.raises(SpecError) as info:
        load(folder, text)
    return [p for p in info.value.problems if p.severity == "error"]


def one(folder: Path, text: str) -> Problem:
    errors = refuse(folder, text)
    assert len(errors) == 1, [p.format() for p in errors]
    return errors[0]


def storyboard(segments: str, *, output: str = "{size: [64, 64], fps: 24}", extra: str = "",
               keyframes: str = "  a: {image: a.png}\n  b: {image: b.png}\n") -> str:
    return (f"version: 1\noutput: {output}\nmodel: ./vae\n{extra}keyframes:\n{keyframes}"
            f"segments:\n{segments}")


# ---------------------------------------------------------------------------------------------
# The Storyboard


def test_fields_and_defaults_resolved(story_dir):
    board = load(story_dir, GOOD)
    assert board.path == story_dir / "s.yaml"
    assert board.base_dir == story_dir
    assert board.version == 1 and type(board.version) is int
    assert board.output == m.Output(story_dir / "out" / "video.mp4", (64, 48), 12.0)
    assert board.model == "./vae"
    assert board.model_ref.kind == "autoencoder" and board.model_ref.source == "folder"
    assert not board.model_ref.can_generate
    assert list(board.keyframes) == ["a", "b", "c"]
    a, b = board.keyframes["a"], board.keyframes["b"]
    assert a.image == story_dir / "a.png" and a.prompt is None and a.seed is None
    assert (a.line, a.column) == (6, 3)  # the keyframe's name
    assert a.fit == "contain" and b.fit == "stretch"  # default, then its own
    s = board.segments
    assert [(x.source, x.target) for x in s] == [("a", "b"), ("b", "c"), ("c", "c"), ("c", "a")]
    assert [x.index for x in s] == [0, 1, 2, 3]
    assert [(x.line, x.column) for x in s] == [(10, 5), (11, 5), (12, 5), (13, 5)]
    assert [x.method for x in s] == ["lerp", "lerp", "cut", "slerp"]
    assert board.warnings == ()


def test_easing_names_are_canonical(story_dir):
    board = load(story_dir, GOOD)
    assert [x.easing for x in board.segments] == [
        "ease-out-cubic", "cubic-bezier(0.1, 0.7, 1, 0.1)", "ease-out-cubic", "steps(4, jump-start)"]
    for segment in board.segments:
        assert parse_easing(segment.easing).name == segment.easing  # a fixed point


def test_built_in_defaults(story_dir):
    board = load(story_dir, """\
        version: 1
        model: ./vae
        keyframes: {a: {image: a.png}, b: {image: b.png}}
        segments: [{from: a, to: b}]
        """)
    assert board.output == m.Output(story_dir / "out" / "s.mp4", m.DEFAULT_SIZE, m.DEFAULT_FPS)
    (segment,) = board.segments
    assert segment.frames == round(m.DEFAULT_DURATION * m.DEFAULT_FPS) == 48
    assert (segment.easing, segment.method) == (m.DEFAULT_EASING, m.DEFAULT_METHOD)
    assert board.keyframes["a"].fit == m.DEFAULT_FIT
    assert board.total_frames == 49


def test_defaults_frames(story_dir):
    board = load(story_dir, storyboard("  - {from: a, to: b}\n  - {from: b, to: a, duration: 0.5}\n",
                                       extra="defaults: {frames: 7}\n"))
    assert [x.frames for x in board.segments] == [7, 12]


def test_seed_is_an_int_and_version_1_0_is_1(story_dir):
    board = load(story_dir, storyboard("  - {from: a, to: b}\n", output="{size: [64, 64]}").replace(
        "version: 1", "version: 1.0").replace("b: {image: b.png}", "b: {image: b.png, seed: 7.0}"))
    assert board.version == 1 and type(board.version) is int
    assert board.keyframes["b"].seed == 7 and type(board.keyframes["b"].seed) is int
    (warning,) = board.warnings
    assert "`seed` has no effect" in warning.message and warning.path == "keyframes.b.seed"


@pytest.mark.skipif(not HAS_BUILTIN, reason="the built-in model's weights are not there yet")
def test_default_model_is_builtin(story_dir):
    board = load(story_dir, "version: 1\nkeyframes: {a: {image: a.png}}\nsegments: [{from: a, to: a}]\n")
    assert board.model == "builtin" and board.model_ref.source == "builtin"


def test_default_model_missing_is_one_clear_problem(story_dir, tmp_path, monkeypatch):
    import seqc.models

    # As a broken install looks: the package without the model's files.
    monkeypatch.setattr(seqc.models, "builtin_path", lambda: tmp_path / "no-builtin")
    p = one(story_dir, "# c\nversion: 1\nkeyframes: {a: {image: a.png}}\nsegments: [{from: a, to: a}]\n")
    assert (p.line, p.column, p.path) == (2, 1, "model")
    assert "built-in model's files are missing" in p.message


# ---------------------------------------------------------------------------------------------
# The frame rule


@pytest.mark.parametrize("duration, fps, frames", [
    (2, 24, 48),
    (1.5, 12, 18),
    (0.0625, 24, 2),  # 1.5 -> 2: halves round up
    (2.5, 3, 8),  # 7.5 -> 8
    (8.7, 25, 218),  # 217.5 -> 218, though 8.7 * 25 == 217.49999999999997 in floats
    (5.1, 25, 128),  # 127.5 -> 128
    (0.58, 25, 15),  # 14.5 -> 15
    (8.2, 7.5, 62),  # 61.5 -> 62
    (1 / 3, 24, 8),
    (0.02, 24, 0),  # 0.48 -> 0: less than a frame (an error in a storyboard)
    (86400, 240, 20_736_000),
])
def test_frames_for(duration, fps, frames):
    assert frames_for(duration, fps) == frames


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10**7), st.integers(0, 4), st.sampled_from([24, 25, 30, 12, 7.5, 23.976, 29.97, 60, 240]))
def test_frames_for_is_round_half_up_of_the_decimal_product(digits, places, fps):
    duration = digits / 10**places  # the float a user gets by writing that decimal
    exact = Fraction(digits, 10**places) * Fraction(str(fps))
    assert frames_for(duration, fps) == math.floor(exact + Fraction(1, 2))


def test_segments_frames_and_offsets(story_dir):
    board = load(story_dir, GOOD)
    frames = [x.frames for x in board.segments]
    assert frames == [24, 18, 5, 24]  # 2 s, 1.5 s at 12 fps; exact 5; default 2 s
    assert [x.first_frame for x in board.segments] == [0, 24, 42, 47]
    assert [x.include_end for x in board.segments] == [False, False, False, True]
    assert [x.rendered_frames for x in board.segments] == [24, 18, 5, 25]
    assert board.total_frames == sum(frames) + 1 == 72
    assert board.duration == pytest.approx(72 / 12)


def test_one_segment_hold(story_dir):
    board = load(story_dir, storyboard("  - {from: a, to: a, frames: 1}\n",
                                       keyframes="  a: {image: a.png}\n"))
    (segment,) = board.segments
    assert (segment.frames, segment.rendered_frames, board.total_frames) == (1, 2, 2)


# ---------------------------------------------------------------------------------------------
# Warnings


def test_gap_and_unused_keyframe_are_warnings(story_dir):
    board = load(story_dir, storyboard(
        "  - {from: a, to: b}\n  - {from: a, to: b}\n",
        keyframes="  a: {image: a.png}\n  b: {image: b.png}\n  c: {image: c.png}\n"))
    assert [(w.severity, w.line, w.column, w.path) for w in board.warnings] == [
        ("warning", 7, 6, "keyframes.c"), ("warning", 10, 12, "segments[1].from")]
    assert "keyframe 'c' is not used" in board.warnings[0].message
    assert "previous segment ended at 'b'" in board.warnings[1].message
    assert "add a segment from 'b' to 'a'" in board.warnings[1].hint
    assert board.warnings[1].format().startswith(f"{story_dir / 's.yaml'}:10:12: warning: segments[1].from: ")


def test_warnings_come_with_errors(story_dir):
    with pytest.raises(SpecError) as info:
        load(story_dir, storyboard("  - {from: a, to: b, frames: 2, duration: 1}\n  - {from: a, to: a}\n"))
    assert [(p.severity, p.line) for p in info.value.problems] == [("error", 8), ("warning", 9)]


# ---------------------------------------------------------------------------------------------
# Semantic errors


def test_names_must_exist_with_suggestions(story_dir):
    errors = refuse(story_dir, storyboard("  - {from: a, to: bb}\n  - {from: zzz, to: a}\n"))
    assert [(p.line, p.column, p.path, p.message, p.hint) for p in errors] == [
        (8, 19, "segments[0].to", "no keyframe named 'bb'", "did you mean 'b'?"),
        (9, 12, "segments[1].from", "no keyframe named 'zzz'", "keyframes: a, b"),
    ]


def test_prompt_keyframe_needs_a_generative_model(story_dir):
    p = one(story_dir, storyboard("  - {from: a, to: n}\n",
                                  keyframes="  a: {image: a.png}\n  n: {prompt: a lake, seed: 3}\n"))
    assert (p.line, p.column, p.path) == (6, 15, "keyframes.n.prompt")
    assert "'./vae' is an autoencoder" in p.message
    assert "Stable Diffusion" in p.hint and "model_index.json" in p.hint


@pytest.mark.parametrize("output, where, fragment", [
    ("{size: [60, 64]}", (2, 17), "60 is not a multiple of 8 (use 64)"),
    ("{size: [64, 4104]}", (2, 21), "size must be at most 4096, got 4104"),
    ("{size: [0, 64]}", (2, 17), "size must be at least 8, got 0"),
    ("{size: [64]}", (2, 16), "size needs at least 2 item(s), got 1"),
    ("{fps: 0}", (2, 15), "fps must be more than 0, got 0"),
    ("{fps: -1}", (2, 15), "fps must be more than 0, got -1"),
    ("{fps: 240.5}", (2, 15), "fps must be at most 240, got 240.5"),
    ("{path: out/x.avi}", (2, 16), "unsupported output type '.avi'"),
    ("{path: out/video}", (2, 16), "unsupported output type '(none)'"),
])
def test_output_checks(story_dir, output, where, fragment):
    p = one(story_dir, storyboard("  - {from: a, to: b}\n", output=output))
    assert (p.line, p.column) == where
    assert fragment in p.message + " (" + p.hint + ")"


def test_output_types_are_the_ones_the_media_package_writes(story_dir):
    from seqc.media.formats import OUTPUT_FORMATS

    assert sorted(OUTPUT_FORMATS) == [".gif", ".mkv", ".mov", ".mp4", ".webm"]
    for suffix in OUTPUT_FORMATS:
        board = load(story_dir, storyboard("  - {from: a, to: b}\n", output=f"{{path: out/v{suffix.upper()}}}"))
        assert board.output.path == story_dir / "out" / f"v{suffix.upper()}"


def test_size_and_fps_limits_inclusive(story_dir):
    board = load(story_dir, storyboard("  - {from: a, to: b, frames: 1}\n", output="{size: [4096, 8], fps: 240}"))
    assert board.output.size == (4096, 8) and board.output.fps == 240


def test_output_may_not_overwrite_a_keyframe_or_the_storyboard(story_dir):
    (story_dir / "a.mp4").write_bytes((story_dir / "a.png").read_bytes())
    p = one(story_dir, storyboard("  - {from: a, to: b}\n", output="{path: a.mp4}").replace("a.png", "a.mp4"))
    assert "overwrite keyframe 'a'" in p.message and p.path == "output.path"
    (story_dir / "t.mp4").write_text(storyboard("  - {from: a, to: b}\n", output="{path: t.mp4}"))
    with pytest.raises(SpecError) as info:
        load_storyboard(story_dir / "t.mp4")
    assert [p.message for p in info.value.problems] == ["the output would overwrite the storyboard itself"]


def test_budget_message_shows_the_figures(story_dir):
    p = one(story_dir, storyboard("  - {from: a, to: b, duration: 60}\n", output="{size: [4096, 4096], fps: 240}"))
    total = 60 * 240 + 1
    assert (p.line, p.column, p.path) == (8, 3, "segments")
    assert f"{total:,} frames x 4096x4096 = {total * 4096 * 4096:,} pixels" in p.message
    assert f"budget of {MAX_TOTAL_PIXELS:,}" in p.message
    p = one(story_dir, storyboard("  - {from: a, to: b, duration: 86400}\n", output="{size: [8, 8], fps: 24}"))
    assert f"{86400 * 24 + 1:,} frames, over the budget of {MAX_TOTAL_FRAMES:,}" in p.message


@pytest.mark.parametrize("segments, extra, where, fragment", [
    ("  - {from: a, to: b, duration: 1, frames: 3}\n", "", (8, 43), "give `duration` or `frames`, not both"),
    ("  - {from: a, to: b}\n", "defaults: {duration: 1, frames: 3}\n", (4, 33), "give `duration` or `frames`"),
    ("  - {from: a, to: b, duration: 0.02}\n", "", (8, 32), "less than one frame"),
    ("  - {from: a, to: b}\n", "defaults: {duration: 0.001}\n", (4, 22), "less than one frame"),
    ("  - {from: a, to: b, easing: 'cubic-bezier(2, 0, 1, 1)'}\n", "", (8, 30), "x1 must be in [0, 1]"),
    ("  - {from: a, to: b, easing: 'steps(1, jump-none)'}\n", "", (8, 30), "needs n >= 2"),
    ("  - {from: a, to: b}\n", "defaults: {easing: 'steps(0)'}\n", (4, 20), "needs n >= 1"),
])
def test_timing_and_easing_checks(story_dir, segments, extra, where, fragment):
    p = one(story_dir, storyboard(segments, extra=extra))
    assert (p.line, p.column) == where, p.format()
    assert fragment in p.message


def test_keyframe_needs_one_of_image_or_prompt(story_dir):
    errors = refuse(story_dir, storyboard("  - {from: a, to: b}\n",
                                          keyframes="  a: {image: a.png, prompt: x}\n  b: {fit: cover}\n"))
    assert [(p.line, p.column, p.message) for p in errors] == [
        (5, 3, "a keyframe has either `image` or `prompt`, not both"),
        (6, 3, "a keyframe needs exactly one of `image` or `prompt`"),
    ]


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


# ---------------------------------------------------------------------------------------------
# Keyframe image files


@pytest.mark.parametrize("name, fragment", [
    ("missing.png", "image file not found"),
    ("fifo.png", "is a FIFO (named pipe), not an image file"),
    ("loop.png", "Too many levels of symbolic links"),
    ("folder.png", "is a directory, not an image file"),
    ("not-an-image.png", "is not an image seqc reads"),
    ("empty.png", "is not an image seqc reads"),
    ("eps.png", "is not an image seqc reads"),
    ("truncated.png", "cannot decode image"),
    ("bomb.png", "over the 64-megapixel limit (its header claims 400 megapixels)"),
    ("bomb-1bit.png", "over the 64-megapixel limit (its header claims 400 megapixels)"),
])
def test_bad_image_files(bad_image_files, name, fragment):
    message, hint = check_image(bad_image_files / name)
    assert fragment in message
    assert "\n" not in message + hint


def test_device_is_not_an_image():
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    assert check_image(Path("/dev/zero"))[0] == "/dev/zero is a device, not an image file"


def test_good_image_and_limits(tmp_path, keyframe_pngs):
    assert check_image(keyframe_pngs["a"]) == ("", "")
    from PIL import Image

    side = int(math.isqrt(MAX_IMAGE_PIXELS)) + 8
    Image.new("L", (side, 8)).save(tmp_path / "wide.png")  # big side, few pixels: fine
    assert check_image(tmp_path / "wide.png") == ("", "")
    Image.new("L", (side, side // 8)).resize((side, side // 8)).save(tmp_path / "ok.png")
    assert check_image(tmp_path / "ok.png") == ("", "")


def test_image_check_is_redone_after_the_file_changes(tmp_path, keyframe_pngs):
    path = tmp_path / "k.png"
    path.write_text("not yet")
    assert "is not an image" in check_image(path)[0]
    path.write_bytes(keyframe_pngs["b"].read_bytes())
    assert check_image(path) == ("", "")


class RecordingMemo:
    """An ImageMemo that trusts the paths it is told to and records what passed."""

    def __init__(self, trusted=()):
        self.trusted = set(trusted)
        self.remembered = []

    def image_checked(self, path, st, rules):
        return path in self.trusted and rules == CHECK_RULES

    def remember_image_check(self, path, st, rules):
        self.remembered.append((path, st.st_size, rules))


def test_image_memo_skips_the_decode_of_a_file_it_vouches_for(tmp_path, bad_image_files, keyframe_pngs):
    broken = tmp_path / "broken.png"
    broken.write_bytes((bad_image_files / "truncated.png").read_bytes())
    # The memo vouches for this very stat signature: nothing is decoded (a real memo never
    # vouches for a broken file, so the skip shows as a pass here).
    assert check_image(broken, RecordingMemo({broken})) == ("", "")
    good = tmp_path / "good.png"
    good.write_bytes(keyframe_pngs["a"].read_bytes())
    memo = RecordingMemo()
    assert check_image(good, memo) == ("", "")
    assert memo.remembered == [(good, good.stat().st_size, CHECK_RULES)]
    other = tmp_path / "other.png"
    other.write_bytes((bad_image_files / "truncated.png").read_bytes())
    assert "cannot decode" in check_image(other, memo)[0]
    assert len(memo.remembered) == 1  # failures are never remembered


def test_storyboards_pass_the_memo_to_the_image_checks(story_dir):
    memo = RecordingMemo()
    load_storyboard(write(story_dir, storyboard("  - {from: a, to: b}\n")), images=memo)
    assert sorted(p.name for p, _, _ in memo.remembered) == ["a.png", "b.png"]


def test_bad_image_in_a_storyboard(story_dir, bad_image_files):
    p = one(story_dir, storyboard("  - {from: a, to: b}\n",
                                  keyframes=f"  a: {{image: a.png}}\n  b: {{image: {bad_image_files}/fifo.png}}\n"))
    assert (p.line, p.column, p.path) == (6, 14, "keyframes.b.image")
    assert "FIFO" in p.message


@pytest.mark.parametrize("field, value, fragment", [
    ("image", '"a\\0.png"', "image path contains a NUL character"),
    ("image", '"a\\ud800.png"', "image path is not valid Unicode text"),
    ("image", '"~no-such-user-here/a.png"', "a home folder that does not exist"),
    ("output", '"o\\0.mp4"', "output path contains a NUL character"),
    ("model", '"./v\\0"', "contains a NUL character"),
    ("model", '"./v\\ud800"', "is not valid Unicode text"),
])
def test_impossible_paths_are_problems_not_crashes(story_dir, field, value, fragment):
    text = storyboard("  - {from: a, to: b}\n")
    if field == "image":
        text = text.replace("{image: b.png}", f"{{image: {value}}}")
    elif field == "output":
        text = text.replace("{size: [64, 64], fps: 24}", f"{{path: {value}}}")
    else:
        text = text.replace("model: ./vae", f"model: {value}")
    p = one(story_dir, text)
    assert fragment in p.message
    assert p.message.isprintable() and p.format().isprintable()  # escaped, one line


def test_output_through_a_symlink_loop_is_no_crash(story_dir):
    (story_dir / "loop.mp4").symlink_to("loop.mp4")
    board = load(story_dir, storyboard("  - {from: a, to: b}\n", output="{path: loop.mp4}"))
    assert board.output.path.name == "loop.mp4"


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
    folder = tmp_path_factory.mktemp("fuzz")
    for name, path in keyframe_pngs.items():
        (folder / f"{name}.png").write_bytes(path.read_bytes())
    (folder / "vae").symlink_to(tiny_vae, target_is_directory=True)
    return folder


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
    return [(p.read_text().replace("\nversion: 1\n", f"\nversion: 1\nmodel: {model}\n"), p) for p in EXAMPLES]


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


SCHEMA = schema()
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
    names = list(instance["keyframes"])
    for kf in instance["keyframes"].values():
        kf.pop("prompt", None)
        kf["image"] = draw(st.sampled_from(["a.png", "b.png", "c.png"]))
    instance["segments"] = instance["segments"][:6]
    defaults = instance.get("defaults", {})
    for timing in [defaults, *instance["segments"]]:
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


def test_problem_lines_are_single_and_escaped(story_dir):
    p = one(story_dir, storyboard("  - {from: a, to: b}\n").replace(
        "b: {image: b.png}", 'b: {image: b.png}\n  "x\\ny": {image: a.png}'))
    assert re.match(r"keyframe name 'x\\ny' is not allowed", p.message)
    assert "\n" not in p.format() and p.path == "keyframes.x\\ny"
