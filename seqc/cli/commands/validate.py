"""`seqc validate FILE...`: a one-line summary per storyboard, or every problem with its position."""

from __future__ import annotations

from seqc.errors import EXIT_INPUT, SpecError
from seqc.spec import load_storyboard
from seqc.ui import console


def run(files: list[str], fmt: str = "text") -> int:
    """Validate each file; exit 2 if any is invalid. `fmt` is "text" or "json"."""
    failed = False
    report = []
    for file in files:
        try:
            story = load_storyboard(file)
        except SpecError as exc:
            failed = True
            report.append({"file": file, "valid": False, "problems": [p.as_dict() for p in exc.problems]})
            if fmt == "text":
                console.print_problems(exc.problems)
            continue
        report.append({
            "file": file, "valid": True, "problems": [p.as_dict() for p in story.warnings],
            "keyframes": len(story.keyframes), "segments": len(story.segments),
            "total_frames": story.total_frames, "duration": round(story.duration, 3),
        })
        if fmt == "text":
            console.print_problems(list(story.warnings))
            console.out.print(
                f"{file}: ok: {len(story.keyframes)} keyframes, {len(story.segments)} segments, "
                f"{story.total_frames} frames, {story.duration:.2f} s at {story.output.fps:g} fps"
            )
    if fmt == "json":
        console.print_json(report)
    return EXIT_INPUT if failed else 0
