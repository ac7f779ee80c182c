"""One local Ray cluster for the whole pytest process (Ray's testing guide: start and stop cost
seconds), on the loopback interface, 2 CPUs, no dashboard, no usage statistics; skipped only
where Ray is not installed (`pip install -e '.[dev,ray]'` installs it, and CI does). The workers
belong to executors the tests make and close (`ray_executors`), never to the process."""

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
        ray.shutdown()


@pytest.fixture
def ray_executors(ray_cluster):
    """Make RayExecutors on the fixture's cluster (2 CPU workers by default; keyword arguments as
    RayExecutor's); every one is closed after the test, so no worker keeps a CPU that a later test
    (or a CLI joining the same cluster) needs."""
    from seqc.cluster.executor import RayExecutor

    made: list[RayExecutor] = []

    def make(**kwargs) -> RayExecutor:
        executor = RayExecutor(**{"workers": 2, "device": "cpu", **kwargs})
        made.append(executor)
        return executor

    yield make
    for executor in made:
        executor.close()
