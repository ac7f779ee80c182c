"""Joining a Ray cluster, or starting a private local one, with one-line errors.

`check(address)` is cheap (no Ray import for a HOST:PORT address): the commands call it before
anything loads, so a missing extra (exit 2) or an unreachable address (exit 1) is reported at
once. `connect(address, workers)` runs `ray.init` once per process; a process that already joined a
cluster (a test, a notebook) keeps it. A cluster with token authentication that refuses this
process (Ray's `InvalidAuthToken`) is one line with the cause and the fix (exit 1), at once:
Ray itself retries for 20 s with a warning each time, then names neither.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

from seqc.errors import InputError, RenderError

# How long the address check waits for the cluster's GCS port to answer. Ray's own connect
# retries an unreachable address for minutes; this check answers in seconds.
CONNECT_TIMEOUT = 5.0
RAY_EXTRA = "pip install 'seqc[ray]'"
# Where Ray's token authentication says it refused a connection, or found no token to send.
AUTH_REFUSED = ("InvalidAuthToken", "Authentication token is missing or incorrect")
AUTH_NO_TOKEN = ("no authentication token was found", "couldn't find an authentication token")
TOKEN_FIX = ("the cluster's token in RAY_AUTH_TOKEN (or in ~/.ray/auth_token, or in a file named by "
             "RAY_AUTH_TOKEN_PATH; `ray get-auth-token` on the head node prints it)")


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


def check(ray_address: str | None) -> None:
    """Ray is installed and, when an address is given ("auto" or HOST:PORT; None: a local Ray), its
    port answers: else one line, before any work."""
    require_ray()
    if ray_address is None:
        return
    address = _auto_address() if ray_address == "auto" else ray_address
    host, port = split_address(address)
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT):
            pass
    except OSError as exc:
        why = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc)).lower()
        raise ClusterUnreachable(
            f"cannot reach the Ray cluster at {address} ({why}); start it with `ray start --head` there, "
            "or check --ray-address") from None


def connect(ray_address: str | None = None, workers: int | None = None):
    """The `ray` module, joined to the cluster at `ray_address` (None: a new local Ray with `workers`
    CPUs, else one per core); once per process."""
    check(ray_address)
    # A local Ray started here stays on the loopback interface (Ray otherwise binds and dials the
    # machine's own network address), and Ray's usage statistics stay off. Read when Ray is imported.
    if ray_address is None:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    if ray.is_initialized():
        return ray
    common: dict[str, Any] = dict(include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False,
                                  configure_logging=True)
    # ray.init sets its own SIGTERM handler (sys.exit(15)); keep seqc's, so `kill` stops a Ray
    # render as Ctrl-C does, exit 143 (seqc.interrupts). Ray's atexit shutdown runs either way.
    sigterm = signal.getsignal(signal.SIGTERM) if threading.current_thread() is threading.main_thread() else None
    try:
        if ray_address is None:
            ray.init(num_cpus=workers or os.cpu_count() or 1, **common)
        else:
            if not ray_address.startswith("ray://"):  # Ray Client's port is no GCS
                check_token(ray_address)
            ray.init(address=ray_address, **common)
    except ClusterUnreachable:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to join is one line for the user
        where = ray_address or "a local Ray"
        why = None
        if ray_address is not None:
            with contextlib.suppress(ClusterUnreachable):
                auto = ray_address == "auto"
                why = auth_problem(exc, _auto_address() if auto else ray_address, auto=auto)
        if why is not None:
            raise ClusterUnreachable(why) from None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ClusterUnreachable(f"cannot start or join Ray ({where}): {first}") from None
    finally:
        if sigterm is not None:
            signal.signal(signal.SIGTERM, sigterm)
    _messages_to_stderr(ray)
    return ray


def auth_problem(exc: BaseException | None, address: str, auto: bool = False, env=os.environ) -> str | None:
    """The line for a join that Ray's token authentication refused (`exc` or an error in its chain
    is Ray's AuthenticationError, or carries its text), else None. The fix depends on RAY_AUTH_MODE:
    without `token` this process sent no token at all; Ray turns it on by itself only for
    `--ray-address auto` (`auto`), and only when this machine has a token."""
    seen: set[int] = set()
    texts = []
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        with contextlib.suppress(Exception):  # Ray's AuthenticationError.__str__ asks Ray's C++ side
            texts.append(f"{type(exc).__name__}: {exc}")
        exc = exc.__cause__ or exc.__context__
    text = "\n".join(texts)
    token_mode = env.get("RAY_AUTH_MODE", "").strip().lower() == "token"
    if any(marker in text for marker in AUTH_NO_TOKEN):
        return f"RAY_AUTH_MODE=token, but there is no Ray authentication token to join {address} with: put {TOKEN_FIX}"
    if not any(marker in text for marker in AUTH_REFUSED):
        return None
    if token_mode:
        return (f"the Ray cluster at {address} refused this machine's authentication token (InvalidAuthToken): "
                f"put {TOKEN_FIX}")
    if auto:
        return (f"the Ray cluster at {address} requires token authentication (InvalidAuthToken) and this machine "
                f"has no token: put {TOKEN_FIX}")
    return (f"the Ray cluster at {address} requires token authentication (InvalidAuthToken) and seqc sent no token: "
            f"set RAY_AUTH_MODE=token and put {TOKEN_FIX}; --ray-address auto does this by itself for a cluster "
            "started on this machine")


def check_token(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Ask the cluster at HOST:PORT (or `auto`) once whether it lets this process in; a refusal by
    its token authentication raises ClusterUnreachable with `auth_problem`'s line. Anything else
    (no answer within `timeout`, another error, a Ray without these private helpers) is left to
    `ray.init`. Ray's C++ client prints a warning on stderr for the refusal: it is kept from the
    terminal unless the answer is something else."""
    try:
        from ray._private.authentication.authentication_token_setup import (
            ensure_token_if_auth_enabled,
            maybe_enable_token_auth_if_token_available,
        )
        from ray._raylet import GcsClient  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a Ray without them: ray.init answers instead
        return
    auto = address == "auto"
    if auto:  # as ray.init does for auto: token mode when this machine has a token
        with contextlib.suppress(Exception):
            maybe_enable_token_auth_if_token_available(warn_if_disabled=False)
        address = _auto_address()
    # First what ray.init checks first: with RAY_AUTH_MODE=token and no token, Ray's client would
    # abort the process (a failed C++ check) instead of raising.
    try:
        ensure_token_if_auth_enabled(None, create_token_if_missing=False)
    except Exception as exc:  # noqa: BLE001 - judged by auth_problem
        why = auth_problem(exc, address, auto=auto)
        if why is not None:
            raise ClusterUnreachable(why) from None
        return
    outcome: dict[str, BaseException] = {}

    def ask() -> None:
        try:
            GcsClient(address=address)
        except Exception as exc:  # noqa: BLE001 - judged below
            outcome["error"] = exc

    asking = threading.Thread(target=ask, name="seqc-ray-token-check", daemon=True)
    with _stderr_captured() as captured:
        asking.start()
        asking.join(timeout)
        why = auth_problem(outcome.get("error"), address, auto=auto)
        text = captured()
    if why is not None:
        raise ClusterUnreachable(why)
    if text:
        with contextlib.suppress(OSError):
            sys.stderr.write(text)
            sys.stderr.flush()


@contextlib.contextmanager
def _stderr_captured() -> Iterator:
    """File descriptor 2 into a temporary file for the block (a C++ library writes there, not to
    sys.stderr); yields a function that reads what was written."""
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield lambda: (sink.seek(0), sink.read().decode("utf-8", "replace"))[1]
        finally:
            os.dup2(saved, 2)
            os.close(saved)


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

        to_stderr.seqc_stderr = True  # type: ignore[attr-defined]
        ray_worker.print_to_stdstream = to_stderr
