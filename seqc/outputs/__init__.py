"""Output steps: what a command makes of the cached clips once the cache is filled.

`video` concatenates them into the output file, `frames` exports them as a PNG sequence, and
`produce` runs fill-then-write under one lease for `seqc render` and `seqc watch`.
"""
