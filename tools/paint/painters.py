"""The eight painters: four landscapes (seasons) and four skies (times of day).

A painter is a function `f(width, height, seed)` returning an RGB `PIL.Image.Image`; the
same arguments give the same pixels on every run. `PAINTERS` maps names to painters.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

from .noise import _fbm_2d
from .props import (
    _bare_tree,
    _birds,
    _cloud,
    _dots,
    _pine,
    _round_tree,
    _spread,
    _streak_clouds,
)
from .scene import _rgb, _Scene, _smoothstep

Painter = Callable[[int, int, int], Image.Image]


# --------------------------------------------------------------------------------------
# Landscapes
# --------------------------------------------------------------------------------------


def paint_summer(width: int, height: int, seed: int) -> Image.Image:
    """Green rolling hills under a blue sky with a bright sun, clouds and leafy trees."""
    s = _Scene(width, height, seed, "summer")
    a = s.aspect
    # 1. Sky, sun, clouds.
    s.gradient([(0.0, "#2f7fd0"), (0.45, "#7dbdeb"), (0.62, "#d4eef8"), (1.0, "#d4eef8")])
    sun_x = a * s.rng.uniform(0.68, 0.85)
    s.glow(sun_x, 0.15, 0.28, "#fff2b0", 0.55)
    s.blend(s.disc(sun_x, 0.15, 0.06), _rgb("#fff8d8"))
    for k in range(3):
        _cloud(
            s,
            a * (0.12 + 0.3 * k + s.rng.uniform(0.0, 0.1)),
            s.rng.uniform(0.22, 0.36),
            s.rng.uniform(0.22, 0.34),
            "#ffffff",
            "#ffffff",
            "#c7dbef",
        )
    # 2. Far hills, hazy.
    far = s.ridge(0.56, 0.07, cells=3.0)
    s.hill(far, "#8cbfae", "#7fb597", depth=0.2)
    # 3. Middle hills with a row of trees.
    mid = s.ridge(0.66, 0.07, cells=2.0)
    s.hill(mid, "#6cbb4f", "#3f8f3a", depth=0.25, texture=0.05, shade=0.12)
    for x in _spread(s, 4):
        size = s.rng.uniform(0.09, 0.13)
        _round_tree(s, x, s.ground_at(mid, x) + 0.01, size, "#6b4a2b", "#2e7a33", "#4ea244")
    # 4. Foreground hill, a big tree and a sprinkle of flowers.
    front = s.ridge(0.84, 0.06, cells=1.5)
    s.hill(front, "#8fd05c", "#4f9a3a", depth=0.2, texture=0.06, shade=0.15)
    x = a * (0.18 if s.rng.random() < 0.5 else 0.82)
    _round_tree(s, x, s.ground_at(front, x) + 0.02, 0.3, "#5e3f24", "#2b7030", "#4c9c3f")
    _dots(s, 40, (0.0, a), (0.8, 1.0), (0.006, 0.01), "#fff2a0", below=front)
    _dots(s, 25, (0.0, a), (0.8, 1.0), (0.006, 0.01), "#ffffff", below=front)
    return s.image()


def paint_autumn(width: int, height: int, seed: int) -> Image.Image:
    """Ochre and brown hills, orange, red and yellow trees, a hazy warm sky, falling leaves."""
    s = _Scene(width, height, seed, "autumn")
    a = s.aspect
    # 1. Sky: pale blue fading into warm haze, a low sun, a few streaks of cloud.
    s.gradient([(0.0, "#5f95c8"), (0.35, "#a9c6dc"), (0.6, "#f1dcb8"), (1.0, "#f1dcb8")])
    sun_x = a * s.rng.uniform(0.2, 0.4)
    s.glow(sun_x, 0.3, 0.3, "#ffd48a", 0.6)
    s.blend(s.disc(sun_x, 0.3, 0.055), _rgb("#fff0c8"))
    _streak_clouds(s, 0.08, 0.42, 0.35, "#f6efe6", "#f3d2b0")
    # 2. Far hills in violet-brown haze, then ochre slopes.
    far = s.ridge(0.52, 0.09, cells=3.0, sharp=True)
    s.hill(far, "#b49a98", "#a3877f", depth=0.2)
    mid = s.ridge(0.64, 0.06, cells=2.0)
    s.hill(mid, "#c99a3e", "#9c6a2a", depth=0.25, texture=0.06, shade=0.12)
    palettes = [("#d9662a", "#f09a3e"), ("#b8342a", "#dc5a3c"), ("#d9a524", "#f2cc4c")]
    for x in _spread(s, 5):
        dark, light = palettes[int(s.rng.integers(0, 3))]
        size = s.rng.uniform(0.09, 0.13)
        if s.rng.random() < 0.25:
            _pine(s, x, s.ground_at(mid, x) + 0.01, size * 1.2, "#2f4a2c", "#40603a")
        else:
            _round_tree(s, x, s.ground_at(mid, x) + 0.01, size, "#5b3a22", dark, light)
    # 3. Foreground: russet hill, a big tree, leaves on the ground and in the air.
    front = s.ridge(0.83, 0.07, cells=1.5)
    s.hill(front, "#b5692c", "#7a4220", depth=0.2, texture=0.08, shade=0.15)
    x = a * (0.2 if s.rng.random() < 0.5 else 0.8)
    dark, light = palettes[int(s.rng.integers(0, 3))]
    _round_tree(s, x, s.ground_at(front, x) + 0.02, 0.32, "#4d301c", dark, light)
    _dots(s, 50, (0.0, a), (0.8, 1.0), (0.005, 0.009), "#f0a040", below=front, squash=0.6)
    _dots(s, 35, (0.0, a), (0.8, 1.0), (0.005, 0.009), "#c8402c", below=front, squash=0.6)
    _dots(s, 14, (0.0, a), (0.3, 0.8), (0.005, 0.008), "#e07a2e", squash=0.6)
    return s.image()


def paint_winter(width: int, height: int, seed: int) -> Image.Image:
    """Snowy hills below snow-capped mountains, a pale sky, snowy pines, bare trees, snowfall."""
    s = _Scene(width, height, seed, "winter")
    a = s.aspect
    # 1. Pale sky with a low, weak sun.
    s.gradient([(0.0, "#8ea9c4"), (0.4, "#c9d6e3"), (0.6, "#eef1f4"), (1.0, "#eef1f4")])
    sun_x = a * s.rng.uniform(0.2, 0.8)
    s.glow(sun_x, 0.24, 0.22, "#fff6e6", 0.5)
    s.blend(s.disc(sun_x, 0.24, 0.05, soft=3.0), _rgb("#fffaf0"))
    # 2. Mountains: blue-grey rock under white caps.
    peaks = s.ridge(0.46, 0.16, cells=3.5, sharp=True)
    s.hill(peaks, "#f4f7fb", "#8ea3bd", depth=0.09, shade=0.25)
    # 3. Snowy middle hills with snow-laden pines.
    mid = s.ridge(0.64, 0.06, cells=2.0)
    s.hill(mid, "#ffffff", "#c9d6e6", depth=0.22, shade=0.2, texture=0.02)
    for x in _spread(s, 6):
        size = s.rng.uniform(0.1, 0.15)
        _pine(s, x, s.ground_at(mid, x) + 0.01, size, "#2b4a42", "#3b5e53", snow="#f6f9fc")
    # 4. Foreground drift with a bare tree, then falling snow.
    front = s.ridge(0.84, 0.06, cells=1.5)
    s.hill(front, "#ffffff", "#cfdbe9", depth=0.16, shade=0.25)
    x = a * (0.22 if s.rng.random() < 0.5 else 0.78)
    _bare_tree(s, x, s.ground_at(front, x) + 0.02, 0.55, "#4a3a34")
    _dots(s, 120, (0.0, a), (0.0, 1.0), (0.004, 0.009), "#ffffff", opacity=0.9)
    return s.image()


def paint_spring(width: int, height: int, seed: int) -> Image.Image:
    """Fresh green meadows, pink blossoming trees, a soft blue sky and flowers in the grass."""
    s = _Scene(width, height, seed, "spring")
    a = s.aspect
    # 1. Soft sky, sun, small clouds.
    s.gradient([(0.0, "#6fb6e6"), (0.5, "#bfe3f5"), (0.65, "#eef8fb"), (1.0, "#eef8fb")])
    sun_x = a * s.rng.uniform(0.1, 0.3)
    s.glow(sun_x, 0.18, 0.25, "#fffbe0", 0.5)
    s.blend(s.disc(sun_x, 0.18, 0.055), _rgb("#fffbe8"))
    for k in range(2):
        _cloud(
            s,
            a * (0.45 + 0.35 * k + s.rng.uniform(-0.05, 0.05)),
            s.rng.uniform(0.2, 0.33),
            s.rng.uniform(0.18, 0.26),
            "#ffffff",
            "#ffffff",
            "#d6e6f2",
        )
    # 2. Meadows: three layers of young green.
    far = s.ridge(0.58, 0.05, cells=3.0)
    s.hill(far, "#a8d4b0", "#98c9a0", depth=0.2)
    mid = s.ridge(0.68, 0.05, cells=2.0)
    s.hill(mid, "#a9de7c", "#72b957", depth=0.25, texture=0.05, shade=0.12)
    for x in _spread(s, 5):
        size = s.rng.uniform(0.09, 0.12)
        if s.rng.random() < 0.6:
            _round_tree(
                s,
                x,
                s.ground_at(mid, x) + 0.01,
                size,
                "#6b4a35",
                "#e889aa",
                "#f7bfd2",
                blossom="#fff0f5",
            )
        else:
            _round_tree(s, x, s.ground_at(mid, x) + 0.01, size, "#6b4a35", "#6fb64e", "#9bd46a")
    # 3. Foreground meadow, a big cherry tree, flowers.
    front = s.ridge(0.85, 0.05, cells=1.5)
    s.hill(front, "#b4e47e", "#6cb04c", depth=0.2, texture=0.06, shade=0.12)
    x = a * (0.78 if s.rng.random() < 0.5 else 0.22)
    _round_tree(
        s, x, s.ground_at(front, x) + 0.02, 0.3, "#5e3f2c", "#e27ea2", "#f8c3d6", blossom="#ffffff"
    )
    _dots(s, 45, (0.0, a), (0.82, 1.0), (0.006, 0.01), "#ffe14d", below=front)
    _dots(s, 35, (0.0, a), (0.82, 1.0), (0.006, 0.01), "#ffffff", below=front)
    _dots(s, 30, (0.0, a), (0.82, 1.0), (0.006, 0.01), "#f59ac0", below=front)
    return s.image()


# --------------------------------------------------------------------------------------
# Skies
# --------------------------------------------------------------------------------------


def paint_dawn(width: int, height: int, seed: int) -> Image.Image:
    """Sunrise: a violet-to-gold gradient, a low sun, pink-bellied clouds, misty hills."""
    s = _Scene(width, height, seed, "dawn")
    a = s.aspect
    horizon = 0.72
    # 1. Sky and rising sun.
    s.gradient(
        [
            (0.0, "#2c3a6b"),
            (0.3, "#6f5a91"),
            (0.52, "#e0879a"),
            (0.66, "#f8c27c"),
            (0.74, "#fde4aa"),
            (1.0, "#fde4aa"),
        ]
    )
    sun_x = a * s.rng.uniform(0.35, 0.65)
    s.glow(sun_x, horizon, 0.45, "#ffc07a", 0.55)
    s.glow(sun_x, horizon, 0.14, "#fff0c0", 0.8)
    s.blend(s.disc(sun_x, horizon - 0.05, 0.085), _rgb("#fff4d2"))
    # 2. Clouds lit from below.
    for k in range(3):
        _cloud(
            s,
            a * (0.15 + 0.33 * k + s.rng.uniform(0.0, 0.08)),
            s.rng.uniform(0.2, 0.42),
            s.rng.uniform(0.22, 0.36),
            "#d49ab4",
            "#ffd6a8",
            "#7d6b9e",
            lit_from_below=True,
        )
    # 3. Misty layers of hills, fog between them.
    layers = [
        (horizon - 0.02, "#a48fb8", "#b9a3c2"),
        (0.8, "#7b6b9e", "#8f7fac"),
        (0.9, "#574d7e", "#5c5284"),
    ]
    for k, (base, top, bottom) in enumerate(layers):
        ridge = s.ridge(base, 0.05 + 0.015 * k, cells=2.5 - 0.5 * k)
        s.hill(ridge, top, bottom, depth=0.15)
        fog = np.exp(-(((s.y - (base + 0.03)) / 0.025) ** 2))[:, None]
        s.screen(np.broadcast_to(fog * 0.35, (s.h, s.w)), _rgb("#ffd9c8"))
    return s.image()


def paint_noon(width: int, height: int, seed: int) -> Image.Image:
    """Midday: a deep blue sky, a high white sun with glare, big white clouds, a low green horizon."""
    s = _Scene(width, height, seed, "noon")
    a = s.aspect
    # 1. Sky and a high sun.
    s.gradient([(0.0, "#1763c6"), (0.55, "#4d9fe8"), (0.85, "#b8e0f8"), (1.0, "#b8e0f8")])
    sun_x = a * s.rng.uniform(0.35, 0.65)
    s.glow(sun_x, 0.12, 0.4, "#ffffff", 0.45)
    s.glow(sun_x, 0.12, 0.12, "#ffffff", 0.8)
    s.blend(s.disc(sun_x, 0.12, 0.05), _rgb("#ffffff"))
    # 2. Clouds of different sizes and heights.
    for k in range(5):
        x = a * (0.1 + 0.2 * k + s.rng.uniform(-0.04, 0.04))
        y = s.rng.uniform(0.3, 0.72) if k % 2 else s.rng.uniform(0.42, 0.62)
        _cloud(s, x, y, s.rng.uniform(0.2, 0.38), "#ffffff", "#ffffff", "#b9cde4")
    # 3. A thin strip of land.
    far = s.ridge(0.86, 0.025, cells=3.0)
    s.hill(far, "#6f9f86", "#6f9f86", depth=0.1)
    near = s.ridge(0.93, 0.03, cells=2.0)
    s.hill(near, "#6fbf4f", "#4c9a3a", depth=0.08, texture=0.05)
    return s.image()


def paint_dusk(width: int, height: int, seed: int) -> Image.Image:
    """Sunset: a purple-to-orange sky, streaky clouds, a sinking sun, dark layered hills, birds."""
    s = _Scene(width, height, seed, "dusk")
    a = s.aspect
    # 1. Sky, sun and the clouds it lights.
    s.gradient(
        [
            (0.0, "#291d4f"),
            (0.28, "#56336f"),
            (0.5, "#b0466c"),
            (0.68, "#ee7a46"),
            (0.8, "#f9b45c"),
            (1.0, "#f9b45c"),
        ]
    )
    sun_x = a * s.rng.uniform(0.25, 0.75)
    s.glow(sun_x, 0.7, 0.4, "#ff9a50", 0.5)
    s.blend(s.disc(sun_x, 0.7, 0.09), _rgb("#ffd98a"))
    _streak_clouds(s, 0.12, 0.62, 0.42, "#7a3f82", "#ff9a6a")
    # 2. Silhouette hills, nearer ones darker.
    layers = [(0.7, 0.08, "#7b3f6e"), (0.78, 0.07, "#4b2a56"), (0.88, 0.06, "#24163a")]
    ridge = s.y
    for k, (base, amp, colour) in enumerate(layers):
        ridge = s.ridge(base, amp, cells=3.0 - 0.6 * k, sharp=(k == 0))
        s.hill(ridge, colour, colour, rim="#f08a5a" if k == 0 else None, rim_width=1.5)
    # 3. Pines on the nearest ridge, birds in the sky.
    for x in _spread(s, 3, margin=0.1):
        if s.rng.random() < 0.7:
            _pine(
                s,
                x,
                s.ground_at(ridge, x) + 0.01,
                s.rng.uniform(0.12, 0.2),
                "#24163a",
                trunk="#24163a",
            )
    _birds(s, a * s.rng.uniform(0.3, 0.7), 0.3, 5, 0.035, "#2a1a3c")
    return s.image()


def paint_night(width: int, height: int, seed: int) -> Image.Image:
    """Night: dark blue sky, stars, a crescent moon, mountains, and a lake reflecting the moon."""
    s = _Scene(width, height, seed, "night")
    a = s.aspect
    horizon = 0.66
    # 1. Sky, a faint Milky Way and stars.
    s.gradient([(0.0, "#050a1e"), (0.45, "#0d1a40"), (horizon, "#223766"), (1.0, "#223766")])
    band = _fbm_2d(s.x, s.y, 4.0, 4.0, 4, s.new_seed())
    ax = s.x[None, :] - a * 0.5
    ay = s.y[:, None] - 0.3
    across = np.exp(-(((ax * 0.6 + ay) / 0.12) ** 2))
    s.screen(across * _smoothstep(0.45, 0.75, band) * 0.22, _rgb("#9fb4ff"))
    count = int(0.005 * s.w * s.h)
    sx = s.rng.integers(0, s.w, count)
    sy = (s.rng.random(count) ** 1.4 * horizon * s.h).astype(np.int64)
    bright = s.rng.uniform(0.35, 1.0, count) * (1.0 - sy / (horizon * s.h)) ** 0.5
    for x, y, b in zip(sx, sy, bright, strict=True):
        s.img[y, x] = np.maximum(s.img[y, x], b * _rgb("#f4f6ff"))
    for _ in range(6):
        x, y = s.rng.uniform(0.03, a - 0.03), s.rng.uniform(0.03, horizon * 0.7)
        s.glow(x, y, 0.012, "#dfe8ff", 0.9)
    # 2. A crescent moon with a halo.
    mx, my, mr = a * s.rng.uniform(0.6, 0.8), s.rng.uniform(0.14, 0.24), 0.07
    s.glow(mx, my, 0.22, "#3c5a9a", 0.45)
    crescent = s.disc(mx, my, mr) * (1.0 - s.disc(mx + mr * 0.45, my - mr * 0.2, mr * 0.9))
    s.blend(crescent, _rgb("#f6f0d2"))
    # 3. Mountains on the far shore.
    far = s.ridge(horizon - 0.08, 0.12, cells=3.0, sharp=True)
    far = np.minimum(far, horizon)
    s.hill(far, "#22335f", "#1a2850", depth=0.12, rim="#5a72b0", rim_width=1.2)
    # 4. The lake: the sky mirrored below the horizon, rippled and darkened,
    #    with a path of glitter under the moon.
    row = int(horizon * s.h)
    ripple = _fbm_2d(s.x, s.y, 2.0, 40.0, 3, s.new_seed())
    for r in range(row, s.h):
        src = max(2 * row - r - 1, 0)
        shift = np.rint((ripple[r] - 0.5) * 60.0 * (r - row + 4) / s.h).astype(np.int64)
        cols = np.clip(np.arange(s.w) + shift, 0, s.w - 1)
        s.img[r] = s.img[src, cols] * 0.62 + _rgb("#0a1430") * 0.38
    below = s.y[:, None] - horizon
    spread = 0.02 + 0.35 * np.maximum(below, 0.0)
    path = np.exp(-(((s.x[None, :] - mx) / spread) ** 2)) * (below > 0)
    sparkle = _smoothstep(0.5, 0.7, ripple)
    s.screen(path * sparkle * 0.8, _rgb("#f6f0d2"))
    # 5. A dark shore with pines in front.
    shore = s.ridge(0.9, 0.05, cells=2.0)
    side = 0.0 if s.rng.random() < 0.5 else a
    shore = shore + 0.12 * (np.abs(s.x - side) / a) ** 2
    s.hill(shore, "#070b18", "#070b18", rim="#33477a", rim_width=1.0)
    for k in range(4):
        x = abs(side - (0.05 + 0.09 * k + s.rng.uniform(0.0, 0.04)))
        _pine(
            s,
            x,
            s.ground_at(shore, x) + 0.01,
            s.rng.uniform(0.14, 0.22),
            "#070b18",
            trunk="#070b18",
        )
    return s.image()


PAINTERS: dict[str, Painter] = {
    "summer": paint_summer,
    "autumn": paint_autumn,
    "winter": paint_winter,
    "spring": paint_spring,
    "dawn": paint_dawn,
    "noon": paint_noon,
    "dusk": paint_dusk,
    "night": paint_night,
}
