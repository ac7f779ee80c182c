"""seqc's benchmark: the numbers users choose a tool by, measured side by side, as ratios.

    python bench/run.py                 # full run  -> bench/results/full.json
    python bench/run.py --quick         # < 5 min   -> bench/results/quick.json
    python bench/run.py --smoke         # seconds, tiny model, writes no results (tests/test_bench.py)
    python bench/run.py --model PATH    # another diffusers autoencoder folder instead of the built-in one
    python bench/run.py --out NAME      # bench/results/NAME.json
    python bench/run.py --markdown bench/results/full.json   # the table in Markdown, for the README

Scenarios (bench/README.md says what each measures and why):
  1. throughput vs the model's decode loop (in process)   5. peak memory vs video length
  2. incremental edit vs full render (CLI)                6. a session of edits vs the peers' way
  3. no-op render, and proof torch never loaded           7. GPU: scenario 1 on CUDA (skipped without)
  4. `seqc plan` at 10 / 100 / 1,000 segments             8. production length: 1,000 short segments
  +  speed-ups, before/after in the same run

The machine is shared: every scenario records the load average before and after, and the
figures that carry a target are ratios (or, for the no-op and plan, small absolute times).
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # `python bench/run.py` puts bench/ on the path, not the repo
    sys.path.insert(0, str(REPO))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench import scenarios  # noqa: E402
from bench.measure import loadavg, machine_info  # noqa: E402

RESULTS = REPO / "bench" / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python bench/run.py", description=__doc__.split("\n\n")[0])
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="shorter segments and runs (under 5 minutes)")
    mode.add_argument("--smoke", action="store_true",
                      help="seconds: a tiny random model, tiny sizes; writes no bench/results file")
    p.add_argument("--model", default=None,
                   help="'builtin' (default) or a diffusers autoencoder folder (e.g. a tiny random one)")
    p.add_argument("--out", metavar="NAME", help="write bench/results/NAME.json (default: full or quick)")
    p.add_argument("--json-out", metavar="PATH", help="write the JSON here instead (any mode)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--dtype", default="auto", choices=["auto", "float32", "float16", "bfloat16"])
    p.add_argument("--only", nargs="+", metavar="ID",
                   help="run only these scenarios (ids as in the JSON, e.g. 1_throughput speedups); "
                        "3 and 6 need 2, speedups needs 1")
    p.add_argument("--keep", action="store_true", help="keep the scratch folder (printed) for inspection")
    p.add_argument("--markdown", metavar="JSON", help="print a results file as a Markdown table (for the README) "
                                                    "and exit")
    return p.parse_args(argv)


def resolve_model(args: argparse.Namespace, workdir: Path) -> tuple[str | Path, str]:
    """The model to benchmark and its label: the built-in one, a folder, or (smoke) a tiny random one."""
    from seqc.models import builtin_path

    if args.model is None and args.smoke:
        from bench.workload import tiny_autoencoder

        return tiny_autoencoder(workdir / "tiny-model"), "tiny random AutoencoderTiny (smoke)"
    if args.model in (None, "builtin"):
        if not (builtin_path() / "config.json").is_file():
            raise SystemExit(f"the built-in model's weights are not in {builtin_path()} yet; "
                             "pass --model PATH to benchmark another autoencoder folder")
        return "builtin", "built-in model"
    folder = Path(args.model).resolve()
    if not (folder / "config.json").is_file():
        raise SystemExit(f"--model {args.model}: no config.json in {folder}")
    return folder, f"model folder {folder.name}"


def format_value(fig: dict) -> str:
    value = fig["value"]
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "-"
    return f"{value:g} {fig['unit']}".strip() if isinstance(value, (int, float)) else str(value)


def format_target(fig: dict) -> str:
    if fig["target"] is None:
        return ""
    op, limit = fig["target"]
    if isinstance(limit, bool):
        return "no" if limit is False else "yes"
    return f"{op} {limit:g} {fig['unit']}".strip()


def print_table(report: dict, console: Console) -> None:
    """One row per figure: scenario, figure, value, target, pass/fail, note."""
    machine = report["machine"]
    title = (f"seqc bench ({report['mode']}), {report['model']}, {machine['device']}, "
             f"{machine['cpu_model']} x{machine['cpu_cores']}, load {report['load']['before']} -> "
             f"{report['load']['after']}")
    table = Table(title=title, show_lines=False)
    for column in ("scenario", "figure", "value", "target", "result", "note"):
        table.add_column(column, justify="right" if column in ("value", "target") else "left",
                         overflow="fold")
    for key, result in report["scenarios"].items():
        name = key.replace("_", " ", 1)
        if "error" in result:
            table.add_row(name, "[red]error[/red]", "", "", "[red]ERROR[/red]", result["error"].splitlines()[-1])
            continue
        if "skipped" in result:
            table.add_row(name, result["title"], "", "", "[yellow]skipped[/yellow]", result["skipped"])
            continue
        for i, fig in enumerate(result["figures"]):
            verdict = {True: "[green]pass[/green]", False: "[red]FAIL[/red]", None: ""}[fig["pass"]]
            table.add_row(name if i == 0 else "", fig["label"], format_value(fig), format_target(fig),
                          verdict, fig["note"])
        table.add_section()
    console.print(table)
    summary = report["summary"]
    console.print(f"targets: {summary['passed']} passed, {summary['failed']} failed; "
                  f"{summary['errors']} scenario errors; {report['seconds']:.0f} s")


def markdown_table(report: dict) -> str:
    """The table of a results file in Markdown: scenario, figure, value, target, result."""
    rows = ["| scenario | figure | value | target | result |", "| --- | --- | ---: | ---: | --- |"]
    for key, result in report["scenarios"].items():
        name = key.replace("_", " ", 1)
        if "skipped" in result:
            rows.append(f"| {name} | {result['title']} | | | skipped: {result['skipped']} |")
            continue
        for fig in result.get("figures", []):
            verdict = {True: "pass", False: "**FAIL**", None: ""}[fig["pass"]]
            rows.append(f"| {name} | {fig['label']} | {format_value(fig)} | {format_target(fig)} | {verdict} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write its JSON; exit 1 if a scenario crashed (missed targets are reported)."""
    args = parse_args(argv)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # a background job: scenario 9 stops
        signal.signal(signal.SIGINT, signal.default_int_handler)  # its seqc watch with Ctrl-C
    if args.markdown:
        print(markdown_table(json.loads(Path(args.markdown).read_text())))
        return 0
    console = Console() if sys.stdout.isatty() else Console(width=160)
    settings = scenarios.SMOKE if args.smoke else scenarios.QUICK if args.quick else scenarios.FULL
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="seqc-bench-"))
    try:
        # 1. The model, the device, the machine.
        from seqc.backends.torchutil import pick_device

        model, model_label = resolve_model(args, workdir)
        device = str(pick_device(args.device))
        bench = scenarios.Bench(settings, model, model_label, device, args.dtype, workdir)
        report = {
            "mode": settings.name,
            "mode_changes_from_full": settings.changes(),
            "settings": scenarios.settings_dict(settings),
            "model": model_label if model == "builtin" else f"{model_label} ({model})",
            "machine": machine_info(device),
            "load": {"before": loadavg()},
            "scenarios": {},
        }

        # 2. Every scenario, in an order that lets 3 and 6 reuse 2's project; a crash is recorded.
        for key, run in scenarios.SCENARIOS:
            if args.only and key not in args.only:
                continue
            console.print(f"[bold]{key}[/bold] ...", highlight=False)
            load_before, t0 = loadavg(), time.monotonic()
            try:
                result = run(bench)
            except Exception:  # noqa: BLE001 - one broken scenario must not lose the others
                result = {"title": key, "figures": [], "error": traceback.format_exc()}
                console.print(f"[red]{key} failed[/red]\n{result['error']}", highlight=False)
            result["seconds"] = round(time.monotonic() - t0, 1)
            result["load"] = {"before": load_before, "after": loadavg()}
            report["scenarios"][key] = result

        # 3. Summary, table, JSON.
        report["load"]["after"] = loadavg()
        report["seconds"] = round(time.monotonic() - started, 1)
        figures = [f for s in report["scenarios"].values() for f in s.get("figures", [])]
        report["summary"] = {
            "passed": sum(1 for f in figures if f["pass"] is True),
            "failed": sum(1 for f in figures if f["pass"] is False),
            "errors": sum(1 for s in report["scenarios"].values() if "error" in s),
        }
        print_table(report, console)
        out = Path(args.json_out) if args.json_out else None
        if out is None and not args.smoke:
            out = RESULTS / f"{args.out or settings.name}.json"
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(report, indent=1, default=str) + "\n")
            console.print(f"wrote {out}")
        return 1 if report["summary"]["errors"] else 0
    finally:
        if args.keep:
            console.print(f"scratch folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
