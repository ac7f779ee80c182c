"""The meaning checks (seqc/spec/checks.py): the model, warnings, names, prompts, output size and fps,
the budgets, timing and easing, and keyframes, each problem with its position, message and hint."""

from __future__ import annotations

import math

import pytest
from speckit import load, one, refuse, storyboard, write

from seqc.errors import SpecError
from seqc.spec import load_storyboard
from seqc.spec.checks import MAX_TOTAL_FRAMES, MAX_TOTAL_PIXELS, draft_size

# ---------------------------------------------------------------------------------------------
# The model and coerced values


def test_seed_is_an_int_and_version_1_0_is_1(story_dir):
    board = load(story_dir, storyboard("  - {from: a, to: b}\n", output="{size: [64, 64]}").replace(
        "version: 1", "version: 1.0").replace("b: {image: b.png}", "b: {image: b.png, seed: 7.0}"))
    assert board.version == 1 and type(board.version) is int
    assert board.keyframes["b"].seed == 7 and type(board.keyframes["b"].seed) is int
    (warning,) = board.warnings
    assert "`seed` has no effect" in warning.message and warning.path == "keyframes.b.seed"


def test_default_model_is_builtin(story_dir):
    board = load(story_dir, "version: 1\nkeyframes: {a: {image: a.png}}\nsegments: [{from: a, to: a}]\n")
    assert board.model == "builtin" and board.model_ref.source == "builtin"


def test_default_model_missing_is_one_clear_problem(story_dir, tmp_path, monkeypatch):
    import seqc.models

    # As a broken install looks: the package without the model's files.
    monkeypatch.setattr(seqc.models, "builtin_path", lambda name="builtin": tmp_path / "no-builtin")
    p = one(story_dir, "# c\nversion: 1\nkeyframes: {a: {image: a.png}}\nsegments: [{from: a, to: a}]\n")
    assert (p.line, p.column, p.path) == (2, 1, "model")
    assert "files of the built-in model 'builtin' are missing" in p.message


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


def test_warnings_that_read_nothing_broken_come_with_errors(story_dir):
    with pytest.raises(SpecError) as info:
        load(story_dir, storyboard("  - {from: a, to: b, duration: 0.01}\n  - {from: a, to: a}\n"))
    assert [(p.severity, p.line) for p in info.value.problems] == [("error", 8), ("warning", 9)]


@pytest.mark.parametrize("segments, keyframes, errors", [
    # a misspelled `from:` (issue 24 item 10): no "add a segment from 'b' to 'bb'"
    ("  - {from: a, to: b}\n  - {from: bb, to: a}\n", "  a: {image: a.png}\n  b: {image: b.png}\n",
     [(9, 12, "no keyframe named 'bb'")]),
    # a misspelled `to:`: the next segment's start is not a jump from 'bb'
    ("  - {from: a, to: bb}\n  - {from: b, to: a}\n", "  a: {image: a.png}\n  b: {image: b.png}\n",
     [(8, 19, "no keyframe named 'bb'")]),
    # the misspelled name is why 'c' looks unused
    ("  - {from: a, to: cc}\n", "  a: {image: a.png}\n  c: {image: c.png}\n", [(8, 19, "no keyframe named 'cc'")]),
])
def test_no_warning_builds_on_an_error(story_dir, segments, keyframes, errors):
    with pytest.raises(SpecError) as info:
        load(story_dir, storyboard(segments, keyframes=keyframes))
    assert [(p.line, p.column, p.message) for p in info.value.problems if p.severity == "warning"] == []
    found = [(p.line, p.column, p.message) for p in info.value.problems]
    assert len(found) == len(errors) and all(
        (line, col) == (fl, fc) and fragment in message for (line, col, fragment), (fl, fc, message)
        in zip(errors, found, strict=True)), found


def test_a_warning_on_a_model_that_failed_is_left_out(story_dir):
    """`seed` "has no effect with an autoencoder model" is not known when the model could not be read."""
    text = storyboard("  - {from: a, to: b}\n", keyframes="  a: {image: a.png, seed: 3}\n  b: {image: b.png}\n")
    with pytest.raises(SpecError) as info:
        load(story_dir, text.replace("model: ./vae", "model: ./no-such-model"))
    assert [(p.severity, p.path) for p in info.value.problems] == [("error", "model")]


