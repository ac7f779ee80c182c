"""Things in a scene: clouds, trees, birds and scattered dots, drawn onto a `_Scene`."""

from __future__ import annotations

import math

import numpy as np

from .noise import _fbm_2d
from .scene import _mix, _rgb, _Scene, _Shapes, _smoothstep


def _cloud(
    scene: _Scene,
    cx: float,
    cy: float,
    width: float,
    body: str,
    light: str,
    shadow: str,
    lit_from_below: bool = False,
) -> None:
    """A puffy cloud: a row of overlapping circles on a flat base, shaded top to bottom.

    The lit rim is what the circles leave uncovered when shifted away from the light.
    """
    rng = scene.rng
    n = int(rng.integers(4, 7))
    xs = np.linspace(cx - width * 0.36, cx + width * 0.36, n) + rng.normal(0, width * 0.03, n)
    bump = np.sin(np.linspace(0.35, math.pi - 0.35, n))
    rs = width * (0.08 + 0.13 * bump) * rng.uniform(0.8, 1.2, n)
    ys = cy - rs * rng.uniform(0.35, 0.6, n)
    # Work only inside the cloud's box.
    h = scene.h
    left = max(int((cx - width * 0.62) * h), 0)
    right = min(int((cx + width * 0.62) * h) + 1, scene.w)
    top = max(int((ys - rs).min() * h) - 1, 0)
    bottom = min(int(cy * h) + 2, scene.h)
    if right <= left or bottom <= top:
        return
    gx = scene.x[left:right][None, :]
    gy = scene.y[top:bottom][:, None]

    def union(shift: float, soft: float) -> np.ndarray:
        cover = np.zeros((bottom - top, right - left))
        for x0, y0, r in zip(xs, ys, rs, strict=True):
            d = np.sqrt((gx - x0) ** 2 + (gy - (y0 + shift * r)) ** 2)
            cover = np.maximum(cover, np.clip((r - d) * h / soft + 0.5, 0.0, 1.0))
        return cover

    base = np.clip((cy - gy) * h + 0.5, 0.0, 1.0)
    coverage = union(0.0, 1.0) * base
    height = max(float(cy - (ys - rs).min()), 1e-6)
    t = np.clip((gy - (cy - height)) / height, 0.0, 1.0)
    if lit_from_below:
        colour = _mix(_rgb(shadow), _rgb(body), t**1.5)
        rim = coverage * (1.0 - union(-0.3, 4.0))
    else:
        colour = _mix(_rgb(body), _rgb(shadow), t**2)
        rim = coverage * (1.0 - union(0.3, 4.0))
    colour = _mix(colour, _rgb(light), rim * 0.9)
    scene.blend(coverage, colour, top, left)


def _streak_clouds(scene: _Scene, y0: float, y1: float, cover: float, high: str, low: str) -> None:
    """Long thin clouds between heights y0 and y1, coloured `high` at y0 fading to `low` at y1."""
    noise = _fbm_2d(scene.x + 3.0, scene.y + 3.0, 1.6, 16.0, 4, scene.new_seed(), gain=0.55)
    band = _smoothstep(y0, y0 + 0.08, scene.y) * (1.0 - _smoothstep(y1 - 0.08, y1, scene.y))
    density = _smoothstep(1.0 - cover, 1.0 - cover + 0.18, noise) * band[:, None]
    t = np.clip((scene.y - y0) / (y1 - y0), 0.0, 1.0)
    colour = _mix(_rgb(high), _rgb(low), t)[:, None, :]
    scene.blend(density * 0.85, np.broadcast_to(colour, scene.img.shape))


def _round_tree(
    scene: _Scene,
    x: float,
    y: float,
    size: float,
    trunk: str,
    dark: str,
    light: str,
    blossom: str | None = None,
) -> None:
    """A broad-leaved tree standing at (x, y): a trunk and a two-tone cluster of circles."""
    rng = scene.rng
    stem = _Shapes()
    stem.branch(x, y + size * 0.03, x, y - size * 0.55, size * 0.09, size * 0.05)
    stem.branch(x, y - size * 0.35, x + size * 0.16, y - size * 0.6, size * 0.04, size * 0.025)
    stem.branch(x, y - size * 0.3, x - size * 0.15, y - size * 0.55, size * 0.04, size * 0.025)
    scene.fill(stem, trunk)
    cx, cy, r = x, y - size * 0.7, size * 0.3
    blobs = [(cx, cy, r)]
    for k in range(5):
        angle = 2.0 * math.pi * k / 5 + rng.uniform(-0.4, 0.4)
        rr = r * rng.uniform(0.55, 0.75)
        blobs.append((cx + math.cos(angle) * r * 0.62, cy + math.sin(angle) * r * 0.5, rr))
    canopy = _Shapes()
    highlight = _Shapes()
    for bx, by, br in blobs:
        canopy.ellipse(bx, by, br)
        if by < cy + r * 0.2:
            highlight.ellipse(bx - br * 0.22, by - br * 0.22, br * 0.68)
    scene.fill(canopy, dark)
    scene.fill(highlight, light)
    if blossom:
        dots = _Shapes()
        for _ in range(14):
            angle = rng.uniform(0.0, 2.0 * math.pi)
            dist = r * 1.05 * math.sqrt(rng.uniform(0.0, 1.0))
            dots.ellipse(
                cx + math.cos(angle) * dist, cy + math.sin(angle) * dist * 0.85, size * 0.025
            )
        scene.fill(dots, blossom)


