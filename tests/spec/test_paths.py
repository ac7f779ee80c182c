"""Paths a storyboard names (seqc/spec/paths.py): impossible paths are problems, not crashes, and
`output_problem`, the one rule for where a video may be written (`output.path` and `-o`)."""

from __future__ import annotations

import pytest
from speckit import load, one, storyboard

from seqc.errors import SpecError
from seqc.media.formats import OUTPUT_FORMATS
from seqc.spec import load_storyboard
from seqc.spec.paths import output_problem


def test_output_types_are_the_ones_the_media_package_writes(story_dir):
    from seqc.media.formats import OUTPUT_FORMATS

    assert sorted(OUTPUT_FORMATS) == [".gif", ".mkv", ".mov", ".mp4", ".webm"]
    for suffix in OUTPUT_FORMATS:
        board = load(story_dir, storyboard("  - {from: a, to: b}\n", output=f"{{path: out/v{suffix.upper()}}}"))
        assert board.output.path == story_dir / "out" / f"v{suffix.upper()}"


def test_output_may_not_overwrite_a_keyframe_or_the_storyboard(story_dir):
    (story_dir / "a.mp4").write_bytes((story_dir / "a.png").read_bytes())
    p = one(story_dir, storyboard("  - {from: a, to: b}\n", output="{path: a.mp4}").replace("a.png", "a.mp4"))
    assert "overwrite keyframe 'a'" in p.message and p.path == "output.path"
    (story_dir / "t.mp4").write_text(storyboard("  - {from: a, to: b}\n", output="{path: t.mp4}"))
    with pytest.raises(SpecError) as info:
        load_storyboard(story_dir / "t.mp4")
    assert [p.message for p in info.value.problems] == ["the output would overwrite the storyboard itself"]


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
# output_problem: each refusal with its message


def test_output_problem_accepts_a_new_video_file(tmp_path):
    story = tmp_path / "s.yaml"
    assert output_problem(tmp_path / "out" / "video.mp4", story, {"a": tmp_path / "a.png"}) is None
    assert output_problem(tmp_path / "VIDEO.MP4", story, {}) is None  # suffixes in any case
    assert output_problem(tmp_path / "video.mkv", story, {}, cache_root=tmp_path / "cache") is None


def test_output_problem_overwriting_the_storyboard(tmp_path):
    story = tmp_path / "story.mp4"
    story.write_text("version: 1\n")
    (tmp_path / "sub").mkdir()
    for target in (story, tmp_path / "sub" / ".." / "story.mp4"):  # however it is spelled
        assert output_problem(target, story, {}) == ("the output would overwrite the storyboard itself", "")
    (tmp_path / "link.mp4").symlink_to(story)
    assert output_problem(tmp_path / "link.mp4", story, {}) == (
        "the output would overwrite the storyboard itself", "")


def test_output_problem_overwriting_a_keyframe_image(tmp_path):
    images = {"a": tmp_path / "a.png", "b": tmp_path / "kf" / "b.mp4"}
    story = tmp_path / "s.yaml"
    # The keyframe rule comes before the format rule: a .png target names the keyframe.
    assert output_problem(tmp_path / "a.png", story, images) == (
        "the output would overwrite keyframe 'a's image", "")
    assert output_problem(tmp_path / "kf" / "b.mp4", story, images) == (
        "the output would overwrite keyframe 'b's image", "")
    images["a"].write_bytes(b"png")
    (tmp_path / "a.mp4").symlink_to(images["a"])  # through a link to the image
    assert output_problem(tmp_path / "a.mp4", story, images) == (
        "the output would overwrite keyframe 'a's image", "")


@pytest.mark.parametrize("name, shown", [("video.avi", ".avi"), ("video", "(none)"), ("video.mp4.txt", ".txt")])
def test_output_problem_unsupported_suffix(tmp_path, name, shown):
    message, hint = output_problem(tmp_path / name, tmp_path / "s.yaml", {})
    assert message == f"unsupported output type '{shown}'"
    assert hint == f"use one of {', '.join(OUTPUT_FORMATS)}"


def test_output_problem_a_folder(tmp_path):
    folder = tmp_path / "video.mp4"
    folder.mkdir()
    assert output_problem(folder, tmp_path / "s.yaml", {}) == (f"the output {folder.resolve()} is a folder", "")


def test_output_problem_inside_a_cache_root(tmp_path):
    cache = tmp_path / "cache"
    story = tmp_path / "s.yaml"
    expected = (f"the output may not be inside the cache folder ({cache})", "")
    assert output_problem(cache / "x.mp4", story, {}, cache_root=cache) == expected
    assert output_problem(cache / "clips" / "ab" / "x.mp4", story, {}, cache_root=cache) == expected
    assert output_problem(tmp_path / "cache-other" / "x.mp4", story, {}, cache_root=cache) is None  # a sibling
    assert output_problem(cache / "x.mp4", story, {}) is None  # no cache given: no cache rule
    (tmp_path / "into-cache").symlink_to(cache, target_is_directory=True)
    cache.mkdir()
    assert output_problem(tmp_path / "into-cache" / "x.mp4", story, {}, cache_root=cache) == expected
