"""The float canvas painters draw on (`_Scene`), colour helpers and supersampled shapes.

`_Scene` is a float RGB canvas with gradients, soft discs, glows, and hills whose ridge
line is a sum of sines and fBm; `_Shapes` records trees, birds, flakes and the like and
draws them with Pillow at `SUPERSAMPLE` times the size, box-filtered down for
anti-aliased edges.

Coordinates are in units of the image *height*: y runs 0 (top) to 1 (bottom) and x runs
0 to width/height, so circles stay round and features keep their size at any aspect.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
from PIL import Image, ImageDraw

from .noise import _fbm_1d, _fbm_2d

SUPERSAMPLE = 4  # shapes are drawn at 4x and box-filtered down: anti-aliased edges


# --------------------------------------------------------------------------------------
# Colours
# --------------------------------------------------------------------------------------


def _rgb(hex_colour: str) -> np.ndarray:
    """'#rrggbb' -> float array of shape (3,) in [0, 1]."""
    value = hex_colour.lstrip("#")
    return np.array([int(value[i : i + 2], 16) / 255.0 for i in (0, 2, 4)])


def _mix(a: np.ndarray, b: np.ndarray, t: float | np.ndarray) -> np.ndarray:
    """Linear blend from colour `a` (t=0) to colour `b` (t=1)."""
    t = np.asarray(t, dtype=np.float64)
    if t.ndim > 0:
        t = t[..., None]
    return a * (1.0 - t) + b * t


def _smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    """Hermite step from 0 (x <= edge0) to 1 (x >= edge1)."""
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


# --------------------------------------------------------------------------------------
# Shapes drawn by Pillow, supersampled
# --------------------------------------------------------------------------------------


class _Shapes:
    """A set of filled shapes in height units, rasterised together into one alpha mask.

    Shapes are recorded, then drawn at `SUPERSAMPLE` times the resolution inside their
    bounding box only and box-filtered down, which gives smooth edges cheaply.
    """

    def __init__(self) -> None:
        self.ops: list[tuple[str, tuple]] = []
        self.points: list[tuple[float, float]] = []

    def polygon(self, points: list[tuple[float, float]]) -> None:
        """Add a filled polygon given as (x, y) points."""
        self.ops.append(("polygon", tuple(points)))
        self.points.extend(points)

    def ellipse(self, cx: float, cy: float, rx: float, ry: float | None = None) -> None:
        """Add a filled ellipse (a circle when `ry` is omitted)."""
        ry = rx if ry is None else ry
        self.ops.append(("ellipse", (cx - rx, cy - ry, cx + rx, cy + ry)))
        self.points.extend([(cx - rx, cy - ry), (cx + rx, cy + ry)])

    def branch(self, x0: float, y0: float, x1: float, y1: float, w0: float, w1: float) -> None:
        """Add a tapered stroke from (x0, y0), `w0` wide, to (x1, y1), `w1` wide, round-ended."""
        length = math.hypot(x1 - x0, y1 - y0) or 1e-9
        nx, ny = -(y1 - y0) / length, (x1 - x0) / length
        self.polygon(
            [
                (x0 + nx * w0 / 2, y0 + ny * w0 / 2),
                (x1 + nx * w1 / 2, y1 + ny * w1 / 2),
                (x1 - nx * w1 / 2, y1 - ny * w1 / 2),
                (x0 - nx * w0 / 2, y0 - ny * w0 / 2),
            ]
        )
        self.ellipse(x1, y1, w1 / 2)

    def mask(self, width: int, height: int) -> tuple[np.ndarray, int, int] | None:
        """Rasterise to (alpha, top, left) covering the shapes' pixel box, or None if off-canvas."""
        if not self.ops:
            return None
        pts = np.array(self.points) * height
        left = max(int(math.floor(pts[:, 0].min())) - 1, 0)
        top = max(int(math.floor(pts[:, 1].min())) - 1, 0)
        right = min(int(math.ceil(pts[:, 0].max())) + 1, width)
        bottom = min(int(math.ceil(pts[:, 1].max())) + 1, height)
        if right <= left or bottom <= top:
            return None
        ss = SUPERSAMPLE
        image = Image.new("L", ((right - left) * ss, (bottom - top) * ss), 0)
        draw = ImageDraw.Draw(image)
        scale = height * ss

        def to_px(x: float, y: float) -> tuple[float, float]:
            return (x * scale - left * ss, y * scale - top * ss)

        for kind, data in self.ops:
            if kind == "polygon":
                draw.polygon([to_px(x, y) for x, y in data], fill=255)
            else:
                x0, y0 = to_px(data[0], data[1])
                x1, y1 = to_px(data[2], data[3])
                draw.ellipse((x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)), fill=255)
        alpha = np.asarray(image.reduce(ss), dtype=np.float64) / 255.0
        return alpha, top, left


# --------------------------------------------------------------------------------------
# The canvas
# --------------------------------------------------------------------------------------


