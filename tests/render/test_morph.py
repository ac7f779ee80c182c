"""`method: morph` (seqc/render/morph.py, seqc/backends/morph.py, seqc/backends/loop.py): the
in-betweens start part-way from the ends' trajectories; the ends are the keyframes' pictures; the
bytes do not depend on the batch size or the threads; the ends' latents are computed once."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from tinysd import make_tiny_sd  # noqa: E402

from seqc.backends.pipeline import PipelineBackend  # noqa: E402
from seqc.models import ModelRef  # noqa: E402
from seqc.motion.interp import slerp  # noqa: E402
from seqc.motion.methods import inject_step  # noqa: E402
from seqc.render.frames import Endpoint, segment_frames  # noqa: E402
from seqc.render.morph import damped_guidance, end_at_step, morph_frames  # noqa: E402

SIZE = (64, 64)
GEN = {"steps": 5, "guidance": 7.5, "scheduler": None, "strength": 0.0}


@pytest.fixture(scope="module")
def sd(tmp_path_factory):
    folder = make_tiny_sd(tmp_path_factory.mktemp("morph-sd") / "tiny-sd")
    return PipelineBackend(ModelRef("tiny-sd", folder, "pipeline", "folder"), device="cpu")


@pytest.fixture(scope="module")
def ends(sd):
    return [Endpoint(cond=sd.encode_prompt(prompt), noise=sd.initial_noise(seed, SIZE))
            for prompt, seed in (("a red apple", 1), ("a blue bird", 2))]


def _diff(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())


def test_the_settings_are_sane():
    assert [inject_step(steps) for steps in (1, 2, 5, 25, 50)] == [1, 1, 2, 10, 20]
    g = damped_guidance(7.5, np.array([0.0, 0.5, 1.0]))
    assert g[0] == g[2] == 7.5 and g[1] < 7.5


def _alone(backend, end: Endpoint) -> np.ndarray:
    """The keyframe's picture as any method draws it: denoised whole, in a call of its own."""
    return backend.generate(end.noise[None], {k: v[None] for k, v in end.cond.items()}, GEN["steps"], GEN["guidance"],
                            SIZE)[0]


def test_the_ends_are_the_keyframes_pictures(sd, ends):
    a, b = ends
    frames = morph_frames(sd, GEN, a, b, np.array([0.0, 0.5, 1.0]), SIZE)
    assert np.array_equal(frames[0], _alone(sd, a)) and np.array_equal(frames[2], _alone(sd, b))
    assert _diff(frames[1], frames[0]) > 10 and _diff(frames[1], frames[2]) > 10  # the middle is neither end
    # With a multistep scheduler, restarted at the inject step, too: the ends are denoised whole.
    sd.set_scheduler("dpm++")
    try:
        first = morph_frames(sd, GEN, a, b, np.array([0.0, 0.5]), SIZE)[0]
        alone = _alone(sd, a)
    finally:
        sd.set_scheduler("default")
    assert np.array_equal(first, alone)


def test_the_middle_starts_from_the_ends_trajectories(sd, ends, monkeypatch):
    a, b = ends
    # generate_from is handed the slerp of the ends' latents at the inject step, with damped guidance.
    seen = {}
    original = PipelineBackend.generate_from

    def spy(self, latents, conditioning, steps, guidance, size, start, seed=0):
        seen.update(latents=latents, guidance=np.asarray(guidance), start=start)
        return original(self, latents, conditioning, steps, guidance, size, start, seed)

    monkeypatch.setattr(PipelineBackend, "generate_from", spy)
    t = np.array([0.0, 0.25, 1.0])
    morph_frames(sd, GEN, a, b, t, SIZE)
    k = inject_step(GEN["steps"])
    at_k = [sd.trajectory(end.noise, end.cond, GEN["steps"], GEN["guidance"], SIZE, stop=k) for end in (a, b)]
    assert seen["start"] == k and np.allclose(seen["latents"], slerp(at_k[0], at_k[1], t))
    assert np.allclose(seen["guidance"], damped_guidance(7.5, t))
    # Latents handed in (the stored ones) are used as they are: nothing is traced again.
    monkeypatch.setattr(PipelineBackend, "trajectory", lambda *args, **kw: pytest.fail("traced again"))
    traced = morph_frames(sd, GEN, a, b, t, SIZE, traced=({"latents": at_k[0]}, {"latents": at_k[1]}))
    assert traced.shape == (3, 64, 64, 3)


