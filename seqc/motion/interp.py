"""Interpolation between latents for a batch of times: lerp, slerp and the Catmull-Rom spline.

Both take two arrays ``a`` and ``b`` of the same shape (one latent, e.g. [C, H, W]) and a
1-D array ``t`` of T times, and return an array of shape [T, *a.shape] (float32 unless
``dtype`` says otherwise). The arithmetic is float64; t = 0 gives exactly ``a`` and t = 1
exactly ``b`` before the final cast.

slerp treats the whole latent as one flattened vector:

- the direction moves along the great circle from a/|a| to b/|b| at constant angular speed,
  and the norm goes linearly from |a| to |b| (so unit inputs stay on the unit sphere);
- nearly parallel inputs (sin(angle) < 1e-6) and zero vectors fall back to lerp;
- antipodal inputs (b pointing opposite a, sin(angle) < 1e-6 with the angle near pi) have
  no unique great circle, so the path turns through a fixed orthogonal direction p: it goes
  a -> p over t in [0, 1/2] and p -> b over [1/2, 1]. p is the coordinate axis e_k on which
  a/|a| - b/|b| is smallest in size, made orthogonal to that difference; it depends only on
  the pair {a, b}, so the path is deterministic and symmetric. One-element vectors have no
  orthogonal direction and fall back to lerp.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["catmull_rom", "lerp", "slerp"]

_PARALLEL_SIN = 1e-6


def _prepare(a, b, t) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check shapes and finiteness; return a, b, t as float64 arrays."""
    a64 = np.asarray(a, dtype=np.float64)
    b64 = np.asarray(b, dtype=np.float64)
    t64 = np.asarray(t, dtype=np.float64)
    if a64.shape != b64.shape:
        raise ValueError(f"a and b must have the same shape, got {a64.shape} and {b64.shape}")
    if t64.ndim != 1:
        raise ValueError(f"t must be a 1-D array of times, got shape {t64.shape}")
    if not (np.all(np.isfinite(a64)) and np.all(np.isfinite(b64)) and np.all(np.isfinite(t64))):
        raise ValueError("a, b and t must be finite (no NaN or inf)")
    return a64, b64, t64


def _pin_endpoints(out: np.ndarray, a64: np.ndarray, b64: np.ndarray, t64: np.ndarray) -> None:
    """Make rows with t == 0 exactly a and rows with t == 1 exactly b."""
    out[t64 == 0.0] = a64
    out[t64 == 1.0] = b64


def _lerp64(a64: np.ndarray, b64: np.ndarray, t64: np.ndarray) -> np.ndarray:
    tt = t64.reshape((-1,) + (1,) * a64.ndim)
    out = (1.0 - tt) * a64 + tt * b64
    _pin_endpoints(out, a64, b64, t64)
    return out


def lerp(a, b, t, *, dtype=np.float32) -> np.ndarray:
    """Linear interpolation (1 - t) * a + t * b for each t; shape [T, *a.shape]."""
    a64, b64, t64 = _prepare(a, b, t)
    return _lerp64(a64, b64, t64).astype(dtype)


def _norm(v: np.ndarray) -> float:
    """Euclidean norm of a 1-D float64 vector, without BLAS.

    `np.linalg.norm` calls BLAS `dot`, whose worker threads (OpenBLAS) keep spinning after the
    call and take CPU from the model's decode that follows: renders ran 1.4x slower on 2 cores.
    """
    return math.sqrt(float(np.square(v).sum()))


def _direction(v: np.ndarray) -> tuple[float, np.ndarray | None]:
    """Return (|v|, v / |v|), scaling first so tiny or huge entries neither underflow nor overflow."""
    biggest = float(np.max(np.abs(v), initial=0.0))
    if biggest == 0.0:
        return 0.0, None
    scaled = v / biggest
    size = _norm(scaled)
    return biggest * size, scaled / size


