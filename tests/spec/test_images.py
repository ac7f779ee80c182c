"""Keyframe image files (seqc/spec/images.py): what `check_image` refuses and why, its limits, and
the image-check memo it is given (the cache's file memo) that skips decoding a file again."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from speckit import one, storyboard, write

from seqc.spec import load_storyboard
from seqc.spec.images import CHECK_RULES, MAX_IMAGE_PIXELS, background_shows, check_image


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


def test_background_shows_under_contain_and_through_transparency(tmp_path, keyframe_pngs, bad_image_files):
    """The header decides, by the renderer's rule (seqc.spec.images.is_transparent): an alpha channel
    or a transparent palette entry; `contain` always may pad."""
    from PIL import Image

    opaque = keyframe_pngs["a"]
    assert background_shows(opaque, "contain")
    assert not background_shows(opaque, "cover") and not background_shows(opaque, "stretch")
    Image.new("RGBA", (8, 8), (1, 2, 3, 255)).save(tmp_path / "rgba.png")
    Image.new("LA", (8, 8)).save(tmp_path / "la.png")
    palette = Image.new("P", (8, 8))
    palette.save(tmp_path / "p.png")
    palette.save(tmp_path / "p-clear.png", transparency=0)
    Image.new("RGBA", (8, 8)).save(tmp_path / "webp.webp")
    for name, shows in [("rgba.png", True), ("la.png", True), ("p.png", False), ("p-clear.png", True),
                        ("webp.webp", True)]:
        assert background_shows(tmp_path / name, "cover") == shows, name
    assert not background_shows(bad_image_files / "not-an-image.png", "cover")  # its check reports it
