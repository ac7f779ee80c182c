"""Output steps: what a command makes of the cached clips once the cache is filled.

`video` concatenates them into the output file, `frames` exports them as an image sequence (PNG,
16-bit PNG or TIFF, half-float EXR), and `produce` runs fill-then-write under one lease for
`seqc render` and `seqc watch`.
"""
