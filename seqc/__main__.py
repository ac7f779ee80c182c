"""Allow `python -m seqc`."""

from seqc.cli import main

raise SystemExit(main())
