"""The package's shape: layer contracts a machine checks, with lazy imports seen too.

Two graphs are read from the source, so the test sees what a reader of the tree sees and a new
module is covered without being listed here:
- top-level imports only, per module: no module imports itself back, and the planner side's
  top-level closure never reaches torch (a function-local import is how a command or the renderer
  loads torch lazily);
- every import, per stage (the package under seqc/): module level, inside functions, under
  `if TYPE_CHECKING`, and `importlib.import_module("...")`. On it: no package circle, a lower
  stage imports nothing built on it, and the planner side imports no torch even lazily. Today's
  breaches are listed (KNOWN_*) and must match exactly, so the lists only shrink (issue 25 item 7).

`python -m tests.test_layers` prints the stage graph with the lazy edges marked.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "seqc"
# The planner side: loading, planning and the cache, plus the pure data they read.
PLANNER = ("seqc.spec", "seqc.plan", "seqc.store", "seqc.motion", "seqc.media.encode", "seqc.media.formats",
           "seqc.models", "seqc.checkpoints", "seqc.families", "seqc.backends.pipeline_info", "seqc.backends.precision", "seqc.cli.commands.plan", "seqc.cli.main",
           "seqc.outputs.stamp", "seqc.render.options", "seqc.cli.commands.render", "seqc.app.render")
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
            "for name in ('seqc.cli.main', 'seqc.cli.commands.render', 'seqc.app.render', 'seqc.cli.commands.plan',\n"
            "             'seqc.spec',\n"
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


# -- Every import, lazy ones included, by stage (issue 25 item 7) ------------------------------------

# The stages are the packages under seqc/, in the pipeline's order (docs/ARCHITECTURE.md). A lower
# stage may import another lower stage (spec -> store and media -> store point sideways and stay) or
# a shared leaf, never a stage built on it; a new package must be placed in one of the three lists.
LOWER = ("spec", "plan", "store", "media", "motion", "backends", "render", "audio")
UPPER = ("outputs", "cluster", "inspect", "ui", "watch", "page", "handoff", "cli", "app", "scaffold", "__main__")
LEAVES = ("errors", "interrupts", "models", "checkpoints", "families", "seqc")  # "seqc" is the root __init__ (__version__)
# The planner side: loading (spec), planning and its keys (plan, plan/keys.py), the cache (store).
PLANNER_STAGES = ("spec", "plan", "store")

# Today's breaches. Each list must equal what the source shows: a new breach fails, and so does a
# fixed one until its entry is deleted here, so these lists only shrink. (Lines as of 2026-12.)
KNOWN_CIRCLE_EDGES: dict[tuple[str, str], str] = {}  # stage edges inside a package circle
KNOWN_UPWARD: dict[tuple[str, str], str] = {}  # (lower module, module built on it)
KNOWN_PLANNER_HEAVY: dict[tuple[str, str], str] = {}  # (module, torch/diffusers/transformers)


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the module imported: a seqc module, or a third-party dotted name
    line: int
    kind: str  # "top"; "lazy" (in a function); "typing" (under if TYPE_CHECKING); "dynamic" (import_module)

    @property
    def where(self) -> str:
        path = modules()[self.source].relative_to(PACKAGE.parent)
        return f"{path}:{self.line}" + ("" if self.kind == "top" else f" ({self.kind})")


def stage(module: str) -> str:
    """seqc.render.execute -> render; seqc.errors -> errors; the root package -> seqc."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _seqc_module(name: str, known: dict[str, Path]) -> str:
    """The longest known module a dotted seqc name starts with (`seqc.render.driver.render` names a
    function of seqc.render.driver)."""
    while name not in known and "." in name:
        name = name.rpartition(".")[0]
    return name


@cache
def every_import(module: str) -> tuple[Import, ...]:
    path = modules()[module]
    return read_imports(path.read_text(), module, is_package=path.name == "__init__.py")


def read_imports(source: str, module: str, is_package: bool = False) -> tuple[Import, ...]:
    """Every import statement of a module's source, wherever it sits, relative ones resolved; plus
    importlib.import_module calls whose argument is a literal (or an f-string's literal head)."""
    known = modules()
    package = module if is_package else module.rpartition(".")[0]
    found: list[Import] = []

    def add(target: str, node: ast.AST, kind: str) -> None:
        if target.startswith("seqc"):
            target = _seqc_module(target, known)
        found.append(Import(module, target, node.lineno, kind))

    def one(node: ast.AST, kind: str) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node, kind)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:  # `from seqc.x import y` names seqc.x.y when that is a module
                add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base, node, kind)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            arg = node.args[0]
            if isinstance(arg, ast.JoinedStr) and arg.values:
                arg = arg.values[0]
            if name == "import_module" and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                add(arg.value.rstrip("."), node, "dynamic")

    def walk(node: ast.AST, kind: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for branch, inner in ((child.body, "typing"), (child.orelse, kind)):
                    for statement in branch:
                        one(statement, inner)
                        walk(statement, inner)
                continue
            inner = "lazy" if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) else kind
            one(child, inner)
            walk(child, inner)

    walk(ast.parse(source), "top")
    return tuple(found)


def stage_graph() -> dict[tuple[str, str], list[Import]]:
    """(stage, stage) -> the imports that make the edge, every kind of import counted."""
    known = modules()
    edges: dict[tuple[str, str], list[Import]] = {}
    for module in known:
        for imp in every_import(module):
            if imp.target in known and stage(imp.target) != stage(module):
                edges.setdefault((stage(module), stage(imp.target)), []).append(imp)
    return edges


