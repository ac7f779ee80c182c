"""The output formats seqc writes, by file suffix: the one list the storyboard checks, `-o` and
the concat step read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class OutputFormat:
    """How to write one kind of output file, chosen by its suffix.

    `stream_copy` formats take the clips' H.264 packets as they are (concat with `-c copy`).
    The others (GIF, WebM) re-encode the joined clips with their own `muxer_args`.
    """

    muxer: str
    muxer_args: tuple[str, ...] = ()
    stream_copy: bool = True
    # A palette made in a first pass over the video (its filter), used by `muxer_args` as input 1.
    # Two passes keep memory flat: one pass with `split` buffers every frame until the palette is done.
    palette: str | None = None


OUTPUT_FORMATS: dict[str, OutputFormat] = {
    ".mp4": OutputFormat("mp4", ("-movflags", "+faststart")),
    ".mov": OutputFormat("mov", ("-movflags", "+faststart")),
    ".mkv": OutputFormat("matroska"),
    # Re-encoded from the cached clips: a GIF with a palette made for this video (better than
    # the web-safe default), looping forever; WebM as VP9 at constant quality.
    ".gif": OutputFormat("gif", (
        "-filter_complex", "[0:v][1:v]paletteuse=dither=sierra2_4a", "-loop", "0",
    ), stream_copy=False, palette="palettegen=stats_mode=diff"),
    ".webm": OutputFormat("webm", (
        "-c:v", "libvpx-vp9", "-crf", "32", "-b:v", "0", "-row-mt", "1", "-pix_fmt", "yuv420p",
        "-threads", "2",
    ), stream_copy=False),
}


def output_format(output: Path) -> OutputFormat:
    """The OutputFormat for a path's suffix, or ValueError naming the supported ones."""
    suffix = Path(output).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        known = ", ".join(sorted(OUTPUT_FORMATS))
        raise ValueError(
            f"unsupported output format {suffix or '(none)'!r} for {output}: use {known}"
        )
    return OUTPUT_FORMATS[suffix]
