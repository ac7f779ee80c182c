"""What a backend can do, as types (seqc/backends/protocol.py), and what a session keeps of its
models (seqc/backends/loaded.py): each real backend satisfies its protocols, a backend without a
capability is refused where it is needed, and two sessions share nothing."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from seqc.backends.loaded import LoadedModels
from seqc.backends.precision import planned_precision
from seqc.backends.protocol import (
    Backend,
    Capability,
    Generator,
    Schedulable,
    generator,
    schedulable,
)
from seqc.errors import ModelError
from seqc.models import ModelRef
from seqc.render.session import Session

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def autoencoder(tiny_vae):
    from seqc.backends import load_backend

    return load_backend(ModelRef("tiny-vae", tiny_vae, "autoencoder", "folder"), "cpu", "float32")


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    from tinysd import make_tiny_sd

    from seqc.backends import load_backend

    folder = make_tiny_sd(tmp_path_factory.mktemp("tiny-sd") / "tiny-sd")
    return load_backend(ModelRef("tiny-sd", folder, "pipeline", "folder"), "cpu", "float32")


def test_the_autoencoder_is_a_backend_that_only_encodes_and_decodes(autoencoder):
    assert isinstance(autoencoder, Backend)
    assert autoencoder.capabilities == {Capability.ENCODE, Capability.DECODE, Capability.DEEP}
    assert not isinstance(autoencoder, Generator) and not isinstance(autoencoder, Schedulable)
    assert (autoencoder.name, autoencoder.device.type, autoencoder.precision) == ("tiny-vae", "cpu", "float32")


def test_the_pipeline_is_a_generator_with_named_schedulers(pipeline):
    assert isinstance(pipeline, Generator) and isinstance(pipeline, Schedulable)
    assert pipeline.capabilities == set(Capability) - {Capability.CONTROL}  # CONTROL with a ControlNet (test_control)
    assert generator(pipeline, "render prompts") is pipeline
    assert schedulable(pipeline, "use a scheduler") is pipeline
    assert pipeline.name == "tiny-sd"


def test_a_backend_without_a_capability_is_refused_where_it_is_needed(autoencoder):
    with pytest.raises(ModelError, match=r"model 'tiny-vae' cannot render prompts: it has no 'generate' "
                                         r"capability \(it can: encode, decode, deep\)"):
        generator(autoencoder, "render prompts")
    with pytest.raises(ModelError, match="cannot use scheduler 'euler': it has no 'schedulers' capability"):
        schedulable(autoencoder, "use scheduler 'euler'")


def test_a_segment_with_generation_settings_refuses_a_model_that_cannot_generate(autoencoder):
    from seqc.motion.methods import METHODS
    from seqc.render.frames import Endpoint, Ends, _frames_at

    latent = np.zeros((4, 8, 8), np.float32)
    ends = Ends(Endpoint(latent=latent), Endpoint(latent=latent))
    gen = {"steps": 2, "guidance": 0.0, "scheduler": None, "strength": 0.5}
    with pytest.raises(ModelError, match="model 'tiny-vae' cannot denoise"):
        _frames_at(autoencoder, METHODS["lerp"], gen, ends, np.array([0.5]), (64, 64))
    assert _frames_at(autoencoder, METHODS["lerp"], None, ends, np.array([0.5]), (64, 64)).dtype == np.uint8


def test_a_capability_needs_both_the_declaration_and_the_methods():
    declared_only = SimpleNamespace(name="m", device=torch.device("cpu"), precision="float32",
                                    capabilities=frozenset(Capability), encode=None, decode=None)
    with pytest.raises(ModelError, match="model 'm' cannot generate"):
        generator(declared_only, "generate")  # says GENERATE, has no encode_prompt/initial_noise/generate
    undeclared = SimpleNamespace(name="m", device=torch.device("cpu"), precision="float32",
                                 capabilities=frozenset({Capability.DECODE}), encode=None, decode=None,
                                 set_scheduler=lambda name: None)
    with pytest.raises(ModelError, match="it can: decode"):
        schedulable(undeclared, "use a scheduler")


def _fake_loader(calls: list):
    def load(ref, device, dtype):
        calls.append((ref.name, device, dtype))
        return SimpleNamespace(name=ref.name)
    return load


def test_loaded_models_keep_the_last_model_only(tmp_path):
    calls: list = []
    a, b = ModelRef("a", tmp_path / "a", "autoencoder", "folder"), ModelRef("b", tmp_path / "b", "autoencoder", "folder")
    models = LoadedModels(loader=_fake_loader(calls))  # the loader is a seam passed in
    first = models.load(a, "cpu", "auto", fingerprint="fa")
    assert models.load(a, "cpu", "auto", fingerprint="fa") is first and len(calls) == 1
    assert models.names() == [str(tmp_path / "a")]
    assert models.load(a, "cpu", "auto", fingerprint="fa2") is not first  # the folder changed
    models.load(b, "cpu", "auto", fingerprint="fb")
    assert models.names() == [str(tmp_path / "b")] and len(calls) == 3
    assert models.load(a, "cpu", "float32", fingerprint="fa") is not first  # nothing but the last is kept
    models.load(b, "cpu", "auto")  # no fingerprint: loaded, and nothing is kept
    assert models.names() == []


def test_a_precision_is_learned_per_session_and_two_sessions_share_nothing(tmp_path):
    calls: list = []
    one, two = Session(models=LoadedModels(loader=_fake_loader(calls))), Session()
    assert one.models is not two.models
    one.models.learn("auto", "auto", "float32")
    assert one.models.precision("auto", "auto") == "float32"
    assert two.models.precision("auto", "auto") == planned_precision("auto", "auto")
    assert two.models.precision("cpu", "bfloat16") == "bfloat16"
    one.models.load(ModelRef("a", tmp_path / "a", "autoencoder", "folder"), fingerprint="fa")
    assert one.models.names() == [str(tmp_path / "a")] and two.models.names() == []


def test_a_real_model_is_loaded_once_per_session(tiny_vae):
    ref = ModelRef("tiny-vae", tiny_vae, "autoencoder", "folder")
    models = LoadedModels()
    backend = models.load(ref, "cpu", "float32", fingerprint="f")
    assert isinstance(backend, Backend) and models.load(ref, "cpu", "float32", fingerprint="f") is backend
    assert LoadedModels().load(ref, "cpu", "float32", fingerprint="f") is not backend


def test_the_session_and_the_protocol_import_without_torch_or_numpy():
    code = ("import sys, seqc.render.session, seqc.backends.protocol; "
            "print(sorted(m for m in ('torch', 'numpy', 'diffusers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
