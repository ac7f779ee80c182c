"""Where the cache lives: `--cache-dir`, then $SEQC_CACHE_DIR, then `./cache`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

ENV_VAR = "SEQC_CACHE_DIR"
DEFAULT_DIR = "cache"


def default_cache_dir(
    cli_value: str | None, env: Mapping[str, str] = os.environ, cwd: Path | None = None
) -> Path:
    """The cache folder: `--cache-dir` wins, then $SEQC_CACHE_DIR, then `./cache`.

    Relative values are taken from `cwd` (the current folder by default); empty values count
    as unset. The result is absolute.
    """
    base = Path(cwd) if cwd is not None else Path.cwd()
    if cli_value:
        raw = cli_value
    elif env.get(ENV_VAR):
        raw = env[ENV_VAR]
    else:
        raw = DEFAULT_DIR
    path = Path(raw).expanduser()
    return path if path.is_absolute() else base / path
