"""`seqc schema`: print the storyboard JSON Schema."""

from __future__ import annotations

import sys

from seqc.spec import schema_text


def run() -> int:
    sys.stdout.write(schema_text())
    return 0
