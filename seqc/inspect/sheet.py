"""A contact sheet (`seqc preview`): one row per segment of evenly sampled frames from the cached clips."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from seqc.media.reader import read_frames
from seqc.plan import Plan
from seqc.store.atomic import atomic_path

THUMB_HEIGHT = 96
LABEL_HEIGHT = 18
GAP = 4
KEYFRAME_COLOUR = (255, 196, 0)


def sample_indices(count: int, columns: int) -> list[int]:
    """`columns` frame indices spread evenly over 0..count-1, first and last included."""
    if count <= columns:
        return list(range(count))
    return [round(i * (count - 1) / (columns - 1)) for i in range(columns)]


def contact_sheet(plan: Plan, clips: Mapping[str, Path], columns: int = 8) -> Image.Image:
    """Build the sheet; each row's first thumbnail (a keyframe) is outlined, and each row is labelled."""
    width, height = plan.storyboard.output.size
    thumb_w = max(1, round(width * THUMB_HEIGHT / height))
    sheet_w = GAP + columns * (thumb_w + GAP)
    row_h = LABEL_HEIGHT + THUMB_HEIGHT + GAP
    sheet = Image.new("RGB", (sheet_w, GAP + row_h * len(plan.jobs)), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for row, job in enumerate(plan.jobs):
        seg = job.segment
        y = GAP + row * row_h
        label = f"{seg.index}  {seg.source} -> {seg.target}   {seg.rendered_frames} frames  {seg.method}  {seg.easing}"
        draw.text((GAP, y + 3), label, fill=(235, 235, 235), font=font)
        wanted = sample_indices(seg.rendered_frames, columns)
        picked: dict[int, np.ndarray] = {}
        frames = itertools.chain.from_iterable(read_frames(clips[key]) for key in plan.clips_of(job))
        for index, frame in enumerate(frames):
            if index in wanted:
                picked[index] = frame
        for col, index in enumerate(wanted):
            if index not in picked:
                continue
            thumb = Image.fromarray(picked[index]).resize((thumb_w, THUMB_HEIGHT), Image.Resampling.LANCZOS)
            x = GAP + col * (thumb_w + GAP)
            sheet.paste(thumb, (x, y + LABEL_HEIGHT))
            is_keyframe = index == 0 or (seg.include_end and index == seg.rendered_frames - 1)
            if is_keyframe:
                draw.rectangle([x - 1, y + LABEL_HEIGHT - 1, x + thumb_w, y + LABEL_HEIGHT + THUMB_HEIGHT],
                               outline=KEYFRAME_COLOUR, width=2)
    return sheet


def write_sheet(sheet: Image.Image, path: Path) -> None:
    """Save the sheet atomically (PNG or JPEG by suffix)."""
    path = Path(path)
    fmt = "JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else "PNG"
    with atomic_path(path) as tmp:
        sheet.save(tmp, format=fmt)
