"""Helpers for the remote-cache tests: moto's S3 server on 127.0.0.1 (the `s3_endpoint` fixture in
tests/conftest.py starts it once per session), the environment that points s3fs at it, and a tiny
storyboard on the built-in model."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

BUCKET = "seqc-test"
START_TIMEOUT = 60  # seconds moto's server may take to start on a busy machine

SEGMENTS = ("segments:\n"
            "  - {from: summer, to: autumn, duration: 1}\n"
            "  - {from: autumn, to: winter, duration: 1}\n"
            "  - {from: winter, to: spring, duration: 1}\n")


def s3_env(endpoint: str) -> dict[str, str]:
    """Fake credentials and the endpoint, through the standard AWS variables (as a user sets them);
    no config or credentials file of the machine is read."""
    return {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1 (a free port) with BUCKET created; yields its endpoint URL.
    Started within START_TIMEOUT seconds or the test fails; always stopped."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request in the test log
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    starter = threading.Thread(target=server.start, daemon=True)
    starter.start()
    starter.join(START_TIMEOUT)
    if starter.is_alive():
        raise RuntimeError(f"moto's S3 server did not start in {START_TIMEOUT} s")
    try:
        host, port = server.get_host_and_port()
        assert host == "127.0.0.1"
        endpoint = f"http://{host}:{port}"
        import s3fs

        env = s3_env(endpoint)
        fs = s3fs.S3FileSystem(key=env["AWS_ACCESS_KEY_ID"], secret=env["AWS_SECRET_ACCESS_KEY"],
                               endpoint_url=endpoint, skip_instance_cache=True)
        fs.mkdir(BUCKET)
        yield endpoint
    finally:
        server.stop()


def s3fs_for(endpoint: str):
    """An s3fs filesystem on the test server, for inspecting and corrupting the remote."""
    import s3fs

    env = s3_env(endpoint)
    return s3fs.S3FileSystem(key=env["AWS_ACCESS_KEY_ID"], secret=env["AWS_SECRET_ACCESS_KEY"],
                             endpoint_url=endpoint, skip_instance_cache=True)


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tiny_story(folder: Path, name: str = "story") -> Path:
    """A three-segment 64x64 storyboard on the built-in model, with its painted keyframes."""
    from renderkit import paint_seasons, write_story

    if not (folder / "kf").is_dir():
        paint_seasons(folder)
    return write_story(folder, name, SEGMENTS)
