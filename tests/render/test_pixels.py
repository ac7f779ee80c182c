"""Keyframe pixels (seqc/render/pixels.py): the fit modes give the output size with the content where
it belongs, EXIF orientation is applied, transparency is composited onto the background (black by
default), `contain` pads with it, and a file that cannot be decoded raises ImageReadError."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from seqc.render.pixels import ImageReadError, fit_image, load_fitted

GREEN, RED, BLUE, BLACK, WHITE = (0, 255, 0), (255, 0, 0), (0, 0, 255), (0, 0, 0), (255, 255, 255)


def near(pixels: np.ndarray, colour: tuple[int, int, int], tolerance: int = 16) -> bool:
    """Whether every pixel is within `tolerance` levels of `colour` (resampling rings a little)."""
    return bool(np.abs(pixels.astype(int) - np.array(colour)).max() <= tolerance)


def bands(path: Path) -> Path:
    """A 60x20 PNG of three 20-pixel vertical bands: green | red | blue."""
    image = Image.new("RGB", (60, 20), GREEN)
    image.paste(RED, (20, 0, 40, 20))
    image.paste(BLUE, (40, 0, 60, 20))
    image.save(path)
    return path


def test_stretch_fills_the_frame_with_the_whole_image(tmp_path):
    pixels = load_fitted(bands(tmp_path / "b.png"), (32, 32), "stretch")
    assert pixels.shape == (32, 32, 3) and pixels.dtype == np.uint8
    # Every row has all three bands, each a third of the width.
    assert near(pixels[:, 2:8], GREEN) and near(pixels[:, 13:19], RED) and near(pixels[:, 24:30], BLUE)


def test_cover_fills_the_frame_and_crops_the_sides(tmp_path):
    pixels = load_fitted(bands(tmp_path / "b.png"), (32, 32), "cover")
    assert pixels.shape == (32, 32, 3)
    # Scaled to 96x32, the centre 32 columns are the red band: green and blue are cropped off
    # (the outermost columns take a trace of them from the resampling filter).
    assert near(pixels[:, 1:31], RED)
    assert (pixels[..., 0] > 200).all() and (pixels[..., 1:] < 64).all()


def test_contain_fits_the_whole_image_and_pads_with_black(tmp_path):
    pixels = load_fitted(bands(tmp_path / "b.png"), (32, 32), "contain")
    assert pixels.shape == (32, 32, 3)
    # Scaled to 32x11 and centred: black bars above and below, the three bands between them.
    assert (pixels[:9] == 0).all() and (pixels[23:] == 0).all()
    middle = pixels[13:18]
    assert near(middle[:, 2:8], GREEN) and near(middle[:, 13:19], RED) and near(middle[:, 24:30], BLUE)


def test_contain_pads_with_the_background_colour(tmp_path):
    pixels = load_fitted(bands(tmp_path / "b.png"), (32, 32), "contain", "#ff8000")
    assert (pixels[:9] == (255, 128, 0)).all() and (pixels[23:] == (255, 128, 0)).all()
    middle = pixels[13:18]
    assert near(middle[:, 2:8], GREEN) and near(middle[:, 13:19], RED) and near(middle[:, 24:30], BLUE)
    # Only the bars: cover and stretch fill the frame with the image.
    for fit in ("cover", "stretch"):
        assert np.array_equal(load_fitted(tmp_path / "b.png", (32, 32), fit, "#ff8000"),
                              load_fitted(tmp_path / "b.png", (32, 32), fit)), fit


def test_wide_output_size_is_width_by_height(tmp_path):
    for fit in ("cover", "contain", "stretch"):
        assert load_fitted(bands(tmp_path / "b.png"), (48, 16), fit).shape == (16, 48, 3), fit
    # 48x16 is 3:1 like the image: every fit shows the three bands edge to edge.
    pixels = load_fitted(tmp_path / "b.png", (48, 16), "contain")
    assert near(pixels[:, 2:12], GREEN) and near(pixels[:, 20:28], RED) and near(pixels[:, 36:46], BLUE)


def test_an_image_of_the_output_size_is_used_as_it_is(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, (24, 40, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "n.png")
    for fit in ("cover", "contain", "stretch"):
        assert np.array_equal(load_fitted(tmp_path / "n.png", (40, 24), fit), noise), fit


def test_unknown_fit_is_an_error():
    with pytest.raises(ValueError, match="unknown fit 'crop'"):
        fit_image(Image.new("RGB", (4, 4)), (8, 8), "crop")


def test_exif_orientation_is_applied(tmp_path):
    # Stored 40x20, red left and blue right; orientation 6 says "rotate 90 degrees clockwise to
    # view": seen upright it is 20x40, red on top and blue below.
    image = Image.new("RGB", (40, 20), RED)
    image.paste(BLUE, (20, 0, 40, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    image.save(tmp_path / "rotated.jpg", exif=exif, quality=95)
    image.save(tmp_path / "plain.jpg", quality=95)
    rotated = load_fitted(tmp_path / "rotated.jpg", (20, 40), "stretch")
    assert near(rotated[2:16], RED, 24) and near(rotated[24:38], BLUE, 24)
    plain = load_fitted(tmp_path / "plain.jpg", (20, 40), "stretch")  # no tag: stretched as stored
    assert near(plain[:, 1:8], RED, 24) and near(plain[:, 12:19], BLUE, 24)


def test_transparency_is_composited_onto_black(tmp_path):
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[:, :8] = (255, 0, 0, 255)  # opaque red
    rgba[:8, 8:] = (255, 255, 255, 0)  # fully transparent white
    rgba[8:, 8:] = (0, 255, 0, 128)  # half transparent green
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    pixels = load_fitted(tmp_path / "rgba.png", (16, 16), "stretch")
    assert (pixels[:, :8] == RED).all()
    assert (pixels[:8, 8:] == BLACK).all()  # not white: what a viewer shows on a dark background
    assert np.abs(pixels[8:, 8:].astype(int) - (0, 128, 0)).max() <= 1

    la = Image.new("LA", (8, 8), (255, 0))  # white, fully transparent
    la.save(tmp_path / "la.png")
    assert (load_fitted(tmp_path / "la.png", (8, 8), "cover") == 0).all()

    palette = Image.new("P", (8, 8), 1)
    palette.putpalette([255, 255, 255, 0, 0, 255] + [0] * 762)
    palette.paste(0, (0, 0, 4, 8))  # the left half uses entry 0, which is transparent
    palette.save(tmp_path / "p.png", transparency=0)
    pixels = load_fitted(tmp_path / "p.png", (8, 8), "stretch")
    assert (pixels[:, :4] == BLACK).all() and (pixels[:, 4:] == BLUE).all()


def test_transparency_is_composited_onto_the_background_colour(tmp_path):
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[:, :8] = (255, 0, 0, 255)  # opaque red
    rgba[:8, 8:] = (0, 0, 255, 0)  # fully transparent blue
    rgba[8:, 8:] = (0, 0, 0, 128)  # half transparent black
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    pixels = load_fitted(tmp_path / "rgba.png", (16, 16), "stretch", "#ffffff")
    assert (pixels[:, :8] == RED).all()
    assert (pixels[:8, 8:] == WHITE).all()
    assert np.abs(pixels[8:, 8:].astype(int) - 127).max() <= 1  # half way from white to black

    palette = Image.new("P", (8, 8), 1)
    palette.putpalette([255, 255, 255, 0, 0, 255] + [0] * 762)
    palette.paste(0, (0, 0, 4, 8))  # the left half uses entry 0, which is transparent
    palette.save(tmp_path / "p.png", transparency=0)
    pixels = load_fitted(tmp_path / "p.png", (8, 8), "stretch", "#00ff00")
    assert (pixels[:, :4] == GREEN).all() and (pixels[:, 4:] == BLUE).all()


@pytest.mark.parametrize("name", ["truncated.png", "not-an-image.png", "empty.png", "eps.png", "bomb.png"])
def test_an_undecodable_file_raises_image_read_error(bad_image_files, name):
    with pytest.raises(ImageReadError) as info:
        load_fitted(bad_image_files / name, (32, 32), "cover")
    assert "\n" not in str(info.value)
    if name == "truncated.png":
        assert str(info.value).startswith(f"cannot decode image {bad_image_files / name}: ")
