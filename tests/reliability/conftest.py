"""The reliability tests' fork server (see `reliabilitykit.ForkServer`): one per session, started
by the first test that asks for it."""

from __future__ import annotations

import pytest
from reliabilitykit import ForkServer


@pytest.fixture(scope="session")
def forkserver(tmp_path_factory):
    server = ForkServer(tmp_path_factory.mktemp("forkserver-logs"))
    yield server
    server.close()
