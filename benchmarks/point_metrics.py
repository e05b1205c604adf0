"""A city point's measuring, this checkout's metrics against another revision's, in one process on the same logs.

    pip install -e ".[bench]"
    python benchmarks/point_metrics.py --baseline main                  # 200 Xi'an points, best of 7
    python benchmarks/point_metrics.py --baseline main --points 400 --repeats 9

What a worker does to a point once the engine has run it (``replicate.simulate_task``): its tally, per-step
series, station timeline and wait histograms. The baseline's ``simsampling/metrics`` package is exported with
``git archive`` into a temporary folder and imported beside this checkout's (as a subpackage of it, so the
rest, the event log included, is this checkout's; its compiled loops are compiled there once, a few seconds).
Both measure the same logs (the fast engine's, this checkout's), alternating point by point; each version's
CPU time is summed over the points and the best of the repeats kept. On shared cores a difference of a few
percent shows this way; separate processes, timed apart, scatter by a quarter from run to run.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

from simsampling import load_scenario
from simsampling.experiment.replicate import point_log, series_step_s, simulate_task

REPO = Path(__file__).resolve().parent.parent
CITY = REPO / "scenarios" / "calibration" / "xian-2021-round.yaml"
BASELINE = "simsampling._baseline_metrics"


def baseline_metrics(revision: str, folder: Path) -> types.ModuleType:
    """``revision``'s metrics package, importable as ``simsampling._baseline_metrics``."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", revision, "simsampling/metrics"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    package = types.ModuleType(BASELINE)
    package.__path__ = [str(folder / "simsampling" / "metrics")]
    package.__package__ = BASELINE
    sys.modules[BASELINE] = package
    source = (folder / "simsampling" / "metrics" / "__init__.py").read_text(encoding="utf-8")
    exec(compile(source, f"{revision}:simsampling/metrics/__init__.py", "exec"), package.__dict__)
    return package


def measuring(metrics: types.ModuleType, deadline_s: float, step_s: float):
    def measure(log) -> None:
        metrics.tally(log, deadline_s)
        metrics.point_series(log, step_s)
        metrics.station_timeline(log, step_s)
        metrics.wait_histograms([log])

    return measure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="main", help="the revision to measure against (default: main)")
    parser.add_argument("--points", type=int, default=200, help="Xi'an points measured (default 200)")
    parser.add_argument("--repeats", type=int, default=7, help="passes over the points (default 7; the best is kept)")
    args = parser.parse_args()
    scenario = load_scenario(CITY)
    step_s = series_step_s(scenario)
    with tempfile.TemporaryDirectory(prefix="baseline-metrics-") as folder:
        versions = {args.baseline: measuring(baseline_metrics(args.baseline, Path(folder)), scenario.deadline_s, step_s),
                    "this checkout": measuring(importlib.import_module("simsampling.metrics"), scenario.deadline_s, step_s)}
        for index in range(20):  # code loaded, the baseline's loops compiled
            simulate_task(scenario, 0, index, step_s, keep_log=False, engine="fast")
        logs = [point_log(scenario, 0, scenario.points[index], "fast") for index in range(100, 100 + args.points)]
        for measure in versions.values():
            for log in logs[:5]:
                log.forget_derived()
                measure(log)
        totals: dict[str, list[float]] = {name: [] for name in versions}
        for _ in range(args.repeats):
            spent = dict.fromkeys(versions, 0.0)
            for number, log in enumerate(logs):
                for name in list(versions)[:: 1 if number % 2 else -1]:  # each goes first half of the time
                    log.forget_derived()
                    started = time.process_time()
                    versions[name](log)
                    spent[name] += time.process_time() - started
            for name, seconds in spent.items():
                totals[name].append(seconds / len(logs) * 1e3)
    base, this = (min(totals[name]) for name in versions)
    print(f"{args.points} Xi'an points (tally, series, station timeline, wait histograms), best of {args.repeats}:")
    print(f"  {args.baseline}: {base:.3f} ms of CPU a point; this checkout: {this:.3f} ms ({this / base:.3f} of it)")


if __name__ == "__main__":
    main()
