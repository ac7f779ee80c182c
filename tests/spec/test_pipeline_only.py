"""Settings only a text-to-image pipeline uses (seqc/spec/generation.py: steps, guidance, scheduler,
strength, seed, negative_prompt) are warned about under an autoencoder such as the built-in model,
wherever they are written (a segment, `loop`, `defaults`, a keyframe), as `smooth` without
`pacing: audio` is: the render goes on without them, and the user is told."""

from __future__ import annotations

import os
import subprocess
import sys

from speckit import write

from seqc.spec import load_storyboard

STORY = """\
version: 1
output: {size: [64, 64], fps: 12}
defaults: {duration: 0.5, steps: 4, negative_prompt: blur}
keyframes:
  a: {image: a.png, guidance: 3}
  b: {image: b.png}
segments:
  - {from: a, to: b, strength: 0.2, scheduler: euler}
loop: {frames: 2, steps: 8}
"""


def test_pipeline_settings_on_the_builtin_model_are_warned_where_they_are(story_dir):
    board = load_storyboard(write(story_dir, STORY))
    assert board.model == "builtin" and not board.model_ref.can_generate
    assert [(w.path, w.message, w.line) for w in board.warnings] == [
        ("defaults.steps", "`steps` has no effect with an autoencoder model", 3),
        ("defaults.negative_prompt", "`negative_prompt` has no effect with an autoencoder model", 3),
        ("keyframes.a.guidance", "`guidance` has no effect with an autoencoder model", 5),
        ("segments[0].strength", "`strength` has no effect with an autoencoder model", 8),
        ("segments[0].scheduler", "`scheduler` has no effect with an autoencoder model", 8),
        ("loop.steps", "`steps` has no effect with an autoencoder model", 9),
    ]
    assert all(s.generation is None for s in board.segments)  # and nothing of them reaches a key


def test_validate_prints_the_warning_and_passes(story_dir):
    story = write(story_dir, STORY)
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-m", "seqc", "validate", str(story)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert f"{story}:8:32: warning: segments[0].strength: `strength` has no effect with an autoencoder model" \
        in proc.stderr.splitlines()
