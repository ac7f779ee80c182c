"""Procedural keyframe painters: landscapes and skies drawn with numpy and Pillow.

Every pixel the project ships as an example keyframe is made here, from code, so the
examples carry no third-party images. A painter is a function `f(width, height, seed)`
returning an RGB `PIL.Image.Image`; the same arguments give the same pixels on every run.

Picture-building blocks, all in one file and all plain numpy:

- value noise and fBm (fractal sums of value noise) in 1-D and 2-D, from an integer hash,
  so a given point has the same noise value whatever the canvas size;
- a float RGB canvas (`_Scene`) with gradients, soft discs, glows, hills whose ridge line
  is a sum of sines and fBm, and shapes (trees, birds, flakes) drawn by Pillow at
  `SUPERSAMPLE` times the size and box-filtered down for anti-aliased edges.

Coordinates are in units of the image *height*: y runs 0 (top) to 1 (bottom) and x runs
0 to width/height, so circles stay round and features keep their size at any aspect.

Public API (kept stable; `seqc init` scaffolds keyframes with `paint`):

- `PAINTERS`: name -> painter `f(width, height, seed) -> Image`
- `paint(name, size=(256, 256), seed=0) -> Image`
- `png_bytes(image) -> bytes`: the deterministic PNG encoding used for files
- `save_set(folder, names, size=(256, 256), seed=0) -> list[Path]`: writes `<name>.png`
"""

from __future__ import annotations

import io
import math
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from seqc.errors import InputError
from seqc.fsutil import atomic_write_bytes

DEFAULT_SIZE = (256, 256)
SUPERSAMPLE = 4  # shapes are drawn at 4x and box-filtered down: anti-aliased edges
SIZE_MULTIPLE = 8  # painters accept any width and height that are multiples of this
MAX_SIDE = 4096

Painter = Callable[[int, int, int], Image.Image]


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
# Value noise and fBm
# --------------------------------------------------------------------------------------


def _hash01(ix: np.ndarray, iy: np.ndarray, seed: int) -> np.ndarray:
    """A well-mixed 32-bit integer hash of lattice points, scaled to [0, 1)."""
    h = ix.astype(np.uint32) * np.uint32(0x27D4EB2D)
    h ^= iy.astype(np.uint32) * np.uint32(0x165667B1)
    h ^= np.uint32((seed * 0x9E3779B1) & 0xFFFFFFFF)
    h ^= h >> np.uint32(15)
    h *= np.uint32(0x2C1B3C6D)
    h ^= h >> np.uint32(12)
    h *= np.uint32(0x297A2D39)
    h ^= h >> np.uint32(15)
    return h.astype(np.float64) / 4294967296.0


def _noise_1d(x: np.ndarray, cells: float, seed: int) -> np.ndarray:
    """Smooth value noise in [0, 1] at positions `x` (>= 0), `cells` lattice cells per unit."""
    p = np.asarray(x, dtype=np.float64) * cells
    i = np.floor(p).astype(np.int64)
    t = p - i
    t = t * t * (3.0 - 2.0 * t)
    lo, hi = int(i.min()), int(i.max()) + 1
    lattice = _hash01(np.arange(lo, hi + 1), np.zeros(hi - lo + 1, dtype=np.int64), seed)
    j = i - lo
    return lattice[j] * (1.0 - t) + lattice[j + 1] * t


def _noise_2d(
    x: np.ndarray, y: np.ndarray, cells_x: float, cells_y: float, seed: int
) -> np.ndarray:
    """Smooth 2-D value noise in [0, 1] on the grid `y` (rows) x `x` (columns), both >= 0."""
    px = np.asarray(x, dtype=np.float64) * cells_x
    py = np.asarray(y, dtype=np.float64) * cells_y
    ix = np.floor(px).astype(np.int64)
    iy = np.floor(py).astype(np.int64)
    tx = px - ix
    ty = py - iy
    tx = tx * tx * (3.0 - 2.0 * tx)
    ty = ty * ty * (3.0 - 2.0 * ty)
    x0, x1 = int(ix.min()), int(ix.max()) + 1
    y0, y1 = int(iy.min()), int(iy.max()) + 1
    gx, gy = np.meshgrid(np.arange(x0, x1 + 1), np.arange(y0, y1 + 1))
    lattice = _hash01(gx, gy, seed)
    jx = (ix - x0)[None, :]
    jy = (iy - y0)[:, None]
    top = lattice[jy, jx] * (1.0 - tx) + lattice[jy, jx + 1] * tx
    bottom = lattice[jy + 1, jx] * (1.0 - tx) + lattice[jy + 1, jx + 1] * tx
    return top * (1.0 - ty[:, None]) + bottom * ty[:, None]


