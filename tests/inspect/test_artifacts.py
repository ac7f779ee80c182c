"""The artifact detectors behind `seqc analyze` (seqc/inspect/artifacts.py) on synthetic frames whose
answer is known: each must fire on its artifact and stay quiet on the look-alike that is not one
(issue 27 item 4: a pixel crossfade ghosts and a pan does not, alternation flickers and a ramp
does not, ...)."""

from __future__ import annotations

import numpy as np
import pytest
from picturekit import picture

from seqc.inspect import artifacts as ar
from seqc.render.metrics import frame_distance

T = 48  # frames of 64x64, as small as a thumbnail (seqc.render.metrics.shrink leaves them as they are)


def disc(cx: float, cy: float, radius: float, size: int = 64) -> np.ndarray:
    """A yellow disc on a dark ground, with hard edges (no blending of any kind)."""
    y, x = np.mgrid[0:size, 0:size]
    frame = np.full((size, size, 3), 40.0)
    frame[(x - cx) ** 2 + (y - cy) ** 2 <= radius * radius] = (230, 200, 60)
    return frame


def ramp(n: int = T) -> np.ndarray:
    return np.linspace(0.0, 1.0, n)[:, None, None, None]


def steps_of(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames, dtype=np.float32)
    return frame_distance(frames[:-1], frames[1:]).astype(np.float64)


def kinds(frames: np.ndarray, **flags) -> list[str]:
    return [a.kind for a in ar.find(steps_of(frames), ar.measure(frames), **flags)]


@pytest.fixture(scope="module")
def crossfade() -> np.ndarray:
    a, b, t = picture(1), picture(2), ramp()
    return np.rint(a * (1 - t) + b * t)


@pytest.fixture(scope="module")
def pan() -> np.ndarray:
    """The picture slid 32 pixels (half its width) across the frame, wrapping around."""
    a = picture(1)
    return np.stack([np.roll(a, round(k * 32 / (T - 1)), axis=1) for k in range(T)])


# --------------------------------------------------------------------------- ghosting


def test_a_pixel_crossfade_reads_as_ghosting(crossfade):
    fit = ar.crossfade_fit(crossfade)
    assert fit.measured and fit.share > 0.75  # 38 of 46 middle frames: all but those within 10% of an end
    assert fit.median_residual is not None and fit.median_residual < 0.02  # only the rounding to levels
    assert np.allclose(fit.alpha, 1 - ramp()[1:-1, 0, 0, 0], atol=0.01)  # a says how far along it is
    [ghost] = ar.find(steps_of(crossfade), ar.measure(crossfade))
    assert ghost.kind == "ghosting" and not ghost.asked and ghost.severity == pytest.approx(fit.share)
    assert ghost.frames == [fit.frames[0], fit.frames[-1]] and 3 <= ghost.frames[0] <= 6
    assert ar.describe([ghost]) == [f"ghosting {fit.share:.0%} of frames"]


def test_a_pan_does_not_ghost(pan):
    fit = ar.crossfade_fit(pan)
    assert fit.measured and fit.share == 0.0
    assert fit.median_residual is not None and fit.median_residual > 0.6  # far from any blend of the ends
    assert kinds(pan) == []  # nor does it jump, flicker or drift


@pytest.mark.parametrize("motion", ["grow", "move"])
def test_a_shape_that_changes_without_blending_does_not_ghost(motion):
    frames = np.stack([disc(32, 32, 5 + 20 * k / (T - 1)) if motion == "grow" else disc(12 + 40 * k / (T - 1), 32, 8)
                       for k in range(T)])
    fit = ar.crossfade_fit(frames)
    assert fit.measured and fit.share == 0.0
    assert fit.residual[fit.inside].min() > ar.GHOST_RESIDUAL * 1.5  # not even close to the threshold
    assert "ghosting" not in kinds(frames)


def test_a_brightening_picture_is_one_picture_not_a_double_exposure():
    frames = np.clip(picture(3)[None] + np.linspace(-30, 30, T)[:, None, None, None], 0, 255)
    fit = ar.crossfade_fit(frames)  # exactly a crossfade of its dark and bright ends, in pixels
    assert not fit.measured and fit.share == 0.0 and kinds(frames) == []


def test_a_hold_is_not_measured_and_divides_by_nothing():
    still = np.repeat(picture(4)[None], T, axis=0)
    noisy = still + np.random.default_rng(0).normal(0, 0.5, still.shape)  # codec noise on a held picture
    with np.errstate(all="raise"):
        for frames in (still, noisy):
            fit = ar.crossfade_fit(frames)
            assert not fit.measured and fit.share == 0.0 and fit.median_residual is None
            assert fit.alpha.size == 0 and fit.end_change < ar.GHOST_MIN_END_CHANGE
            assert kinds(frames) == []


def test_two_or_fewer_frames_have_no_middle():
    a, b = picture(1), picture(2)
    for frames in (np.stack([a]), np.stack([a, b])):
        fit = ar.crossfade_fit(frames)
        assert fit.share == 0.0 and fit.median_residual is None
        ar.find(steps_of(frames), ar.measure(frames))  # nothing to find, and no error


# --------------------------------------------------------------------------- flicker


