"""`background` through the real CLI: a transparent keyframe shows its colour, `contain` pads with it,
black stays the default, and a colour seqc cannot read is one error line, exit 2, nothing written."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from renderkit import plan_json, render_json, run_seqc

from seqc import media

WHITE, RED, BLACK = (255, 255, 255), (255, 0, 0), (0, 0, 0)
# Four one-frame holds, each on its own keyframe: frame i of the video is keyframe i.
STORY = """\
version: 1
output: {{path: out/video.mp4, size: [64, 64], fps: 8}}
keyframes:
  glass: {{image: half.png{glass}}}
  wide: {{image: wide.png, fit: contain{wide}}}
  plain_glass: {{image: half.png}}
  plain_wide: {{image: wide.png, fit: contain}}
segments:
  - {{from: glass, to: wide, frames: 1, method: cut}}
  - {{from: wide, to: plain_glass, frames: 1, method: cut}}
  - {{from: plain_glass, to: plain_wide, frames: 1, method: cut}}
"""


def near(pixels: np.ndarray, colour: tuple[int, int, int], tolerance: int = 24) -> bool:
    """Whether the mean of a region is within `tolerance` levels of `colour` on every channel (the
    built-in model and the video's 4:2:0 chroma blur edges a little)."""
    return bool(np.abs(pixels.reshape(-1, 3).astype(float).mean(0) - np.array(colour)).max() <= tolerance)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """half.png: 64x64, the left half opaque blue, the right half fully transparent; wide.png: 64x32
    opaque green (under `contain` in a 64x64 frame: bars of 16 rows above and below)."""
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[:, :32] = (0, 0, 255, 255)
    rgba[:, 32:] = (0, 255, 0, 0)  # transparent: its colour must not show
    Image.fromarray(rgba, "RGBA").save(tmp_path / "half.png")
    Image.new("RGB", (64, 32), (0, 200, 0)).save(tmp_path / "wide.png")
    return tmp_path


def write(project: Path, glass: str = "", wide: str = "") -> Path:
    story = project / "storyboard.yaml"
    story.write_text(STORY.format(glass=glass, wide=wide))
    return story


def test_transparency_shows_the_background_and_contain_pads_with_it(project):
    story = write(project, glass=", background: white", wide=', background: "#f00"')
    result = render_json(story, project / "cache")
    frames = list(media.read_frames(Path(result["output"])))
    assert len(frames) == 4
    glass, wide, plain_glass, plain_wide = frames
    # The transparent half is the background colour; the opaque half is untouched.
    assert near(glass[:, 36:], WHITE) and near(glass[:, :28], (0, 0, 255))
    assert near(wide[:12], RED) and near(wide[52:], RED) and near(wide[20:44], (0, 200, 0))
    # Without `background`: black, as before.
    assert near(plain_glass[:, 36:], BLACK) and near(plain_glass[:, :28], (0, 0, 255))
    assert near(plain_wide[:12], BLACK) and near(plain_wide[52:], BLACK)


def test_background_where_it_cannot_show_changes_no_key(project):
    """An opaque image under `cover` shows no background: giving it one re-renders nothing. On a
    `contain` keyframe it is a change, and `--explain` names it."""
    story = write(project)
    text = story.read_text().replace("segments:\n", "  opaque: {image: wide.png}\nsegments:\n")
    text += "  - {from: plain_wide, to: opaque, frames: 1, method: cut}\n"
    story.write_text(text)
    render_json(story, project / "cache")
    story.write_text(text.replace("opaque: {image: wide.png}", "opaque: {image: wide.png, background: white}"))
    plan = plan_json(story, project / "cache")
    assert plan["to_render"] == 0, plan
    story.write_text(text.replace("plain_wide: {image: wide.png, fit: contain}",
                                  "plain_wide: {image: wide.png, fit: contain, background: white}"))
    explained = run_seqc("plan", str(story), "--cache-dir", str(project / "cache"), "--explain").stdout
    assert "keyframe 'plain_wide' background changed" in explained, explained


@pytest.mark.parametrize("value, message", [
    ('"#ggg"', "invalid colour '#ggg'"),
    ("whte", "unknown colour 'whte' (did you mean 'white'?)"),
    ('"#ffffff80"', "colour '#ffffff80' has an alpha channel"),
    ("#ffffff", "expected a colour, got nothing (null) ('#' starts a comment in YAML: quote the colour"),
])
def test_a_bad_colour_is_one_line_exit_2_and_nothing_written(project, value, message):
    story = project / "storyboard.yaml"
    story.write_text(STORY.format(glass="", wide="").replace("keyframes:", f"defaults:\n  background: {value}\nkeyframes:"))
    proc = run_seqc("render", str(story), "--cache-dir", str(project / "cache"), check=False)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert re.match(rf"^{re.escape(str(story))}:4:1[45]: defaults\.background: ", lines[0]), lines[0]
    assert message in lines[0]
    assert not (project / "out").exists() and not (project / "cache").exists()
