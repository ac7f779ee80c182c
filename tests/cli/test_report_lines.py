"""What seqc says about a finished render and about itself, without rendering: the summary line
(counts that agree with their nouns, the video's length, size and fps, the cache folder), and the
exit codes every --help lists (issue 24 items 13 and 19)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from seqc.cli.commands import render
from seqc.errors import EXIT_INPUT, EXIT_INTERRUPTED, EXIT_OK, EXIT_RENDER
from seqc.interrupts import Stopped
from seqc.store.location import user_cache_dir
from seqc.ui import console


def result(**changes) -> dict:
    base = {"output": "/p/out/video.mp4", "frames": 49, "segments": 4, "rendered": 1, "cached": 3,
            "rendered_final_frame": False, "seconds": 1.5, "fetched": 0, "pushed": 0, "fps": 12,
            "size": [64, 48], "duration": 49 / 12, "cache": "/p/cache"}
    return {**base, **changes}


def summary(capsys, **changes) -> str:
    render._report(result(**changes), [], None, quiet=False, as_json=False)
    return capsys.readouterr().err.strip()


def test_counts_agree_with_their_nouns(capsys):
    assert console.plural(1, "entry", "entries") == "1 entry"
    assert console.plural(0, "entry", "entries") == "0 entries"
    assert console.plural(2, "frame") == "2 frames"
    line = summary(capsys, pushed=1, frames=1, segments=1, rendered=1, cached=0)
    assert "pushed 1 entry to the remote" in line, line
    assert "1 frame (" in line and "rendered 1 of 1 segment," in line, line
    assert "pushed 3 entries" in summary(capsys, pushed=3)


def test_the_summary_names_length_size_fps_and_the_cache(capsys):
    line = summary(capsys)
    assert line == ("/p/out/video.mp4: 49 frames (4.08 s at 12 fps, 64x48); rendered 1 of 4 segments, 3 cached; "
                    "1.50 s; cache: /p/cache")


def test_the_per_user_cache_is_named_as_such(capsys):
    line = summary(capsys, cache=str(user_cache_dir()))
    assert line.endswith("(the per-user cache)"), line
    assert summary(capsys, cache=None).endswith("cache: none (--no-cache)")


@pytest.mark.parametrize("command", [[], ["render"], ["cache", "verify"], ["init"]])
def test_help_lists_the_exit_codes_seqc_uses(command):
    shown = subprocess.run([sys.executable, "-m", "seqc", *command, "--help"], capture_output=True, text=True,
                           check=True, env={**os.environ, "COLUMNS": "200"}).stdout
    text = " ".join(shown.split())
    assert "Exit codes:" in text, shown
    assert f"{EXIT_OK} ok;" in text and f"{EXIT_RENDER} failure" in text and f"{EXIT_INPUT} invalid input" in text
    assert f"{EXIT_INTERRUPTED} interrupted (Ctrl-C)" in text
    # The codes a signal gives are the ones seqc.interrupts really exits with.
    assert f"{Stopped(signal.SIGTERM).exit_code} stopped by SIGTERM" in text
    assert f"{Stopped(signal.SIGHUP).exit_code} stopped by SIGHUP" in text