def test_an_ends_latents_depend_on_that_end_alone(sd, ends):
    a, b = ends
    first = sd.trajectory(a.noise, a.cond, 5, 7.5, SIZE, stop=2)
    assert first.shape == sd.latent_shape(SIZE)
    again = sd.trajectory(a.noise.copy(), {k: v.copy() for k, v in a.cond.items()}, 5, 7.5, SIZE, stop=2)
    assert np.array_equal(again, first)
    assert not np.array_equal(sd.trajectory(a.noise, a.cond, 5, 6.0, SIZE, stop=2), first)  # another guidance
    assert not np.array_equal(sd.trajectory(a.noise, a.cond, 5, 7.5, SIZE, stop=3), first)  # another step


def test_an_image_end_is_inverted_and_shown_as_it_is(sd, ends, monkeypatch):
    a, _ = ends
    picture = np.zeros((64, 64, 3), np.uint8)
    picture[16:48, 16:48] = (200, 40, 40)
    image = Endpoint(latent=sd.encode(picture), cond=sd.encode_prompt(""), noise=sd.initial_noise(9, SIZE))
    inverted = []
    original = PipelineBackend.invert

    def spy(self, latent, conditioning, steps, size, stop):
        inverted.append(stop)
        return original(self, latent, conditioning, steps, size, stop)

    monkeypatch.setattr(PipelineBackend, "invert", spy)
    t = np.array([0.0, 0.1, 0.5, 1.0])
    frames = morph_frames(sd, GEN, image, a, t, SIZE)
    assert inverted == [inject_step(GEN["steps"])]  # the image end only; the prompt end is denoised
    picture = sd.decode(image.latent[None])[0]
    assert np.array_equal(frames[0], picture)  # the picture, as `strength: 0` shows it
    assert np.array_equal(frames[3], _alone(sd, a))
    assert _diff(frames[2], frames[0]) > 10 and _diff(frames[2], frames[3]) > 10
    # Near the picture, the frames carry back what the model could not redraw: (1 - t)^2 of the residual.
    ends = end_at_step(sd, image, GEN["steps"], GEN["guidance"], SIZE, inject_step(GEN["steps"]))
    assert ends["residual"].shape == (64, 64, 3) and np.abs(ends["residual"]).max() > 10
    plain = morph_frames(sd, GEN, image, a, t, SIZE, traced=({"latents": ends["latents"]},
                                                            end_at_step(sd, a, 5, 7.5, SIZE, 2)))
    expected = np.clip(np.rint(plain[1].astype(np.float32) + 0.81 * ends["residual"]), 0, 255)
    assert _diff(frames[1], expected) <= 1


def test_a_morph_segment_is_the_same_bytes_whatever_the_batch_size(sd, ends):
    from seqc.backends.pipeline_info import CPU_FRAMES_PER_CALL

    generation = {**GEN, "morph": {"inject": 0.4, "damp": 0.6}}
    job = SimpleNamespace(window=None, traces=None, segment=SimpleNamespace(
        method="morph", generation=generation, pacing="even", frames=CPU_FRAMES_PER_CALL + 3, easing="linear"))
    made = set()
    for batch, threads in ((1, 1), (3, 2), (CPU_FRAMES_PER_CALL + 1, 2)):
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            made.add(np.concatenate(list(segment_frames(sd, job, *ends, batch, size=SIZE))).tobytes())
        finally:
            torch.set_num_threads(before)
    assert len(made) == 1


def test_an_sdxl_pipeline_morphs_too(tmp_path):
    from tinysd import make_tiny_sdxl

    sdxl = PipelineBackend(ModelRef("tiny-sdxl", make_tiny_sdxl(tmp_path / "xl"), "pipeline", "folder"), device="cpu")
    a, b = (Endpoint(cond=sdxl.encode_prompt(prompt, "blurry"), noise=sdxl.initial_noise(seed, SIZE))
            for prompt, seed in (("a red apple", 1), ("a blue bird", 2)))
    assert "pooled_prompt_embeds" in a.cond
    frames = morph_frames(sdxl, GEN, a, b, np.array([0.0, 0.5, 1.0]), SIZE)
    assert np.array_equal(frames[0], _alone(sdxl, a)) and np.array_equal(frames[2], _alone(sdxl, b))
    assert _diff(frames[1], frames[0]) > 5 and _diff(frames[1], frames[2]) > 5