class _Scene:
    """A float RGB canvas in [0, 1] plus the coordinates and random stream painters share."""

    def __init__(self, width: int, height: int, seed: int, name: str) -> None:
        self.w = width
        self.h = height
        self.aspect = width / height
        self.x = (np.arange(width) + 0.5) / height  # column centres, in heights
        self.y = (np.arange(height) + 0.5) / height  # row centres, in heights
        self.pixel = 1.0 / height
        # One stream per (seed, painter): painters differ in layout even for the same seed.
        self.rng = np.random.default_rng([seed, zlib.crc32(name.encode("ascii"))])
        self.img = np.zeros((height, width, 3))

    def new_seed(self) -> int:
        """A fresh integer seed for one noise field, drawn from the scene's stream."""
        return int(self.rng.integers(0, 2**31 - 1))

    def image(self) -> Image.Image:
        """The canvas as an 8-bit RGB Pillow image."""
        data = np.clip(np.rint(self.img * 255.0), 0, 255).astype(np.uint8)
        return Image.fromarray(data, "RGB")

    # ---- whole-canvas fills -------------------------------------------------------------

    def gradient(self, stops: list[tuple[float, str]]) -> None:
        """Fill with a vertical gradient through (y, '#rrggbb') stops."""
        positions = [p for p, _ in stops]
        colours = np.array([_rgb(c) for _, c in stops])
        rows = np.stack([np.interp(self.y, positions, colours[:, k]) for k in range(3)], axis=1)
        self.img[:] = rows[:, None, :]

    def blend(self, alpha: np.ndarray, colour: np.ndarray, top: int = 0, left: int = 0) -> None:
        """Paint `colour` (3,) or (h, w, 3) with coverage `alpha` (h, w) at (top, left)."""
        h, w = alpha.shape
        view = self.img[top : top + h, left : left + w]
        a = alpha[..., None]
        view *= 1.0 - a
        view += a * colour

    def screen(self, amount: np.ndarray, colour: np.ndarray) -> None:
        """Lighten the whole canvas with `colour` weighted by `amount` (h, w): a screen blend."""
        light = amount[..., None] * colour
        self.img = 1.0 - (1.0 - self.img) * (1.0 - np.clip(light, 0.0, 1.0))

    def distance(self, cx: float, cy: float) -> np.ndarray:
        """Distance of every pixel centre from (cx, cy), in heights."""
        dx = self.x[None, :] - cx
        dy = self.y[:, None] - cy
        return np.sqrt(dx * dx + dy * dy)

    def disc(self, cx: float, cy: float, radius: float, soft: float = 1.0) -> np.ndarray:
        """Coverage of an anti-aliased disc; `soft` is the edge width in pixels."""
        return np.clip((radius - self.distance(cx, cy)) * self.h / soft + 0.5, 0.0, 1.0)

    def glow(self, cx: float, cy: float, radius: float, colour: str, strength: float) -> None:
        """A Gaussian halo of light around (cx, cy)."""
        d = self.distance(cx, cy) / radius
        self.screen(strength * np.exp(-d * d), _rgb(colour))

    def fill(self, shapes: _Shapes, colour: str | np.ndarray, opacity: float = 1.0) -> None:
        """Paint a set of shapes in one colour."""
        result = shapes.mask(self.w, self.h)
        if result is None:
            return
        alpha, top, left = result
        rgb = _rgb(colour) if isinstance(colour, str) else colour
        self.blend(alpha * opacity, rgb, top, left)

    # ---- terrain ------------------------------------------------------------------------

    def ridge(
        self,
        base: float,
        amplitude: float,
        cells: float = 2.5,
        octaves: int = 4,
        waves: int = 2,
        sharp: bool = False,
    ) -> np.ndarray:
        """A hill line: y of the ground in every column (smaller y = higher ground).

        A sum of `waves` slow sines gives the rolling shape, fBm gives the detail; `sharp`
        folds the noise into ridged peaks for mountains.
        """
        shape = np.zeros(self.w)
        for k in range(waves):
            freq = self.rng.uniform(0.6, 1.6) * (k + 1)
            phase = self.rng.uniform(0.0, 2.0 * math.pi)
            shape += np.sin(2.0 * math.pi * freq * self.x + phase) / (k + 1)
        shape /= sum(1.0 / (k + 1) for k in range(waves)) or 1.0
        detail = _fbm_1d(self.x + 10.0, cells, octaves, self.new_seed()) * 2.0 - 1.0
        if sharp:
            detail = 1.0 - 2.0 * np.abs(detail)
            return base - amplitude * (0.35 * shape + 0.9 * detail)
        return base - amplitude * (0.6 * shape + 0.5 * detail)

    def hill(
        self,
        ridge: np.ndarray,
        top: str,
        bottom: str,
        depth: float = 0.3,
        texture: float = 0.0,
        shade: float = 0.0,
        rim: str | None = None,
        rim_width: float = 2.0,
    ) -> None:
        """Fill everything below `ridge`, fading from `top` to `bottom` over `depth`.

        `texture` adds soft mottling, `shade` lights slopes that face the upper left, and
        `rim` draws a thin lit edge `rim_width` pixels wide along the ridge.
        """
        d = self.y[:, None] - ridge[None, :]  # how far below the ridge, in heights
        alpha = np.clip(d * self.h + 0.5, 0.0, 1.0)
        t = np.clip(d / depth, 0.0, 1.0)
        colour = _mix(_rgb(top), _rgb(bottom), t)
        factor = np.ones_like(d)
        if texture:
            noise = _fbm_2d(self.x, self.y, 10.0, 18.0, 3, self.new_seed())
            factor += texture * (noise - 0.5) * 2.0
        if shade:
            slope = np.gradient(ridge, self.x)  # > 0 where the ground falls to the right
            light = np.clip(slope, -1.5, 1.5)[None, :] * np.exp(-d / (depth * 0.5))
            factor += shade * light
        colour = colour * factor[..., None]
        if rim:
            glow = np.exp(-np.maximum(d, 0.0) * self.h / rim_width)
            colour = _mix(colour, _rgb(rim), glow * 0.8)
        self.blend(alpha, colour)

    def ground_at(self, ridge: np.ndarray, x: float) -> float:
        """The ground's y at horizontal position `x` on `ridge`."""
        return float(np.interp(x, self.x, ridge))

