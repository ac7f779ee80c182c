"""seqc/backends/__init__.py: choosing and sizing the backend (the backends themselves have their own tests)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")

from seqc.backends import default_batch_size  # noqa: E402


@pytest.mark.parametrize(("device", "batch"), [("cpu", 1), ("cuda", 8), ("mps", 8)])
def test_default_batch_size_follows_the_device(device, batch):
    # On the CPU the decoder is memory-bound and batching made renders slower (bench/README.md);
    # on a GPU batching is the main lever.
    assert default_batch_size(SimpleNamespace(device=torch.device(device))) == batch


def test_a_backend_without_a_device_is_treated_as_the_cpu():
    assert default_batch_size(object()) == 1
