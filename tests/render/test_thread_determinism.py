"""A keyframe's latent and a segment's clip are the same bytes whatever torch's thread count
(issue 24 item 1): a Ray CPU worker runs one torch thread, a local render one per core, and a
cache key names neither, so a shared cache must never hold clips whose bytes depend on who made
them. The fixture (tests/threadkit.py, found by search) is a model and a picture that bare torch
encodes and decodes to other bytes with one thread than with two.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from renderkit import five_keyframe_storyboard, run_seqc  # noqa: E402
from threadkit import fixture_image, make_tiny_kl, torch_rounds_differently  # noqa: E402

from seqc.backends.pipeline_info import CPU_FRAMES_PER_CALL  # noqa: E402
from seqc.models import ModelRef  # noqa: E402
from seqc.motion.interp import slerp  # noqa: E402


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="module")
def rounding(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """(model folder, picture) of threadkit.ROUNDS_DIFFERENTLY, checked to round differently in bare torch."""
    folder = tmp_path_factory.mktemp("threads")
    model, image = make_tiny_kl(folder / "tiny-kl"), fixture_image(folder)
    if not torch_rounds_differently(model, image):
        pytest.skip("this torch encodes the fixture alike with 1 and 2 threads: search for a new one (threadkit.py)")
    return model, image


@pytest.fixture(scope="module")
def kl(rounding):
    from seqc.backends.autoencoder import AutoencoderBackend

    return AutoencoderBackend(ModelRef("tiny-kl", rounding[0], "autoencoder", "folder"), "cpu", "float32")


def test_encode_and_decode_give_the_same_bytes_with_one_and_two_threads(kl, rounding):
    image = rounding[1]
    made = {}
    for threads in (1, 2):
        with torch_threads(threads):
            latent = kl.encode(image)
            frames = kl.decode(np.stack([latent, 0.5 * latent, -latent]))
        made[threads] = latent, frames
    assert made[1][0].tobytes() == made[2][0].tobytes(), "the latent depends on the thread count"
    # Decode the same latent (the 1-thread one) both ways: the frames alone must agree too.
    frames = {}
    for threads in (1, 2):
        with torch_threads(threads):
            frames[threads] = kl.decode(np.stack([made[1][0], 0.5 * made[1][0]]))
    differing = int((frames[1] != frames[2]).sum())
    assert differing == 0, f"{differing} bytes of the decoded frames depend on the thread count"
    assert made[1][1].tobytes() == made[2][1].tobytes()


def test_a_frame_is_the_same_bytes_alone_or_in_a_batch(kl, rounding):
    with torch_threads(1):
        latent = kl.encode(rounding[1])
    latents = np.stack([latent * t for t in (1.0, 0.75, 0.5, -0.5)])
    with torch_threads(2):
        batched = kl.decode(latents)
    with torch_threads(1):
        alone = np.concatenate([kl.decode(latents[i:i + 1]) for i in range(len(latents))])
    assert batched.shape == (4, 64, 64, 3) and batched.dtype == np.uint8
    assert batched.tobytes() == alone.tobytes()


def test_the_thread_count_is_put_back(kl, rounding):
    seen = []
    with torch_threads(2):
        kl.decode(np.stack([kl.encode(rounding[1])] * 3))
        seen.append(torch.get_num_threads())
        later = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))  # a new thread: the default
        later.start()
        later.join()
    assert seen == [2, 2]


def _entries(cache: Path) -> dict[str, bytes]:
    """Every latent and clip in a cache, by kind and key (not temp files)."""
    return {f"{path.parent.parent.name}/{path.stem}": path.read_bytes()
            for kind in ("latents", "clips") for path in (cache / kind).rglob("*.*")
            if path.suffix in (".mp4", ".safetensors") and not path.name.startswith(".")}


@pytest.mark.slow
def test_renders_with_one_and_with_two_threads_write_the_same_cache_bytes(rounding, tmp_path):
    # What users do: the same storyboard rendered on a 1-core and a 2-core machine (or by a Ray
    # worker and locally) into two caches, which a shared remote would mix.
    story = five_keyframe_storyboard(tmp_path / "film", rounding[0], size=64, fps=6)
    made = {}
    for threads in ("1", "2"):
        cache, out = tmp_path / f"cache-{threads}", tmp_path / f"out-{threads}.mp4"
        run_seqc("render", str(story), "--cache-dir", str(cache), "-o", str(out), "--device", "cpu",
                 env={"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads})
        made[threads] = _entries(cache), out.read_bytes()
    one, two = made["1"][0], made["2"][0]
    assert len(one) == 10 and one.keys() == two.keys()  # 5 latents, 4 segment clips and the final frame
    assert sorted(key for key in one if one[key] != two[key]) == []
    assert made["1"][1] == made["2"][1]


# -- the Stable Diffusion path ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def sd(tmp_path_factory: pytest.TempPathFactory):
    pytest.importorskip("transformers")
    from tinysd import make_tiny_sd

    from seqc.backends.pipeline import PipelineBackend

    folder = make_tiny_sd(tmp_path_factory.mktemp("threads-sd") / "tiny-sd")
    return PipelineBackend(ModelRef("tiny-sd", folder, "pipeline", "folder"), device="cpu")


def _generate_all(sd, image: np.ndarray) -> list[bytes]:
    """Conditioning, text-to-image frames and image-to-image frames of three interpolated frames."""
    cond = {key: np.stack([value] * 3) for key, value in sd.encode_prompt("a red fox", "blur").items()}
    noise = slerp(sd.initial_noise(1, (64, 64)), sd.initial_noise(2, (64, 64)), np.array([0.0, 0.4, 0.8]))
    latent = sd.encode(image)
    text = sd.generate(noise, cond, 2, 7.5, (64, 64))
    pictures = sd.generate(noise, cond, 3, 7.5, (64, 64), image_latents=np.stack([latent] * 3), strength=0.7)
    return [cond["prompt_embeds"].tobytes(), latent.tobytes(), text.tobytes(), pictures.tobytes()]


def test_a_pipeline_gives_the_same_bytes_with_one_and_two_threads(sd, rounding):
    image = rounding[1]
    made = {}
    for threads in (1, 2):
        with torch_threads(threads):
            made[threads] = _generate_all(sd, image)
    names = ("conditioning", "image latent", "text-to-image frames", "image-to-image frames")
    assert [name for name, a, b in zip(names, made[1], made[2], strict=True) if a != b] == []


def test_a_pipeline_frame_depends_on_its_call_size_only(sd):
    # Calls of CPU_FRAMES_PER_CALL frames from the batch's start: the same frame at another place in
    # a call of the same size, beside other frames, is the same bytes.
    cond = sd.encode_prompt("a red fox")
    call = CPU_FRAMES_PER_CALL
    noise = slerp(sd.initial_noise(1, (64, 64)), sd.initial_noise(2, (64, 64)), np.linspace(0.0, 1.0, call))
    with torch_threads(2):
        batched = sd.generate(noise, {k: np.stack([v] * call) for k, v in cond.items()}, 2, 7.5, (64, 64))
    flipped = sd.generate(noise[::-1], {k: np.stack([v] * call) for k, v in cond.items()}, 2, 7.5, (64, 64))
    assert batched.tobytes() == flipped[::-1].tobytes()
    longer = np.concatenate([noise[::-1], noise])
    twice = sd.generate(longer, {k: np.stack([v] * 2 * call) for k, v in cond.items()}, 2, 7.5, (64, 64))
    assert twice[call:].tobytes() == batched.tobytes()


def test_a_pipeline_segment_is_the_same_bytes_whatever_the_batch_size(sd):
    # The renderer hands the model whole calls (a batch rounded up to frames_per_call), so only the
    # segment's last call is short, whatever the batch size or the thread count.
    from types import SimpleNamespace

    from seqc.render.frames import Endpoint, segment_frames

    assert sd.frames_per_call == CPU_FRAMES_PER_CALL > 1
    ends = [Endpoint(cond=sd.encode_prompt(prompt), noise=sd.initial_noise(seed, (64, 64)))
            for prompt, seed in (("a red fox", 1), ("a blue bird", 2))]
    generation = {"steps": 2, "guidance": 7.5, "scheduler": None, "strength": 0.0}
    job = SimpleNamespace(window=None, traces=None, segment=SimpleNamespace(method="slerp", generation=generation,
                                                              pacing="linear", frames=CPU_FRAMES_PER_CALL + 3,
                                                              easing="linear"))
    made = {}
    for batch, threads in ((1, 1), (2, 2), (3, 2), (5, 1), (CPU_FRAMES_PER_CALL + 1, 2), (40, 2)):
        with torch_threads(threads):
            made[batch] = np.concatenate(list(segment_frames(sd, job, *ends, batch, size=(64, 64)))).tobytes()
    assert len(set(made.values())) == 1