def circle_edges(edges: dict[tuple[str, str], list[Import]]) -> dict[tuple[str, str], list[Import]]:
    """The edges whose two stages reach each other: every edge of every package circle."""
    reach: dict[str, set[str]] = {}
    for a, _ in edges:
        seen, todo = set(), [a]
        while todo:
            current = todo.pop()
            for x, y in edges:
                if x == current and y not in seen:
                    seen.add(y)
                    todo.append(y)
        reach[a] = seen
    return {(a, b): imps for (a, b), imps in edges.items() if a in reach.get(b, set())}


def upward_imports() -> dict[tuple[str, str], list[Import]]:
    """(lower module, module built on it) for every import from a lower stage to an upper one."""
    found: dict[tuple[str, str], list[Import]] = {}
    for module in modules():
        for imp in every_import(module):
            if stage(module) in LOWER and imp.target.startswith("seqc") and stage(imp.target) in UPPER:
                found.setdefault((module, imp.target), []).append(imp)
    return found


def planner_heavy_imports() -> dict[tuple[str, str], list[Import]]:
    """(module, heavy package) for each torch/diffusers/transformers import the planner side can run:
    any import in spec/, plan/ or store/, lazy ones included, and the top-level imports of every
    seqc module those reach (a package's __init__ runs first)."""
    known = modules()
    found: dict[tuple[str, str], list[Import]] = {}
    seen: set[str] = set()
    todo = [m for m in known if stage(m) in PLANNER_STAGES]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        parent = current.rpartition(".")[0]
        if parent in known and parent != "seqc":
            todo.append(parent)
        for imp in every_import(current):
            if stage(current) not in PLANNER_STAGES and imp.kind != "top":
                continue  # a function of a module outside the planner side runs only if it is called
            if imp.target.split(".")[0] in HEAVY:
                found.setdefault((current, imp.target.split(".")[0]), []).append(imp)
            elif imp.target in known:
                todo.append(imp.target)
    return found


def _exactly(found: dict, known: dict, what: str) -> None:
    def where(imps: list[Import]) -> str:  # function-level first: the likelier newcomers
        places = list(dict.fromkeys(i.where for i in sorted(imps, key=lambda i: (i.kind == "top", i.line))))
        return ", ".join(places[:3]) + (f" (+{len(places) - 3} more)" if len(places) > 3 else "")

    lines = [f"new {what} {key}: {where(found[key])}" for key in sorted(found.keys() - known.keys())]
    lines += [f"{what} {key} is gone ({known[key]}): delete it from the known list"
              for key in sorted(known.keys() - found.keys())]
    assert not lines, "\n".join(lines)


def test_every_stage_has_a_place_in_the_layers():
    stages = {stage(m) for m in modules()}
    assert stages <= set(LOWER + UPPER + LEAVES), sorted(stages - set(LOWER + UPPER + LEAVES))


def test_the_import_reader_sees_lazy_typing_and_dynamic_imports():
    source = (
        "import importlib\n"
        "from typing import TYPE_CHECKING\n"
        "from seqc.store import atomic\n"
        "if TYPE_CHECKING:\n"
        "    from seqc.render.driver import RenderOptions\n"
        "class Holder:\n"
        "    def method(self):\n"
        "        from ..cli.commands import render\n"
        "        from . import paths\n"
        "        importlib.import_module('seqc.handoff.client')\n"
        "        return importlib.import_module(f'seqc.media.{self}')\n"
    )
    found = {(imp.target, imp.kind) for imp in read_imports(source, "seqc.spec.scratch")}
    assert found >= {("seqc.store.atomic", "top"), ("seqc.render.driver", "typing"),
                     ("seqc.cli.commands.render", "lazy"), ("seqc.spec.paths", "lazy"),
                     ("seqc.handoff.client", "dynamic"), ("seqc.media", "dynamic")}, found


def test_no_package_circle_but_the_known_ones():
    _exactly(circle_edges(stage_graph()), KNOWN_CIRCLE_EDGES, "package-circle edge")


def test_a_lower_stage_imports_nothing_built_on_it():
    _exactly(upward_imports(), KNOWN_UPWARD, "upward import")


def test_the_planner_side_imports_no_torch_even_lazily():
    _exactly(planner_heavy_imports(), KNOWN_PLANNER_HEAVY, "heavy import on the planner side")


def report() -> str:
    """The stage graph, one edge a line: how many imports make it, which are function-level."""
    edges = stage_graph()
    circles, upward = circle_edges(edges), {(stage(a), stage(b)) for a, b in upward_imports()}
    order = {name: i for i, name in enumerate(LOWER + UPPER + LEAVES)}
    lines = ["seqc stage graph, every import (lazy: inside a function; typing: under TYPE_CHECKING;",
             "dynamic: importlib.import_module). Function-level imports are listed by file:line."]
    for (a, b), imps in sorted(edges.items(), key=lambda e: (order.get(e[0][0], 99), order.get(e[0][1], 99))):
        kinds = sorted({imp.kind for imp in imps})
        flags = (f"  [{'+'.join(kinds).upper()} ONLY]" if "top" not in kinds else "") + ("  [CIRCLE]" if (a, b) in circles else "") \
            + ("  [UPWARD]" if (a, b) in upward else "")
        later = [imp.where for imp in sorted(set(imps), key=lambda i: (i.source, i.line)) if imp.kind != "top"]
        lines.append(f"  {a:>9} -> {b:<10} {len(imps):>2} import(s): {', '.join(kinds)}{flags}")
        lines += [f"{'':>26}{where}" for where in dict.fromkeys(later)]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())
