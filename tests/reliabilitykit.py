"""Helpers for the reliability tests (tests/reliability/, whose conftest starts the fork server):
a fork server, storyboards, probes.

Importing torch and diffusers takes 5-20 s on a busy 2-core machine, so killing twenty freshly
started `python -m seqc render` processes would spend minutes in imports. The fork server is one
Python process that imports seqc, torch and diffusers once and then, per request, `fork()`s a
child that runs `seqc.cli.main.main(argv)` with its stdout/stderr in files. Each child is a real,
separate process (its own pid, its own ffmpeg children, real files, real signals): the tests
SIGKILL or SIGINT it by pid exactly as a user's shell would. The parent never runs a torch op,
so no thread pool exists at fork time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from renderkit import write_image

from seqc.store import atomic

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


# ---------------------------------------------------------------------------------------------
# The fork server (runs in its own process: `python -c "...; serve()"`)


def serve() -> None:  # pragma: no cover - runs in the server process
    import diffusers  # noqa: F401
    import torch  # noqa: F401
    from diffusers import AutoencoderTiny  # noqa: F401  (diffusers imports lazily)

    import seqc.backends  # noqa: F401
    import seqc.cli.main

    out = sys.stdout
    out.write("ready\n")
    out.flush()
    for line in sys.stdin:
        req = json.loads(line)
        if req["op"] == "run":
            pid = os.fork()
            if pid == 0:
                rc = 1
                try:
                    null = os.open(os.devnull, os.O_RDONLY)
                    os.dup2(null, 0)
                    so = os.open(req["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                    se = os.open(req["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                    os.dup2(so, 1)
                    os.dup2(se, 2)
                    os.chdir(req["cwd"])
                    os.environ.update(req.get("env", {}))
                    try:
                        rc = seqc.cli.main.main(req["argv"])
                    except SystemExit as exc:  # argparse
                        rc = exc.code if isinstance(exc.code, int) else 2
                    except BaseException:  # what `python -m seqc` would show: a traceback, exit 1
                        import traceback

                        traceback.print_exc()
                        rc = 1
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(rc)
            out.write(json.dumps({"pid": pid}) + "\n")
        elif req["op"] == "wait":
            _, status = os.waitpid(req["pid"], 0)
            out.write(json.dumps({"rc": os.waitstatus_to_exitcode(status)}) + "\n")
        out.flush()


@dataclass
class Child:
    pid: int
    stdout: Path
    stderr: Path
    rc: int | None = None

    def out(self) -> str:
        return self.stdout.read_text(errors="replace")

    def err(self) -> str:
        return self.stderr.read_text(errors="replace")

    def json(self) -> dict:
        return json.loads(self.out().strip().splitlines()[-1])


class ForkServer:
    def __init__(self, logdir: Path):
        self.logdir = logdir
        self.count = 0
        code = f"import sys; sys.path.insert(0, {str(TESTS)!r}); import reliabilitykit as k; k.serve()"
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, cwd=REPO, env={**os.environ, "COLUMNS": "200"})
        assert self.proc.stdout.readline().strip() == "ready"

    def _ask(self, req: dict) -> dict:
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def start(self, *argv: str, cwd: Path, env: dict | None = None) -> Child:
        self.count += 1
        out, err = self.logdir / f"{self.count}.out", self.logdir / f"{self.count}.err"
        out.touch()  # exist before the child runs, so a caller polling their size never races the fork
        err.touch()
        pid = self._ask({"op": "run", "argv": list(argv), "cwd": str(cwd), "stdout": str(out),
                         "stderr": str(err), "env": env or {}})["pid"]
        return Child(pid, out, err)

    def wait(self, child: Child) -> int:
        if child.rc is None:
            child.rc = self._ask({"op": "wait", "pid": child.pid})["rc"]
        return child.rc

    def run(self, *argv: str, cwd: Path, env: dict | None = None) -> Child:
        child = self.start(*argv, cwd=cwd, env=env)
        self.wait(child)
        return child

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


# ---------------------------------------------------------------------------------------------
# Storyboards and probes


def storyboard(folder: Path, model: Path, keyframes: int = 5, frames: int = 8, size: int = 32, fps: int = 12,
               output: str = "out/video.mp4", names: list[str] | None = None) -> Path:
    """A chain k0 -> k1 -> ... of `keyframes - 1` segments of `frames` frames each."""
    names = names or [f"kf/k{i}.png" for i in range(keyframes)]
    for i, name in enumerate(names):
        write_image(folder / name, seed=i, size=(48, 48))
    lines = [
        "version: 1",
        f"output: {{path: {json.dumps(output)}, size: [{size}, {size}], fps: {fps}}}",
        f"model: {json.dumps(str(model))}",
        "defaults: {easing: linear, method: lerp}",
        "keyframes:",
        *(f"  k{i}: {{image: {json.dumps(name)}}}" for i, name in enumerate(names)),
        "segments:",
        *(f"  - {{from: k{i}, to: k{i + 1}, frames: {frames}}}" for i in range(len(names) - 1)),
    ]
    story = folder / "storyboard.yaml"
    story.write_text("\n".join(lines) + "\n")
    return story


def temps(*folders: Path) -> list[Path]:
    """Every seqc temp file (pid-stamped name) under the folders."""
    found = []
    for folder in folders:
        if folder.is_dir():
            found += [p for p in folder.rglob(f"*{atomic.TEMP_MARK}*") if atomic.temp_owner(p) is not None]
    return sorted(found)


def published_clips(cache: Path) -> set[str]:
    """Keys of clips whose sidecar is in place (the last step of a publish)."""
    return {p.stem for p in (cache / "clips").glob("*/*.json") if not p.name.startswith(".")}


def ffmpeg_processes_using(path: Path) -> list[int]:
    """Pids of running processes whose command line mentions `path` (e.g. ffmpeg writing into it)."""
    needle = str(path).encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        if needle in cmdline and b"ffmpeg" in cmdline and ") Z " not in stat:
            pids.append(int(proc.name))
    return pids


def wait_until(predicate, timeout: float, interval: float = 0.01) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def kill(child: Child, sig: int = signal.SIGKILL) -> None:
    try:
        os.kill(child.pid, sig)
    except ProcessLookupError:
        pass
