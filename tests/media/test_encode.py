"""The clip encoding (seqc/media/encode.py): its settings drive ffmpeg's arguments, frame rates
(exact NTSC, numpy and bad ones), every clip starts on a keyframe with no B-frames, the bytes are
deterministic, and importing seqc.media never loads torch (the planner reads ENCODER_SETTINGS)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import mediaprobe
import numpy as np
import pytest
from mediakit import gradient_frames

from seqc import media

REPO = Path(__file__).resolve().parents[2]


def test_encoder_settings_drive_the_arguments():
    json.dumps(media.ENCODER_SETTINGS)  # it goes into cache keys: must be plain data
    s = media.ENCODER_SETTINGS
    args = media.encode_args((64, 48), Fraction(24), Path("/tmp/x.mp4"))

    def after(flag: str) -> str:  # the value the output option is given (its last use; inputs come first)
        return args[len(args) - 1 - args[::-1].index(flag) + 1]

    for flag, name in (("-c:v", "codec"), ("-preset", "preset"), ("-crf", "crf"), ("-profile:v", "profile"),
                       ("-bf", "bframes"), ("-g", "keyint"), ("-threads", "threads"), ("-pix_fmt", "pix_fmt"),
                       ("-f", "container")):
        assert after(flag) == str(s[name]), name
    filters = dict(item.split("=", 1) for item in after("-vf").split(","))
    scale = dict(part.split("=", 1) for part in filters["scale"].split(":"))
    assert scale == {"out_color_matrix": s["color_matrix"], "out_range": s["color_range"], "flags": s["scale_flags"]}
    assert filters["format"] == s["pix_fmt"]
    tags = dict(part.split("=", 1) for part in filters["setparams"].split(":"))
    assert tags == {"color_primaries": s["color_primaries"], "color_trc": s["color_trc"],
                    "colorspace": s["color_matrix"], "range": s["color_range"]}
    assert after("-fflags") == "+bitexact" and after("-flags:v") == "+bitexact" and after("-map_metadata") == "-1"


def test_exact_ntsc_rate(tmp_path):
    path = tmp_path / "ntsc.mp4"
    assert media.write_clip([gradient_frames(3)], path, (64, 48), Fraction(30000, 1001)) == 3
    assert mediaprobe.probe(path).fps == pytest.approx(30000 / 1001, abs=1e-9)


def test_fps_types(tmp_path):
    path = tmp_path / "clip.mp4"
    media.write_clip([gradient_frames(2)], path, (64, 48), np.float32(25.0))
    assert mediaprobe.probe(path).fps == 25.0
    for bad in (float("nan"), float("inf"), -1, "24", True):
        with pytest.raises(ValueError):
            media.ClipWriter(path, (64, 48), bad)


def test_every_clip_starts_on_a_keyframe_without_b_frames(tmp_path):
    path = tmp_path / "clip.mp4"
    media.write_clip([gradient_frames(6)], path, (64, 48), 24)
    shown = subprocess.run(
        [media.ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "info",
         "-i", "file:" + str(path), "-vf", "showinfo", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    frames = [line for line in shown.splitlines() if " n:" in line and "iskey:" in line]
    assert len(frames) == 6
    assert "iskey:1" in frames[0] and "type:I" in frames[0]
    assert not any("type:B" in line for line in frames)
    # No reordering: decode order is display order, from 0 (what makes the joins clean).
    packets = mediaprobe.read_packets(path).packets
    assert [p.dts for p in packets] == [p.pts for p in packets]
    assert packets[0].pts == 0


# ----------------------------------------------------------------------------- determinism


def test_byte_identical_renders(tmp_path):
    frames = gradient_frames(8)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for run in ("a", "b"):
        media.write_clip([frames[:4]], tmp_path / run / "c0.mp4", (64, 48), 24)
        media.write_clip([frames[4:]], tmp_path / run / "c1.mp4", (64, 48), 24)
        clips = [tmp_path / run / "c0.mp4", tmp_path / run / "c1.mp4"]
        media.concat(clips, tmp_path / run / "out.mp4")
    for name in ("c0.mp4", "c1.mp4", "out.mp4"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


CHILD_ONE_CPU = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    from seqc import media
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    media.write_clip([np.load(sys.argv[1])], sys.argv[2], (64, 48), 24)
    """
)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs sched_setaffinity")
def test_bytes_do_not_depend_on_cpu_count(tmp_path):
    frames = gradient_frames(6)
    np.save(tmp_path / "frames.npy", frames)
    media.write_clip([frames], tmp_path / "here.mp4", (64, 48), 24)
    subprocess.run(
        [sys.executable, "-c", CHILD_ONE_CPU, str(tmp_path / "frames.npy"),
         str(tmp_path / "one_cpu.mp4")],
        check=True, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert (tmp_path / "here.mp4").read_bytes() == (tmp_path / "one_cpu.mp4").read_bytes()


# ----------------------------------------------------------------------------- imports


def test_import_does_not_load_torch():
    code = "import sys, seqc.media; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.strip() == "False"
