"""Tests for seqc.motion.methods: the one registry of interpolation methods."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from seqc.motion.interp import catmull_rom, lerp, slerp
from seqc.motion.methods import METHODS, get_method

T = np.linspace(0.0, 1.0, 7)
A = np.array([[1.0, 0.0], [0.5, -2.0]], dtype=np.float32)
B = np.array([[0.0, 1.0], [3.0, 0.25]], dtype=np.float32)


def test_latent_methods_follow_their_interpolation():
    np.testing.assert_array_equal(get_method("lerp").path(None, A, B, None, T), lerp(A, B, T))
    np.testing.assert_array_equal(get_method("slerp").path(None, A, B, None, T), slerp(A, B, T))
    before, after = A * 2.0, B - 1.0
    np.testing.assert_array_equal(get_method("spline").path(before, A, B, after, T),
                                  catmull_rom(before, A, B, after, T))
    # At an end of the timeline the spline's missing neighbour is its own endpoint.
    np.testing.assert_array_equal(get_method("spline").path(None, A, B, None, T), catmull_rom(A, A, B, B, T))


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_path_starts_and_ends_on_its_keyframes(name):
    method = METHODS[name]
    start, end = (A, B) if not method.blends_pixels else (np.full((2, 2, 3), 10.0, np.float32),
                                                           np.full((2, 2, 3), 200.0, np.float32))
    out = method.path(None, start, end, None, np.array([0.0, 1.0]))
    np.testing.assert_array_equal(out[0], start)
    np.testing.assert_array_equal(out[1], end)


def test_pixel_blends_mix_and_cut_holds_the_start():
    start = np.zeros((1, 1, 3), np.float32)
    end = np.full((1, 1, 3), 255.0, np.float32)
    t = np.array([0.0, 0.25, 0.5, 0.999, 1.0])
    fade = get_method("crossfade").path(None, start, end, None, t)[:, 0, 0, 0]
    # unrounded: the renderer rounds at the frames' depth (8 or 16 bits)
    assert np.allclose(fade, [0.0, 63.75, 127.5, 254.745, 255.0], atol=1e-3)
    cut = get_method("cut").path(None, start, end, None, t)[:, 0, 0, 0]
    assert cut.tolist() == [0.0, 0.0, 0.0, 0.0, 255.0]


def test_flags():
    assert [m for m in METHODS if METHODS[m].blends_pixels] == ["crossfade", "cut"]
    assert [m for m in METHODS if METHODS[m].uses_neighbours] == ["spline"]


def test_an_unknown_method_is_an_error_not_a_lerp():
    with pytest.raises(ValueError, match="unknown interpolation method 'cubic'; expected one of lerp, slerp"):
        get_method("cubic")


def test_the_schema_lists_exactly_the_registry():
    schema = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "storyboard.schema.json").read_text())
    text = json.dumps(schema)
    enums = [d["enum"] for d in _find(schema, "method")]
    assert enums and all(enum == list(METHODS) for enum in enums)
    for method in METHODS.values():
        assert method.summary in text


def _find(node, name):
    """Every schema under a property called `name`."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict) and name in value:
                found.append(value[name])
            found.extend(_find(value, name))
    elif isinstance(node, list):
        for item in node:
            found.extend(_find(item, name))
    return found
