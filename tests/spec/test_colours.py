"""`background` colours (seqc/spec/colours.py): the forms an artist types, one canonical text for each
colour, the schema and seqc accepting the same ones, where the colour is resolved to (or dropped
because it cannot show), and the one-line problems for the rest."""

from __future__ import annotations

import jsonschema
import pytest
from PIL import Image
from speckit import GOOD, load, one, write

from seqc.spec import load_storyboard, schema
from seqc.spec.colours import ColourError, colour_names, parse_colour, rgb


@pytest.mark.parametrize("text, canonical", [
    ("#ffffff", "#ffffff"), ("#FFF", "#ffffff"), ("#1E90ff", "#1e90ff"), ("#08f", "#0088ff"),
    ("white", "#ffffff"), ("black", "#000000"), ("dodgerblue", "#1e90ff"), ("grey", "#808080"),
])
def test_the_forms_an_artist_types_give_one_canonical_text(text, canonical):
    assert parse_colour(text) == canonical
    assert rgb(canonical) == tuple(int(canonical[i:i + 2], 16) for i in (1, 3, 5))


@pytest.mark.parametrize("text, message, hint", [
    ("#ggg", "invalid colour '#ggg'", "hex digits are 0-9 and a-f"),
    ("#ffff", "colour '#ffff' has an alpha channel", "a background is opaque"),
    ("#ffffff80", "colour '#ffffff80' has an alpha channel", "a background is opaque"),
    ("White", "unknown colour 'White'", "did you mean 'white'?"),
    ("rgb(1, 2, 3)", "unknown colour 'rgb(1, 2, 3)'", "write #rrggbb, #rgb or a colour name"),
    ("", "unknown colour ''", "write #rrggbb"),
])
def test_other_text_is_refused_with_a_hint(text, message, hint):
    with pytest.raises(ColourError) as info:
        parse_colour(text)
    assert info.value.args[0] == message and hint in info.value.args[1]


SAMPLES = ["#fff", "#FFFFFF", "#abc123", "white", "rebeccapurple", "#ggg", "#ffff", "#ffffff80", "White",
           "rgb(1,2,3)", "", "transparent", " white", "#fff ", "ffffff"]


@pytest.mark.parametrize("where", ["defaults", "keyframe"])
def test_the_schema_accepts_exactly_the_colours_seqc_reads(where):
    """What the editor shows clean, seqc reads, and the other way round (and every name it offers)."""
    validator = jsonschema.Draft202012Validator(schema())

    def doc(value: str) -> dict:
        keyframe = {"image": "a.png", **({"background": value} if where == "keyframe" else {})}
        return {"version": 1, "keyframes": {"a": keyframe}, "segments": [{"from": "a", "to": "a"}],
                **({"defaults": {"background": value}} if where == "defaults" else {})}

    for value in [*SAMPLES, *colour_names()]:
        try:
            parse_colour(value)
            ok = True
        except ColourError:
            ok = False
        assert validator.is_valid(doc(value)) == ok, value


def test_a_keyframe_colour_is_its_own_else_the_defaults_and_kept_only_where_it_shows(story_dir):
    Image.new("RGBA", (32, 24), (0, 0, 0, 0)).save(story_dir / "clear.png")
    board = load(story_dir, GOOD.replace("fit: contain}", "fit: contain, background: white}").replace(
        "c: {image: c.png}", 'c: {image: c.png, background: "#F00"}\n  d: {image: clear.png, fit: cover}\n'
        '  e: {image: a.png, fit: cover}'))
    kf = board.keyframes
    assert kf["a"].background == "#ffffff"  # contain: from the defaults
    assert kf["c"].background == "#ff0000"  # its own
    assert kf["d"].background == "#ffffff"  # cover, but transparent: it shows through
    assert kf["b"].background is None  # stretch, opaque: no pixel shows it
    assert kf["e"].background is None
    black = load(story_dir, GOOD.replace("fit: contain}", "fit: contain, background: black}"))
    assert {k.background for k in black.keyframes.values()} == {None}  # black is the default, as without one


def test_a_bad_colour_is_one_problem_at_its_place(story_dir):
    p = one(story_dir, GOOD.replace("b: {image: b.png, fit: stretch}", "b: {image: b.png, background: '#12'}"))
    assert (p.line, p.column, p.path) == (7, 33, "keyframes.b.background")
    assert p.message == "invalid colour '#12'" and "\n" not in p.format()
    p = one(story_dir, GOOD.replace("fit: contain}", "fit: contain, background: 0}"))
    assert p.path == "defaults.background" and p.message == "expected a colour as text, got 0"
    assert 'quote it, e.g. background: "#ffffff"' in p.hint


def test_a_keyframe_named_background_is_still_a_keyframe(story_dir):
    story = write(story_dir, GOOD.replace("c: {image: c.png}", "background: {image: c.png}").replace(
        "to: c,", "to: background,").replace("from: c,", "from: background,").replace(
        "{from: b, to: c", "{from: b, to: background"))
    assert "background" in load_storyboard(story).keyframes
