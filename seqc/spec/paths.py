"""Paths a storyboard names: relative to its folder, and the one check of where a video may be written."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from seqc.media.encode import MIN_SIZE, OUTPUT_SUFFIXES
from seqc.media.formats import OUTPUT_FORMATS


def local_path(base: Path, text: str) -> tuple[Path | None, str]:
    """`base / text` with `~` expanded (not resolved), or (None, why it cannot be a path)."""
    if "\x00" in text:
        return None, "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return None, "is not valid Unicode text (it has a lone surrogate escape)"
    path = Path(text)
    if text.startswith("~"):
        try:
            path = path.expanduser()
        except RuntimeError:
            return None, f"starts with '{text.split('/', 1)[0]}', a home folder that does not exist"
    return (base / path).absolute(), ""


def resolved(path: Path) -> Path:
    """The real path, or the absolute one when it cannot be resolved (a symlink loop)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):
        return Path(os.path.abspath(path))


def output_problem(target: Path, storyboard: Path, images: Mapping[str, Path],
                   cache_root: Path | None = None) -> tuple[str, str] | None:
    """What is wrong with writing the video to `target`, as (message, hint), or None if nothing.

    The one rule for the storyboard's `output.path` and for `-o`: a format seqc writes, and never
    the storyboard, a keyframe image, a folder, or a file inside the cache (when it is given).
    """
    given = os.path.abspath(target)
    target = resolved(target)
    if target == resolved(storyboard):
        return "the output would overwrite the storyboard itself", ""
    name = _image_at(given, target, images)
    if name is not None:
        return f"the output would overwrite keyframe '{name}'s image", ""
    if target.suffix.lower() not in OUTPUT_FORMATS:
        return (f"unsupported output type '{target.suffix or '(none)'}'", f"use one of {', '.join(OUTPUT_FORMATS)}")
    if cache_root is not None and target.is_relative_to(resolved(cache_root)):
        return f"the output may not be inside the cache folder ({cache_root})", ""
    if target.is_dir():
        return f"the output {target} is a folder", ""
    return None


def _image_at(given: str, target: Path, images: Mapping[str, Path]) -> str | None:
    """The keyframe whose image is the file at `target` (`given` as named, `target` resolved), or None.

    The same path names it, or, when the file exists, the same inode (through a link): a stat
    per image rather than resolving each path, for storyboards of a thousand keyframes."""
    try:
        wanted: os.stat_result | None = os.stat(target)
    except OSError:
        wanted = None
    for name, image in images.items():
        if os.path.abspath(image) in (given, str(target)):
            return name
        if wanted is not None:
            try:
                if os.path.samestat(os.stat(image), wanted):
                    return name
            except OSError:
                continue
    return None


def codec_problem(codec: str, output: Path, size: tuple[int, int]) -> tuple[str, str] | None:
    """Why clips of `codec` cannot make `output` at `size` (a container without that codec, frames
    under the encoder's minimum) as (the output field at fault, message), or None. GIF and WebM
    re-encode the clips, so any codec makes them."""
    suffix = output.suffix.lower()
    if suffix in OUTPUT_FORMATS and OUTPUT_FORMATS[suffix].stream_copy and suffix not in OUTPUT_SUFFIXES[codec]:
        fits = " or ".join(OUTPUT_SUFFIXES[codec])
        return "path", f"codec {codec} does not go into {suffix} (write {fits}, or .gif/.webm re-encoded)"
    least = MIN_SIZE.get(codec)
    if least is not None and (size[0] < least[0] or size[1] < least[1]):
        return "size", f"size {size[0]}x{size[1]} is under {codec}'s smallest frame, {least[0]}x{least[1]}"
    return None
