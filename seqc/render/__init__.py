"""The renderer: fill the cache for a Plan (keyframe latents, then a clip per missing segment).

`render.render()` is the entry point; `frames` computes a segment's frames, `endpoints` the
keyframes' latents, `pixels` decodes keyframe images, `metrics` measures change between frames.
"""
