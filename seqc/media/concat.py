"""Join clips into one video: a stream copy for mp4/mov/mkv, a re-encode for gif/webm."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from seqc.errors import RenderError
from seqc.media.ffmpeg import ff_path, run
from seqc.media.formats import output_format
from seqc.media.mp4 import Mp4Error, TrackInfo, read_track
from seqc.media.probe import count_frames
from seqc.store import atomic


def _concat_quote(path: str) -> bytes:
    """Quote a path for a concat-demuxer script: inside '...', a quote is written '\\''."""
    if "\n" in path or "\r" in path:
        raise ValueError(f"a clip path cannot contain a line break: {path!r}")
    return b"'" + os.fsencode(path).replace(b"'", b"'\\''") + b"'"


def _stream_key(info: TrackInfo) -> tuple:
    """What must be equal for two clips to be joined by a stream copy."""
    return (info.codec, info.width, info.height, info.time_base, info.setup)


def _describe(info: TrackInfo) -> str:
    setup = info.setup[:8] or "none"
    return f"{info.codec} {info.width}x{info.height}, time base {info.time_base}, setup {setup}"


def _track(path: Path) -> TrackInfo:
    if not path.is_file():
        raise FileNotFoundError(f"no such clip: {path}")
    try:
        return read_track(path)
    except (Mp4Error, OSError) as exc:
        raise RenderError(f"cannot read the clip {path}: {exc}") from None


def _joined_frames(paths: list[Path], tracks: list[TrackInfo | None] | None) -> int:
    """The frames the joined clips hold; RenderError if two cannot be joined by a stream copy."""
    expected = 0
    first: TrackInfo | None = None
    known = list(tracks) if tracks is not None else [None] * len(paths)
    if len(known) != len(paths):
        raise ValueError("concat needs one track (or None) per clip")
    for path, recorded in zip(paths, known, strict=True):
        info = recorded if recorded is not None else _track(path)
        if first is None:
            first = info
        elif _stream_key(info) != _stream_key(first):
            raise RenderError(
                f"cannot join {path.name} ({_describe(info)}) to {paths[0].name} "
                f"({_describe(first)}) without re-encoding: the clips come from different encoder "
                "builds (the ffmpeg build is keyed, a system ffmpeg's own libx264 is not); run "
                "`seqc cache clear` and render again"
            )
        expected += info.frames
    return expected


def concat(clips: list[Path], output: Path, tracks: list[TrackInfo | None] | None = None) -> None:
    """Join clips into `output`: a stream copy (`-c copy`) for mp4/mov/mkv, a re-encode for gif/webm.

    1. Each clip's frame count and stream parameters: as recorded when it was published
       (`tracks`), else read from its MP4 boxes (in-process, no ffmpeg per clip); all clips must
       share codec, size, time base and SPS/PPS (otherwise a stream copy would give a broken video).
    2. Write the list file (absolute `file:` paths, quoted) to a temp file.
    3. Run ffmpeg into a temp file beside `output`, muxer chosen from the suffix (a GIF first
       makes its palette in a pass of its own, so memory does not grow with the video).
    4. Check the output has exactly the sum of the clips' frames, then publish it atomically,
       so a reader never sees half a video.
    """
    if not clips:
        raise ValueError("concat needs at least one clip")
    output = Path(os.path.abspath(os.fspath(output)))
    fmt = output_format(output)
    paths = [Path(os.path.abspath(os.fspath(clip))) for clip in clips]

    # 1. Frame counts and compatibility.
    expected = _joined_frames(paths, tracks)

    # 2. The list file.
    script = b"ffconcat version 1.0\n" + b"".join(
        b"file " + _concat_quote("file:" + str(path)) + b"\n" for path in paths
    )
    list_fd, list_name = tempfile.mkstemp(prefix="seqc-concat-", suffix=".txt")
    if fmt.stream_copy:
        codec_args = ["-map", "0:v:0", "-c", "copy"]
    else:
        codec_args = [] if "-filter_complex" in fmt.muxer_args else ["-map", "0:v:0"]
        codec_args += ["-flags:v", "+bitexact"]
    source = ["-f", "concat", "-safe", "0", "-auto_convert", "0", "-i", ff_path(list_name)]
    palette_name = None
    try:
        with os.fdopen(list_fd, "wb") as fh:
            fh.write(script)
        if fmt.palette is not None:  # a first pass over the clips makes the palette
            palette_fd, palette_name = tempfile.mkstemp(prefix="seqc-palette-", suffix=".png")
            os.close(palette_fd)
            run(["-loglevel", "error", *source, "-vf", fmt.palette, "-frames:v", "1", "-update", "1",
                 "-y", ff_path(palette_name)], f"make the palette of {output.name}")
            source += ["-i", ff_path(palette_name)]

        # 3. ffmpeg into a temp file, 4. check and publish.
        with atomic.atomic_path(output) as tmp:
            run(
                ["-loglevel", "error",
                 *source,
                 *codec_args,
                 "-fflags", "+bitexact", "-map_metadata", "-1", "-map_chapters", "-1",
                 *fmt.muxer_args, "-f", fmt.muxer, "-y", ff_path(tmp)],
                f"join {len(paths)} clips into {output.name}",
            )  # fmt: skip
            got = _track(tmp).frames if fmt.muxer in ("mp4", "mov") else count_frames(tmp)
            if got != expected:
                raise RenderError(
                    f"joining {len(paths)} clips into {output.name} gave {got} frames, "
                    f"expected {expected}"
                )
    finally:
        for name in (list_name, palette_name):
            if name is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name)
