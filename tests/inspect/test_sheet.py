"""`seqc preview` (seqc/inspect/sheet.py) end to end with the built-in model: a contact sheet with
a labelled row per segment and the keyframes outlined."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from renderkit import paint_seasons, run_seqc, write_story

from seqc import media

pytestmark = pytest.mark.slow  # real renders in subprocesses: run with the full suite, not the inner loop


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return paint_seasons(tmp_path_factory.mktemp("preview"))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def test_contact_sheet_has_a_labelled_row_per_segment(project, tmp_path):
    story = write_story(project, "sheet", "segments:\n  - {from: summer, to: autumn, frames: 6}\n"
                        "  - {from: autumn, to: night, frames: 6}\n")
    sheet = tmp_path / "sheet.png"
    cache = str(project / "cache")
    run_seqc("preview", str(story), "-o", str(sheet), "--columns", "4", "--cache-dir", cache, "--quiet")
    image = np.asarray(Image.open(sheet).convert("RGB"))
    # The documented layout, pinned here: 96-px thumbnails 4 px apart, an 18-px label over each row.
    assert image.shape == (4 + 2 * (18 + 96 + 4), 4 + 4 * (96 + 4), 3)
    outline = np.all(image == (255, 196, 0), axis=-1)
    assert outline.sum() > 4 * 96  # the keyframes are outlined

    # The thumbnails are the video's frames: row 0 starts on frame 0, row 1 on frame 6, and row 1
    # ends on the video's final frame (12 of 13: the end keyframe, a clip of its own).
    run_seqc("render", str(story), "--cache-dir", cache, "--quiet")
    video = list(media.read_frames(project / "out" / "sheet.mp4"))
    assert len(video) == 13

    def thumb(row: int, col: int) -> np.ndarray:  # inside the 2-px keyframe outline
        x, y = 4 + col * 100, 4 + row * 118 + 18
        return image[y + 2:y + 94, x + 2:x + 94]

    def shrunk(frame: np.ndarray) -> np.ndarray:
        return np.asarray(Image.fromarray(frame).resize((96, 96), Image.Resampling.LANCZOS))[2:94, 2:94]

    for (row, col), index in {(0, 0): 0, (1, 0): 6, (1, 3): 12}.items():
        assert psnr(thumb(row, col), shrunk(video[index])) > 30, (row, col, index)
    assert psnr(thumb(1, 3), shrunk(video[11])) < psnr(thumb(1, 3), shrunk(video[12]))
