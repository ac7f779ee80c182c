"""Soundtracks: decoding through the bundled ffmpeg, the onset envelope, pacing curves, beat suggestions.

    pcm.py       an audio file checked and decoded to mono PCM (the planner side: no numpy here)
    memo.py      AudioCache: a session's passed checks and decoded soundtrack (no numpy either)
    envelope.py  the onset envelope of a window and the `pacing: audio` progress curve (numpy)
    beats.py     suggested bpm, first beat and onsets for `seqc audio` (librosa when installed)
"""
