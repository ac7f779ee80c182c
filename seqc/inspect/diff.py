"""Storyboard diffs (`seqc diff`): which segments differ between two versions of a storyboard, and why.

It compares the same key inputs the planner uses (the old version's plan plays the part of the
last render), so `diff` and `render` never disagree about what would re-render.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from seqc.audio.memo import AudioCache
from seqc.errors import InputError
from seqc.plan import CACHED, MISSING, Plan, compile_plan, explain
from seqc.plan.explain import previous_records
from seqc.spec import load_storyboard
from seqc.store import Cache


@dataclass(frozen=True)
class SegmentDiff:
    """One segment of the new storyboard: unchanged, or what changed and how many frames re-render."""

    index: int
    source: str
    target: str
    frames: int
    changed: bool
    reason: str
    changes: tuple[str, ...]


@dataclass(frozen=True)
class StoryDiff:
    """The whole comparison."""

    segments: tuple[SegmentDiff, ...]
    removed: int  # old clips (segments, final frame) the new version no longer uses
    frames_to_render: int
    total_frames: int
    end: SegmentDiff | None = None  # the final frame's clip (None when the new timeline loops)

    def as_dict(self) -> dict:
        def entry(s: SegmentDiff) -> dict:
            return {"index": s.index, "from": s.source, "to": s.target, "frames": s.frames,
                    "changed": s.changed, "reason": s.reason, "changes": list(s.changes)}

        return {
            "segments": [entry(s) for s in self.segments],
            "final_frame": entry(self.end) if self.end is not None else None,
            "changed": sum(1 for s in self.segments if s.changed),
            "removed": self.removed,
            "frames_to_render": self.frames_to_render,
            "total_frames": self.total_frames,
        }


def diff_plans(old: Plan, new: Plan) -> StoryDiff:
    """Compare two plans clip by clip, by key; explain each changed one against the old inputs."""
    old_record = old.record()
    old_records = previous_records([job.segment for job in new.jobs], old_record["segments"])
    old_keys = {job.key for job in old.clip_jobs}
    new_keys = {job.key for job in new.clip_jobs}

    def compare(job, old_job_record: dict | None) -> SegmentDiff:
        seg = job.segment
        status = CACHED if job.key in old_keys else MISSING
        reason, changes = explain(seg, job.inputs, new.descriptors, status, old_job_record)
        return SegmentDiff(seg.index, seg.source, seg.target, seg.frames, status != CACHED,
                           "unchanged" if status == CACHED else reason, tuple(changes))

    segments = tuple(compare(job, old_records[job.segment.index]) for job in new.jobs)
    end = compare(new.end, old_record.get("end")) if new.end is not None else None
    frames = sum(s.frames for s in (*segments, *([end] if end else [])) if s.changed)
    return StoryDiff(segments, len(old_keys - new_keys), frames, new.total_frames, end)


@contextlib.contextmanager
def storyboard_at_revision(path: Path, revision: str) -> Iterator[Path]:
    """Check out the storyboard's folder as it was at a git revision into a temp folder; yield its path there.

    Files the revision does not hold (an untracked model folder, say) are linked from the
    working tree, so only what git tracks is taken from the past.
    """
    path = path.absolute()
    folder = path.parent
    try:
        top = Path(_git(folder, "rev-parse", "--show-toplevel").decode().strip())
        _git(folder, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    except InputError:
        raise
    rel_folder = folder.resolve().relative_to(top.resolve()).as_posix()
    archive = _git(top, "archive", "--format=tar", revision, "--", rel_folder if rel_folder != "." else ".")
    with tempfile.TemporaryDirectory(prefix="seqc-diff-") as tmp:
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            extract(tar, Path(tmp))
        old_folder = Path(tmp) / rel_folder
        old_story = old_folder / path.name
        if not old_story.is_file():
            raise InputError(f"{path.name} does not exist at revision {revision}")
        for entry in folder.iterdir():  # untracked things the storyboard may point at
            if not (old_folder / entry.name).exists():
                (old_folder / entry.name).symlink_to(entry)
        yield old_story


def extract(tar: tarfile.TarFile, folder: Path) -> None:
    """Unpack an archive into `folder`, never outside it: tarfile's "data" filter where this Python
    has it (3.10.12, 3.11.4 and later), else the same refusals by hand (absolute paths, `..`, links
    that leave the folder, devices)."""
    if hasattr(tarfile, "data_filter"):
        tar.extractall(folder, filter="data")
        return
    root = folder.resolve()
    members = []
    for member in tar.getmembers():
        target = (root / member.name).resolve()
        inside = target == root or target.is_relative_to(root)
        link_ok = not (member.issym() or member.islnk()) or (
            (target.parent / member.linkname).resolve().is_relative_to(root) and not os.path.isabs(member.linkname))
        if inside and link_ok and (member.isfile() or member.isdir() or member.issym() or member.islnk()):
            members.append(member)
    tar.extractall(folder, members=members)  # noqa: S202 - members checked above


def _git(cwd: Path, *args: str) -> bytes:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError:
        raise InputError("git is not installed; --against needs it") from None
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip().splitlines()
        raise InputError(f"git {args[0]}: {message[-1] if message else 'failed'}")
    return proc.stdout


def diff_files(old_path: Path, new_path: Path, cache: Cache) -> StoryDiff:
    """Load both storyboards and compare their plans (a soundtrack both use is decoded once)."""
    audio = AudioCache()
    old = compile_plan(load_storyboard(old_path, images=cache, audio_memo=cache, audio=audio), cache, audio=audio)
    new = compile_plan(load_storyboard(new_path, images=cache, audio_memo=cache, audio=audio), cache, audio=audio)
    return diff_plans(old, new)
