"""Regenerate every example's keyframes with the painters in `tools/paint`.

Run from anywhere: `python examples/paint_examples.py`. The PNGs are the project's own
(painted by code, no third-party pixels) and are committed; `tests/test_paint.py` checks
that they still match what the painters produce, so re-run this after changing a painter.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the repository root, where `tools.paint` lives

from tools.paint import save_set  # noqa: E402

SIZE = (256, 256)
SEED = 0

# example folder -> keyframe names; each is written to <folder>/keyframes/<name>.png
EXAMPLES: dict[str, list[str]] = {
    "seasons": ["summer", "autumn", "winter", "spring"],
    "sky": ["dawn", "noon", "dusk", "night"],
}


def main() -> int:
    """Paint all example keyframes and print each file written with its size."""
    for example, names in EXAMPLES.items():
        for path in save_set(HERE / example / "keyframes", names, SIZE, SEED):
            print(f"{path.relative_to(HERE.parent)}  {path.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
