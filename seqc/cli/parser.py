"""The argument parser of every command, with the option checks as argparse `type=` functions.

A bad option value is refused here, before anything loads: one line naming the option, exit 2.
"""

from __future__ import annotations

import argparse
import signal
from collections.abc import Callable

from seqc import __version__
from seqc.errors import EXIT_INPUT, EXIT_INTERRUPTED, EXIT_OK, EXIT_RENDER
from seqc.outputs.frames import FRAME_FORMATS

# Every command's --help ends with the exit codes (seqc.errors; 128 + the signal: seqc.interrupts).
EXIT_CODES = (f"Exit codes: {EXIT_OK} ok; {EXIT_RENDER} failure (a render or ffmpeg failed; the cache, the remote or "
              f"the Ray cluster could not be used; `cache verify` found a bad entry); {EXIT_INPUT} invalid input "
              f"(a storyboard, an option, a model, a missing extra); {EXIT_INTERRUPTED} interrupted (Ctrl-C); "
              f"{128 + signal.SIGTERM} stopped by SIGTERM (kill); {128 + signal.SIGHUP} stopped by SIGHUP (the "
              "terminal closed). --debug shows tracebacks.")


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help, with each paragraph of a description or epilog wrapped on its own."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n\n".join(super(HelpFormatter, self)._fill_text(part, width, indent) for part in text.split("\n\n"))


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least `minimum`."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    return parse


def port_number(text: str) -> int:
    """A TCP port, 0 for a free one."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {text!r}")
    return value


def host_address(text: str) -> str:
    """The preview's listening address: never empty (an empty host would bind every interface unasked)."""
    value = text.strip()
    if not value:
        raise argparse.ArgumentTypeError("expected an address to listen on, e.g. 127.0.0.1 (the default)")
    return value


