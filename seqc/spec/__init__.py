"""The storyboard language: YAML text -> a validated, frozen Storyboard, or a SpecError listing every problem.

Loading runs in three steps: safe YAML with marks (yamlload), the JSON Schema (schema), then
the meaning (checks). Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from seqc.errors import Problem, SpecError
from seqc.spec.checks import compile_storyboard, partial_problems
from seqc.spec.images import ImageMemo
from seqc.spec.model import Keyframe, Output, Segment, Storyboard, frames_for
from seqc.spec.schema import schema, schema_problems, schema_text
from seqc.spec.yamlload import MAX_BYTES, Document, YamlProblems, load_document

if TYPE_CHECKING:
    from seqc.audio.memo import AudioCache
    from seqc.audio.pcm import AudioMemo

__all__ = [
    "ImageMemo", "Keyframe", "Output", "Segment", "Storyboard", "frames_for", "load_storyboard", "load_text",
    "read_storyboard", "read_storyboard_bytes", "schema", "schema_text",
]


def read_storyboard_bytes(path: Path, display: str) -> bytes:
    """Read a storyboard file, refusing non-files and anything over the size limit before reading it all."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise SpecError([Problem(display, 1, 1, "", "file not found")]) from None
    except OSError as exc:
        raise SpecError([Problem(display, 1, 1, "", f"cannot read: {exc.strerror or exc}")]) from None
    if not stat.S_ISREG(st.st_mode):
        raise SpecError([Problem(display, 1, 1, "", "not a regular file")])
    if st.st_size > MAX_BYTES:
        raise SpecError([Problem(display, 1, 1, "", f"file is {st.st_size:,} bytes, over the {MAX_BYTES:,}-byte limit",
                                 "a storyboard is a small text file")])
    try:
        with open(path, "rb") as fh:
            return fh.read(MAX_BYTES + 1)  # never more: a file that grew since stat is still refused
    except OSError as exc:
        raise SpecError([Problem(display, 1, 1, "", f"cannot read: {exc.strerror or exc}")]) from None


def _printable(text: str) -> str:
    """Text safe for one terminal line: control characters and lone surrogates as escapes."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _readable(error: SpecError) -> SpecError:
    """The same problems, with user text that could break a terminal line escaped."""
    return SpecError([dataclasses.replace(p, file=_printable(p.file), path=_printable(p.path),
                                          message=_printable(p.message), hint=_printable(p.hint))
                      for p in error.problems])


def load_text(text: str | bytes, path: Path, display: str | None = None, draft: bool = False,
              images: ImageMemo | None = None, *, audio_memo: AudioMemo | None = None,
              audio: AudioCache | None = None) -> Storyboard:
    """Validate storyboard text as if it lived at `path` (relative paths resolve from its folder).

    `draft`: half size and fps, output `<name>.draft.<ext>` (see checks.compile_storyboard).
    `images`, `audio_memo`: memos of keyframe images and soundtracks that passed their checks
    before (the cache's file memo is both), to skip decoding them again. `audio`: the session's
    decoded soundtracks (seqc.audio.memo; None: a fresh one, nothing kept).
    """
    path = Path(path).absolute()
    display = display or str(path)
    try:
        return _load(text, path, display, draft, images, audio_memo, audio)
    except SpecError as exc:
        raise _readable(exc) from None


def _load(text: str | bytes, path: Path, display: str, draft: bool = False, images: ImageMemo | None = None,
          audio_memo: AudioMemo | None = None, audio: AudioCache | None = None) -> Storyboard:
    # 1. YAML with marks. Problems in single values still leave the rest to check.
    try:
        doc = load_document(text, display)
    except YamlProblems as exc:
        if exc.document is None:
            raise SpecError(exc.problems) from None
        raise SpecError(_after_yaml_problems(exc.document, path, exc.problems, audio)) from None
    # 2. Schema.
    problems = schema_problems(doc)
    if problems:
        raise SpecError(problems + partial_problems(doc, path, problems, audio=audio))
    # 3. Meaning.
    story, errors, warnings = compile_storyboard(doc, path, draft, images, audio_memo=audio_memo, audio=audio)
    if errors:
        raise SpecError(errors + warnings)
    assert story is not None
    return story


def _after_yaml_problems(doc: Document, path: Path, problems: list[Problem],
                         audio: AudioCache | None = None) -> list[Problem]:
    """YAML problems plus what the schema and the name/image/model checks find elsewhere.

    A value the YAML step refused is missing from the document, so what the schema says at
    or under its path (a missing field, a null) is only an echo and is left out.
    """
    refused = [p.path for p in problems]

    def echo(problem: Problem) -> bool:
        return any(problem.path == r or problem.path.startswith((r + ".", r + "[")) or not r
                   for r in refused)

    later = [p for p in schema_problems(doc) if not echo(p)]
    later += [p for p in partial_problems(doc, path, problems + later, audio=audio) if not echo(p)]
    return problems + later


def load_storyboard(path: str | os.PathLike, draft: bool = False, images: ImageMemo | None = None, *,
                    audio_memo: AudioMemo | None = None, audio: AudioCache | None = None) -> Storyboard:
    """Load and validate a storyboard file; raise SpecError with every problem, sorted by position.
    The memos and `audio` as in `load_text`."""
    return read_storyboard(path, draft, images, audio_memo=audio_memo, audio=audio)[1]


def read_storyboard(path: str | os.PathLike, draft: bool = False, images: ImageMemo | None = None, *,
                    audio_memo: AudioMemo | None = None, audio: AudioCache | None = None
                    ) -> tuple[bytes, Storyboard]:
    """`load_storyboard`, also returning the bytes it was loaded from (what a render really used)."""
    display = str(path)
    try:
        data = read_storyboard_bytes(Path(path), display)
    except SpecError as exc:
        raise _readable(exc) from None
    return data, load_text(data, Path(path), display, draft, images, audio_memo=audio_memo, audio=audio)
