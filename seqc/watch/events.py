"""Which file-system events matter to `seqc watch`, and which files a storyboard names.

The *parent folders* are watched, never the files: vim, JetBrains and `sed -i` save by
writing a temp file and renaming it over the original, which kills a watch on the file. A
moved event counts when its source or its destination is a watched file. Editor temp and swap
files and seqc's own temp files never count.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from watchdog.events import (
    EVENT_TYPE_CLOSED,
    EVENT_TYPE_CREATED,
    EVENT_TYPE_DELETED,
    EVENT_TYPE_MODIFIED,
    EVENT_TYPE_MOVED,
)

from seqc.errors import SpecError
from seqc.spec import read_storyboard_bytes
from seqc.spec.yamlload import YamlProblems, load_document
from seqc.store.atomic import TEMP_MARK

# Events that can mean a file's content changed. Opened, closed-without-writing and attribute
# changes cannot (and the render itself opens every keyframe, so counting them would loop).
FILE_EVENTS = frozenset({EVENT_TYPE_CREATED, EVENT_TYPE_MODIFIED, EVENT_TYPE_MOVED, EVENT_TYPE_DELETED,
                          EVENT_TYPE_CLOSED})
# A folder on the way to a watched file appearing, disappearing or moving (never "modified":
# a folder is modified by every change inside it).
DIR_EVENTS = frozenset({EVENT_TYPE_CREATED, EVENT_TYPE_MOVED, EVENT_TYPE_DELETED})

# Editor temp, swap and backup files: vim (.swp, .swo, ... and .swx, its probe), `file~`
# backups, JetBrains' safe-write pair, Emacs lock (.#file) and autosave (#file#) files,
# Kate's swap files, generic *.tmp, and seqc's own pid-stamped temp files (`.tmp-`).
_EDITOR_SUFFIXES = (".swx", "~", ".___jb_tmp___", ".___jb_old___", ".tmp", ".kate-swp")
_VIM_SWAP_RE = re.compile(r"\.sw[a-p]$")


def is_editor_temp(name: str) -> bool:
    """Whether a file name is an editor's temp/swap/backup file or a seqc temp file (never a save)."""
    return (
        name.endswith(_EDITOR_SUFFIXES)
        or _VIM_SWAP_RE.search(name) is not None
        or name.isdigit()  # vim probes whether it may write a folder with a file named 4913 (5036, ...)
        or name.startswith(".#")
        or (name.startswith("#") and name.endswith("#"))
        or TEMP_MARK in name
    )


def nearest_folder(path: Path) -> Path:
    """`path` if it is a folder, else its nearest ancestor that is (a folder that does not exist yet
    is watched through its parent, whose "created" event then says it appeared)."""
    while not path.is_dir() and path.parent != path:
        path = path.parent
    return path


def story_inputs(story) -> set[Path]:
    """The files a valid storyboard reads besides itself: its keyframe images and its soundtrack."""
    files = {kf.image for kf in story.keyframes.values() if kf.image is not None}
    if getattr(story, "audio", None) is not None:
        files.add(story.audio.path)
    return files


def referenced_images(story_file: Path) -> set[Path]:
    """Best effort: the keyframe image paths a storyboard names, and its soundtrack's (`audio.path`),
    even when it is invalid.

    So that a keyframe added to the storyboard before its image exists is watched, and the
    render happens when the image is saved. It reads the file with the same hardened loader as
    `seqc validate` (size and depth limits, no aliases), keeping what that loader could read of
    a document with bad values; anything unreadable gives an empty set.
    """
    try:
        # Refuses FIFOs, devices and oversized files before reading, as loading does.
        data = load_document(read_storyboard_bytes(story_file, str(story_file)), str(story_file)).data
    except YamlProblems as exc:
        data = exc.document.data if exc.document is not None else None
    except (SpecError, OSError):
        return set()
    if not isinstance(data, dict):
        return set()
    base = story_file.absolute().parent
    found = set()
    audio = data.get("audio")
    sound = audio.get("path") if isinstance(audio, dict) else None
    if isinstance(sound, str) and sound and "\0" not in sound:
        found.add((base / Path(sound).expanduser()).absolute())
    keyframes = data.get("keyframes")
    if not isinstance(keyframes, dict):
        return found
    for kf in keyframes.values():
        image = kf.get("image") if isinstance(kf, dict) else None
        if isinstance(image, str) and image and "\0" not in image:
            found.add((base / Path(image).expanduser()).absolute())
    return found


def identity(folder: Path) -> tuple[int, int] | None:
    """(device, inode) of a folder, or None if it is gone: a new identity means a new folder."""
    try:
        st = os.stat(folder)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)