@pytest.mark.parametrize("fps, duration, shortest", [(15, 0.01, "0.0334"), (24, 0.02, "0.0209"), (25, 0.019, "0.02"),
                                                     (12.5, 0.0399, "0.04"), (240, 0.002, "0.00209")])
def test_less_than_a_frame_says_the_true_minimum(story_dir, fps, duration, shortest):
    """Issue 24 item 11: at 15 fps the hint said "at least 0.0667 s" (a whole frame) while 0.04 renders:
    frames = round(duration x fps), halves up, so the shortest is half a frame, rounded up."""
    p = one(story_dir, storyboard(f"  - {{from: a, to: b, duration: {duration}}}\n", output=f"{{fps: {fps}}}"))
    assert p.hint == f"use at least {shortest} s or `frames: 1`"
    load(story_dir, storyboard(f"  - {{from: a, to: b, duration: {shortest}}}\n", output=f"{{fps: {fps}}}"))
    below = f"{float(shortest) - 10 ** (math.floor(math.log10(float(shortest))) - 2):.6g}"  # one step down
    assert "less than one frame" in one(story_dir, storyboard(
        f"  - {{from: a, to: b, duration: {below}}}\n", output=f"{{fps: {fps}}}")).message


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


def test_size_and_fps_limits_inclusive(story_dir):
    board = load(story_dir, storyboard("  - {from: a, to: b, frames: 1}\n", output="{size: [4096, 8], fps: 240}"))
    assert board.output.size == (4096, 8) and board.output.fps == 240


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
        (6, 3, "a keyframe needs `image` or `prompt`"),  # the schema says it (so editors do too)
    ]


def test_loop_settings_on_a_timeline_that_already_closes_are_a_warning(story_dir):
    closed = "  - {from: a, to: b}\n  - {from: b, to: a}\n"
    board = load(story_dir, storyboard(closed, extra="loop: {duration: 3, easing: linear}\n"))
    (warning,) = [w for w in board.warnings if w.path == "loop"]
    assert "already ends at 'a'" in warning.message and "not used" in warning.message
    assert len(board.segments) == 2  # nothing added
    # `loop: true` on a closed timeline asks for nothing that is lost: no warning.
    board = load(story_dir, storyboard(closed, extra="loop: true\n"))
    assert not [w for w in board.warnings if w.path == "loop"]


# ---------------------------------------------------------------------------------------------
# Drafts


@pytest.mark.parametrize("size", [(200, 120), (640, 360), (1920, 1080), (120, 200), (1024, 576), (512, 512),
                                  (720, 1280), (64, 1000), (16, 16)])
def test_a_draft_is_about_half_size_in_multiples_of_8_with_the_aspect_kept_within_rounding(size):
    width, height = size
    w, h = draft_size(size)
    assert w % 8 == 0 and h % 8 == 0 and w >= 8 and h >= 8
    assert abs(w - width / 2) <= 8 and abs(h - height / 2) <= 8
    # One side is rounded to a multiple of 8 (at most 4 px off its exact share), no more.
    error = abs(math.log((w / h) / (width / height)))
    assert error <= max(math.log1p(4 / min(w, h)), 1e-9) + 1e-12, (size, (w, h))


def test_a_draft_of_200x120_stays_5_to_3_within_rounding(story_dir):
    board = load_storyboard(write(story_dir, storyboard("  - {from: a, to: b}\n", output="{size: [200, 120]}")),
                            draft=True)
    assert board.output.size == (104, 64)  # 1.625 (the old floor gave 96x56: 1.714 for 1.667)


def test_morph_needs_a_text_to_image_model(story_dir):
    p = one(story_dir, storyboard("  - {from: a, to: b, method: morph}\n"))
    assert p.path == "segments[0].method" and "method 'morph'" in p.message and "is an autoencoder" in p.message
    assert "builtin-emoji" in p.hint


