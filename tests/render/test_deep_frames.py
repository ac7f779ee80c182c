"""Frames for a 10-bit codec (seqc.backends: Capability.DEEP, seqc.render.frames): asked for 16 bits,
the built-in model hands over uint16 frames carrying the decoder's own precision (not 8-bit values
widened), the same pictures as at 8 bits, through every path (slerp, spline with even pacing, a
crossfade, steps); an end's alpha mask is eased beside the colour; a morph's residual means the same
at both depths."""

from __future__ import annotations

import numpy as np
import pytest

from seqc.backends.protocol import Capability, set_frame_bits
from seqc.render import metrics
from seqc.render.morph import _with_residuals
from tools.pin_golden_pixels import GOLDEN

pytestmark = pytest.mark.slow  # loads the built-in model


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    """The golden storyboard's plan, model and endpoints (the renderer's own steps, no ffmpeg)."""
    from seqc.backends import load_backend
    from seqc.plan import compile_plan
    from seqc.render.endpoints import encode_missing, gather_endpoints
    from seqc.spec import load_storyboard
    from seqc.store import Cache

    story = load_storyboard(GOLDEN / "storyboard.yaml")
    cache = Cache(tmp_path_factory.mktemp("cache"))
    plan = compile_plan(story, cache, precision="float32")
    backend = load_backend(story.model_ref, "cpu", "float32")
    endpoints, pixels = gather_endpoints(plan, cache, list(plan.clip_jobs))
    encode_missing(plan, cache, backend, endpoints, pixels, lambda _text: None)
    return plan, backend, endpoints


def render(golden, bits: int, job_index: int | None = None) -> np.ndarray:
    from seqc.render.frames import segment_frames

    plan, backend, endpoints = golden
    set_frame_bits(backend, bits)
    try:
        jobs = plan.clip_jobs if job_index is None else plan.clip_jobs[job_index:job_index + 1]
        frames = []
        for job in jobs:
            seg = job.segment
            frames.extend(segment_frames(backend, job, endpoints[seg.source], endpoints[seg.target], 2, None,
                                         plan.storyboard.output.size, endpoints.get(seg.before or ""),
                                         endpoints.get(seg.after or "")))
        return np.concatenate(frames)
    finally:
        set_frame_bits(backend, 8)


def test_sixteen_bit_frames_are_the_eight_bit_pictures_with_more_precision(golden):
    assert Capability.DEEP in golden[1].capabilities
    eight, sixteen = render(golden, 8), render(golden, 16)
    assert eight.dtype == np.uint8 and sixteen.dtype == np.uint16 and eight.shape == sixteen.shape
    narrowed = np.rint(sixteen / 257.0)
    assert np.abs(narrowed - eight).max() <= 1  # the same pictures (even pacing placed the same frames)
    # not 8-bit values widened: most samples fall between two 8-bit levels
    assert np.mean(sixteen % 257 != 0) > 0.9


def test_an_ends_alpha_is_eased_beside_the_colour(golden):
    plan, _, endpoints = golden
    job = plan.clip_jobs[0]  # summer -> winter, 5 frames, ease-in-out
    height, width = plan.storyboard.output.size[1], plan.storyboard.output.size[0]
    endpoints[job.segment.source].alpha = np.zeros((height, width), np.uint8)  # the start fully transparent
    try:
        frames = render(golden, 16, 0)
    finally:
        endpoints[job.segment.source].alpha = None
    from seqc.render.frames import segment_times

    assert frames.shape[-1] == 4
    expected = segment_times(job) * 65535  # the end is opaque: alpha = t
    assert np.allclose(frames[:, 0, 0, 3], expected, atol=1)
    assert np.array_equal(frames[..., :3], render(golden, 16, 0))  # the colour does not change


def test_distances_mean_the_same_at_both_depths():
    rng = np.random.default_rng(0)
    eight = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    sixteen = eight.astype(np.uint16) * 257
    assert np.allclose(metrics.shrink(eight), metrics.shrink(sixteen))
    rgba = np.concatenate([sixteen, np.zeros((3, 16, 16, 1), np.uint16)], axis=3)
    assert np.allclose(metrics.shrink(rgba), metrics.shrink(eight))  # alpha is not a colour


def test_a_morph_residual_is_in_eight_bit_levels_at_both_depths():
    rng = np.random.default_rng(1)
    frames = rng.integers(10, 240, (2, 4, 4, 3), dtype=np.uint8)
    residual = rng.normal(0, 5, (4, 4, 3)).astype(np.float32)
    t = np.array([0.25, 0.75])
    eight = _with_residuals(frames, t, residual, None)
    sixteen = _with_residuals(frames.astype(np.uint16) * 257, t, residual, None)
    assert sixteen.dtype == np.uint16
    assert np.abs(sixteen / 257.0 - eight).max() <= 0.51
