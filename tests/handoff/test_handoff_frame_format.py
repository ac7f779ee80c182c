"""A `seqc render --frames DIR --frame-format F` job handed to a warm `seqc watch` (seqc/handoff/client.py)
carries its frame format, so the watch writes the format asked for, not 8-bit PNGs."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqc.app.render import RenderRequest
from seqc.handoff import client as handoff


def test_a_frames_job_carries_its_frame_format(tmp_path):
    story = str(tmp_path / "story.yaml")
    message = handoff.request_message(tmp_path, RenderRequest(story, frames=Path("f"), frame_format="exr"))
    assert message["frame_format"] == "exr"
    assert handoff.request_from(message) == RenderRequest(story, str(tmp_path), frames=Path("f").absolute(),
                                                          frame_format="exr")
    plain = {key: value for key, value in message.items() if key != "frame_format"}
    assert handoff.request_from(plain).frame_format == "png"
    with pytest.raises(ValueError, match="frame format"):
        handoff.request_from({**message, "frame_format": "jpeg"})


def test_a_request_refuses_an_unknown_frame_format():
    with pytest.raises(ValueError, match="png, png16, exr, tiff16"):
        RenderRequest("story.yaml", frames=Path("f"), frame_format="jpeg")
