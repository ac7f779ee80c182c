"""`seqc cache ls | verify | gc | clear`: inspect and maintain the cache."""

from __future__ import annotations

import time

from rich.markup import escape
from rich.table import Table

from seqc.backends.precision import PRECISIONS
from seqc.cli.commands.plan import STATUS_STYLE
from seqc.store import format_size
from seqc.ui import console
from seqc.ui.load import load_and_plan, open_cache


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
    console.out.print(f"{len(entries)} entries, {format_size(cache.total_size())}")
    return 0


def verify(cache_dir: str | None) -> int:
    """Check every entry's size and digest; exit 1 if any is bad."""
    cache = open_cache(cache_dir)
    bad = cache.verify()
    count = sum(1 for _ in cache.entries())
    for entry, reason in bad:
        console.err.print(f"[red]bad[/red] {entry.kind}/{entry.key}: {escape(reason)}")
    console.out.print(f"{count} entries checked, {len(bad)} bad")
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
