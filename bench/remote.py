"""Pulling clips from the shared remote cache vs rendering them (the `cluster` scenario's last figure).

Every figure is a fresh `python -m seqc ...` process timed from the outside, as a user runs it:
render N segments with no remote; push them; on a "second machine" (a fresh cache, no output)
render the same storyboard with `--remote` (everything fetched, nothing rendered); and
`seqc cache pull` alone. Plus the transfer alone, in process: `Remote.fetch` of the N clips
into a fresh cache. The remote is a local folder (`file://`) or moto's S3 server on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from bench.measure import loadavg, run_python
from bench.workload import timeline_project


@contextlib.contextmanager
def _s3_remote() -> Iterator[tuple[str, dict[str, str]]]:
    """moto's S3 server on 127.0.0.1 with a bucket: (the URL, the environment that reaches it)."""
    import logging

    import s3fs
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        env = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_CONFIG_FILE": os.devnull,
               "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_EC2_METADATA_DISABLED": "true"}
        s3fs.S3FileSystem(key="bench", secret="bench", endpoint_url=env["AWS_ENDPOINT_URL"],
                          skip_instance_cache=True).mkdir("bench")
        yield f"s3://bench/{uuid.uuid4().hex[:8]}", env
    finally:
        server.stop()


@contextlib.contextmanager
def _file_remote(workdir: Path) -> Iterator[tuple[str, dict[str, str]]]:
    share = workdir / "share"
    share.mkdir(parents=True, exist_ok=True)
    yield f"file://{share}", {}


def measure_pull_vs_render(workdir: Path, model, n: int, *, backend: str = "file", size: int = 64,
                           frames: int = 12, fps: float = 24) -> dict:
    """Seconds to render `n` segments vs to pull their clips from the remote, each and per clip,
    and the ratio (render / pull: how many times faster a teammate gets them). `model` is
    `builtin` or a model folder; `backend` is "file" or "s3" (moto, needs `seqc[dev]`)."""
    workdir = Path(workdir)
    project = timeline_project(workdir / "project", model, size, fps, n + 1, frames)
    story, cache_a = str(project.story), str(workdir / "cache-a")
    load_before = loadavg()
    with (_s3_remote() if backend == "s3" else _file_remote(workdir)) as (url, env):
        # 1. Render the N segments on "machine A" (no remote), then push them.
        render = run_python(["-m", "seqc", "render", story, "--cache-dir", cache_a, "--json", "--remote", ""],
                            workdir, env=env)
        assert render.json()["rendered"] == n, render.stdout
        output_a = project.output.read_bytes()
        push = run_python(["-m", "seqc", "cache", "push", story, "--cache-dir", cache_a, "--remote", url, "-q"],
                          workdir, env=env)
        # 2. "Machine B": a fresh cache and no output; the same render fetches everything.
        project.output.unlink()
        pull_render = run_python(["-m", "seqc", "render", story, "--cache-dir", str(workdir / "cache-b"), "--json",
                                  "--remote", url], workdir, env=env)
        result = pull_render.json()
        assert result["rendered"] == 0 and result["fetched"] == n, pull_render.stdout
        same = project.output.read_bytes() == output_a
        # 3. `seqc cache pull` alone, and the transfer alone in process.
        pull = run_python(["-m", "seqc", "cache", "pull", story, "--cache-dir", str(workdir / "cache-c"),
                           "--remote", url, "-q"], workdir, env=env)
        transfer_s = _fetch_in_process(url, env, Path(cache_a), workdir / "cache-d")
    clips = n + 1  # the segments and the final frame
    return {
        "backend": backend, "segments": n, "frames_per_segment": frames, "size": size,
        "render_s": round(render.timing.wall, 3), "push_s": round(push.timing.wall, 3),
        "render_with_remote_s": round(pull_render.timing.wall, 3), "cache_pull_s": round(pull.timing.wall, 3),
        "fetch_in_process_s": round(transfer_s, 3),
        "render_s_per_segment": round(render.timing.wall / n, 4),
        "pull_s_per_segment": round(pull_render.timing.wall / n, 4),
        "fetch_s_per_clip": round(transfer_s / clips, 5),
        "ratio_render_over_pull": round(render.timing.wall / pull_render.timing.wall, 2),
        "ratio_render_over_fetch": round(render.timing.wall / transfer_s, 1) if transfer_s > 0 else None,
        "same_output": same, "load_before": load_before, "load_after": loadavg(),
    }


def _fetch_in_process(url: str, env: dict[str, str], source: Path, target: Path) -> float:
    """Seconds for `Remote.fetch` of every clip `source` holds into the empty cache `target`."""
    from seqc.store import Cache
    from seqc.store.remote import open_remote

    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        remote = open_remote(url)
        keys = sorted(entry.key for entry in Cache(source).entries() if entry.kind == "clips")
        cache = Cache(target)
        started = time.perf_counter()
        for key in keys:
            assert remote.fetch(cache, "clips", key) is not None
        return time.perf_counter() - started
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


if __name__ == "__main__":  # python -m bench.remote [N] [file|s3]
    import json
    import sys
    import tempfile

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    kind = sys.argv[2] if len(sys.argv) > 2 else "file"
    with tempfile.TemporaryDirectory(prefix="seqc-bench-remote-") as folder:
        print(json.dumps(measure_pull_vs_render(Path(folder), "builtin", count, backend=kind), indent=2))
