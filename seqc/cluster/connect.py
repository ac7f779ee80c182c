"""Joining a Ray cluster, or starting a private local one, with one-line errors.

`check(options)` is cheap (no Ray import for a HOST:PORT address): the commands call it before
anything loads, so a missing extra (exit 2) or an unreachable address (exit 1) is reported at
once. `connect(options)` runs `ray.init` once per process; a process that already joined a
cluster (a test, a notebook) keeps it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import signal
import socket
import threading

from seqc.errors import InputError, RenderError

# How long the address check waits for the cluster's GCS port to answer. Ray's own connect
# retries an unreachable address for minutes; this check answers in seconds.
CONNECT_TIMEOUT = 5.0
RAY_EXTRA = "pip install 'seqc[ray]'"


class ClusterUnreachable(RenderError):
    """The Ray address does not answer (exit 1): nothing was rendered."""


def require_ray() -> None:
    """Refuse (exit 2) when Ray is not installed, naming the extra that installs it."""
    try:
        found = importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):  # a broken or blocked install (sys.modules["ray"] = None)
        found = False
    if not found:
        raise InputError(f"--executor ray needs Ray, which is not installed: {RAY_EXTRA}")


def split_address(address: str) -> tuple[str, int]:
    """HOST:PORT (optionally ray://HOST:PORT or [IPv6]:PORT) -> (host, port); exit 2 if malformed."""
    text = address.removeprefix("ray://")
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"--ray-address {address!r} is not 'auto' or HOST:PORT (for example 10.0.0.5:6379)")
    return host, int(port)


def _auto_address() -> str:
    """What `--ray-address auto` means: $RAY_ADDRESS, else the cluster `ray start` last started here."""
    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"]
    found = None
    with contextlib.suppress(Exception):  # Ray's own lookup (a private helper): None if nothing is found
        from ray._private.services import canonicalize_bootstrap_address

        found = canonicalize_bootstrap_address("auto")
    if not found:
        raise ClusterUnreachable("--ray-address auto: no running Ray cluster found on this machine (start one "
                                 "with `ray start --head`, set RAY_ADDRESS, or pass --ray-address HOST:PORT)")
    return found


def check(options) -> None:
    """Ray is installed and, when an address is given, its port answers: else one line, before any work."""
    if options.executor != "ray":
        return
    require_ray()
    if options.ray_address is None:
        return
    address = _auto_address() if options.ray_address == "auto" else options.ray_address
    host, port = split_address(address)
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT):
            pass
    except OSError as exc:
        why = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc)).lower()
        raise ClusterUnreachable(
            f"cannot reach the Ray cluster at {address} ({why}); start it with `ray start --head` there, "
            "or check --ray-address") from None


def connect(options):
    """The `ray` module, joined to the cluster the options name (or to a new local Ray); once per process."""
    check(options)
    # A local Ray started here stays on the loopback interface (Ray otherwise binds and dials the
    # machine's own network address), and Ray's usage statistics stay off. Read when Ray is imported.
    if options.ray_address is None:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    if ray.is_initialized():
        return ray
    common = dict(include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False,
                  configure_logging=True)
    # ray.init sets its own SIGTERM handler (sys.exit(15)); keep seqc's, so `kill` stops a Ray
    # render as Ctrl-C does, exit 143 (seqc.interrupts). Ray's atexit shutdown runs either way.
    sigterm = signal.getsignal(signal.SIGTERM) if threading.current_thread() is threading.main_thread() else None
    try:
        if options.ray_address is None:
            ray.init(num_cpus=options.workers or os.cpu_count() or 1, **common)
        else:
            ray.init(address=options.ray_address, **common)
    except Exception as exc:  # noqa: BLE001 - any failure to join is one line for the user
        where = options.ray_address or "a local Ray"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ClusterUnreachable(f"cannot start or join Ray ({where}): {first}") from None
    finally:
        if sigterm is not None:
            signal.signal(signal.SIGTERM, sigterm)
    _messages_to_stderr(ray)
    return ray


def _messages_to_stderr(ray) -> None:
    """Ray prints the cluster's error messages ("a worker died ...") on the driver's stdout, where
    `seqc render --json` writes its result: send them to stderr with seqc's own messages. (A
    private hook of Ray's; if it moves, the messages stay where Ray puts them.)"""
    with contextlib.suppress(Exception):
        from ray._private import worker as ray_worker

        original = ray_worker.print_to_stdstream
        if getattr(original, "seqc_stderr", False):
            return

        def to_stderr(data, ignore_prefix):
            return original({**data, "is_err": True}, ignore_prefix)

        to_stderr.seqc_stderr = True
        ray_worker.print_to_stdstream = to_stderr
