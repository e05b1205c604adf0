"""How long `simsampling animate` takes, and how large its files are: the target is a 2-hour window of the demo
in under 10 s on two cores (docs/architecture.md, "The animation").

    python benchmarks/animation_speed.py            # runs the demo into a temporary folder first
    python benchmarks/animation_speed.py --results results/demo-...   # an existing results folder of the demo

Each figure is the wall time of the whole command (a new process: start, imports, reading the folder,
building the frames, writing the file), the best of ``--repeat`` runs. The baseline, measured in the same
run on the same machine, is `simsampling run` of the demo itself (its five replications; numba's
compiled code already cached): the animation's cost is printed as a ratio to simulating the day.
benchmarks/vidigi_compare.py builds the same window with vidigi, for comparison.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent / "scenarios" / "one-point-demo.yaml"
WINDOWS = [
    ("2-hour window, html, 10 s steps", ["--from", "07:00", "--to", "09:00", "--step-s", "10"]),
    ("the whole day, html (default steps)", []),
    ("2-hour window, gif (default steps)", ["--from", "07:00", "--to", "09:00", "--format", "gif"]),
    ("still frame of the day, png", ["--format", "png"]),
]


def timed(command: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, help="a results folder of the demo (default: run it now)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    command = [sys.executable, "-m", "simsampling"]
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="animation-speed-") as scratch:
        folder = Path(scratch) / "demo"
        run_s = timed([*command, "run", str(DEMO), "--out", str(folder), "--quiet", "--jobs", "2", "--force"], args.repeat)
        print(f"baseline: simsampling run of the demo (5 replications, --jobs 2): {run_s:.2f} s")
        results = args.results or folder
        from simsampling.animation import animation_html

        best = float("inf")
        for _ in range(args.repeat):
            started = time.perf_counter()
            text = animation_html(results, start_s=7 * 3600.0, end_s=9 * 3600.0, step_s=10.0)
            best = min(best, time.perf_counter() - started)
        print(f"2-hour window, html, 10 s steps, in this process (reading, frames, page; no start-up): {best:.2f} s, "
              f"{len(text.encode()) / 1e6:.2f} MB")
        for label, options in WINDOWS:
            ext = options[options.index("--format") + 1] if "--format" in options else "html"
            out = Path(scratch) / f"animation.{ext}"
            seconds = timed([*command, "animate", str(results), "--out", str(out), "--force", *options], args.repeat)
            print(f"{label}: {seconds:.2f} s ({seconds / run_s:.2f} x the run), {out.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
