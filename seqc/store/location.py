"""Where the cache lives, so one storyboard finds the same cache from any working folder.

The rule, first match wins:

1. `--cache-dir DIR`;
2. `$SEQC_CACHE_DIR`;
3. the project's cache: walking up from the storyboard's folder (for `seqc cache`, from the
   current folder), the first `cache/` folder holding a `CACHEDIR.TAG` that seqc wrote;
4. the per-user cache: `$XDG_CACHE_HOME/seqc` (default `~/.cache/seqc`; `~/Library/Caches/seqc`
   on macOS, `%LOCALAPPDATA%\\seqc\\Cache` on Windows).

Every cache seqc writes gets the tag (the Cache Directory Tagging Specification, so backup tools
skip it too); `seqc init` makes a project's `cache/` with it. Relative `--cache-dir` and
`$SEQC_CACHE_DIR` values are taken from the current folder.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

ENV_VAR = "SEQC_CACHE_DIR"
PROJECT_DIR = "cache"
TAG_NAME = "CACHEDIR.TAG"
TAG_SIGNATURE = "Signature: 8a477f597d28d172789f06886806bc55"
TAG_TEXT = (f"{TAG_SIGNATURE}\n# This file is a cache directory tag created by seqc.\n"
            "# For information about cache directory tags see https://bford.info/cachedir/\n")


def is_seqc_cache(folder: Path) -> bool:
    """Whether `folder` holds a CACHEDIR.TAG written by seqc."""
    try:
        with open(folder / TAG_NAME, encoding="utf-8", errors="replace") as fh:
            head = fh.read(200)
    except OSError:
        return False
    return head.startswith(TAG_SIGNATURE) and "created by seqc" in head


def project_cache(start: Path) -> Path | None:
    """The first `cache/` with seqc's tag in `start` or a folder above it, or None."""
    folder = Path(os.path.abspath(start))
    while True:
        if is_seqc_cache(folder / PROJECT_DIR):
            return folder / PROJECT_DIR
        if folder.parent == folder:
            return None
        folder = folder.parent


def user_cache_dir(env: Mapping[str, str] = os.environ) -> Path:
    """The per-user cache folder for seqc on this platform."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "seqc"
    if sys.platform.startswith("win"):
        base = env.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "seqc" / "Cache"
    base = env.get("XDG_CACHE_HOME")
    return (Path(base) if base and os.path.isabs(base) else Path.home() / ".cache") / "seqc"


def default_cache_dir(cli_value: str | None, env: Mapping[str, str] = os.environ, cwd: Path | None = None,
                      near: Path | None = None) -> Path:
    """The cache folder by the rule above; `near` is the storyboard's folder (the current folder
    when there is none). Empty values count as unset; the result is absolute."""
    base = Path(cwd) if cwd is not None else Path.cwd()
    raw = cli_value or env.get(ENV_VAR)
    if raw:
        path = Path(raw).expanduser()
        return path if path.is_absolute() else base / path
    found = project_cache(near if near is not None else base)
    return found if found is not None else user_cache_dir(env)
