"""The frames output (`--frames DIR`, `--frame-format`): every frame of the video as an image file,
`frame_NNNNNN.<ext>`, decoded from the cached clips, with frames left over from a longer earlier
export in the same format removed. For compositing: 8-bit PNG (the default), 16-bit PNG or TIFF at
the clips' full depth, or half-float linear-light OpenEXR; RGBA when the clips keep an alpha plane
(ProRes 4444 of a transparent keyframe), RGB otherwise."""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from seqc.plan import Plan

FRAME_FORMATS = ("png", "png16", "exr", "tiff16")
# The file suffix and how `describe` names each format.
SUFFIXES = {"png": ".png", "png16": ".png", "exr": ".exr", "tiff16": ".tif"}
LABELS = {"png": "PNG", "png16": "16-bit PNG", "exr": "half-float linear EXR", "tiff16": "16-bit TIFF"}


def write_frames(plan: Plan, clips: Mapping[str, Path], folder: Path, frame_format: str = "png") -> int:
    """Write the plan's frames into `folder` in timeline order (a repeated segment is written again
    where it repeats) in `frame_format` (a FRAME_FORMATS name); return how many. Each file is
    published atomically; memory does not grow with the video (frames stream through). RGBA files
    when the plan's clips have an alpha plane, so a transparent keyframe stays transparent."""
    from seqc.media.encode import has_alpha
    from seqc.media.reader import (  # numpy and PIL: only when exporting
        read_frames,
        write_image_sequence,
        write_png_sequence,
    )

    if frame_format not in FRAME_FORMATS:
        raise ValueError(f"frame format must be one of {', '.join(FRAME_FORMATS)}, got {frame_format!r}")
    folder = Path(folder)
    paths = [clips[job.key] for job in plan.clip_jobs]
    alpha = any(has_alpha(job.encoding) for job in plan.clip_jobs)
    if frame_format == "png":
        count = 0
        for path in paths:
            count += write_png_sequence(read_frames(path, alpha=alpha), folder, start=count)
    else:
        frames = _timeline(paths, alpha)
        if frame_format == "exr":
            frames = map(linear_light, frames)
        count = write_image_sequence(frames, folder, frame_format)
    _remove_stale(folder, SUFFIXES[frame_format], count)
    return count


def _timeline(paths: list[Path], alpha: bool) -> Iterator[np.ndarray]:
    """The clips' frames one after another, at their full depth (uint16), RGBA if `alpha`; each
    decoder is stopped as soon as its clip is done or the export stops."""
    from seqc.media.reader import read_frames

    for path in paths:
        with contextlib.closing(read_frames(path, depth=16, alpha=alpha)) as frames:
            yield from frames


def linear_light(frame: np.ndarray) -> np.ndarray:
    """A uint16 sRGB/BT.709-encoded RGB frame as float32 linear light in 0..1 (the sRGB EOTF; the
    primaries stay BT.709), what a compositor's linear workflow expects from an EXR. An RGBA frame's
    alpha is coverage, not light: only scaled to 0..1, never linearised."""
    import numpy as np

    light = _eotf_table()[frame]
    if frame.shape[-1] == 4:
        light[..., 3] = frame[..., 3] / np.float32(65535)
    return light


@functools.cache
def _eotf_table() -> np.ndarray:
    """The sRGB EOTF for every 16-bit code value (a lookup beats the power per pixel)."""
    import numpy as np

    encoded = np.arange(65536, dtype=np.float64) / 65535.0
    linear = np.where(encoded <= 0.04045, encoded / 12.92, ((encoded + 0.055) / 1.055) ** 2.4)
    return linear.astype(np.float32)


def _remove_stale(folder: Path, suffix: str, count: int) -> None:
    """Remove `frame_NNNNNN<suffix>` files numbered `count` or more: frames of an earlier, longer
    export would read as part of this one; and any `<frame>.tmp` an ffmpeg killed outright left.
    Other files are left alone."""
    pattern = re.compile(r"frame_(\d{6,})" + re.escape(suffix) + r"(\.tmp)?")
    for path in folder.iterdir():
        match = pattern.fullmatch(path.name)
        if match and (match.group(2) or int(match.group(1)) >= count):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
