"""How a segment moves between its keyframes: easing curves, interpolation, and the method registry.

numpy only: the storyboard checks, the planner and the schema tool read it as well as the renderer.
"""
