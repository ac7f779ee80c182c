"""A Ray cluster with token authentication that refuses seqc: one line with the cause and the fix
(seqc.cluster.connect.auth_problem; issue 24 item 18), judged on the exception types and texts
Ray 2.x really raises (ray.exceptions.AuthenticationError, wrapped by ray.init in a
ConnectionError). The same against a real token-authenticated head: tests/cli/test_ray_cli.py."""

from __future__ import annotations

import importlib.util

import pytest

from seqc.cluster.connect import auth_problem

pytestmark = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                                reason="Ray is not installed: pip install -e '.[dev,ray]'")

REFUSED = "RPC error: InvalidAuthToken: Authentication token is missing or incorrect"


def as_ray_init_raises(inner: BaseException) -> ConnectionError:
    """ray.init's wrapping of a refused GCS connection (ray/_private/worker.py, connect_only)."""
    try:
        try:
            raise RuntimeError(f"Failed to connect to GCS. Last connection error: Traceback ...\n"
                               f"ray.exceptions.AuthenticationError: {inner}")
        except RuntimeError as runtime:
            raise ConnectionError("Failed to connect to Ray cluster at 10.0.0.5:6379") from runtime
    except ConnectionError as exc:
        return exc


def test_no_token_sent_says_to_turn_token_mode_on():
    from ray.exceptions import AuthenticationError

    line = auth_problem(AuthenticationError(REFUSED), "10.0.0.5:6379", env={})
    assert line is not None and "\n" not in line
    assert line.startswith("the Ray cluster at 10.0.0.5:6379 requires token authentication (InvalidAuthToken)")
    assert "set RAY_AUTH_MODE=token" in line and "RAY_AUTH_TOKEN" in line and "ray get-auth-token" in line
    assert "--ray-address auto does this by itself" in line
    # The same through ray.init's ConnectionError, which names neither cause nor fix.
    assert auth_problem(as_ray_init_raises(AuthenticationError(REFUSED)), "10.0.0.5:6379", env={}) == line


def test_a_wrong_token_says_to_put_the_clusters_token():
    from ray.exceptions import AuthenticationError

    line = auth_problem(AuthenticationError(REFUSED), "10.0.0.5:6379", env={"RAY_AUTH_MODE": "token"})
    assert line is not None
    assert line.startswith("the Ray cluster at 10.0.0.5:6379 refused this machine's authentication token")
    assert "RAY_AUTH_MODE=token" not in line and "RAY_AUTH_TOKEN" in line


def test_token_mode_without_a_token_and_auto_without_one():
    from ray._private.authentication.authentication_constants import (
        TOKEN_AUTH_ENABLED_BUT_NO_TOKEN_FOUND_ERROR_MESSAGE,
    )
    from ray.exceptions import AuthenticationError

    line = auth_problem(AuthenticationError(TOKEN_AUTH_ENABLED_BUT_NO_TOKEN_FOUND_ERROR_MESSAGE), "h:1",
                        env={"RAY_AUTH_MODE": "token"})
    assert line is not None and line.startswith("RAY_AUTH_MODE=token, but there is no Ray authentication token")
    auto = auth_problem(AuthenticationError(REFUSED), "127.0.0.1:6379", auto=True, env={})
    assert auto is not None and "this machine has no token" in auto and "--ray-address auto" not in auto


def test_other_failures_are_not_blamed_on_authentication():
    assert auth_problem(ConnectionError("Failed to connect to Ray cluster at 10.0.0.5:6379"), "x:1", env={}) is None
    assert auth_problem(None, "x:1", env={}) is None
