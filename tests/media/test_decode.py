"""Decoding (seqc/media/decode.py): a PNG sequence written from frame batches, numbered from `start`."""

from __future__ import annotations

import numpy as np
from mediakit import files_in, gradient_frames
from PIL import Image

from seqc import media


def test_write_png_sequence(tmp_path):
    frames = gradient_frames(4, 32, 16)
    folder = tmp_path / "frames"
    count = media.write_png_sequence([frames[:3], frames[3]], folder, start=5)
    assert count == 4
    assert files_in(folder) == {f"frame_{i:06d}.png" for i in range(5, 9)}
    for i in range(4):
        with Image.open(folder / f"frame_{i + 5:06d}.png") as image:
            assert image.mode == "RGB"
            assert np.array_equal(np.asarray(image), frames[i])