def seconds(text: str) -> float:
    """An argparse type: 0 or more seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds, got {text}")
    return value


def byte_size(text: str) -> int:
    """An argparse type: a size such as 500M or 2GiB, in bytes."""
    from seqc.store import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_cache_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cache-dir", metavar="DIR",
                   help="cache folder (default: $SEQC_CACHE_DIR, else the nearest cache/ with seqc's "
                        "CACHEDIR.TAG at or above the storyboard's folder, else the per-user cache, "
                        "~/.cache/seqc)")


def _add_precision_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"],
                   help="where the model runs (default: auto = cuda, then mps, then cpu)")
    p.add_argument("--dtype", default="auto", choices=["auto", "float32", "float16", "bfloat16"],
                   help="model precision, part of every cache key (default: float16 on cuda, float32 elsewhere)")


def _add_model_options(p: argparse.ArgumentParser) -> None:
    _add_cache_dir(p)
    _add_precision_options(p)
    p.add_argument("--batch-size", type=at_least(1), default=None, metavar="B",
                   help="frames made at once (default: 8 on a GPU; on the CPU one per torch thread, at most 16, each frame on one thread so the bytes do not depend on the core count; a text-to-image pipeline denoises calls of 8 frames per thread, and B is rounded up to whole calls)")
    p.add_argument("--draft", action="store_true",
                   help="half size and half fps for fast iteration (cached apart; output NAME.draft.EXT)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    _add_remote(p)


def _add_remote(p: argparse.ArgumentParser) -> None:
    """--remote: the shared cache behind the local one (seqc.store.remote)."""
    p.add_argument("--remote", metavar="URL",
                   help="a shared cache behind the local one: s3://bucket/prefix, gs://bucket/prefix or "
                        "file:///mnt/share/seqc; clips found there are fetched, clips rendered here are "
                        "pushed (default: $SEQC_REMOTE; --remote '' for none)")


def _add_render_options(p: argparse.ArgumentParser) -> None:
    _add_model_options(p)
    p.add_argument("-o", "--output", metavar="OUT",
                   help="output file: .mp4, .mov, .mkv, .gif or .webm (overrides the storyboard's output.path)")
    p.add_argument("--frames", metavar="DIR", help="write every frame as an image file into DIR instead of a video")
    p.add_argument("--frame-format", choices=FRAME_FORMATS, default=None,
                   help="with --frames: png (8-bit, the default), png16 or tiff16 (16-bit, the clips' full depth), "
                        "exr (OpenEXR, half float, linear light, BT.709 primaries)")
    p.add_argument("--no-cache", action="store_true",
                   help="render everything again, ignoring and not writing the cache (how other tools work)")
    _add_executor_options(p)


def _add_executor_options(p: argparse.ArgumentParser) -> None:
    """--executor and its Ray options (seqc.render.execute, seqc.cluster)."""
    p.add_argument("--executor", choices=["local", "ray"], default="local",
                   help="who renders the missing segments: this process (local, the default) or the workers of "
                        "a Ray cluster (ray; needs pip install 'seqc[ray]')")
    p.add_argument("--ray-address", metavar="auto|HOST:PORT",
                   help="the Ray cluster to join (auto: the one `ray start` started here, or $RAY_ADDRESS); "
                        "default: start a private local Ray")
    p.add_argument("--workers", type=at_least(1), default=None, metavar="N",
                   help="Ray workers, each holding the model (default: one per GPU of the cluster, else one per "
                        "CPU, with one torch thread each)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every command."""
    parser = argparse.ArgumentParser(
        prog="seqc",
        description="Compile a YAML storyboard of keyframes into a video by latent-space interpolation.",
        epilog=f"Start with `seqc init demo`, then `seqc render demo/storyboard.yaml`.\n\n{EXIT_CODES}",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"seqc {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    _add_input_commands(sub)
    _add_render_commands(sub)
    _add_inspect_commands(sub)
    cache = _add_cache_command(sub)

    for command in (*sub.choices.values(), *cache.choices.values()):
        command.epilog, command.formatter_class = command.epilog or EXIT_CODES, HelpFormatter
    return parser


def _add_input_commands(sub: argparse._SubParsersAction) -> None:
    """validate, schema, init and prompts: the storyboard itself."""
    p = sub.add_parser("validate", help="check storyboards and report every problem with its line:column",
                       description="Check storyboards against the schema and their meaning; exit 2 if any is invalid.")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--format", choices=["text", "json"], default="text", help="output format (default text)")

    p = sub.add_parser("schema", help="print the storyboard JSON Schema",
                       description="Print the JSON Schema (draft 2020-12) that storyboards are validated against.")

    p = sub.add_parser("init", help="scaffold a storyboard with keyframe images (or prompts)",
                       description="Create DIR/storyboard.yaml and painted keyframe images that render at once "
                                   "(with --prompts: prompt keyframes for builtin-emoji, no images).")
    p.add_argument("dir", nargs="?", default=".", metavar="DIR")
    p.add_argument("--force", action="store_true", help="overwrite an existing storyboard.yaml")
    p.add_argument("--prompts", action="store_true",
                   help="prompt keyframes for the built-in text-to-image model (builtin-emoji) instead of pictures")

    p = sub.add_parser("prompts", help="list the prompts a model knows (builtin-emoji's emoji names)",
                       description="Print the prompts a model lists in its prompts.txt, one per line; with WORDS, "
                                   "only those containing every word.")
    p.add_argument("words", nargs="*", metavar="WORD")
    p.add_argument("--model", default="builtin-emoji",
                   help="`builtin-emoji` (default) or a model folder with a prompts.txt")


def _add_render_commands(sub: argparse._SubParsersAction) -> None:
    """plan, render and watch: what renders, and rendering it."""
    p = sub.add_parser("plan", help="show which segments would render and why",
                       description="Compile the storyboard into a render plan; print each segment's status and reason.")
    p.add_argument("file", metavar="FILE")
    _add_cache_dir(p)
    _add_precision_options(p)
    p.add_argument("--draft", action="store_true", help="plan the draft render (half size and fps)")
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    p.add_argument("--explain", action="store_true", help="also list each missing segment's changed key inputs")
    p.add_argument("--all", action="store_true",
                   help="one row per segment (by default a run of more than 5 segments with the same "
                        "status and reason is one row)")

    p = sub.add_parser("render", help="render a storyboard to a video",
                       description="Render only the segments not in the cache, then concatenate the output.")
    p.add_argument("file", metavar="FILE")
    _add_render_options(p)
    p.add_argument("--json", action="store_true", help="print one final JSON line with the result")
    p.add_argument("--no-server", action="store_true",
                   help="render in this process even when a `seqc watch` on the same cache could take the job")

    p = sub.add_parser("export", help="render, then write the timeline for an editor (.otio, .otioz, .edl, .xml, .fcpxml)",
                       description="Render what is missing and the video (as `seqc render`), then write a timeline "
                                   "of it: a clip per segment (frames exact, seqc's metadata attached), a marker "
                                   "at every keyframe and beat, the soundtrack on an audio track. The format is "
                                   "the file's extension: .otio, .otioz (OpenTimelineIO, DaVinci Resolve), .edl "
                                   "(CMX 3600, video only), .xml (Final Cut 7, Premiere), .fcpxml (Final Cut Pro). "
                                   "Needs pip install 'seqc[export]'.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("-o", "--output", required=True, metavar="TIMELINE", help="the timeline file to write")
    p.add_argument("--video", metavar="OUT", help="the video the timeline plays (default: the storyboard's "
                                                  "output.path)")
    _add_model_options(p)
    _add_executor_options(p)

    p = sub.add_parser("watch", help="render, then re-render on every save",
                       description="Render once, then watch the storyboard and its keyframe files and re-render "
                                   "only what changed on every save. Ctrl-C stops (exit 130).")
    p.add_argument("file", metavar="FILE")
    _add_render_options(p)
    p.add_argument("--debounce", type=seconds, default=0.3, metavar="SECONDS",
                   help="wait this long after the last change before rendering (default 0.3)")
    p.add_argument("--poll", action="store_true", help="poll for changes instead of using inotify/FSEvents")
    # -- the live preview (seqc.page) --
    p.add_argument("--serve", action="store_true",
                   help="serve a live preview page (video, plan, errors); prints its URL with a token")
    p.add_argument("--port", type=port_number, default=0, metavar="N", help="the preview's port (default 0: a free one)")
    p.add_argument("--host", type=host_address, default="127.0.0.1", metavar="ADDR",
                   help="the address the preview listens on (default 127.0.0.1; another one warns: other "
                        "machines can reach it)")
    p.add_argument("--open", action="store_true", help="open the preview page in the browser")


def _add_inspect_commands(sub: argparse._SubParsersAction) -> None:
    """diff, preview, analyze and audio: looking at storyboards, renders and soundtracks."""
    p = sub.add_parser("diff", help="which segments differ between two storyboards, and why",
                       description="Compare two storyboards (or one with its git revision) by the same key inputs "
                                   "the planner uses: which segments differ, what changed, how many frames would "
                                   "re-render.")
    p.add_argument("old", metavar="OLD")
    p.add_argument("new", metavar="NEW", nargs="?")
    p.add_argument("--against", metavar="REV", help="compare FILE with itself as it was at a git revision")
    _add_cache_dir(p)
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")

    p = sub.add_parser("preview", help="write a contact sheet: a row of sampled frames per segment",
                       description="Render what is missing into the cache, then write a contact sheet (PNG or JPEG) "
                                   "with one labelled row per segment; keyframes are outlined.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("-o", "--output", required=True, metavar="SHEET", help="the image to write (.png or .jpg)")
    p.add_argument("--columns", type=at_least(2), default=8, help="frames per row (default 8)")
    _add_model_options(p)

    p = sub.add_parser("analyze", help="how smoothly each segment (or a video file) changes, and its artifacts",
                       description="Per segment of a storyboard: latent distance between its keyframes, "
                                   "frame-to-frame change (median, max and where), AID's smoothness and "
                                   "consistency, and a verdict naming the artifacts found: jumps, ghosting "
                                   "(a double exposure of the ends), flicker and colour drift; what the "
                                   "storyboard asks for (a cut, steps, a crossfade) is not a defect. Renders "
                                   "what is missing first. Given a video file instead (a video suffix such as "
                                   ".mp4, .webm or .gif, or any file that is not text), analyses it as one "
                                   "span from its first frame to its last.")
    p.add_argument("file", metavar="FILE", help="a storyboard (.yaml), or a video file to analyse as one span")
    p.add_argument("--plot", metavar="PNG", help="draw the change curves, one line per segment")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_model_options(p)

    # seqc audio (soundtracks, seqc/audio/)
    p = sub.add_parser("audio", help="suggest a soundtrack's bpm, first beat and onsets",
                       description="Analyse an audio file and print a suggested tempo, first beat and onsets "
                                   "to check by ear and paste into the storyboard's `audio:`; the render "
                                   "always uses the storyboard's values. Uses librosa when the seqc[audio] "
                                   "extra is installed, a plain numpy estimate otherwise.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--start", type=seconds, default=0.0,
                   help="seconds into the file that will play at video time 0 (first_beat is given after it)")
    p.add_argument("--fps", type=float, default=None, help="also say how many frames a beat is at this fps")
    p.add_argument("--no-librosa", action="store_true", help="use the numpy estimate even if librosa is installed")
    p.add_argument("--json", action="store_true", help="print the suggestions as JSON")


def _add_cache_command(sub: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """cache and its actions; returns the actions' subparsers (their epilog is set with the others)."""
    p = sub.add_parser("cache", help="inspect and maintain the cache",
                       description="List, verify, garbage-collect or clear the content-addressed cache.")
    csub = p.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    c = csub.add_parser("ls", help="list entries", description="List cache entries.")
    _add_cache_dir(c)
    c.add_argument("--json", action="store_true")
    c = csub.add_parser("verify", help="check every entry's digest; exit 1 if any is bad",
                        description="Check every entry against its stored size and sha256.")
    _add_cache_dir(c)
    c = csub.add_parser("gc", help="remove dead temp files, bad entries and, with --max-size, old entries",
                        description="Garbage-collect: dead processes' temp files, invalid entries, and least "
                                    "recently used entries beyond --max-size (never those a running render uses).")
    _add_cache_dir(c)
    c.add_argument("--max-size", type=byte_size, metavar="SIZE", help="shrink the cache to at most SIZE (e.g. 500M, 2G)")
    c.add_argument("--keep", metavar="FILE", nargs="*", default=[],
                   help="storyboards whose entries must be kept")
    c = csub.add_parser("clear", help="delete every entry", description="Delete every cache entry.")
    _add_cache_dir(c)
    for action, verb in (("push", "upload to"), ("pull", "download from")):  # seqc.store.remote
        c = csub.add_parser(action, help=f"{verb} the remote cache one storyboard's clips and latents",
                            description=f"{verb.capitalize()} the remote cache (--remote or $SEQC_REMOTE) every "
                                        "clip, latent and prompt conditioning of FILE's plan, verified.")
        c.add_argument("file", metavar="FILE")
        _add_cache_dir(c)
        _add_precision_options(c)
        c.add_argument("--draft", action="store_true", help="the draft render's entries (half size and fps)")
        c.add_argument("-q", "--quiet", action="store_true", help="no progress line")
        _add_remote(c)
    return csub
