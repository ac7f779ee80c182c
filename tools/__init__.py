"""Developer tools for seqc: not part of the installed package."""
