"""Audio files checked and decoded by the bundled ffmpeg (seqc/audio/pcm.py)."""

from __future__ import annotations

import hashlib
import os
import struct

import numpy as np
import pytest
from audiokit import click_track, write_wav

from seqc.audio.pcm import ANALYSIS_RATE, AudioError, check_audio, decoded, pcm, window_for


@pytest.mark.parametrize("name", ["t.wav", "t.mp3", "t.m4a", "t.flac"])
def test_decoding_is_sample_exact_in_every_format(tmp_path, name):
    path = click_track(tmp_path, name, 120, 10.0, first=0.25)
    assert check_audio(path).samples == 10 * ANALYSIS_RATE
    samples = np.frombuffer(decoded(path), dtype="<f4")
    assert len(samples) == 10 * ANALYSIS_RATE
    first_click = np.nonzero(np.abs(samples) > 0.3)[0][0] / ANALYSIS_RATE
    assert first_click == pytest.approx(0.25, abs=0.002)  # encoder priming trimmed


def test_a_window_is_sample_exact_and_padded_with_silence(tmp_path):
    path = click_track(tmp_path, "t.wav", 120, 4.0)
    window = window_for(path, start=1.5, fps=24, first_frame=24, frames=12)
    assert (window.first, window.last) == (round(2.5 * ANALYSIS_RATE), 3 * ANALYSIS_RATE)
    whole = decoded(path)
    assert window.sha256 == hashlib.sha256(whole[4 * window.first:4 * window.last]).hexdigest()
    assert window.samples() == whole[4 * window.first:4 * window.last]
    late = window_for(path, start=3.0, fps=24, first_frame=12, frames=24)  # 3.5 s .. 4.5 s of a 4 s file
    data = late.samples()
    assert len(data) == 4 * ANALYSIS_RATE and data[2 * ANALYSIS_RATE:] == bytes(2 * ANALYSIS_RATE)



def test_a_session_decodes_a_soundtrack_once(tmp_path, monkeypatch):
    """The session's AudioCache keeps the check's samples for the planner's windows and the render's;
    without one, nothing is kept; a changed file is decoded again; a pickled window keeps no PCM."""
    import pickle

    from seqc.audio import pcm as decoder
    from seqc.audio.memo import AudioCache

    path = click_track(tmp_path, "t.wav", 120, 4.0)
    launches = []
    real = decoder.run
    monkeypatch.setattr(decoder, "run", lambda *a, **k: launches.append(a) or real(*a, **k))
    audio = AudioCache()
    check_audio(path, audio=audio)
    windows = [window_for(path, start=0, fps=24, first_frame=i * 12, frames=12, audio=audio) for i in range(3)]
    assert [len(w.samples()) for w in windows] == [4 * ANALYSIS_RATE // 2] * 3 and len(launches) == 1
    decoded(path)
    decoded(path)
    assert len(launches) == 3  # no session: decoded each time
    copy = pickle.loads(pickle.dumps(windows[0]))
    assert copy == windows[0] and copy.audio is None and copy.samples() == windows[0].samples()
    write_wav(path, np.zeros(4 * 44100))
    decoded(path, audio=audio)
    assert len(launches) == 5

def test_a_file_changed_after_planning_is_refused(tmp_path):
    path = click_track(tmp_path, "t.wav", 120, 4.0)
    window = window_for(path, start=0, fps=24, first_frame=0, frames=24)
    write_wav(path, np.zeros(4 * 44100))
    with pytest.raises(AudioError, match="changed while rendering"):
        window.samples()


def _bad_files(folder):
    good = click_track(folder, "good.mp3", 120, 6.0)
    m4a = click_track(folder, "good.m4a", 120, 6.0)
    wav = click_track(folder, "good.wav", 120, 6.0)
    made = {}
    for source in (good, m4a, wav):
        data = source.read_bytes()
        made[f"truncated {source.suffix}"] = folder / f"trunc{source.suffix}"
        made[f"truncated {source.suffix}"].write_bytes(data[: len(data) // 2])
    made["not audio"] = folder / "notes.mp3"
    made["not audio"].write_text("this is not a sound\n" * 50)
    made["a directory"] = folder / "dir.wav"
    made["a directory"].mkdir()
    made["a FIFO"] = folder / "pipe.wav"
    os.mkfifo(made["a FIFO"])
    header = (b"RIFF" + struct.pack("<I", 0xFFFFFFF0) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 2, 48000,
                                                                                    192000, 4, 16)
              + b"data" + struct.pack("<I", 0xFFFFFFF0))
    made["a huge header"] = folder / "huge.wav"
    made["a huge header"].write_bytes(header + bytes(4000))
    made["empty"] = folder / "empty.wav"
    made["empty"].write_bytes(b"")
    from renderkit import write_image

    made["an image"] = write_image(folder / "picture.png", seed=3, size=(16, 16))
    return made


def test_bad_files_are_one_clear_problem_each(tmp_path):
    expected = {
        "truncated .mp3": "is truncated: its header says 6.00 s",
        "truncated .m4a": "is not an audio file ffmpeg can read, or it is truncated",
        "truncated .wav": "truncated, or a header that lies",
        "not audio": "is not an audio file ffmpeg can read",
        "a directory": "is a directory, not an audio file",
        "a FIFO": "is a FIFO (named pipe), not an audio file",
        "a huge header": "its header promises 4,294,967,280 bytes of samples but the file holds",
        "empty": "is empty, not an audio file",
        "an image": "has no audio stream",
    }
    for what, path in _bad_files(tmp_path).items():
        with pytest.raises(AudioError) as info:
            check_audio(path)
        assert expected[what] in str(info.value), what
        assert "\n" not in str(info.value)


def test_pcm_reads_a_window_by_seeking(tmp_path):
    path = click_track(tmp_path, "t.wav", 60, 4.0, first=1.0)
    data = np.frombuffer(pcm(path, start=0.5, seconds=1.0), dtype="<f4")
    assert len(data) == ANALYSIS_RATE
    assert np.nonzero(np.abs(data) > 0.3)[0][0] / ANALYSIS_RATE == pytest.approx(0.5, abs=0.002)


def test_a_pass_is_remembered_in_the_cache_memo_by_stat(tmp_path, monkeypatch):
    from seqc.audio import pcm as decoder
    from seqc.store import Cache

    path = click_track(tmp_path, "t.wav", 120, 3.0)
    cache = Cache(tmp_path / "cache")
    cache.racy_seconds = 0  # the file has settled (a plan hashes the soundtrack, making its record)
    cache.hash_file(path)
    assert check_audio(path, cache).samples == 3 * ANALYSIS_RATE
    cache.save_memo()

    def no_decode(*args, **kwargs):
        raise AssertionError("decoded again")

    monkeypatch.setattr(decoder, "run", no_decode)
    later = Cache(tmp_path / "cache")  # another process: reads files.json
    assert check_audio(path, later).samples == 3 * ANALYSIS_RATE
    write_wav(path, np.zeros(44100))  # a new file state is checked again
    with pytest.raises(AssertionError, match="decoded again"):
        check_audio(path, later)
