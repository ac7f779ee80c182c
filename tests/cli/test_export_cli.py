"""`seqc export` end to end on the music example (a soundtrack with a beat grid): it renders, then
writes a timeline that OpenTimelineIO reads back with a clip per segment and the final frame
(their frames adding up to the plan's), a marker at every keyframe and beat, and the soundtrack;
the EDL, Final Cut 7 XML and FCPXML parse with their adapters; a format it cannot write is one
line and exit 2 before anything renders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from renderkit import plan_json, run_seqc

pytestmark = pytest.mark.slow  # real renders in subprocesses

otio = pytest.importorskip("opentimelineio", reason="the export extra (pip install 'seqc[export]')")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("export")
    for name in ("music", "seasons"):  # music's keyframes are seasons' pictures
        shutil.copytree(EXAMPLES / name, folder / name)
    return folder / "music" / "storyboard.yaml"


def export(story: Path, out: Path, *extra: str, check: bool = True):
    return run_seqc("export", str(story), "-o", str(out), "--cache-dir", str(story.parent / "cache"), "-q", *extra,
                    check=check)


def test_the_otio_timeline_has_every_segment_keyframe_and_beat(project):
    export(project, project.parent / "cut.otio")
    plan = plan_json(project, project.parent / "cache")
    timeline = otio.adapters.read_from_file(str(project.parent / "cut.otio"))
    clips = list(timeline.video_tracks()[0].find_clips())
    # One clip per segment and the final frame, each its frames of the rendered video.
    assert [c.name for c in clips] == [f"{s['from']} -> {s['to']}" for s in plan["segments"]] + ["summer (final frame)"]
    assert [c.source_range.start_time.value for c in clips[:-1]] == [s["first_frame"] for s in plan["segments"]]
    assert sum(c.source_range.duration.value for c in clips) == plan["total_frames"]
    assert all(Path(c.media_reference.target_url.removeprefix("file://")) == project.parent / "out" / "music.mp4"
               for c in clips)
    assert clips[1].metadata["seqc"]["method"] == "slerp" and clips[1].metadata["seqc"]["key"] == plan["segments"][1]["key"]
    # Markers: green at each keyframe, red at each beat (126 bpm from 0 s: 19 beats in 207 frames at 24 fps).
    markers = [(m.name, m.marked_range.start_time.value, m.color) for c in clips for m in c.markers]
    keyframes = [(n, f) for n, f, colour in markers if colour == "GREEN"]
    assert keyframes == [(s["from"], s["first_frame"]) for s in plan["segments"]] + [("summer", plan["total_frames"] - 1)]
    beats = [(n, f) for n, f, colour in markers if colour == "RED"]
    assert beats[:5] == [("1.1", 0), ("1.2", 11), ("1.3", 23), ("1.4", 34), ("2.1", 46)]
    assert len(beats) == 19 and beats[-1] == ("5.3", round(18 * 60 / 126 * 24))
    # The soundtrack, from its start, as long as the video.
    (sound,) = timeline.audio_tracks()[0].find_clips()
    assert sound.name == "track.opus" and sound.source_range.duration.value == plan["total_frames"]


@pytest.mark.parametrize("suffix, adapter", [(".edl", "cmx_3600"), (".xml", "fcp_xml"), (".fcpxml", "fcpx_xml")])
def test_edl_and_final_cut_timelines_parse_with_their_adapters(project, suffix, adapter):
    out = project.parent / f"cut{suffix}"
    export(project, out)
    timeline = otio.adapters.read_from_file(str(out), adapter_name=adapter)
    clips = list(timeline.video_tracks()[0].find_clips())
    assert len(clips) == 6 and sum(c.source_range.duration.value for c in clips) == 207
    assert sum(len(c.markers) for c in clips) > 20


def test_an_otioz_carries_the_video_and_the_soundtrack(project, tmp_path):
    export(project, project.parent / "cut.otioz")
    timeline = otio.adapters.read_from_file(str(project.parent / "cut.otioz"), extract_to_directory=str(tmp_path))
    urls = {c.media_reference.target_url for track in timeline.tracks for c in track.find_clips()}
    assert urls == {"media/music.mp4", "media/track.opus"}
    assert (tmp_path / "media" / "music.mp4").read_bytes() == (project.parent / "out" / "music.mp4").read_bytes()


def test_a_format_it_cannot_write_is_one_line_before_anything_renders(project, tmp_path):
    proc = export(project, tmp_path / "cut.aaf", "--cache-dir", str(tmp_path / "cache"), check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "the timeline formats are .otio, .otioz, .edl, .xml, .fcpxml" in proc.stderr
    assert not (tmp_path / "cut.aaf").exists() and not (tmp_path / "cache").exists()
