"""The frames of a `method: morph` segment (seqc.backends.morph does the model's part).

Each frame at time t starts at step k = `morph_start` x steps from the slerp of the two end
keyframes' latents at step k (their trajectories, computed once), with the prompts' conditionings
lerped (as Latent Blending does) and the guidance damped toward the middle (1 - `morph_damping` x 4t(1 - t)):
the in-betweens keep the ends' layout and cannot snap to a third picture, and a high guidance
does not push the middle frames to either end. A frame at t = 0 or 1 is the keyframe's own
picture, denoised whole as any method draws it. The frames are placed for even
change by `pacing: even`, a morph's default (seqc.render.frames.even_times, MORPH_PROBES probes).
"""

from __future__ import annotations

import numpy as np

from seqc.backends.protocol import Backend, morpher
from seqc.motion.interp import lerp, slerp
from seqc.motion.methods import MORPH_DAMPING, MORPH_START


def inject_step(steps: int, start: float = MORPH_START) -> int:
    """The step the in-betweens start at (`start` of the way): at least one step in, one step left."""
    return max(1, min(steps - 1, round(steps * start)))


def damped_guidance(guidance: float, t: np.ndarray, damping: float = MORPH_DAMPING) -> np.ndarray:
    """Each frame's guidance scale: the segment's at the ends, lowered by `damping` at the middle."""
    return guidance * (1.0 - damping * 4.0 * t * (1.0 - t))


def morph_frames(backend: Backend, gen: dict, start_noise: np.ndarray, end_noise: np.ndarray,
                 start_cond: dict[str, np.ndarray], end_cond: dict[str, np.ndarray], t: np.ndarray,
                 size: tuple[int, int]) -> np.ndarray:
    """uint8 frames [T, H, W, 3] of a morph at times t, from the two ends' noise and conditioning."""
    model = morpher(backend, "draw a morph's in-betweens (method: morph)")
    steps, guidance = int(gen["steps"]), float(gen["guidance"])
    k = inject_step(steps, float(gen.get("morph_start", MORPH_START)))
    damping = float(gen.get("morph_damping", MORPH_DAMPING))
    # 1. Where both ends' trajectories are at step k (remembered by the backend, by content).
    ends = model.trajectory(np.stack([start_noise, end_noise]),
                            {key: np.stack([start_cond[key], end_cond[key]]) for key in start_cond},
                            steps, guidance, size, stop=k)
    # 2. Every frame from their slerp at step k, the prompts lerped, the guidance damped.
    t = np.asarray(t, dtype=np.float64)
    cond = {key: lerp(start_cond[key], end_cond[key], t) for key in start_cond}
    frames = model.generate_from(slerp(ends[0], ends[1], t), cond, steps, damped_guidance(guidance, t, damping),
                                 size, start=k)
    # 3. A frame at an end is that keyframe's own picture, denoised whole: a multistep scheduler
    #    restarted at step k would draw it a little otherwise. (Replaced in place, so every other
    #    frame keeps its call, and a frame's bytes still do not depend on the batch size.)
    at_end = np.flatnonzero((t <= 0.0) | (t >= 1.0))
    if at_end.size:
        pick = t[at_end] >= 1.0
        noise = np.where(pick[:, None, None, None], end_noise[None], start_noise[None])
        end_conds = {key: np.where(pick.reshape(-1, *[1] * start_cond[key].ndim), end_cond[key][None],
                                   start_cond[key][None]) for key in start_cond}
        frames[at_end] = model.generate(noise, end_conds, steps, guidance, size)
    return frames
