"""`seqc`: parse the arguments, call the command's `run` with typed arguments, map errors to exit codes.

Exit codes: 0 ok, 1 render failure, 2 invalid input, 130 interrupted. This is the one error
handler: a user's mistake is one line (a storyboard's problems one line each), never a
traceback unless --debug. Command modules are imported only when called, so `seqc plan` and a
no-op `seqc render` never import torch.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from pathlib import Path

from seqc import interrupts
from seqc.cli.parser import build_parser
from seqc.errors import EXIT_INTERRUPTED, EXIT_RENDER, SeqcError, SpecError


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _render_options(args: argparse.Namespace):
    """--device, --dtype, --batch-size and the remote cache (checked as a URL; the command opens it)."""
    from seqc.render.options import RenderOptions

    url = None if getattr(args, "no_cache", False) else _remote_url(args)
    return RenderOptions(device=args.device, dtype=args.dtype, batch_size=args.batch_size, remote=url)


def _render_request(args: argparse.Namespace):
    """What `seqc render` and each render of `seqc watch` render (seqc.app.render)."""
    from seqc.app.render import RenderRequest

    executor = _executor_options(args)
    if args.frame_format is not None and not args.frames:
        from seqc.errors import InputError

        raise InputError("--frame-format is for --frames DIR; add --frames DIR")
    return RenderRequest(args.file, args.cache_dir, _render_options(args), draft=args.draft,
                         output=_path(args.output), frames=_path(args.frames),
                         frame_format=args.frame_format or "png", no_cache=args.no_cache, **executor)


def _watch_options(args: argparse.Namespace):
    """`seqc watch`'s command line (seqc.cli.commands.watch), with `--serve`'s options or None."""
    from seqc.cli.commands.watch import WatchOptions
    from seqc.watch.serving import ServeOptions

    serve = ServeOptions(host=args.host, port=args.port, open=args.open) if args.serve else None
    return WatchOptions(_render_request(args), debounce=args.debounce, poll=args.poll, quiet=args.quiet, serve=serve)


def _executor_options(args: argparse.Namespace) -> dict:
    """--executor, --ray-address, --workers (render and watch; seqc.app.executors) as request fields."""
    executor = getattr(args, "executor", "local")
    address, workers = getattr(args, "ray_address", None), getattr(args, "workers", None)
    if executor != "ray" and (address is not None or workers is not None):
        from seqc.errors import InputError

        raise InputError("--ray-address and --workers are for --executor ray; add --executor ray")
    return {"executor": executor, "ray_address": address, "workers": workers}


def _remote_url(args: argparse.Namespace) -> str | None:
    """--remote, else $SEQC_REMOTE; checked as a URL (exit 2), not opened. None for no remote."""
    url = args.remote if args.remote is not None else os.environ.get("SEQC_REMOTE", "")
    if not url.strip():
        return None
    from seqc.store.remote import parse_url

    return parse_url(url)[1]


def dispatch(args: argparse.Namespace, debug: bool) -> int:
    """Call the chosen command with its arguments, typed."""
    command = args.command
    if command == "validate":
        from seqc.cli.commands import validate

        return validate.run(args.files, fmt=args.format)
    if command == "schema":
        from seqc.cli.commands import schema

        return schema.run()
    if command == "init":
        from seqc.cli.commands import init

        return init.run(Path(args.dir), force=args.force, prompts=args.prompts)
    if command == "prompts":
        from seqc.cli.commands import prompts

        return prompts.run(args.model, args.words)
    if command == "plan":
        from seqc.cli.commands import plan

        return plan.run(args.file, args.cache_dir, draft=args.draft, as_json=args.json, explain=args.explain,
                        every=args.all, device=args.device, dtype=args.dtype)
    if command == "render":
        from seqc.cli.commands import render

        return render.run(_render_request(args), quiet=args.quiet, as_json=args.json, no_server=args.no_server)
    if command == "export":  # a timeline for an editor (seqc.outputs.editor_timeline)
        from seqc.app.render import RenderRequest
        from seqc.cli.commands import export

        request = RenderRequest(args.file, args.cache_dir, _render_options(args), draft=args.draft,
                                output=_path(args.video), **_executor_options(args))
        return export.run(request, Path(args.output), quiet=args.quiet)
    if command == "watch":
        from seqc.cli.commands import watch

        return watch.run(_watch_options(args), debug=debug)
    if command == "diff":
        from seqc.cli.commands import diff

        return diff.run(args.old, args.new, args.against, args.cache_dir, as_json=args.json)
    if command == "preview":
        from seqc.cli.commands import preview

        return preview.run(args.file, Path(args.output), args.columns, args.cache_dir, _render_options(args),
                           draft=args.draft, quiet=args.quiet)
    if command == "analyze":
        from seqc.cli.commands import analyze

        return analyze.run(args.file, args.cache_dir, _render_options(args), plot_path=_path(args.plot),
                           as_json=args.json, draft=args.draft, quiet=args.quiet)
    if command == "audio":  # soundtracks (seqc/audio/)
        from seqc.cli.commands import audio

        return audio.run(args.file, start=args.start, fps=args.fps, use_librosa=not args.no_librosa,
                         as_json=args.json)
    from seqc.cli.commands import cache

    action = args.cache_command
    if action == "ls":
        return cache.ls(args.cache_dir, as_json=args.json)
    if action == "verify":
        return cache.verify(args.cache_dir)
    if action == "gc":
        return cache.gc(args.cache_dir, max_size=args.max_size, keep=args.keep)
    if action in ("push", "pull"):  # the remote cache (seqc.store.remote)
        return cache.transfer(action, args.file, args.cache_dir, _remote_url(args), device=args.device,
                              dtype=args.dtype, draft=args.draft, quiet=args.quiet)
    return cache.clear(args.cache_dir)


def main(argv: list[str] | None = None) -> int:
    """Run one command; map every error to an exit code with one clear line, no traceback."""
    args = build_parser().parse_args(argv)
    debug = args.debug or os.environ.get("SEQC_DEBUG") == "1"
    with interrupts.stop_signals():  # a `kill` or a closed terminal cleans up as Ctrl-C does
        try:
            return int(dispatch(args, debug) or 0)
        except SpecError as exc:
            from seqc.ui import console

            if vars(args).get("format") == "json" or vars(args).get("json"):
                console.print_json({"error": "invalid storyboard", "problems": [p.as_dict() for p in exc.problems]})
            console.print_problems(exc.problems)
            if debug:
                traceback.print_exc()
            return exc.exit_code
        except KeyboardInterrupt as exc:
            return _interrupted(exc)
        except BrokenPipeError:  # `seqc plan --json | head`: the reader left; that is not a failure
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 0
        except Exception as exc:
            stop = interrupts.interrupt_in(exc)  # a Ctrl-C that a library wrapped (seqc.interrupts)
            if stop is not None:
                return _interrupted(stop)
            if not isinstance(exc, (SeqcError, OSError)):
                raise  # a bug in seqc: its traceback is what a report needs
            _print_error(exc)
            if debug:
                traceback.print_exc()
            return exc.exit_code if isinstance(exc, SeqcError) else EXIT_RENDER


def _print_error(exc: SeqcError | OSError) -> None:
    """One line: seqc's own message, or for an OSError (a full disk, a permission problem) its reason
    and file."""
    from seqc.ui import console

    if isinstance(exc, SeqcError):
        text = str(exc)
    else:
        text = (exc.strerror or str(exc)) + (f": {exc.filename}" if getattr(exc, "filename", None) else "")
    console.err.print(f"[red]seqc: error:[/red] {console.escape(text)}")


def _interrupted(exc: KeyboardInterrupt) -> int:
    """Ctrl-C: exit 130; SIGTERM or SIGHUP: 128 + the signal. One line (the terminal may be gone)."""
    interrupts.forget_unhandled()
    code = exc.exit_code if isinstance(exc, interrupts.Stopped) else EXIT_INTERRUPTED
    with contextlib.suppress(OSError):
        print("seqc: interrupted" if code == EXIT_INTERRUPTED else f"seqc: stopped ({exc})", file=sys.stderr)
    return code
