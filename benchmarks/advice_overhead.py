"""What the diagnosis of every run adds to the run's time.

Run from anywhere (scenarios are found relative to this file):

    python benchmarks/advice_overhead.py                           # the demo point (2,600 residents), 5 repeats
    python benchmarks/advice_overhead.py --scenario scenarios/beibei-district.yaml --repeats 1 --jobs 2

Each repeat, in one process (the numba cache loaded first, not timed):

* the run: ``run_scenario`` (simulation) then ``write_results`` with the advice already made
  (the results folder: tables, charts, report.html), into a temporary folder;
* the diagnosis: ``advice.run_advice`` on the same result (what ``simsampling run`` and
  ``write_results`` add: every point's limits, bottleneck and estimated headroom, the checks by
  simulation within their budget, the ranking and the sentences), and the same without the
  checks by simulation.

Printed, as medians over the repeats: each time, the diagnosis over the run (the target: under
10%), and over the simulation alone (for a small point the simulation is a small part of a run:
writing the results folder dominates). The machine's load average is printed too: ratios are
taken within the same repeats, so they hold under load; absolute times do not.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from simsampling import load_scenario, run_scenario, write_results
from simsampling.advice import run_advice

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "scenarios" / "one-point-demo.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=DEMO)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    scenario = load_scenario(args.scenario if args.scenario.is_absolute() else REPO / args.scenario)
    run_advice(run_scenario(scenario.model_copy(update={"replications": 1}), jobs=1, executor="serial"))  # warm up
    times: dict[str, list[float]] = {"simulation": [], "results folder": [], "diagnosis": [], "diagnosis, no checks": []}
    with tempfile.TemporaryDirectory(prefix="advice-overhead-") as scratch:
        for repeat in range(args.repeats):
            started = time.perf_counter()
            result = run_scenario(scenario, jobs=args.jobs)
            simulated = time.perf_counter()
            advice = run_advice(result)
            advised = time.perf_counter()
            run_advice(result, check_by_simulation=False)
            estimated = time.perf_counter()
            write_results(result, Path(scratch) / f"run-{repeat}", advice=advice)
            written = time.perf_counter()
            for name, seconds in zip(times, (simulated - started, written - estimated, advised - simulated,
                                             estimated - advised)):
                times[name].append(seconds)
    median = {name: statistics.median(values) for name, values in times.items()}
    run = median["simulation"] + median["results folder"]
    points = len(scenario.points)
    residents = sum(point.population for point in scenario.points)
    print(f"{scenario.name}: {points:,} point(s), {residents:,} residents, {scenario.replications} replications, "
          f"--jobs {args.jobs}, {args.repeats} repeat(s); load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    for name, seconds in median.items():
        print(f"  {name:<22} {seconds:8.3f} s")
    print(f"  diagnosis / run (simulation and results folder): {median['diagnosis'] / run:.1%} "
          f"(without checks by simulation {median['diagnosis, no checks'] / run:.1%}); target under 10%")
    print(f"  diagnosis / simulation alone: {median['diagnosis'] / median['simulation']:.1%}")


if __name__ == "__main__":
    main()
