"""`seqc prompts [WORD...]`: the prompts a model knows (builtin-emoji's emoji names), optionally filtered."""

from __future__ import annotations

import sys
from pathlib import Path

from seqc.models import known_prompts, resolve_model
from seqc.ui import console


def matching(prompts: list[str], words: list[str]) -> list[str]:
    """The prompts that contain every word (any case), in their listed order."""
    wanted = [w.lower() for w in words]
    return [p for p in prompts if all(w in p.lower() for w in wanted)]


def run(model: str, words: list[str]) -> int:
    """Print the matches one per line; exit 1 when WORDS match none."""
    prompts = known_prompts(resolve_model(model, Path.cwd()))
    found = matching(prompts, words)
    sys.stdout.write("".join(p + "\n" for p in found))
    if not found:
        console.warn(f"no prompt of '{model}' contains {' and '.join(repr(w) for w in words)} "
                     f"({len(prompts)} prompts; `seqc prompts --model {model}` lists them all)")
        return 1
    return 0
