"""A keyframe's LoRA weights along a segment (seqc.render.frames._frames_at): each frame is drawn
with every file at its start weight plus the eased t times the change (0 where a keyframe does not
list the file); where the weights change, one call per frame, so no frame depends on its batch."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pytest
import torch

from seqc.backends.protocol import Capability
from seqc.motion.methods import get_method
from seqc.render.frames import Endpoint, Ends, _frames_at

SIZE = (8, 8)


class Recorder:
    """A generator that draws each frame as the LoRA weights it was drawn under, and counts calls."""

    name, precision, frames_per_call = "recorder", "float32", 8
    device = torch.device("cpu")
    capabilities = frozenset({Capability.ENCODE, Capability.DECODE, Capability.GENERATE, Capability.LORA})

    def __init__(self, files: list[str]):
        self.files, self.weights, self.calls = files, {}, 0

    @contextmanager
    def lora_weights(self, weights):
        before, self.weights = self.weights, dict(weights)
        yield
        self.weights = before

    def generate(self, noise, conditioning, steps, guidance, size, image_latents=None, strength=0.0, seed=0):
        self.calls += 1
        row = [self.weights.get(f, 0.0) for f in self.files]
        return np.tile(np.array(row, dtype=np.float64), (noise.shape[0], 1))  # [B, files]: what it drew under

    def encode_prompt(self, prompt, negative_prompt="", guidance=None):
        return {}

    def initial_noise(self, seed, size):
        return np.zeros((4, 1, 1), np.float32)

    def encode(self, image):
        return image

    def decode(self, latents):
        return latents


def ends(start: dict, end: dict) -> Ends:
    def endpoint(loras: dict) -> Endpoint:
        return Endpoint(cond={"prompt_embeds": np.zeros((1, 2), np.float32)}, noise=np.ones((4, 1, 1), np.float32),
                        loras=loras)
    return Ends(endpoint(start), endpoint(end))


GEN = {"steps": 2, "guidance": 1.0, "strength": 0.5}


def test_each_weight_eases_from_its_start_to_its_end_one_call_per_frame():
    model = Recorder(["a.safetensors", "b.safetensors"])
    t = np.array([0.0, 0.25, 0.7, 1.0])
    drawn = _frames_at(model, get_method("slerp"), GEN, ends({"a.safetensors": 0.8}, {"b.safetensors": -1.0}), t, SIZE)
    assert np.allclose(drawn, np.stack([0.8 * (1 - t), -1.0 * t], axis=1))
    assert model.calls == len(t) and model.weights == {}  # nothing left on the model after the block


def test_equal_weights_draw_the_batch_in_one_call_and_no_lora_takes_no_block():
    model = Recorder(["a.safetensors"])
    t = np.linspace(0, 1, 5, endpoint=False)
    drawn = _frames_at(model, get_method("slerp"), GEN, ends({"a.safetensors": 0.5}, {"a.safetensors": 0.5}), t, SIZE)
    assert np.allclose(drawn, 0.5) and model.calls == 1
    plain = _frames_at(model, get_method("slerp"), GEN, ends({}, {}), t, SIZE)
    assert np.allclose(plain, 0.0) and model.calls == 2


def test_a_model_without_loras_is_told_what_it_cannot_do():
    model = Recorder(["a.safetensors"])
    model.capabilities = frozenset({Capability.ENCODE, Capability.DECODE, Capability.GENERATE})
    with pytest.raises(Exception, match="no 'lora' capability"):
        _frames_at(model, get_method("slerp"), GEN, ends({"a.safetensors": 1.0}, {}), np.array([0.5]), SIZE)
