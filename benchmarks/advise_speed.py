"""How long ``simsampling advise`` takes on the demo, against ``simsampling run`` on the same scenario.

Run from anywhere (the scenario is found relative to this file):

    python benchmarks/advise_speed.py                 # 3 repeats of each command, --jobs 2
    python benchmarks/advise_speed.py --repeats 5 --scenario scenarios/one-point-morning-rush.yaml

Target: ``advise`` on the demo (one point, 2,600 residents, 5 replications: the scenario as
written and each lever that applies, 6 runs in all) under 10 s of wall-clock time on two cores.

Each command runs as a whole process, as a planner types it (imports, loading the compiled
numba code from its cache, the runs, the results folder with its charts and report.html),
``--repeats`` times, the two commands interleaved, into fresh folders under a temporary
directory. Printed per command: the median and best wall-clock time, the median CPU time of
the process and its children (on a shared machine the steadier figure), and the ratio of
advise to run measured in the same session; with the load average, since the machine may be
shared. A first untimed run of each fills numba's cache. The target is judged on the wall
time, or on the CPU time when the load average exceeds the number of cores (the demo's runs
stay in one process, so on idle cores its wall time is about its CPU time).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 10.0


def timed(command: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (this child and its own children) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "one-point-demo.yaml")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    exe = [sys.executable, "-m", "simsampling"]
    with tempfile.TemporaryDirectory(prefix="advise-speed-") as scratch:
        commands = {
            "run": lambda n: exe + ["run", str(args.scenario), "--jobs", str(args.jobs), "--quiet",
                                    "--out", f"{scratch}/run-{n}"],
            "advise": lambda n: exe + ["advise", str(args.scenario), "--jobs", str(args.jobs), "--quiet",
                                       "--out", f"{scratch}/advise-{n}"],
        }
        for name, command in commands.items():  # fills numba's cache; not timed
            subprocess.run(command("warm"), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        figures: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for repeat in range(args.repeats):
            for name, command in commands.items():
                figures[name].append(timed(command(repeat)))
    load = os.getloadavg()
    print(f"{args.scenario.name}, --jobs {args.jobs}, {args.repeats} repeats; {os.cpu_count()} CPUs, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; Python {platform.python_version()}")
    print(f"{'command':<10}{'wall median':>14}{'wall best':>12}{'CPU median':>13}")
    medians = {}
    for name, values in figures.items():
        walls, cpus = [w for w, _ in values], [c for _, c in values]
        medians[name] = (statistics.median(walls), statistics.median(cpus))
        print(f"{name:<10}{medians[name][0]:>13.2f}s{min(walls):>11.2f}s{medians[name][1]:>12.2f}s")
    ratio = medians["advise"][0] / medians["run"][0]
    print(f"advise / run: {ratio:.2f} (wall), {medians['advise'][1] / medians['run'][1]:.2f} (CPU)")
    wall, cpu = medians["advise"]
    busy = load[0] > (os.cpu_count() or 1)
    # On a machine shared with more runnable processes than cores, the wall time measures the others too;
    # the CPU time is then what the command would take on idle cores (it runs in one process: batches of
    # under a second are not sent to workers).
    judged, what = (cpu, "CPU time (the cores are shared: load above their number)") if busy else (wall, "wall time")
    verdict = "met" if judged < TARGET_S else "MISSED"
    print(f"target: advise under {TARGET_S:g} s on two cores: {verdict} by its {what}: {judged:.2f} s")


if __name__ == "__main__":
    main()
