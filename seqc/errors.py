"""The one exception base for seqc and the exit codes the CLI maps errors to."""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_RENDER = 1
EXIT_INPUT = 2
EXIT_INTERRUPTED = 130


class SeqcError(Exception):
    """Base of every error seqc raises on purpose; the CLI prints it without a traceback."""

    exit_code = EXIT_RENDER


@dataclass(frozen=True)
class Problem:
    """One finding about a storyboard: where it is, what is wrong, and a hint."""

    file: str
    line: int  # 1-based
    column: int  # 1-based
    path: str  # path in the document, e.g. "segments[1].easing" ("" for the whole file)
    message: str
    hint: str = ""
    severity: str = "error"  # "error" or "warning"

    def format(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        if self.severity == "warning":
            text = text.replace(f"{where}: ", f"{where}: warning: ", 1)
        return text

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
            "severity": self.severity,
        }


class SpecError(SeqcError):
    """An invalid storyboard: carries every problem found, each once (two segments reading one
    default find the same problem there), sorted by position."""

    exit_code = EXIT_INPUT

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(dict.fromkeys(problems), key=lambda p: (p.file, p.line, p.column, p.path))
        super().__init__("\n".join(p.format() for p in self.problems))


class InputError(SeqcError):
    """Bad input outside a storyboard's text (a command-line argument, a model folder)."""

    exit_code = EXIT_INPUT


class ModelError(SeqcError):
    """A model that cannot be found or loaded safely."""

    exit_code = EXIT_INPUT


class CacheError(SeqcError):
    """The cache cannot do what was asked (for example: another gc holds the lock)."""

    exit_code = EXIT_RENDER


class RenderError(SeqcError):
    """Rendering failed (ffmpeg failed, a frame count is wrong, the disk is full)."""

    exit_code = EXIT_RENDER
