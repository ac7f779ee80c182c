"""Pin the frames the golden storyboard renders to (tests/data/golden_pixels/frames.npz).

The render math (easing, paths, the decode, channels-last, normalisation) decides every pixel,
and a cached clip is only right if it was made by the same math: so a change to it must bump
`KEY_VERSION`. tests/render/test_golden_pixels.py renders the golden storyboard in-process (the
model's frames, before x264) and compares them with this file. After bumping `KEY_VERSION` for
a deliberate change, run `python tools/pin_golden_pixels.py` and commit the new file.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOLDEN = ROOT / "tests" / "data" / "golden_pixels"
PINNED = GOLDEN / "frames.npz"


def golden_frames() -> np.ndarray:
    """Every frame of the golden storyboard as uint8 [N, H, W, 3], rendered on the CPU in float32
    through the renderer's own steps (endpoints, then each clip's frames), without ffmpeg."""
    from seqc.backends import load_backend
    from seqc.plan import compile_plan
    from seqc.render.endpoints import encode_missing, gather_endpoints
    from seqc.render.frames import segment_frames
    from seqc.spec import load_storyboard
    from seqc.store import Cache

    story = load_storyboard(GOLDEN / "storyboard.yaml")
    with tempfile.TemporaryDirectory(prefix="seqc-golden-") as scratch:
        cache = Cache(scratch)
        plan = compile_plan(story, cache, precision="float32")
        backend = load_backend(story.model_ref, "cpu", "float32")
        jobs = list(plan.clip_jobs)
        endpoints, pixels = gather_endpoints(plan, cache, jobs)
        encode_missing(plan, cache, backend, endpoints, pixels, lambda _text: None)
        frames = []
        for job in jobs:
            seg = job.segment
            frames.extend(segment_frames(backend, job, endpoints[seg.source], endpoints[seg.target], 1, None,
                                         story.output.size, endpoints.get(seg.before or ""),
                                         endpoints.get(seg.after or "")))
    return np.concatenate(frames)


def main() -> int:
    from seqc.plan.keys import KEY_VERSION

    frames = golden_frames()
    np.savez_compressed(PINNED, frames=frames, key_version=np.int64(KEY_VERSION))
    print(f"wrote {PINNED.relative_to(ROOT)}: {len(frames)} frames at KEY_VERSION {KEY_VERSION}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
