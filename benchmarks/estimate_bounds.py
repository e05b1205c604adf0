"""Does the estimate bound the run? Random valid scenarios, each run measured against its estimate.

    pip install -e ".[test,bench]"
    python benchmarks/estimate_bounds.py                 # 40 scenarios (about 20 minutes on 2 idle cores)
    python benchmarks/estimate_bounds.py --examples 5    # a quick look

hypothesis draws scenarios from the demo point: 1 to 120 points (the step of the
series changes at 100), up to 400,000 residents, up to 10,000 stations, a line per
station or one shared line, desks or paired registrars, swabs of seconds to ten
days (lines that drain for years: steps.py), 1 to 5 replications over 1 to 3
days, ``--jobs`` 1 or 2, persons kept or not, the fast engine or SimPy. For each,
``estimate_run`` gives the time and memory ``simsampling run`` prints (and checks
against the machine), then ``simsampling run`` runs in a subprocess whose whole
process tree (main process, workers, the chart drawer) is sampled every 0.2 s
(memory as the sum of proportional set sizes, benchmarks/city_round.py).

Safety on a shared machine: a scenario estimated over ``--memory-budget`` (2 GiB)
or ``--time-budget`` (120 s) is not run (counted as skipped), every run is capped
at four times its estimated memory (and at least 1.5 GiB) of address space
(``RLIMIT_AS``, like ``prlimit --as``) and at ten times its estimated time.

It checks the margins recorded in benchmarks/README.md: measured peak memory at
most ``MEMORY_MARGIN`` above the estimate; wall time at most ``TIME_MULTIPLE``
times the estimate, once divided by this machine's slowness measured in the same
session (the demo point's run against its estimate: 1 on the idle development
machine, more under load). It exits with status 1 if a run breaks a margin, fails,
or is killed by its caps.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

from city_round import measured  # noqa: E402

from simsampling.experiment.estimate import estimate_run  # noqa: E402
from simsampling.scenario import load_scenario, validate_scenario  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "scenarios" / "one-point-demo.yaml"
MEMORY_MARGIN = 0.10
"""Measured peak memory may exceed the estimate by at most this share."""
TIME_MULTIPLE = 3.0
"""Wall time may be at most this many times the estimate (after dividing by the machine's slowness)."""
GIB = 2**30


@dataclass
class Measured:
    label: str
    estimate_s: float
    estimate_bytes: float
    wall_s: float
    peak_bytes: int
    code: int | None


def run_measured(scenario_path: Path, out: Path, options: list[str], memory_cap: int, time_cap: float) -> tuple[float, int, int | None]:
    """Wall seconds, peak memory of the process tree and exit status (None: stopped at ``time_cap``), the run's
    address space capped at ``memory_cap`` bytes (like ``prlimit --as``)."""
    command = [sys.executable, "-m", "simsampling", "run", str(scenario_path), "--out", str(out), "--quiet", *options]

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_cap, memory_cap))

    return measured(command, time_cap, preexec_fn=cap, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@st.composite
def scenarios(draw) -> tuple[dict, list[str], str]:
    data = yaml.safe_load(DEMO.read_text())
    point = data["points"][0]
    points = draw(st.sampled_from([1, 1, 2, 10, 60, 120]))
    residents = draw(st.sampled_from([0, 300, 2_600, 20_000, 100_000, 400_000]))
    stations = draw(st.sampled_from([1, 4, 40, 400, 2_000, 10_000]))
    point["tents"] = max(1, stations // points)
    point["queue"] = draw(st.sampled_from(["shared", "per_tent"]))
    if draw(st.booleans()):
        point["stages"]["registration"]["servers"] = draw(st.integers(1, 20))
    swab = draw(st.sampled_from([("lognormal", 25.0), ("lognormal", 600.0), ("fixed", 3_600.0), ("fixed", 864_000.0)]))
    if swab[0] == "fixed":
        point["stages"]["swab"]["service_s"] = {"dist": "fixed", "value": swab[1]}
        residents = min(residents, 2_600)  # ten days a swab: lines drain for years, the series are coarsened
    else:
        point["stages"]["swab"]["service_s"] = {"dist": "lognormal", "mean": swab[1], "sd": swab[1] / 3}
    point["population"] = residents // points
    data["points"] = [{**point, "id": f"p-{k:03d}"} for k in range(points)]
    data["replications"] = draw(st.integers(1, 5))
    data["round"] = {"days": draw(st.integers(1, 3))}
    jobs = draw(st.sampled_from([1, 2]))
    persons = draw(st.sampled_from(["--persons", "--no-persons", None]))
    engine = "simpy" if residents * data["replications"] <= 50_000 and draw(st.booleans()) else "auto"
    options = ["--jobs", str(jobs), "--engine", engine, "--no-memory-check"] + ([persons] if persons else [])
    label = (f"{points} pt, {residents:,} res, {point['tents'] * points:,} st {point['queue']}, swab {swab[0]} {swab[1]:g} s, "
             f"{data['replications']} rep, {data['round']['days']} d, -j {jobs} {engine} {persons or ''}")
    return data, options, label


def estimate_for(data: dict, options: list[str]):
    scenario = validate_scenario(data)
    jobs = int(options[options.index("--jobs") + 1])
    persons = "--persons" in options
    keep_logs = False if ("--no-persons" in options or persons) else None
    engine = options[options.index("--engine") + 1]
    return estimate_run(scenario, jobs, keep_logs=keep_logs, persons=persons, engine=engine)


def slowness(scratch: Path) -> float:
    """This machine now against the idle development machine: the demo's run (5 replications) over its estimate."""
    scenario = load_scenario(DEMO)
    estimate = estimate_run(scenario, 1)
    wall, _, code = run_measured(DEMO, scratch / "calibration", ["--jobs", "1"], 4 * GIB, 600)
    if code != 0:
        raise SystemExit("the calibration run of the demo failed")
    return max(1.0, wall / estimate.wall_s)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=40)
    parser.add_argument("--memory-budget", type=float, default=2.0, help="GiB: scenarios estimated above are not run")
    parser.add_argument("--time-budget", type=float, default=120.0, help="s: scenarios estimated above are not run")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load:.1f}")
    results: list[Measured] = []
    skipped = []
    with tempfile.TemporaryDirectory(prefix="estimate-bounds-") as folder:
        scratch = Path(folder)
        slow = slowness(scratch)
        print(f"this machine now: {slow:.2f} x slower than the estimate's (the demo's run against its estimate)")

        @settings(max_examples=args.examples, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(drawn=scenarios())
        def measure(drawn) -> None:
            data, options, label = drawn
            estimate = estimate_for(data, options)
            if estimate.memory_bytes > args.memory_budget * GIB or estimate.wall_s > args.time_budget:
                skipped.append(f"{label}: {estimate.describe()}")
                return
            path = scratch / "scenario.yaml"
            path.write_text(yaml.safe_dump(data, sort_keys=False))
            out = scratch / f"out-{len(results)}"
            memory_cap = int(max(1.5 * GIB, 4 * estimate.memory_bytes))
            wall, peak, code = run_measured(path, out, options, memory_cap, max(60.0, 10 * estimate.wall_s * slow))
            results.append(Measured(label, estimate.wall_s, estimate.memory_bytes, wall, peak, code))
            row = results[-1]
            print(f"{label}: estimated {row.estimate_s:7.1f} s {row.estimate_bytes / GIB:5.2f} GiB; measured "
                  f"{row.wall_s:7.1f} s {row.peak_bytes / GIB:5.2f} GiB (x{row.wall_s / row.estimate_s:.2f} time, "
                  f"x{row.peak_bytes / row.estimate_bytes:.2f} memory){'' if code == 0 else f'; EXIT {code}'}", flush=True)

        measure()

    failed = [r for r in results if r.code != 0]
    memory = max((r.peak_bytes / r.estimate_bytes for r in results), default=0.0)
    times = max((r.wall_s / r.estimate_s / slow for r in results), default=0.0)
    print(f"\n{len(results)} scenarios run, {len(skipped)} skipped (estimated over the budgets), {len(failed)} failed")
    print(f"largest measured / estimated memory: {memory:.2f} (margin: at most {1 + MEMORY_MARGIN:.2f})")
    print(f"largest measured / estimated time, over the machine's slowness {slow:.2f}: {times:.2f} "
          f"(multiple: at most {TIME_MULTIPLE:g})")
    broken = failed or memory > 1 + MEMORY_MARGIN or times > TIME_MULTIPLE
    print("margins " + ("BROKEN" if broken else "held"))
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
