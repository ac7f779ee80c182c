"""seqc/backends/__init__.py: choosing and sizing the backend (the backends themselves have their own tests)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")

from seqc.backends import CPU_BATCH_LIMIT, default_batch_size  # noqa: E402
from seqc.backends.pipeline_info import CPU_FRAMES_PER_CALL  # noqa: E402
from seqc.backends.protocol import Capability  # noqa: E402


@pytest.fixture
def torch_threads():
    """Set torch's thread count for a test; put back afterwards."""
    before = torch.get_num_threads()
    yield torch.set_num_threads
    torch.set_num_threads(before)


AUTOENCODER = frozenset({Capability.ENCODE, Capability.DECODE})
PIPELINE = AUTOENCODER | {Capability.GENERATE}


@pytest.mark.parametrize(("device", "batch"), [("cuda", 8), ("mps", 8)])
def test_a_gpu_batches_eight_frames(device, batch):
    for capabilities in (AUTOENCODER, PIPELINE):
        assert default_batch_size(SimpleNamespace(device=torch.device(device), capabilities=capabilities)) == batch


@pytest.mark.parametrize(("threads", "batch"), [(1, 1), (3, 3), (64, CPU_BATCH_LIMIT)])
def test_the_cpu_makes_one_frame_per_torch_thread_at_once(torch_threads, threads, batch):
    # On the CPU each autoencoder frame is made alone on one torch thread, side by side
    # (seqc.backends.threads): a batch of the thread count keeps them all busy; a Ray CPU worker
    # (one thread) makes one. A pipeline denoises calls of CPU_FRAMES_PER_CALL frames instead.
    torch_threads(threads)
    cpu = torch.device("cpu")
    assert default_batch_size(SimpleNamespace(device=cpu, capabilities=AUTOENCODER)) == batch
    assert default_batch_size(SimpleNamespace(device=cpu, capabilities=PIPELINE)) == batch * CPU_FRAMES_PER_CALL