def test_morph_joins_any_keyframes_and_paces_evenly_by_default(story_dir):
    body = ("version: 1\noutput: {path: out/m.mp4, size: [64, 64], fps: 8}\nmodel: builtin-emoji\n"
            "defaults: {frames: 8}\nkeyframes:\n  a: {prompt: cat face}\n  b: {prompt: dog face}\n"
            "  c: {image: a.png}\n  d: {image: b.png}\nsegments:\n  - {from: a, to: b, method: morph}\n"
            "  - {from: b, to: a, method: morph, pacing: linear}\n  - {from: a, to: b}\n")
    board = load(story_dir, body.replace("  c: {image: a.png}\n  d: {image: b.png}\n", ""))
    assert [s.pacing for s in board.segments] == ["even", "linear", "linear"]
    assert (board.segments[0].generation["morph_start"], board.segments[0].generation["morph_damping"]) == (0.4, 0.6)
    assert "morph_start" not in board.segments[2].generation  # only a morph's clip key holds its settings
    # Images by inversion, and one of each: each end reaches the morph's step its own way.
    board = load(story_dir, body.replace("  - {from: a, to: b}\n", "  - {from: b, to: c, method: morph}\n"
                                         "  - {from: c, to: d, method: morph}\n"))
    assert [s.method for s in board.segments] == ["morph"] * 4
    # Other methods still join two of a kind under a pipeline, and say that a morph would do.
    p = one(story_dir, body.replace("  - {from: a, to: b}\n", "  - {from: b, to: c}\n"))
    assert "from a prompt keyframe to an image keyframe" in p.message and "method: morph" in p.hint


def test_morph_settings_are_read_checked_and_warned_about_without_a_morph(story_dir):
    body = ("version: 1\noutput: {path: out/m.mp4, size: [64, 64], fps: 8}\nmodel: builtin-emoji\n"
            "defaults: {frames: 8, morph_damping: 0.2}\nkeyframes:\n  a: {prompt: cat face}\n  b: {prompt: dog face}\n"
            "segments:\n  - {from: a, to: b, method: morph, morph_start: 0.7}\n  - {from: b, to: a, morph_start: 0.5}\n")
    board = load(story_dir, body)
    assert (board.segments[0].generation["morph_start"], board.segments[0].generation["morph_damping"]) == (0.7, 0.2)
    assert [(w.path, "no effect without `method: morph`" in w.message) for w in board.warnings] == [
        ("segments[1].morph_start", True)]
    p = one(story_dir, body.replace("morph_start: 0.7", "morph_start: 1.5"))
    assert p.path == "segments[0].morph_start" and "0.95" in p.message


def test_strength_on_a_morph_warns_that_images_are_inverted(story_dir):
    body = ("version: 1\noutput: {path: out/m.mp4, size: [64, 64], fps: 8}\nmodel: builtin-emoji\n"
            "defaults: {frames: 8}\nkeyframes:\n  a: {image: a.png}\n  b: {image: b.png}\n"
            "segments:\n  - {from: a, to: b, method: morph, strength: 0.3}\n  - {from: b, to: a, strength: 0.3}\n")
    board = load(story_dir, body)
    assert [(w.path, "inverted, not noised" in w.message) for w in board.warnings] == [("segments[0].strength", True)]


def test_a_model_mapping_with_a_wrong_field_is_one_problem_there(story_dir):
    body = ("version: 1\nmodel: {file: x.safetensors, conf: ./sd}\nkeyframes:\n  a: {prompt: cat face}\n"
            "  b: {prompt: dog face}\nsegments:\n  - {from: a, to: b}\n")
    p = one(story_dir, body)
    assert p.path == "model.conf" and "did you mean 'config'" in p.hint


def test_config_and_family_together_are_one_problem_at_family(story_dir):
    body = ("version: 1\nmodel: {file: x.safetensors, config: ./sd, family: sd1}\nkeyframes:\n"
            "  a: {prompt: cat face}\n  b: {prompt: dog face}\nsegments:\n  - {from: a, to: b}\n")
    p = one(story_dir, body)
    assert (p.path, p.message, p.line) == ("model.family", "give `config` or `family`, not both", 2)
    p = one(story_dir, body.replace("config: ./sd, family: sd1", "family: sd3"))
    assert p.path == "model.family" and "unknown family 'sd3'" in p.message


def test_a_wrong_vae_is_one_problem_at_vae_not_at_the_prompts(story_dir):
    body = ("version: 1\nmodel: builtin-emoji\nvae: ./nowhere\nkeyframes:\n"
            "  a: {prompt: cat face}\n  b: {prompt: dog face}\nsegments:\n  - {from: a, to: b}\n")
    p = one(story_dir, body)
    assert (p.path, p.line, p.column) == ("vae", 3, 6) and "not found" in p.message
