"""`seqc watch` and the soundtrack (seqc/watch/events.py, observer.py): a saved audio file is an input
like a keyframe image."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from watchutil import WatchProcess, save_by_rename

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "audio"))
from audiokit import clicks, storyboard, write_wav  # noqa: E402

from seqc.spec import load_storyboard  # noqa: E402
from seqc.watch.events import referenced_images, story_inputs  # noqa: E402

SEGMENTS = "segments:\n  - {from: a, to: b, beats: 2}\n  - {from: b, to: a, beats: 2, pacing: audio}\n"


def test_the_soundtrack_is_watched_valid_or_not(tmp_path):
    write_wav(tmp_path / "track.wav", clicks(120, 4.0))
    story = storyboard(tmp_path, SEGMENTS, "audio: {path: track.wav, bpm: 120}")
    assert story_inputs(load_storyboard(story)) == {tmp_path / "a.png", tmp_path / "b.png", tmp_path / "track.wav"}
    # Invalid (the track is missing): still watched, so saving it renders.
    broken = storyboard(tmp_path, SEGMENTS, "audio: {path: music/later.mp3, bpm: 120}", name="broken")
    assert tmp_path / "music" / "later.mp3" in referenced_images(broken)


@pytest.mark.slow  # a process of its own: torch and diffusers imports, then a first render
def test_saving_the_audio_file_rerenders_what_hears_it(tmp_path):
    write_wav(tmp_path / "track.wav", clicks(120, 4.0, first=0.1))
    story = storyboard(tmp_path, SEGMENTS, "audio: {path: track.wav, bpm: 120}", fps=8, name="story")
    watcher = WatchProcess(tmp_path, debounce=0.3)
    try:
        mark, first = watcher.wait_render(timeout=180)
        assert first.rendered == 2
        samples = clicks(120, 4.0, first=0.1)
        samples[int(1.5 * 44100):int(1.5 * 44100) + 300] += 0.6  # under the audio-paced segment (1 s .. 2 s)
        data = (tmp_path / "edited.wav")
        write_wav(data, samples)
        save_by_rename(tmp_path / "track.wav", data.read_bytes())
        _, again = watcher.wait_render(since=mark + 1, timeout=120)
        assert again.rendered == 1 and again.indices == [1]
    finally:
        watcher.close()
    assert story.exists()
