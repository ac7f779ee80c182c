"""The package's shape: the planner side never imports torch, and no module imports itself back.

The import graph is read from the source (top-level imports only: a function-local import is
how a command or the renderer loads torch lazily), so the test sees what a reader of the tree
sees, and a new module is covered without being listed here.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "seqc"
# The planner side: loading, planning and the cache, plus the pure data they read.
PLANNER = ("seqc.spec", "seqc.plan", "seqc.store", "seqc.motion", "seqc.media.encode", "seqc.media.formats",
           "seqc.models", "seqc.backends.pipeline_info", "seqc.backends.precision", "seqc.cli.commands.plan", "seqc.cli.main",
           "seqc.outputs.stamp", "seqc.render.options", "seqc.cli.commands.render")
HEAVY = ("torch", "diffusers", "transformers")


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its __init__)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def top_level_imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The seqc modules a module imports at its top level (`from seqc.x import y` names seqc.x.y
    when that is a module, else seqc.x)."""
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names if alias.name.startswith("seqc")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("seqc"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                out.add(sub if sub in known else node.module)
    return {name for name in out if name in known}


def test_no_import_cycles():
    known = modules()
    graph = {name: top_level_imports(path, known) for name, path in known.items()}
    # A package's __init__ runs before any of its modules: importing seqc.a.b imports seqc.a.
    for name in known:
        parent = name.rpartition(".")[0]
        if parent in known and parent != "seqc":
            graph[name].add(parent)
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1 and not _package_and_its_module(stack[stack.index(nxt):] + [nxt]):
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def _package_and_its_module(cycle: list[str]) -> bool:
    """A package __init__ that imports its own modules, which name the package to reach a sibling
    (`from seqc.store import atomic`): Python resolves that from the module, not a real cycle."""
    packages = [m for m in cycle if any(other.startswith(m + ".") for other in cycle)]
    return bool(packages) and all(m.startswith(packages[0]) for m in cycle)


def test_planner_side_never_imports_torch():
    code = ("import importlib, sys\n"
            f"for name in {PLANNER!r}: importlib.import_module(name)\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"


def test_the_storyboard_language_the_planner_and_the_stamp_import_no_numpy():
    """numpy costs a no-op and `seqc plan` about 0.1 s of imports: only rendering needs it."""
    code = ("import importlib, sys\n"
            "for name in ('seqc.cli.main', 'seqc.cli.commands.render', 'seqc.cli.commands.plan', 'seqc.spec',\n"
            "             'seqc.plan', 'seqc.outputs.stamp'): importlib.import_module(name)\n"
            "print('numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", sorted(n for n in modules() if n.startswith(PLANNER)))
def test_every_planner_module_stays_off_torch(name):
    known = modules()
    seen, todo = set(), [name]
    while todo:  # follow top-level imports: none may reach a module that imports torch at its top
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        tree = ast.parse(known[current].read_text())
        for node in tree.body:
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.split(".")[0] in HEAVY for n in names), f"{name} reaches {current}, which imports {names}"
        todo.extend(top_level_imports(known[current], known))
