"""The README's two commands: `make demo` sets up and renders, `make test` sets up and tests, and
neither installs a CUDA build of PyTorch on a machine that has no GPU.

`make -n` prints what each would run in a checkout without `.venv` (nothing is installed here).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
CPU_INDEX = "https://download.pytorch.org/whl/cpu"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def dry_run(target: str, tmp_path: Path, *settings: str) -> list[str]:
    """The commands `make TARGET` would run in a copy of the Makefile with no venv beside it."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    for name in ("pyproject.toml", "tools/install-test-deps.sh"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}  # under make test
    done = subprocess.run(["make", "-n", "--no-print-directory", target, *settings], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def ci_block(name: str) -> list[str]:
    match = re.search(rf"<!-- ci:{name} -->\n```bash\n(.*?)```\n<!-- /ci:{name} -->", README, re.S)
    assert match, f"README lacks its ci:{name} block"
    return match.group(1).strip().splitlines()


def test_the_readmes_test_command_is_one_command():
    assert ci_block("test") == ["make test"]


def test_make_demo_creates_the_venv_installs_a_cpu_torch_and_renders(tmp_path: Path):
    lines = dry_run("demo", tmp_path)
    steps = [next(i for i, line in enumerate(lines) if word in line)
             for word in ("-m venv", "install \"torch", "pip install -e .", "seqc render examples/seasons")]
    assert steps == sorted(steps)
    torch_line = lines[steps[1]]
    assert f'--index-url "{CPU_INDEX}"' in torch_line
    assert not any("[dev" in line or "install-test-deps" in line for line in lines)  # rendering needs no test stack


def test_make_test_sets_up_the_test_stack_and_runs_pytest(tmp_path: Path):
    lines = dry_run("test", tmp_path)
    text = "\n".join(lines)
    assert "-m venv" in text and CPU_INDEX in text
    assert '".[dev,ray,remote,lora,controlnet,export]"' in text and "install-test-deps.sh" in text
    assert lines[-1].endswith("python -m pytest -n 2 --dist loadfile")
    assert any(line.endswith("ruff check .") for line in lines)
    assert any(line.endswith("mypy seqc") for line in lines)


def test_a_gpu_index_can_be_named(tmp_path: Path):
    text = "\n".join(dry_run("setup", tmp_path, "TORCH_INDEX=https://example.invalid/cu128"))
    assert "example.invalid/cu128" in text and CPU_INDEX not in text


def test_every_torch_install_in_the_readme_names_the_cpu_index():
    shell = "\n".join(re.findall(r"```bash\n(.*?)```", README, re.S))
    installs = [line for line in shell.splitlines() if re.search(r"pip install\b.*\btorch\b", line)]
    assert installs, "the README tells how to install torch by hand"
    for line in installs:
        assert CPU_INDEX in line, line
