"""End-to-end speed: what a planner waits for, against the engine's own time, measured in one run.

    pip install -e ".[bench]"
    python benchmarks/end_to_end.py                    # every part, 3 repeats
    python benchmarks/end_to_end.py --parts point,walk-in --repeats 5

Parts (each prints its figures and a ratio against a baseline measured in the same run):

* ``point``: one point of 200,000 residents (the demo point scaled by point_speed.py's
  ``scaled_scenario``, one replication): ``simsampling run`` with its default outputs, the
  whole process (interpreter start, imports, simulation, every file and chart), against
  ``run_scenario`` with the fast engine in this process (compiled, after a warm-up).
  Target: at most 3 times. Also the process tree's peak memory (``city_round.tree_memory``).
* ``demo``: ``simsampling run scenarios/one-point-demo.yaml`` and ``simsampling validate``
  on it, whole processes, once compiled. Targets: under 2 s and 0.5 s; ``python -c pass``
  is printed beside them as the floor of any command.
* ``walk-in``: the walk-in tandem of speed_record.py drawing from a roster of 1,000,000
  (about 6,000 and 100,000 walk-ins a day), ``run_scenario`` with the fast engine in this
  process: residents who came per second. Target: 1,000,000 or more.
* ``formats``: the 200,000-resident point's persons and time series written as CSV and as
  Parquet (``--format parquet``), and read back with polars (and pandas, if installed):
  file sizes and read times, Parquet against CSV.
* ``compile``: compiling everything the fast engine and the metrics need into an empty numba
  cache (``NUMBA_CACHE_DIR`` a new folder), what a large first run does before it starts; the
  demo's first run with another empty cache (it runs on SimPy; the engine's compilation aside
  is not started, ``SIMSAMPLING_NO_ASIDE``, so as not to share the cores); the demo once compiled.

Timings are medians of ``--repeats`` (best in brackets); the load average is printed at the
start and the end (the machine may be shared).
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from city_round import run_round  # noqa: E402
from point_speed import scaled_scenario  # noqa: E402
from speed_record import tandem_scenario  # noqa: E402

from simsampling import run_scenario  # noqa: E402
from simsampling.report.scenario_yaml import scenario_text  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "scenarios" / "one-point-demo.yaml"
PARTS = ("point", "demo", "walk-in", "formats", "compile")


def median_best(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f})"


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def command_s(command: list[str], env: dict | None = None) -> tuple[float, float]:
    """Wall and CPU seconds (the process and its children) of a command that must succeed."""
    cpu = children_cpu()
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started, children_cpu() - cpu


def simsampling(*args: str) -> list[str]:
    return [sys.executable, "-m", "simsampling", *args]


def in_process_s(scenario, repeats: int) -> list[float]:
    run_scenario(scenario, engine="fast")  # warm-up: compiled or loaded from the cache
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run_scenario(scenario, engine="fast")
        times.append(time.perf_counter() - started)
    return times


def point_part(repeats: int, scratch: Path) -> None:
    scenario = scaled_scenario(200_000)
    scenario = scenario.model_copy(update={"replications": 1})
    path = scratch / "point-200k.yaml"
    path.write_text(scenario_text(scenario), encoding="utf-8")
    point = scenario.points[0]
    print(f"\npoint: population {point.population:,}, {point.tents} tents, 1 replication")
    engine = in_process_s(scenario, repeats)
    runs, peaks = [], []
    for repeat in range(repeats):
        wall, peak = run_round(path, 1, scratch / f"point-{repeat}")
        runs.append(wall)
        peaks.append(peak)
    ratio = statistics.median(runs) / statistics.median(engine)
    print(f"  run_scenario (fast engine, in process): {median_best(engine)} s")
    print(f"  simsampling run, whole process:         {median_best(runs)} s, peak memory {max(peaks) / 2**20:.0f} MiB")
    print(f"  ratio run / run_scenario: {ratio:.1f} (target at most 3: {'met' if ratio <= 3 else 'NOT met'})")


def demo_part(repeats: int, scratch: Path) -> None:
    print(f"\ndemo: {DEMO.name}")
    command_s(simsampling("run", str(DEMO), "--out", str(scratch / "demo-warm"), "--quiet"))  # compiled, files cached
    floor = [command_s([sys.executable, "-c", "pass"])[0] for _ in range(repeats)]
    validate = [command_s(simsampling("validate", str(DEMO)))[0] for _ in range(repeats)]
    runs = [command_s(simsampling("run", str(DEMO), "--out", str(scratch / f"demo-{k}"), "--quiet"))[0] for k in range(repeats)]
    print(f"  python -c pass:        {median_best(floor)} s")
    print(f"  simsampling validate:  {median_best(validate)} s (target under 0.5 s: {'met' if statistics.median(validate) < 0.5 else 'NOT met'})")
    print(f"  simsampling run:       {median_best(runs)} s (target under 2 s: {'met' if statistics.median(runs) < 2 else 'NOT met'})")


def walk_in_part(repeats: int) -> None:
    print("\nwalk-in tandem, roster 1,000,000 (run_scenario, fast engine, in process)")
    for walk_ins in (6_000, 100_000):
        scenario, _, _ = tandem_scenario(walk_ins, 0.8)
        point = scenario.points[0].model_copy(update={"population": 1_000_000})
        scenario = scenario.model_copy(update={"points": [point]})
        times = in_process_s(scenario, repeats)
        came = run_scenario(scenario, engine="fast").summary["kpis"]["arrived"]["mean"]
        rate = came / statistics.median(times)
        print(f"  about {walk_ins:,} walk-ins a day: {came:,.0f} came, {median_best(times)} s, {rate:,.0f} residents/s"
              f" (target 1,000,000: {'met' if rate >= 1e6 else 'NOT met'})")


def formats_part(repeats: int, scratch: Path) -> None:
    import polars as pl

    try:
        import pandas
    except ImportError:
        pandas = None
    scenario = scaled_scenario(200_000).model_copy(update={"replications": 1})
    path = scratch / "formats-200k.yaml"
    path.write_text(scenario_text(scenario), encoding="utf-8")
    folders = {}
    for table_format in ("csv", "parquet"):
        folders[table_format] = scratch / f"formats-{table_format}"
        command_s(simsampling("run", str(path), "--out", str(folders[table_format]), "--quiet", "--format", table_format))
    print("\nformats: the 200,000-resident point's tables read back (median of repeats, seconds)")
    readers = {"polars": {"csv": pl.read_csv, "parquet": pl.read_parquet}}
    if pandas is not None:
        readers["pandas"] = {"csv": pandas.read_csv, "parquet": pandas.read_parquet}
    for name in ("persons", "timeseries"):
        files = {f: folders[f] / f"{name}.{f}" for f in folders}
        sizes = ", ".join(f"{f} {files[f].stat().st_size / 2**20:.1f} MiB" for f in files)
        for reader, read in readers.items():
            times = {}
            for table_format, file in files.items():
                runs = []
                for _ in range(repeats):
                    started = time.perf_counter()
                    read[table_format](file)
                    runs.append(time.perf_counter() - started)
                times[table_format] = statistics.median(runs)
            print(f"  {name} ({sizes}), {reader}: csv {times['csv']:.3f}, parquet {times['parquet']:.3f}, "
                  f"parquet/csv {times['parquet'] / times['csv']:.2f}")


def compile_part(scratch: Path) -> None:
    print("\nfirst run after installing (empty numba caches)")
    compile_env = dict(os.environ, NUMBA_CACHE_DIR=str(scratch / "numba-compiled"))
    first_env = dict(os.environ, NUMBA_CACHE_DIR=str(scratch / "numba-first"), SIMSAMPLING_NO_ASIDE="1")
    compiled = command_s([sys.executable, "-m", "simsampling.experiment.warm_up"], compile_env)
    first = command_s(simsampling("run", str(DEMO), "--out", str(scratch / "cold"), "--quiet"), first_env)
    warm = command_s(simsampling("run", str(DEMO), "--out", str(scratch / "warm"), "--quiet"), compile_env)
    print(f"  compiling everything (python -m simsampling.experiment.warm_up): {compiled[0]:.1f} s wall, {compiled[1]:.1f} s CPU")
    print(f"  the demo's first run (SimPy while the engine compiles aside):    {first[0]:.1f} s wall, {first[1]:.1f} s CPU")
    print(f"  the demo once compiled:                                          {warm[0]:.1f} s wall, {warm[1]:.1f} s CPU")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of {', '.join(PARTS)}")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    print(f"end to end, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: python benchmarks/end_to_end.py {' '.join(argv or sys.argv[1:])}")
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs; load average at start {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="simsampling-e2e-") as folder:
        scratch = Path(folder)
        for part in parts:
            if part == "point":
                point_part(args.repeats, scratch)
            elif part == "demo":
                demo_part(args.repeats, scratch)
            elif part == "walk-in":
                walk_in_part(args.repeats)
            elif part == "formats":
                formats_part(args.repeats, scratch)
            else:
                compile_part(scratch)
    print(f"\nload average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
