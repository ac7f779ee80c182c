"""Helpers for the media tests: smooth moving frames, clips made from them, and what a folder holds."""

from __future__ import annotations

from pathlib import Path

import mediaprobe
import numpy as np

from seqc import media


def gradient_frames(n: int, width: int = 64, height: int = 48, phase: float = 0.0) -> np.ndarray:
    """n smooth RGB frames [n,H,W,3] with a pattern that moves from frame to frame."""
    x = np.linspace(0.0, 1.0, width)[None, :]
    y = np.linspace(0.0, 1.0, height)[:, None]
    frames = []
    for i in range(n):
        t = phase + i / 8
        r = 0.5 + 0.5 * np.sin(2 * np.pi * (x + t)) + 0 * y
        g = y + 0 * x
        b = 0.5 + 0.5 * np.cos(2 * np.pi * (0.5 * x + 0.5 * y - t))
        frames.append(np.stack([r, g, b], axis=-1))
    return (np.stack(frames) * 255).round().astype(np.uint8)


def files_in(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def packet_list(path: Path) -> list[tuple[int, str]]:
    return [(p.size, p.md5) for p in mediaprobe.read_packets(path).packets]


def make_clips(folder: Path, counts=(1, 5, 3), size=(64, 48), fps=24) -> list[Path]:
    clips = []
    for i, n in enumerate(counts):
        path = folder / f"clip{i}.mp4"
        media.write_clip([gradient_frames(n, *size, phase=i / 3)], path, size, fps)
        clips.append(path)
    return clips