def test_alternating_brightness_reads_as_flicker_a_ramp_and_a_jump_do_not():
    base = picture(5)
    sign = np.where(np.arange(T) % 2 == 0, 5.0, -5.0)[:, None, None, None]
    alternating = np.clip(base[None] + sign, 0, 255)  # +-5 levels around the picture: 10 peak to peak
    where, size = ar.measure(alternating).brightness_flicker
    assert where == [1, T - 2] and size == pytest.approx(10.0, abs=0.5)
    [flicker] = ar.find(steps_of(alternating), ar.measure(alternating))
    assert flicker.kind == "flicker" and flicker.signal == "brightness" and flicker.frames == [1, T - 2]
    assert ar.describe([flicker]) == ["brightness flicker 10 levels"]

    steady = np.clip(base[None] + np.linspace(-40, 40, T)[:, None, None, None], 0, 255)
    jump = np.clip(base[None] + np.where(np.arange(T) < 30, -20.0, 20.0)[:, None, None, None], 0, 255)
    blink = base[None].repeat(T, axis=0)
    blink[20] += 30  # one frame out of line: an event, not a rhythm
    for frames in (steady, jump, blink):
        assert "flicker" not in kinds(frames)


def test_small_alternation_under_the_floor_is_not_flicker():
    sign = np.where(np.arange(T) % 2 == 0, 0.4, -0.4)[:, None, None, None]  # 0.8 levels peak to peak
    assert "flicker" not in kinds(np.clip(picture(5)[None] + sign, 0, 255))


def test_alternating_sharpness_reads_as_texture_flicker():
    sharp = picture(6)
    soft = (sharp + np.roll(sharp, 1, 0) + np.roll(sharp, -1, 0) + np.roll(sharp, 1, 1) + np.roll(sharp, -1, 1)) / 5
    frames = np.stack([sharp if k % 2 else soft for k in range(T)])
    found = ar.find(steps_of(frames), ar.measure(frames))
    assert [(a.kind, a.signal) for a in found] == [("flicker", "texture")]  # same mean: brightness is steady
    assert found[0].severity > 0.3  # fine detail swings by a third of its typical size


# --------------------------------------------------------------------------- colour drift


def test_a_colour_cast_in_the_middle_reads_as_drift_a_straight_ramp_does_not(pan):
    t = ramp()
    cast = np.sin(np.pi * t) * np.array([15.0, -5.0, -10.0])  # comes and goes; 18.7 levels at its height
    drifting = np.clip(pan + cast, 0, 255)
    found = ar.find(steps_of(drifting), ar.measure(drifting))
    assert [a.kind for a in found] == ["colour_drift"]
    assert found[0].severity == pytest.approx(np.linalg.norm([15, 5, 10]), abs=1.0)
    assert found[0].frames[0] < T // 2 < found[0].frames[1]
    straight = np.clip(pan + t * np.array([30.0, 0.0, -30.0]), 0, 255)  # a cast from one end to the other
    assert ar.measure(straight).colour_drift < 1.0 and kinds(straight) == []


# --------------------------------------------------------------------------- jumps, smoothness


def test_a_sudden_jump_reads_as_a_jump_at_its_frame():
    frames = np.stack([disc(10 + 0.5 * k + (20 if k >= 30 else 0), 32, 8) for k in range(T)])
    changes = steps_of(frames)
    assert list(ar.jump_steps(changes)) == [29]  # the step from frame 29 to 30
    found = ar.find(changes, ar.measure(frames))
    jumps = [a for a in found if a.kind == "jump"]
    assert [a.frames for a in jumps] == [[29]] and jumps[0].severity > 10
    assert ar.describe(jumps)[0].startswith("jump at 29 (")
    even = steps_of(np.stack([disc(10 + k, 32, 8) for k in range(T)]))
    assert ar.smoothness(even) > 0.95 and ar.smoothness(changes) < 0.75  # one step holds a third of the change


def test_an_asked_jump_is_reported_as_asked_and_a_hold_has_none():
    changes = np.r_[np.full(11, 0.2), 60.0]
    asked = np.zeros(12, dtype=bool)
    asked[11] = True
    [cut] = ar.find(changes, asked=asked)
    assert cut.kind == "jump" and cut.asked and cut.frames == [11] and ar.describe([cut]) == []
    assert [a.asked for a in ar.find(changes)] == [False]  # the same step, not asked for, is a defect
    assert ar.find(changes, hold=True) == []


def test_a_crossfade_asked_for_is_reported_as_asked(crossfade):
    [ghost] = ar.find(steps_of(crossfade), ar.measure(crossfade), blends_pixels=True)
    assert ghost.kind == "ghosting" and ghost.asked and ghost.as_dict()["asked"] is True
    assert ar.describe([ghost]) == []
    assert ar.find(steps_of(crossfade), ar.measure(crossfade), hold=True) == []


def test_jump_runs_are_named_briefly():
    jumps = [ar.Artifact("jump", [i], 4.0 + i) for i in (3, 8, 9, 10, 11)]
    assert ar.describe(jumps) == ["jumps at 3, 8-11 (up to 15x median)"]


def test_smoothness_is_one_for_even_steps_and_low_for_one_big_step():
    assert ar.smoothness(np.full(47, 3.0)) == pytest.approx(1.0)
    assert ar.smoothness(np.r_[np.full(46, 0.1), 40.0]) < 0.15  # 1 - (46 * 39.9) / (47 * 44.6)
    assert ar.consistency(np.array([1.0, 2.0, 3.0])) == pytest.approx(2.0)
    assert ar.consistency(np.zeros(0)) == 0.0


def test_gini_edge_cases():
    assert ar.gini(np.zeros(0)) == 0.0
    assert ar.gini(np.zeros(10)) == 0.0  # nothing changes: perfectly even
    assert ar.gini(np.array([7.0])) == 0.0
    assert ar.gini(np.array([0.0, 0.0, 0.0, 1.0])) == pytest.approx(0.75)  # (n - 1) / n: one holds all
    assert ar.gini(np.array([1.0, 3.0])) == pytest.approx(0.25)  # |1 - 3| * 2 / (2 * 4 * 2)
