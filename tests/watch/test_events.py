"""Which files matter to `seqc watch` (seqc/watch/events.py): editor temp and swap names are noise,
and the images a storyboard names are read with the hardened YAML loader."""

from __future__ import annotations

import pytest

from seqc.watch.events import is_editor_temp


@pytest.mark.parametrize("name", [
    ".story.yaml.swp", ".story.yaml.swo", ".story.yaml.swx", "story.yaml~", "4913",
    "story.yaml.___jb_tmp___", "story.yaml.___jb_old___", ".#story.yaml", "#story.yaml#",
    "story.yaml.tmp", ".video.tmp-123-0a1b2c3d.mp4",
])
def test_editor_temp_names_are_ignored(name):
    assert is_editor_temp(name)


@pytest.mark.parametrize("name", ["story.yaml", "dawn.png", "swp.png", "story.yml", "4913.png"])
def test_real_names_are_not_ignored(name):
    assert not is_editor_temp(name)


def test_referenced_images_reads_with_the_hardened_loader(tmp_path):
    """A storyboard `validate` refuses cleanly (3,000 levels of nesting) gives no images, not a
    RecursionError; a storyboard with bad values still names the images it can read."""
    from seqc.watch.events import referenced_images

    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * 3000 + "]" * 3000 + "\n")
    assert referenced_images(deep) == set()
    aliased = tmp_path / "aliased.yaml"
    aliased.write_text("keyframes:\n  a: {image: a.png}\n  b: &x {image: b.png}\n  c: *x\nsegments: .inf\n")
    assert referenced_images(aliased) == {tmp_path / "a.png", tmp_path / "b.png"}
