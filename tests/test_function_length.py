"""No function or method in seqc/ is longer than MAX_LINES, from its `def` to its last line
(docstring and comments included): a long one is split into named steps. No allow-list."""

from __future__ import annotations

import ast
from pathlib import Path

MAX_LINES = 80
PACKAGE = Path(__file__).resolve().parent.parent / "seqc"


def long_functions(root: Path = PACKAGE, limit: int = MAX_LINES) -> list[str]:
    """'file:line name is N lines' for every function or method under `root` over `limit` lines."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        functions = [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for node in sorted(functions, key=lambda node: node.lineno):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > limit:
                found.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.name} is {length} lines "
                             f"(over {limit})")
    return found


def test_no_function_is_over_the_limit():
    assert long_functions() == []


def test_the_check_sees_methods_and_nested_functions(tmp_path):
    body = "".join(f"        x = {i}\n" for i in range(MAX_LINES))  # a def and this: one line over
    (tmp_path / "mod.py").write_text(f"class A:\n    def method(self):\n{body}\n"
                                     f"def outer():\n    def inner():\n{body}\n"
                                     "def fits():\n" + "    x = 0\n" * (MAX_LINES - 1))  # exactly the limit
    over = f"over {MAX_LINES}"
    assert long_functions(tmp_path) == [f"{tmp_path.name}/mod.py:2 method is {MAX_LINES + 1} lines ({over})",
                                        f"{tmp_path.name}/mod.py:{MAX_LINES + 4} outer is {MAX_LINES + 2} lines ({over})",
                                        f"{tmp_path.name}/mod.py:{MAX_LINES + 5} inner is {MAX_LINES + 1} lines ({over})"]
