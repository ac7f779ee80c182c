"""One local Ray cluster for the whole pytest process (Ray's testing guide: start and stop cost
seconds), on the loopback interface, 2 CPUs, no dashboard, no usage statistics; skipped only
where Ray is not installed (`pip install -e '.[dev,ray]'` installs it, and CI does)."""

from __future__ import annotations

import importlib.util
import logging
import os

import pytest


@pytest.fixture(scope="session")
def ray_cluster() -> str:
    """The address (HOST:PORT) of a Ray cluster this pytest process started and joined."""
    if importlib.util.find_spec("ray") is None:
        pytest.skip("Ray is not installed: pip install -e '.[dev,ray]'")
    # Read when Ray is imported; subprocesses (the CLI joining with --ray-address) inherit them.
    os.environ.update(RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled",
                      RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")  # 127.0.0.1 stays 127.0.0.1
    import ray

    context = ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    try:
        yield context.address_info["gcs_address"]
    finally:
        from seqc.cluster.executor import shutdown_pool

        shutdown_pool()
        ray.shutdown()


@pytest.fixture
def ray_pool_stopped(ray_cluster):
    """Each test starts without this process's pool and leaves none behind (its actors hold CPUs
    that a CLI test joining the same cluster needs)."""
    from seqc.cluster.executor import shutdown_pool

    shutdown_pool()
    yield ray_cluster
    shutdown_pool()
