"""The renderer: fill the cache for a Plan (keyframe latents, then a clip per missing segment).

`driver.render()` is the entry point; `execute` is the executor seam (who renders the missing
segments), `session` what a command keeps between its renders, `progress` the typed progress events,
`frames` a segment's frames, `endpoints` the keyframes' latents, `pixels` decodes keyframe images,
`metrics` measures change between frames.
"""
