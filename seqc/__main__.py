"""Allow `python -m seqc`."""

from seqc.cli.main import main

raise SystemExit(main())