def _great_circle(u0: np.ndarray, u1: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Points at fractions s along the great circle from unit vector u0 to unit vector u1.

    The caller guarantees the two are neither (nearly) parallel nor antipodal.
    """
    # 2 * atan2(|u0 - u1|, |u0 + u1|) is accurate at every angle, unlike arccos(dot).
    theta = 2.0 * np.arctan2(_norm(u0 - u1), _norm(u0 + u1))
    sin_theta = np.sin(theta)
    w0 = np.sin((1.0 - s) * theta) / sin_theta
    w1 = np.sin(s * theta) / sin_theta
    return w0[:, None] * u0 + w1[:, None] * u1


def _antipodal_axis(u0: np.ndarray, u1: np.ndarray) -> np.ndarray | None:
    """A unit vector orthogonal to u0 - u1, chosen from the pair alone; None if there is none."""
    d = u0 - u1
    d = d / _norm(d)
    k = int(np.argmin(np.abs(d)))
    p = -d[k] * d
    p[k] += 1.0
    size = _norm(p)
    if size < 0.5:  # only when the vectors have a single element (|d[k]| <= 1/sqrt(n))
        return None
    return p / size


def slerp(a, b, t, *, dtype=np.float32) -> np.ndarray:
    """Spherical interpolation of the flattened a and b for each t; shape [T, *a.shape].

    Angle on the directions, norm linear in t; see the module docstring for the parallel,
    zero and antipodal cases.
    """
    a64, b64, t64 = _prepare(a, b, t)
    norm_a, ua = _direction(a64.ravel())
    norm_b, ub = _direction(b64.ravel())
    if ua is None or ub is None:  # a zero vector has no direction
        return _lerp64(a64, b64, t64).astype(dtype)
    theta = 2.0 * np.arctan2(_norm(ua - ub), _norm(ua + ub))
    if np.sin(theta) >= _PARALLEL_SIN:
        direction = _great_circle(ua, ub, t64)
    elif theta < np.pi / 2.0:  # nearly parallel
        return _lerp64(a64, b64, t64).astype(dtype)
    else:  # nearly antipodal: turn through a fixed orthogonal direction
        p = _antipodal_axis(ua, ub)
        if p is None:
            return _lerp64(a64, b64, t64).astype(dtype)
        first = t64 < 0.5
        direction = np.empty((t64.size, ua.size))
        direction[first] = _great_circle(ua, p, 2.0 * t64[first])
        direction[~first] = _great_circle(p, ub, 2.0 * t64[~first] - 1.0)
    norms = (1.0 - t64) * norm_a + t64 * norm_b
    out = (direction * norms[:, None]).reshape((t64.size,) + a64.shape)
    _pin_endpoints(out, a64, b64, t64)
    return out.astype(dtype)


def catmull_rom(p0, p1, p2, p3, t, *, dtype=np.float32) -> np.ndarray:
    """The Catmull-Rom spline segment from p1 (t=0) to p2 (t=1), shaped by neighbours p0 and p3.

    Uniform Catmull-Rom: the tangent at p1 is (p2 - p0) / 2 and at p2 is (p3 - p1) / 2, so
    consecutive segments share their tangent at every keyframe and the path is C1 (no kink).
    At the ends of a timeline pass p0 = p1 or p3 = p2. Computed in float64; the endpoints are
    returned exactly.
    """
    a64, b64, t64 = _prepare(p1, p2, t)
    q0 = np.asarray(p0, dtype=np.float64)
    q3 = np.asarray(p3, dtype=np.float64)
    if q0.shape != a64.shape or q3.shape != a64.shape:
        raise ValueError("catmull_rom needs four arrays of the same shape")
    s = t64.reshape((-1,) + (1,) * a64.ndim)
    s2, s3 = s * s, s * s * s
    out = 0.5 * ((2.0 * a64)[None] + (b64 - q0)[None] * s + (2.0 * q0 - 5.0 * a64 + 4.0 * b64 - q3)[None] * s2
                 + (3.0 * a64 - q0 - 3.0 * b64 + q3)[None] * s3)
    _pin_endpoints(out, a64, b64, t64)
    return out.astype(dtype)
