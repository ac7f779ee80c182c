"""Put a soundtrack into a finished silent video: video stream copied, audio encoded, exact length.

One mux after the join, never one per clip (each AAC encode adds 1024-2112 priming samples, so
per-clip tracks drift at the seams) and never `-shortest` (measured here: it cut a 241-frame video
to 203 frames). The audio filter chain trims the file from `start`, restarts its timestamps, pads
with silence and cuts at exactly the video's duration:
`atrim=start=S,asetpts=PTS-STARTPTS,apad=whole_dur=D,atrim=end=D` (research notes, part B.3).
The result is checked: the same number of video frames, and decoded audio of the video's duration
within one audio frame of the codec.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from seqc.errors import RenderError
from seqc.media.ffmpeg import ff_path, run
from seqc.media.formats import OutputFormat
from seqc.media.probe import count_frames

MUX_RATE = 48000  # Opus only runs at 48 kHz; AAC uses it too, so every output is alike


@dataclass(frozen=True)
class AudioCodec:
    """How a container's soundtrack is encoded, and the length of one of its frames (the tolerance)."""

    args: tuple[str, ...]
    frame_samples: int


AUDIO_CODECS: dict[str, AudioCodec] = {
    "mp4": AudioCodec(("-c:a", "aac", "-b:a", "192k"), 1024),
    "mov": AudioCodec(("-c:a", "aac", "-b:a", "192k"), 1024),
    "matroska": AudioCodec(("-c:a", "aac", "-b:a", "192k"), 1024),
    "webm": AudioCodec(("-c:a", "libopus", "-b:a", "128k"), 960),
}
# Beside a mezzanine codec (ProRes, DNxHR, FFV1) in .mov or .mkv: uncompressed 24-bit PCM, what an
# edit expects from a master (nothing to decode, no priming samples), exact to the sample.
PCM = AudioCodec(("-c:a", "pcm_s24le"), 1)
PCM_MUXERS = ("mov", "matroska")


def takes_audio(fmt: OutputFormat) -> bool:
    """Whether seqc puts a soundtrack into this kind of output (GIF has none)."""
    return fmt.muxer in AUDIO_CODECS


def audio_filter(start: float, duration: float) -> str:
    """The filter chain that makes the soundtrack exactly `duration` seconds from `start` in the file."""
    return (f"atrim=start={start:.6f},asetpts=PTS-STARTPTS,"
            f"apad=whole_dur={duration:.6f},atrim=end={duration:.6f}")


def audio_seconds(path: Path) -> float:
    """Length of a file's first audio stream as ffmpeg decodes it (priming samples trimmed)."""
    result = run(["-v", "error", "-i", ff_path(path), "-map", "0:a:0", "-ac", "1", "-ar", str(MUX_RATE),
                  "-f", "s16le", "-"], f"decode the audio of {path.name}")
    return len(result.stdout) / 2 / MUX_RATE


def mux(video: Path, audio: Path, start: float, duration: float, fmt: OutputFormat, output: Path,
        frames: int, pcm: bool = False) -> float:
    """Write `output` (a temp path: the caller publishes it) from `video`'s stream and `audio` from
    `start`, exactly `duration` seconds long; check `frames` video frames and the audio's length.
    `pcm`: 24-bit PCM where the container takes it (PCM_MUXERS), for a mezzanine master.
    Returns the decoded audio's length in seconds."""
    codec = PCM if pcm and fmt.muxer in PCM_MUXERS else AUDIO_CODECS[fmt.muxer]
    run(["-loglevel", "error", "-i", ff_path(video), "-i", ff_path(audio),
         "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", *codec.args, "-ar", str(MUX_RATE), "-ac", "2",
         "-af", audio_filter(start, duration),
         "-fflags", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1", "-map_chapters", "-1",
         *(a for a in fmt.muxer_args if fmt.stream_copy), "-f", fmt.muxer, "-y", ff_path(output)],
        f"add the soundtrack {audio.name} to {output.name}")
    got = count_frames(output)
    if got != frames:
        raise RenderError(f"adding the soundtrack to {output.name} gave {got} video frames, expected {frames}")
    seconds = audio_seconds(output)
    if abs(seconds - duration) > codec.frame_samples / MUX_RATE:
        raise RenderError(f"the soundtrack of {output.name} is {seconds:.4f} s long, the video {duration:.4f} s")
    return seconds
