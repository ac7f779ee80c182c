"""`seqc cache ls | verify | gc | clear | push | pull`: inspect and maintain the cache, and move one
storyboard's entries to or from the remote cache."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from seqc.backends.precision import PRECISIONS
from seqc.cli.commands.plan import STATUS_STYLE
from seqc.store import format_size
from seqc.ui import console
from seqc.ui.load import load_and_plan, open_cache

if TYPE_CHECKING:
    from seqc.render.session import Session


def ls(cache_dir: str | None, as_json: bool = False) -> int:
    """List entries, newest first within each kind."""
    cache = open_cache(cache_dir)
    entries = sorted(cache.entries(), key=lambda e: (e.kind, -e.mtime))
    if as_json:
        console.print_json([{"kind": e.kind, "key": e.key, "size": e.size, "mtime": e.mtime, "status": e.status}
                            for e in entries])
        return 0
    table = Table(title=f"cache {escape(str(cache.root))}")
    for column in ("kind", "key", "size", "last used", "status"):
        table.add_column(column)
    for e in entries:
        style = STATUS_STYLE.get(e.status, "")
        table.add_row(e.kind, e.key[:16], format_size(e.size),
                      time.strftime("%Y-%m-%d %H:%M", time.localtime(e.mtime)), f"[{style}]{e.status}[/{style}]")
    console.out.print(table)
    console.out.print(f"{console.plural(len(entries), 'entry', 'entries')}, {format_size(cache.total_size())}")
    return 0


def verify(cache_dir: str | None) -> int:
    """Check every entry's size and digest; exit 1 if any is bad."""
    cache = open_cache(cache_dir)
    bad = cache.verify()
    count = sum(1 for _ in cache.entries())
    for entry, reason in bad:
        console.err.print(f"[red]bad[/red] {entry.kind}/{entry.key}: {escape(reason)}")
    console.out.print(f"{console.plural(count, 'entry', 'entries')} checked, {len(bad)} bad")
    return 1 if bad else 0


def gc(cache_dir: str | None, max_size: int | None = None, keep: list[str] | tuple[str, ...] = ()) -> int:
    """Collect garbage, down to `max_size` bytes if given, keeping the entries of `keep` storyboards."""
    cache = open_cache(cache_dir)
    kept = set()
    for file in keep:  # in every precision: a storyboard rendered on a GPU and on a CPU keeps both
        for precision in PRECISIONS:
            kept |= set(load_and_plan(file, cache, quiet=True, precision=precision).leased_keys())
    for line in cache.gc(max_size=max_size, keep=kept).summary():
        console.out.print(escape(line))
    return 0


def clear(cache_dir: str | None) -> int:
    """Delete every entry (those a running render uses are kept)."""
    for line in open_cache(cache_dir).clear().summary():
        console.out.print(escape(line))
    return 0


def transfer(action: str, file: str, cache_dir: str | None, url: str | None, *, device: str = "auto",
             dtype: str = "auto", draft: bool = False, quiet: bool = False) -> int:
    """`push`: upload FILE's entries the remote lacks; `pull`: download those the local cache lacks.
    The entries are the plan's clips (planned for a model on `device` in `dtype`), keyframe latents,
    prompt conditionings and a morph's stored ends, each verified."""
    from seqc.errors import InputError
    from seqc.render.session import Session

    if url is None:
        raise InputError(f"seqc cache {action} needs a remote: pass --remote URL or set SEQC_REMOTE "
                         "(e.g. s3://bucket/prefix or file:///mnt/share/seqc)")
    session = Session()
    try:
        return _transfer(action, file, cache_dir, url, session, device, dtype, draft=draft, quiet=quiet)
    finally:
        session.close()


def _transfer(action: str, file: str, cache_dir: str | None, url: str, session: Session, device: str, dtype: str,
              *, draft: bool, quiet: bool) -> int:
    """`transfer`'s work, with the session that opened the remote."""
    from seqc.render.driver import endpoint_entries
    from seqc.store.tier import transfer as run_transfer

    cache = open_cache(cache_dir, file)
    # 1. The remote, checked before anything is read or written; then the plan's entries.
    remote = session.remotes.open(url)
    assert remote is not None
    plan = load_and_plan(file, cache, quiet=quiet, draft=draft, precision=session.models.precision(device, dtype),
                         audio=session.audio)
    entries = [("clips", key) for key in dict.fromkeys(job.key for job in plan.clip_jobs)]
    entries += endpoint_entries(plan, plan.clip_jobs)  # the keyframes the segments use
    moved: list[tuple[str, str]] = []
    with cache.lease(entries):  # kept from a concurrent gc while they move
        # 2. What to move: local entries (push), or entries the local cache lacks (pull).
        here = [entry for entry in entries if cache.get(*entry) is not None]
        todo = here if action == "push" else [entry for entry in entries if entry not in set(here)]
        if action == "push":
            def work(entry):
                return remote.push(cache, *entry)
        else:
            def work(entry):
                return remote.fetch(cache, *entry) is not None

        # 3. Move them, a few at a time, with a progress bar.
        with _progress(f"{action}ing", len(todo), quiet) as advance:
            def done(entry, ok):
                if ok:
                    moved.append(entry)
                advance()

            run_transfer(todo, work, done)
        if action == "pull":
            cache.sync_published()
            cache.save_memo()
    # 4. The summary.
    size = format_size(sum(cache.path(*entry).stat().st_size for entry in moved))
    of_all = f"{len(moved)} of {console.plural(len(entries), 'entry', 'entries')} ({size})"
    if action == "push":
        there = len(todo) - len(moved)
        line = (f"pushed {of_all} to {remote.url}; {there} {_were(there)} there already; "
                f"{len(entries) - len(here)} not in the local cache")
        line += " (render first)" if len(here) < len(entries) else ""
    else:
        line = (f"pulled {of_all} from {remote.url}; {len(here)} {_were(len(here))} here already; "
                f"{len(todo) - len(moved)} not on the remote")
        line += " (render them here, or push them from where they were rendered)" if len(moved) < len(todo) else ""
    console.out.print(escape(line))
    return 0


def _were(count: int) -> str:
    return "was" if count == 1 else "were"


def _progress(verb: str, total: int, quiet: bool):
    """A progress bar on stderr ("pushing ━━━━ 3/12"); yields the function that advances it."""
    import contextlib

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    @contextlib.contextmanager
    def bar():
        if quiet or total == 0:
            yield lambda: None
            return
        with Progress(TextColumn(verb), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console.err) as progress:
            task = progress.add_task(verb, total=total)
            yield lambda: progress.advance(task)

    return bar()
