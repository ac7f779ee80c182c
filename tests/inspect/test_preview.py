"""`seqc preview` (seqc/inspect/preview.py) end to end with the built-in model: a contact sheet with
a labelled row per segment and the keyframes outlined."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from renderkit import paint_seasons, run_seqc, write_story

pytestmark = pytest.mark.slow  # real renders in subprocesses: run with the full suite, not the inner loop


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return paint_seasons(tmp_path_factory.mktemp("preview"))


def test_contact_sheet_has_a_labelled_row_per_segment(project, tmp_path):
    story = write_story(project, "sheet", "segments:\n  - {from: summer, to: autumn, frames: 6}\n"
                        "  - {from: autumn, to: night, frames: 6}\n")
    sheet = tmp_path / "sheet.png"
    run_seqc("preview", str(story), "-o", str(sheet), "--columns", "4", "--cache-dir", str(project / "cache"),
             "--quiet")
    image = np.asarray(Image.open(sheet).convert("RGB"))
    from seqc.inspect.preview import GAP, KEYFRAME_COLOUR, LABEL_HEIGHT, THUMB_HEIGHT

    assert image.shape[0] == GAP + 2 * (LABEL_HEIGHT + THUMB_HEIGHT + GAP)
    assert image.shape[1] == GAP + 4 * (THUMB_HEIGHT + GAP)
    outline = np.all(image == KEYFRAME_COLOUR, axis=-1)
    assert outline.sum() > 4 * THUMB_HEIGHT  # the keyframes are outlined
