"""The terminal: one rich Console for messages (stderr) and helpers for printing problems."""

from __future__ import annotations

import json
import os
import sys

from rich.console import Console
from rich.markup import escape  # re-exported for callers

from seqc.errors import Problem


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """The reader went away (`seqc plan | head -1`): stop quietly with status 0, as Unix tools do
        (rich's default exits with 1)."""
        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self.file.fileno())
        raise SystemExit(0)


err = _Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
out = _Console(highlight=False, soft_wrap=True, emoji=False)


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`count` and the noun that agrees with it: '1 entry', '3 entries' (`many` defaults to noun + 's')."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"


def print_problems(problems: list[Problem]) -> None:
    """One line per problem on stderr: FILE:LINE:COL: PATH: message (hint)."""
    for problem in problems:
        style = "yellow" if problem.severity == "warning" else "red"
        err.print(f"[{style}]{escape(problem.format())}[/{style}]")


def print_json(data: object) -> None:
    """A JSON document on stdout (for scripts and editor integrations)."""
    sys.stdout.write(json.dumps(data, indent=None, sort_keys=False) + "\n")
    sys.stdout.flush()


def warn(message: str) -> None:
    """A one-line warning on stderr."""
    err.print(f"[yellow]warning:[/yellow] {escape(message)}")


def info(message: str) -> None:
    """A one-line note on stderr (kept off stdout so --json output stays clean)."""
    err.print(escape(message))
