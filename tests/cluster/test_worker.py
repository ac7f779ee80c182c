"""The Ray worker as the plain class it is (seqc/cluster/worker.py), without Ray: what it keeps for
its lifetime. A task arrives pickled, as Ray sends it."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "audio"))
from audiokit import clicks, write_wav  # noqa: E402

from seqc.audio import pcm  # noqa: E402
from seqc.backends import load_backend  # noqa: E402
from seqc.cluster.worker import SegmentWorker, Task  # noqa: E402
from seqc.plan import compile_plan  # noqa: E402
from seqc.render.endpoints import encode_missing, gather_endpoints  # noqa: E402
from seqc.spec import load_storyboard  # noqa: E402
from seqc.store import Cache  # noqa: E402


def test_a_worker_decodes_the_soundtrack_once_for_all_its_audio_paced_segments(story_dir, monkeypatch):
    """The driver's decoded soundtrack does not travel with a task (seqc.audio.pcm.AudioWindow): the
    worker decodes the file once and keeps it, not once per segment."""
    write_wav(story_dir / "track.wav", clicks(120, 10.0, first=0.1))
    story_path = story_dir / "s.yaml"
    story_path.write_text("version: 1\nmodel: ./vae\noutput: {path: out/s.mp4, size: [32, 32], fps: 8}\n"
                          "audio: {path: track.wav, bpm: 120}\nkeyframes:\n  a: {image: a.png}\n  b: {image: b.png}\n"
                          "segments:\n" + "".join(f"  - {{from: {x}, to: {y}, beats: 2, pacing: audio}}\n"
                                                  for x, y in (("a", "b"), ("b", "a"), ("a", "a"))))
    cache = Cache(story_dir / "cache")
    story = load_storyboard(story_path, images=cache, audio_memo=cache)
    assert story.model_ref is not None
    plan = compile_plan(story, cache)
    ends, pixels = gather_endpoints(plan, cache, list(plan.clip_jobs))
    encode_missing(plan, cache, load_backend(story.model_ref, "cpu", "float32"), ends, pixels, lambda text: None)
    worker = SegmentWorker()
    worker.load(story.model_ref, "cpu", "float32", plan.model, str(cache.root))
    decodes: list[Path] = []
    original = pcm.pcm
    monkeypatch.setattr(pcm, "pcm", lambda path: decodes.append(path) or original(path))
    audio_paced = list({job.key: job for job in plan.clip_jobs if job.window is not None}.values())  # one per clip
    for job in audio_paced:
        seg = job.segment
        task = Task(job, plan.model, plan.precision, ends[seg.source], ends[seg.target], ends.get(seg.before or ""),
                    ends.get(seg.after or ""), story.output.size, story.output.fps, None, str(cache.root))
        assert worker.render(pickle.loads(pickle.dumps(task)))["rendered"]
    assert len(audio_paced) >= 2 and len(decodes) == 1
