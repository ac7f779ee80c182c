"""Colours as an artist types them (`#rrggbb`, `#rgb`, a CSS name such as `white`), for `background`.

One canonical form, "#rrggbb" in lower case, is what the model, the cache key and the renderer
see, so `white`, `#fff` and `#FFFFFF` are the same colour and the same key. The names are
Pillow's CSS table (read lazily: hex needs no import), the same list the schema offers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from seqc.spec.images import background_shows
from seqc.spec.schema import describe, suggest

if TYPE_CHECKING:
    from seqc.spec.checks import _Collector as Collector

BLACK = "#000000"  # the background when none is given: what transparent pixels and `contain` bars were before
HEX_PATTERN = "^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"  # the schema's pattern (ECMAScript and Python alike)
_HEX = re.compile(HEX_PATTERN)
_FORMS = "write #rrggbb, #rgb or a colour name such as white or black"


class ColourError(ValueError):
    """Text that is not a colour; args are (message, hint)."""


def colour_names() -> tuple[str, ...]:
    """The colour names accepted, sorted (Pillow's CSS colour table)."""
    from PIL import ImageColor

    return tuple(sorted(ImageColor.colormap))


def parse_colour(text: str) -> str:
    """The canonical "#rrggbb" of a colour's text, or ColourError with a message and a hint."""
    if _HEX.match(text):
        digits = text[1:].lower()
        return "#" + (digits if len(digits) == 6 else "".join(c * 2 for c in digits))
    if text in colour_names():
        from PIL import ImageColor

        red, green, blue = ImageColor.getrgb(text)[:3]
        return f"#{red:02x}{green:02x}{blue:02x}"
    if re.fullmatch(r"#([0-9a-fA-F]{4}|[0-9a-fA-F]{8})", text):
        raise ColourError(f"colour '{text}' has an alpha channel", "a background is opaque: use #rrggbb or #rgb")
    if text.startswith("#"):
        raise ColourError(f"invalid colour '{text}'", f"{_FORMS}; hex digits are 0-9 and a-f")
    raise ColourError(f"unknown colour '{text}'", suggest(text.lower(), colour_names()) or _FORMS)


def colour_problem(value: object) -> tuple[str, str]:
    """(message, hint) for a `background` value that is not a colour, as the schema refused it."""
    if value is None:
        return ("expected a colour, got nothing (null)",
                "'#' starts a comment in YAML: quote the colour, e.g. background: \"#ffffff\"")
    if not isinstance(value, str):
        return f"expected a colour as text, got {describe(value)}", "quote it, e.g. background: \"#ffffff\""
    try:
        parse_colour(value)
    except ColourError as exc:
        return exc.args[0], exc.args[1]
    return f"invalid colour '{value}'", _FORMS


def rgb(colour: str) -> tuple[int, int, int]:
    """The (red, green, blue) of a canonical "#rrggbb"."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def keyframe_background(kf: dict, defaults: dict, image: Path | None, fit: str, out: Collector,
                        kpath: tuple) -> str | None:
    """A keyframe's `background` (its own, else the defaults'), or None where it cannot change a pixel:
    black (as without one), a prompt keyframe, an opaque image under `cover` or `stretch`."""
    where = kpath + ("background",) if "background" in kf else ("defaults", "background")
    text = kf.get("background", defaults.get("background"))
    if text is None or not out.ok(where):
        return None
    try:
        colour = parse_colour(text)
    except ColourError as exc:
        out.error(where, exc.args[0], exc.args[1])
        return None
    if colour == BLACK or image is None or not background_shows(image, fit):
        return None
    return colour
