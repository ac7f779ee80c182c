"""Real-size single-file checkpoints with random weights, loaded offline through the configs seqc
ships: for each family, write one file in the original layout (float16, the shapes of the
published model), render a 3-frame storyboard from it as `model: FILE` with an empty Hugging Face
home, and record the load-and-render time and the peak memory. This is the check the tests cannot
afford (a 2-7 GB file): it proves each family's shipped configs fit a real file, and sizes the
cost of loading one. On a GPU machine it also gives the SD-size cost and memory figures.

    python bench/single_files.py                     # sd1 sd2 sdxl -> bench/results/single_files.json
    python bench/single_files.py sd1 --size 512      # one family, at 512x512
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the layout writer the tests use (tests/ldmfile.py)

TEXT_LAYOUT = {"sd1": "clip", "sd2": "openclip", "sd2-base": "openclip", "sdxl": None}
STORY = """version: 1
output: {{path: out/{family}.mp4, size: [{size}, {size}], fps: 8}}
model: {{file: {family}.safetensors, family: {family}}}
defaults: {{frames: 2, steps: {steps}}}
keyframes:
  a: {{prompt: "a red apple"}}
  b: {{prompt: "a green pear", seed: 2}}
segments:
  - {{from: a, to: b}}
"""


def write_file(family: str, out: Path) -> int:
    """A random float16 checkpoint of the family's published shapes; its parameter count."""
    import torch
    from ldmfile import ldm_meta_state
    from safetensors.torch import save_file

    layout = ldm_meta_state(REPO / "seqc" / "families" / family, TEXT_LAYOUT[family])
    generator = torch.Generator().manual_seed(0)
    save_file({key: (torch.randn(meta.shape, generator=generator) * 0.02).half() for key, meta in layout.items()}, out)
    return sum(meta.numel() for meta in layout.values())


def measure(family: str, size: int, steps: int, folder: Path) -> dict:
    """Write the family's file, render from it in a fresh process, and what it cost."""
    # 1. The file.
    file = folder / f"{family}.safetensors"
    parameters = write_file(family, file)
    # 2. The render, offline, with nothing in a Hugging Face cache.
    (folder / f"{family}.yaml").write_text(STORY.format(family=family, size=size, steps=steps))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(folder / "empty-hf-home")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "seqc", "render", str(folder / f"{family}.yaml"), "--json",
                           "--cache-dir", str(folder / "cache")], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else {}
    # 3. The figures (the peak is the largest child so far: families run largest last).
    row = {"family": family, "parameters": parameters, "file_gb": round(file.stat().st_size / 1e9, 2),
           "size": size, "steps": steps, "ok": proc.returncode == 0, "frames": result.get("frames"),
           "seconds": round(seconds, 1), "peak_rss_gb": round(max(peak, before) / 1e6, 1),
           "hub_touched": (folder / "empty-hf-home").exists()}
    if proc.returncode != 0:
        row["error"] = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"
    file.unlink()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("families", nargs="*", default=["sd1", "sd2", "sdxl"], help=f"of {', '.join(TEXT_LAYOUT)}")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--out", default="single_files")
    args = parser.parse_args()
    if unknown := [f for f in args.families if f not in TEXT_LAYOUT]:
        parser.error(f"unknown family {unknown[0]!r}; choose from {', '.join(TEXT_LAYOUT)}")
    import torch

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"cpu ({os.cpu_count()} cores)"
    rows = []
    with tempfile.TemporaryDirectory(prefix="seqc-single-files-") as tmp:
        for family in args.families:
            rows.append(measure(family, args.size, args.steps, Path(tmp)))
            row = rows[-1]
            print(f"{row['family']:9} {row['parameters'] / 1e9:5.2f} B params  {row['file_gb']:5.2f} GB  "
                  f"{'ok' if row['ok'] else 'FAILED':6} {row['seconds']:6.1f} s  peak {row['peak_rss_gb']:5.1f} GB  "
                  f"hub touched: {row['hub_touched']}" + (f"  {row['error']}" if "error" in row else ""), flush=True)
    out = REPO / "bench" / "results" / f"{args.out}.json"
    out.write_text(json.dumps({"device": device, "machine": platform.machine(), "rows": rows}, indent=2) + "\n")
    print(f"wrote {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
