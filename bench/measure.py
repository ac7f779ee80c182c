"""How the benchmark measures: wall and CPU time, the CLI in fresh processes, peak memory, the machine.

Every CLI measurement is a fresh `python -m seqc ...` process, as a user runs it, timed from
the outside (interpreter start-up and imports included). CPU seconds count the process and
everything it waited for (ffmpeg included), from `getrusage(RUSAGE_CHILDREN)`. Peak memory
needs a fresh parent per run, since RUSAGE_CHILDREN keeps the largest child ever seen: a
small wrapper process runs the command and reports its children's `ru_maxrss`.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Timing:
    """Wall and CPU seconds of one measured piece of work."""

    wall: float
    cpu: float  # this process's user+system plus that of the children it waited for

    def as_dict(self) -> dict:
        return {"wall_s": round(self.wall, 4), "cpu_s": round(self.cpu, 4)}


def _cpu_now() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn: Callable[[], object]) -> tuple[Timing, object]:
    """Run `fn()` once; return its Timing and its result."""
    cpu0, t0 = _cpu_now(), time.perf_counter()
    result = fn()
    return Timing(time.perf_counter() - t0, _cpu_now() - cpu0), result


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages (the machine is shared: read ratios with them)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


# ---------------------------------------------------------------------------------------------
# The CLI in a fresh process


@dataclass
class CliRun:
    """One `python -m seqc ...` process: its timing, exit code, output, and its JSON line if any."""

    timing: Timing
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> dict:
        """The last line of stdout that parses as a JSON object (`--json` results, probe reports)."""
        for line in reversed(self.stdout.splitlines()):
            line = line.strip()
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except ValueError:
                    continue
        raise ValueError(f"no JSON line in the output:\n{self.stdout}\n{self.stderr}")


def cli_env(changes: dict[str, str | None] | None = None) -> dict:
    """The environment for CLI runs: this one, wide columns, no inherited cache folder, and Python's
    bytecode cache on (as on a user's machine: a sandbox may turn it off, and then every run
    compiles seqc's modules again).

    `changes` sets variables (a None value removes one).
    """
    env = {**os.environ, "COLUMNS": "120"}
    env.pop("SEQC_CACHE_DIR", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    for name, value in (changes or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run_python(args: list[str], cwd: Path, check: bool = True,
               env: dict[str, str | None] | None = None) -> CliRun:
    """Run `python ARGS` in a fresh process (this interpreter), timed from the outside."""
    cmd = [sys.executable, *args]
    cpu0, t0 = _cpu_now(), time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=cli_env(env), capture_output=True, text=True)
    run = CliRun(Timing(time.perf_counter() - t0, _cpu_now() - cpu0), proc.returncode,
                 proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return run


def run_seqc(args: list[str], cwd: Path, check: bool = True) -> CliRun:
    """`python -m seqc ARGS` in a fresh process, as a user runs it."""
    return run_python(["-m", "seqc", *args], cwd, check)


# Runs `seqc.cli.main.main(argv)` in this fresh process, then reports whether torch was imported.
_PROBE = """\
import json, sys, time
t0 = time.perf_counter()
from seqc.cli.main import main
rc = main(sys.argv[1:])
print(json.dumps({"rc": rc, "torch_imported": "torch" in sys.modules,
                  "diffusers_imported": "diffusers" in sys.modules,
                  "in_process_s": time.perf_counter() - t0}))
"""


def run_seqc_probe(args: list[str], cwd: Path) -> tuple[CliRun, dict]:
    """Run the CLI through `seqc.cli.main` and report `'torch' in sys.modules` afterwards."""
    run = run_python(["-c", _PROBE, *args], cwd)
    return run, run.json()


# Runs a command, then prints its children's peak RSS (kilobytes on Linux) as JSON.
_RSS_WRAPPER = """\
import json, resource, subprocess, sys
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": proc.returncode, "max_rss_kb": peak, "stdout": proc.stdout[-2000:],
                  "stderr": proc.stderr[-2000:]}))
"""


def run_seqc_peak_rss(args: list[str], cwd: Path) -> tuple[Timing, int, dict]:
    """Run `python -m seqc ARGS` under a fresh wrapper; return its timing, peak RSS in bytes and output."""
    run = run_python(["-c", _RSS_WRAPPER, sys.executable, "-m", "seqc", *args], cwd)
    report = run.json()
    if report["rc"] != 0:
        raise RuntimeError(f"seqc {' '.join(args)} exited {report['rc']}:\n{report['stderr']}")
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    return run.timing, int(report["max_rss_kb"]) * scale, report


# Compiles a plan in a fresh process as `seqc plan` does (the same cache and memo), and times only
# the work after the imports.
_PLAN_PROBE = """\
import json, sys, time
from seqc.store import Cache
from seqc.plan import compile_plan
from seqc.spec import load_storyboard
t0 = time.perf_counter()
cache = Cache(sys.argv[2])
story = load_storyboard(sys.argv[1], images=cache)  # the CLI's memo: a checked image is not decoded again
t1 = time.perf_counter()
plan = compile_plan(story, cache)
t2 = time.perf_counter()
print(json.dumps({"load_s": t1 - t0, "compile_s": t2 - t1, "total_s": t2 - t0,
                  "segments": len(plan.jobs), "missing": len(plan.missing)}))
"""


def plan_in_fresh_process(story: Path, cache: Path) -> dict:
    """Load + compile a storyboard's plan in a fresh process; seconds of each, imports excluded."""
    return run_python(["-c", _PLAN_PROBE, str(story), str(cache)], story.parent).json()


# ---------------------------------------------------------------------------------------------
# The machine


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_total() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def machine_info(device: str) -> dict:
    """CPU model, cores, memory, versions, the device the model runs on, and the date."""
    import torch

    import seqc
    from seqc import media

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    info = {
        "cpu_model": _cpu_model(),
        "cpu_cores": os.cpu_count(),
        "cpu_cores_usable": usable,
        "memory_bytes": _memory_total(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "seqc": seqc.__version__,
        "ffmpeg": media.ffmpeg_version(),
        "device": device,
        "cuda_available": torch.cuda.is_available(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    try:
        import diffusers

        info["diffusers"] = diffusers.__version__
    except ImportError:
        pass
    return info
