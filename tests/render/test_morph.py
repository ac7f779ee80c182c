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
from seqc.render.frames import Endpoint, segment_frames  # noqa: E402
from seqc.render.morph import damped_guidance, inject_step, morph_frames  # noqa: E402

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


def test_the_ends_are_the_keyframes_pictures(sd, ends):
    a, b = ends
    frames = morph_frames(sd, GEN, a.noise, b.noise, a.cond, b.cond, np.array([0.0, 0.5, 1.0]), SIZE)
    plain = sd.generate(np.stack([a.noise, b.noise]), {k: np.stack([a.cond[k], b.cond[k]]) for k in a.cond},
                        GEN["steps"], GEN["guidance"], SIZE)
    assert np.array_equal(frames[0], plain[0]) and np.array_equal(frames[2], plain[1])  # a call of the two ends
    assert _diff(frames[1], frames[0]) > 10 and _diff(frames[1], frames[2]) > 10  # the middle is neither end
    # With a multistep scheduler, restarted at the inject step, too: the ends are denoised whole.
    sd.set_scheduler("dpm++")
    try:
        first = morph_frames(sd, GEN, a.noise, b.noise, a.cond, b.cond, np.array([0.0, 0.5]), SIZE)[0]
        alone = sd.generate(a.noise[None], {k: v[None] for k, v in a.cond.items()}, GEN["steps"], GEN["guidance"],
                            SIZE)[0]
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
    morph_frames(sd, GEN, a.noise, b.noise, a.cond, b.cond, t, SIZE)
    k = inject_step(GEN["steps"])
    at_k = sd.trajectory(np.stack([a.noise, b.noise]), {key: np.stack([a.cond[key], b.cond[key]]) for key in a.cond},
                         GEN["steps"], GEN["guidance"], SIZE, stop=k)
    assert seen["start"] == k and np.allclose(seen["latents"], slerp(at_k[0], at_k[1], t))
    assert np.allclose(seen["guidance"], damped_guidance(7.5, t))


def test_the_ends_latents_are_computed_once_by_content(sd, ends, monkeypatch):
    a, b = ends
    from seqc.backends import morph

    calls = []
    original = morph.denoise

    def counting(*args, **kwargs):
        calls.append(args[1].shape[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(morph, "denoise", counting)
    sd.trajectories.clear()
    noise = np.stack([a.noise, b.noise])
    cond = {k: np.stack([a.cond[k], b.cond[k]]) for k in a.cond}
    first = sd.trajectory(noise, cond, 5, 7.5, SIZE, stop=2)
    again = sd.trajectory(noise.copy(), {k: v.copy() for k, v in cond.items()}, 5, 7.5, SIZE, stop=2)
    other = sd.trajectory(noise, cond, 5, 6.0, SIZE, stop=2)  # another guidance: other latents
    assert calls == [2, 2] and again is first and not np.array_equal(other, first)


def test_a_morph_segment_is_the_same_bytes_whatever_the_batch_size(sd, ends):
    from seqc.backends.pipeline_info import CPU_FRAMES_PER_CALL

    generation = {**GEN, "morph": {"inject": 0.4, "damp": 0.6}}
    job = SimpleNamespace(window=None, segment=SimpleNamespace(
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
    frames = morph_frames(sdxl, GEN, a.noise, b.noise, a.cond, b.cond, np.array([0.0, 0.5, 1.0]), SIZE)
    plain = sdxl.generate(np.stack([a.noise, b.noise]), {k: np.stack([a.cond[k], b.cond[k]]) for k in a.cond},
                          GEN["steps"], GEN["guidance"], SIZE)
    assert _diff(frames[0], plain[0]) <= 1 and _diff(frames[2], plain[1]) <= 1
    assert _diff(frames[1], frames[0]) > 5 and _diff(frames[1], frames[2]) > 5