def _pine(
    scene: _Scene,
    x: float,
    y: float,
    size: float,
    dark: str,
    light: str | None = None,
    snow: str | None = None,
    trunk: str = "#4a3322",
) -> None:
    """A conifer standing at (x, y): three stacked tiers, optionally lit on one side and snowy."""
    stem = _Shapes()
    stem.polygon(
        [
            (x - size * 0.03, y + size * 0.02),
            (x + size * 0.03, y + size * 0.02),
            (x + size * 0.03, y - size * 0.2),
            (x - size * 0.03, y - size * 0.2),
        ]
    )
    scene.fill(stem, trunk)
    body, side, caps = _Shapes(), _Shapes(), _Shapes()
    for tier in range(3):
        base = y - size * (0.14 + 0.24 * tier)
        apex = base - size * (0.46 - 0.05 * tier)
        half = size * 0.24 * (1.0 - 0.24 * tier)
        body.polygon([(x, apex), (x + half, base), (x - half, base)])
        side.polygon([(x, apex), (x - half, base), (x - half * 0.05, base)])
        k = 0.42
        caps.polygon(
            [
                (x, apex),
                (x + half * k, apex + (base - apex) * k),
                (x + half * k * 0.3, apex + (base - apex) * k * 0.8),
                (x - half * k * 0.4, apex + (base - apex) * k * 0.95),
                (x - half * k, apex + (base - apex) * k),
            ]
        )
    scene.fill(body, dark)
    if light:
        scene.fill(side, light)
    if snow:
        scene.fill(caps, snow)


def _bare_tree(scene: _Scene, x: float, y: float, size: float, colour: str, depth: int = 5) -> None:
    """A leafless tree at (x, y): a trunk that splits into ever thinner branches."""
    rng = scene.rng
    shapes = _Shapes()

    def grow(x0: float, y0: float, angle: float, length: float, width: float, level: int) -> None:
        x1 = x0 + math.cos(angle) * length
        y1 = y0 + math.sin(angle) * length
        shapes.branch(x0, y0, x1, y1, width, width * 0.65)
        if level == 0:
            return
        count = 2 if rng.random() < 0.7 else 3
        for k in range(count):
            spread = (k - (count - 1) / 2) * rng.uniform(0.45, 0.7)
            grow(
                x1,
                y1,
                angle + spread + rng.normal(0, 0.12),
                length * rng.uniform(0.66, 0.8),
                width * 0.62,
                level - 1,
            )

    grow(x, y + size * 0.02, -math.pi / 2 + rng.normal(0, 0.05), size * 0.32, size * 0.075, depth)
    scene.fill(shapes, colour)


def _dots(
    scene: _Scene,
    count: int,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    radius: tuple[float, float],
    colour: str,
    opacity: float = 1.0,
    below: np.ndarray | None = None,
    squash: float = 1.0,
) -> None:
    """Scatter small round dots (flowers, leaves, snowflakes); `below` keeps them under a ridge."""
    rng = scene.rng
    shapes = _Shapes()
    for _ in range(count):
        x = rng.uniform(*x_range)
        y = rng.uniform(*y_range)
        r = rng.uniform(*radius)
        if below is not None and y < scene.ground_at(below, x) + r * 2:
            continue
        shapes.ellipse(x, y, r, r * squash)
    scene.fill(shapes, colour, opacity)


def _birds(scene: _Scene, cx: float, cy: float, count: int, size: float, colour: str) -> None:
    """A loose flock of 'v' shaped birds around (cx, cy)."""
    rng = scene.rng
    shapes = _Shapes()
    for _ in range(count):
        x = cx + rng.normal(0, size * 2.5)
        y = cy + rng.normal(0, size * 1.2)
        s = size * rng.uniform(0.7, 1.2)
        lift = rng.uniform(0.25, 0.55)
        w = s * 0.14
        shapes.branch(x, y, x - s * 0.5, y - s * lift, w, w * 0.5)
        shapes.branch(x, y, x + s * 0.5, y - s * lift, w, w * 0.5)
    scene.fill(shapes, colour)


def _spread(scene: _Scene, count: int, margin: float = 0.06) -> list[float]:
    """`count` x positions spread across the width with some jitter, left to right."""
    span = scene.aspect - 2 * margin
    step = span / count
    return [margin + step * (k + scene.rng.uniform(0.2, 0.8)) for k in range(count)]