def _fbm_1d(x: np.ndarray, cells: float, octaves: int, seed: int, gain: float = 0.5) -> np.ndarray:
    """Fractal sum of 1-D value noise (each octave twice the frequency), normalised to [0, 1]."""
    total = np.zeros_like(np.asarray(x, dtype=np.float64))
    amplitude, norm = 1.0, 0.0
    for octave in range(octaves):
        total += amplitude * _noise_1d(x, cells * 2.0**octave, seed + 7919 * octave)
        norm += amplitude
        amplitude *= gain
    return total / norm


def _fbm_2d(
    x: np.ndarray,
    y: np.ndarray,
    cells_x: float,
    cells_y: float,
    octaves: int,
    seed: int,
    gain: float = 0.5,
) -> np.ndarray:
    """Fractal sum of 2-D value noise on the grid `y` x `x`, normalised to [0, 1]."""
    total = np.zeros((len(y), len(x)))
    amplitude, norm = 1.0, 0.0
    for octave in range(octaves):
        scale = 2.0**octave
        total += amplitude * _noise_2d(x, y, cells_x * scale, cells_y * scale, seed + 7919 * octave)
        norm += amplitude
        amplitude *= gain
    return total / norm


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


# --------------------------------------------------------------------------------------
# Things in the scene
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------

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


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    """Validate (width, height): positive multiples of `SIZE_MULTIPLE`, at most `MAX_SIDE`."""
    try:
        width, height = (int(v) for v in size)
    except (TypeError, ValueError):
        raise InputError(f"size must be (width, height), got {size!r}") from None
    for value in (width, height):
        if value <= 0 or value % SIZE_MULTIPLE or value > MAX_SIDE:
            raise InputError(
                f"size {width}x{height}: width and height must be multiples of "
                f"{SIZE_MULTIPLE} between {SIZE_MULTIPLE} and {MAX_SIDE}"
            )
    return width, height


def paint(name: str, size: tuple[int, int] = DEFAULT_SIZE, seed: int = 0) -> Image.Image:
    """Paint the picture `name` (a key of `PAINTERS`) at `size` = (width, height).

    The same name, size and seed give the same pixels on every run. Raises `InputError`
    for an unknown name, a size that is not a multiple of 8, or a negative seed.
    """
    painter = PAINTERS.get(name)
    if painter is None:
        known = ", ".join(sorted(PAINTERS))
        raise InputError(f"unknown painter {name!r} (known: {known})")
    width, height = _check_size(size)
    if int(seed) < 0:
        raise InputError(f"seed must be >= 0, got {seed}")
    image = painter(width, height, int(seed))
    assert image.mode == "RGB" and image.size == (width, height)
    return image


def png_bytes(image: Image.Image) -> bytes:
    """Encode `image` as an optimised PNG with no metadata: same pixels give the same bytes."""
    buffer = io.BytesIO()
    clean = Image.frombytes(image.mode, image.size, image.tobytes())  # drops any .info
    clean.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def save_set(
    folder: str | Path,
    names: Iterable[str],
    size: tuple[int, int] = DEFAULT_SIZE,
    seed: int = 0,
) -> list[Path]:
    """Paint each of `names` and write it to `folder/<name>.png` atomically; return the paths.

    The files are byte-identical for the same inputs on every run (see `png_bytes`).
    """
    folder = Path(folder)
    paths = []
    for name in names:
        path = folder / f"{name}.png"
        atomic_write_bytes(path, png_bytes(paint(name, size, seed)))
        paths.append(path)
    return paths
