"""End-to-end speed: what a planner waits for, against the engine's own time, measured in one run.

    pip install -e ".[bench]"
    python benchmarks/end_to_end.py                    # every part, 3 repeats
    python benchmarks/end_to_end.py --parts point,walk-in --repeats 5

Parts (each prints its figures and a ratio against a baseline measured in the same run):

* ``point``: one point of 200,000 residents (the demo point scaled by point_speed.py's
  ``scaled_scenario``, one replication): ``simsampling run`` with its default outputs, the
  whole process (interpreter start, imports, simulation, every file and chart), against
  ``run_scenario`` with the fast engine in this process (compiled, after a warm-up).
  Target: at most 3 times. Also the process tree's peak memory (``city_round.tree_memory``),
  and the floor of any whole process that simulates it: a process that only imports the
  package and calls ``run_scenario`` (interpreter, imports, numba loading the compiled code), with
  the run's ratio to it: above 3 times ``run_scenario`` already, the floor cannot meet the target as
  written, so what the outputs add is read against it.
* ``demo``: ``simsampling run scenarios/one-point-demo.yaml`` and ``simsampling validate``
  on it, whole processes, once compiled. Targets: under 2 s and 0.5 s; ``python -c pass``,
  ``python -c "import pydantic, yaml"`` and the scenario layer's import are printed beside
  them (the floors of any command and of validate). With ``--baseline DIR`` (a folder holding another
  version's package), the demo's run with it and with this checkout in turn, and the ratio of each pair.
* ``walk-in``: the walk-in tandem of speed_record.py drawing from a roster of 1,000,000
  (about 6,000 and 100,000 walk-ins a day), ``run_scenario`` with the fast engine in this
  process: residents who came per second. Target: 1,000,000 or more. The same point with a
  roster of twice its walk-ins is timed beside it: the draws cost the residents who come
  (their CPU time printed apart for the large roster).
* ``xian``: the Xi'an round (scenarios/calibration/xian-2021-round.yaml, 4,485 points, 11.6
  million residents), ``simsampling run --jobs 2`` with its default outputs, whole process,
  against a whole process that only imports the package and calls ``run_scenario(jobs=2)`` with
  the fast engine (the simulation and the summaries, no files; its main process's own CPU printed
  apart: imports, the scenario and merging the points' results while the workers simulate): target
  under 10 s wall on two cores; peak memory of the process tree.
  Runs timed against a target are timed without the memory sampler (``city_round.measured``: it reads
  every process's memory map five times a second, CPU taken from the run's two cores); the peak memory
  comes from one more run, sampled.
  A third of ``--repeats`` (at least one): a run takes tens of seconds. With ``--baseline DIR``, twice as many
  pairs of the round's run (at least two) with it and with this checkout, as for the demo.
* ``formats``: the 200,000-resident point's persons and time series written as CSV and as
  Parquet (``--format parquet``), and read back with polars (and pandas, if installed):
  file sizes and read times, Parquet against CSV.
* ``compile``: compiling everything the fast engine and the metrics need into an empty numba
  cache (``NUMBA_CACHE_DIR`` a new folder), what a large first run does before it starts; the
  demo's first run with another empty cache (it runs on SimPy; the engine's compilation aside
  is not started, ``SIMSAMPLING_NO_ASIDE``, so as not to share the cores); the demo once compiled.

Timings are medians of ``--repeats`` (best in brackets), wall-clock and CPU (user and system,
of the process and its children: what the run costs whatever else shares the cores); the load
average is printed at the start and the end (the machine may be shared).

The package's bytecode is compiled first, as ``pip install`` does for an installed package:
with ``PYTHONDONTWRITEBYTECODE`` set and no ``__pycache__`` (a fresh checkout), every command
would otherwise compile the package's modules from source, about 0.04 s of CPU in
``validate`` and 0.2 s in a run of the demo, which an installed copy never pays.
"""

from __future__ import annotations

import argparse
import compileall
import functools
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

from city_round import CITY, run_round  # noqa: E402
from point_speed import scaled_scenario  # noqa: E402
from speed_record import tandem_scenario  # noqa: E402

from simsampling import load_scenario, run_scenario  # noqa: E402
from simsampling.draws import draw_residents  # noqa: E402
from simsampling.report.scenario_yaml import scenario_text  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "scenarios" / "one-point-demo.yaml"
PARTS = ("point", "demo", "walk-in", "xian", "formats", "compile")


def median_best(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f})"


def wall_cpu(runs: list[tuple[float, float]]) -> str:
    """Wall and CPU seconds of repeated runs, each as median (best)."""
    return f"{median_best([wall for wall, _ in runs])} s, CPU {median_best([cpu for _, cpu in runs])} s"


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def command_s(command: list[str], env: dict | None = None, cwd: Path | None = None, printed: list | None = None) -> tuple[float, float]:
    """Wall and CPU seconds (the process and its children) of a command that must succeed (its output
    appended to ``printed`` if given, else dropped)."""
    cpu = children_cpu()
    started = time.perf_counter()
    done = subprocess.run(command, check=True, stdout=subprocess.DEVNULL if printed is None else subprocess.PIPE, env=env, cwd=cwd, text=True)
    if printed is not None:
        printed.append(done.stdout)
    return time.perf_counter() - started, children_cpu() - cpu


def simsampling(*args: str) -> list[str]:
    return [sys.executable, "-m", "simsampling", *args]


def in_process_s(scenario, repeats: int) -> list[tuple[float, float]]:
    """Wall and CPU seconds of ``run_scenario`` with the fast engine, in this process, once warm."""
    run_scenario(scenario, engine="fast")  # warm-up: compiled or loaded from the cache
    times = []
    for _ in range(repeats):
        started, cpu = time.perf_counter(), time.process_time()
        run_scenario(scenario, engine="fast")
        times.append((time.perf_counter() - started, time.process_time() - cpu))
    return times


def medians(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(wall for wall, _ in runs), statistics.median(cpu for _, cpu in runs)


def point_part(repeats: int, scratch: Path) -> None:
    scenario = scaled_scenario(200_000)
    scenario = scenario.model_copy(update={"replications": 1})
    path = scratch / "point-200k.yaml"
    path.write_text(scenario_text(scenario), encoding="utf-8")
    point = scenario.points[0]
    print(f"\npoint: population {point.population:,}, {point.tents} tents, 1 replication")
    floor_code = ("import sys; from simsampling import load_scenario, run_scenario; "
                  "run_scenario(load_scenario(sys.argv[1]), engine='fast')")
    engine, runs, floor, peaks = [], [], [], []
    for repeat in range(repeats):  # interleaved, so that a change of load touches each alike
        engine += in_process_s(scenario, 1)
        cpu = children_cpu()
        wall, _ = run_round(path, 1, scratch / f"point-{repeat}", memory=False)
        runs.append((wall, children_cpu() - cpu))
        floor.append(command_s([sys.executable, "-c", floor_code, str(path)]))
    peaks.append(run_round(path, 1, scratch / "point-memory")[1])  # apart: sampling the memory costs CPU
    (engine_wall, engine_cpu), (run_wall, run_cpu), (floor_wall, floor_cpu) = medians(engine), medians(runs), medians(floor)
    ratio = run_wall / engine_wall
    print(f"  run_scenario (fast engine, in process):      {wall_cpu(engine)}")
    print(f"  simsampling run, whole process:              {wall_cpu(runs)}; peak memory {max(peaks) / 2**20:.0f} MiB "
          f"(a run of its own: sampling the memory costs CPU)")
    print(f"  import and run_scenario only, whole process: {wall_cpu(floor)}")
    print(f"  ratio run / run_scenario: {ratio:.1f} wall, {run_cpu / engine_cpu:.1f} CPU (target at most 3: "
          f"{'met' if ratio <= 3 else 'NOT met'}); the floor (import and run_scenario only): "
          f"{floor_wall / engine_wall:.1f} wall, {floor_cpu / engine_cpu:.1f} CPU")
    print(f"  ratio run / the floor: {run_wall / floor_wall:.1f} wall, {run_cpu / floor_cpu:.1f} CPU (what the outputs cost "
          f"beyond a process that must import and simulate anyway)")


def demo_part(repeats: int, scratch: Path, baseline: Path | None = None) -> None:
    print(f"\ndemo: {DEMO.name}")
    if baseline is not None:  # twice ``repeats`` pairs: on a shared machine single pairs scatter
        runs_against(baseline, DEMO, 2 * repeats, scratch)
    command_s(simsampling("run", str(DEMO), "--out", str(scratch / "demo-warm"), "--quiet"))  # compiled, files cached
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        'python -c "import pydantic, yaml"': [sys.executable, "-c", "import pydantic, yaml"],
        # (``import simsampling.scenario`` alone imports nothing yet: its names load when first asked for)
        "the scenario layer's import": [sys.executable, "-c", "from simsampling.scenario import load_scenario"],
        "simsampling validate": simsampling("validate", str(DEMO)),
        "simsampling run": simsampling("run", str(DEMO), "--out", str(scratch / "demo-{k}"), "--quiet"),
    }
    times: dict[str, list] = {name: [] for name in commands}
    for k in range(repeats):  # interleaved
        for name, command in commands.items():
            times[name].append(command_s([part.replace("{k}", str(k)) for part in command]))
    targets = {"simsampling validate": 0.5, "simsampling run": 2.0}
    for name, runs in times.items():
        target = targets.get(name)
        verdict = "" if target is None else f" (target under {target:g} s: {'met' if medians(runs)[0] < target else 'NOT met'})"
        print(f"  {name + ':':36s} {wall_cpu(runs)}{verdict}")


SIDE_STAGE = REPO / "scenarios" / "health-code-and-isolation.yaml"
BASELINE_WARM_UP = ("import sys; from simsampling import load_scenario, run_scenario; "
                    "from simsampling.experiment.warm_up import compile_engine; compile_engine(); "
                    "run_scenario(load_scenario(sys.argv[1]), engine='fast')")
"""Compiles a baseline's engine and metrics' loops, a side stage's too (a baseline's warm-up may leave it out)."""


def runs_against(baseline: Path, scenario: Path, pairs: int, scratch: Path, *options: str) -> None:
    """``simsampling run`` of ``scenario`` (with ``options``), whole processes, with ``baseline``'s package and this
    checkout's in turn (each first on PYTHONPATH, run from a folder that holds no package), alternating which goes
    first: on this machine the first of a pair ran slower (benchmarks/README.md, 2026-12-05). The ratio of each of
    ``pairs`` pairs; one more pair first, not counted, warms the files' cache."""
    envs = {"baseline": dict(os.environ, PYTHONPATH=str(baseline)), "this checkout": dict(os.environ, PYTHONPATH=str(REPO))}
    ready_baseline(baseline, scratch)
    runs: dict[str, list] = {name: [] for name in envs}
    for k in range(-1, pairs):
        for name in list(envs)[:: 1 if k % 2 == 0 else -1]:
            out = scratch / f"{scenario.stem}-{name.replace(' ', '-')}-{k}"
            timed = command_s(simsampling("run", str(scenario), *options, "--out", str(out), "--quiet"), env=envs[name],
                              cwd=scratch)
            if k >= 0:
                runs[name].append(timed)
    for name, timed in runs.items():
        print(f"  simsampling run, {name + ':':15s}     {wall_cpu(timed)}")
    for index, what in ((0, "wall"), (1, "CPU")):
        ratios = [mine[index] / base[index] for base, mine in zip(runs["baseline"], runs["this checkout"])]
        print(f"  this checkout / baseline, {what}: median of {len(ratios)} pairs {statistics.median(ratios):.3f} "
              f"(range {min(ratios):.3f}-{max(ratios):.3f})")


@functools.cache
def ready_baseline(baseline: Path, scratch: Path) -> None:
    """The baseline's bytecode compiled, and its engine and metrics' loops (``BASELINE_WARM_UP``): once a run. A package
    whose numba cache misses loops runs them as Python while they compile aside (4 s more of the Xi'an diagnosis)."""
    compileall.compile_dir(baseline / "simsampling", quiet=2)
    command_s([sys.executable, "-c", BASELINE_WARM_UP, str(SIDE_STAGE)], env=dict(os.environ, PYTHONPATH=str(baseline)),
              cwd=scratch)


def walk_in_part(repeats: int) -> None:
    print("\nwalk-in tandem (run_scenario, fast engine, in process; 10 runs a repeat)")
    for walk_ins in (6_000, 100_000):
        for roster in (2 * walk_ins, 1_000_000):
            scenario, _, _ = tandem_scenario(walk_ins, 0.8)
            point = scenario.points[0].model_copy(update={"population": roster})
            scenario = scenario.model_copy(update={"points": [point]})
            times = [tuple(value / 10 for value in map(sum, zip(*in_process_s(scenario, 10)))) for _ in range(repeats)]
            came = run_scenario(scenario, engine="fast").summary["kpis"]["arrived"]["mean"]
            wall, cpu = medians(times)
            verdict = f" (target 1,000,000: {'met' if came / wall >= 1e6 else 'NOT met'})" if roster == 1_000_000 else ""
            print(f"  about {walk_ins:,} walk-ins a day, roster {roster:,}: {came:,.0f} came, {wall_cpu(times)}, "
                  f"{came / wall:,.0f} residents/s wall, {came / cpu:,.0f} CPU{verdict}")
            if roster == 1_000_000:
                print(f"    of which the draws (draw_residents, least CPU of 20): {draws_cpu_s(scenario) * 1e3:.2f} ms")


def draws_cpu_s(scenario) -> float:
    """The least CPU time of 20 draws of the scenario's first point (what scales with the residents who come)."""
    times = []
    for _ in range(20):
        started = time.process_time()
        draw_residents(scenario, scenario.points[0], 0)
        times.append(time.process_time() - started)
    return min(times)


def xian_part(repeats: int, scratch: Path, baseline: Path | None = None) -> None:
    scenario = load_scenario(CITY)
    residents = sum(point.population for point in scenario.points)
    print(f"\nXi'an round: {len(scenario.points):,} points, {residents:,} residents, --jobs 2")
    # The floor's own CPU (its workers' apart) once the workers are gone: what the main process spends meanwhile.
    floor_code = ("import resource, sys, threading; from simsampling import load_scenario, run_scenario; "
                  "run_scenario(load_scenario(sys.argv[1]), jobs=2, engine='fast'); "
                  "[t.join() for t in threading.enumerate() if t.name == 'simsampling-pool-close']; "
                  "own = resource.getrusage(resource.RUSAGE_SELF); print(own.ru_utime + own.ru_stime)")
    floor, runs, peaks, printed = [], [], [], []
    for repeat in range(repeats):  # interleaved
        floor.append(command_s([sys.executable, "-c", floor_code, str(CITY)], printed=printed))
        children = children_cpu()
        wall, _ = run_round(CITY, 2, scratch / f"xian-{repeat}", memory=False)
        runs.append((wall, children_cpu() - children))
    memory_wall, peak = run_round(CITY, 2, scratch / "xian-memory")  # apart: sampling the memory costs CPU
    peaks.append(peak)
    (floor_wall, floor_cpu), (run_wall, run_cpu) = medians(floor), medians(runs)
    print(f"  import and run_scenario (fast engine, jobs 2) only, whole process: {wall_cpu(floor)}")
    print(f"    of which its main process (imports, the scenario, merging the points' results): CPU "
          f"{median_best([float(text.split()[-1]) for text in printed])} s")
    print(f"  simsampling run, whole process:                                   {wall_cpu(runs)}")
    print(f"  peak memory of the process tree {max(peaks) / 2**20:.0f} MiB (a run of its own, sampled every 0.2 s: "
          f"{memory_wall:.3f} s with the sampling's CPU)")
    print(f"  ratio run / run_scenario only: {run_wall / floor_wall:.1f} wall, {run_cpu / floor_cpu:.1f} CPU; "
          f"target under 10 s wall: {'met' if run_wall < 10 else 'NOT met'}")
    if baseline is not None:
        runs_against(baseline, CITY, max(2, 2 * repeats), scratch, "--jobs", "2")


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
                read[table_format](file)  # untimed: the reader's own first-use set-up (pyarrow's) is not the format's
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
    parser.add_argument("--baseline", type=Path, metavar="DIR",
                        help="a folder holding another version's package (git archive main simsampling | tar -x -C DIR): "
                        "the demo and xian parts also run their scenario with it and with this checkout in turn, "
                        "alternating which goes first, and print the ratios")
    args = parser.parse_args(argv)
    parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    print(f"end to end, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: python benchmarks/end_to_end.py {' '.join(argv or sys.argv[1:])}")
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs; load average at start {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    compileall.compile_dir(REPO / "simsampling", quiet=2)  # as installed (see the docstring)
    if sys.dont_write_bytecode:
        print("PYTHONDONTWRITEBYTECODE is set: the package's bytecode was compiled first, as an install does")
    with tempfile.TemporaryDirectory(prefix="simsampling-e2e-") as folder:
        scratch = Path(folder)
        for part in parts:
            if part == "point":
                point_part(args.repeats, scratch)
            elif part == "demo":
                demo_part(args.repeats, scratch, args.baseline.resolve() if args.baseline else None)
            elif part == "walk-in":
                walk_in_part(args.repeats)
            elif part == "xian":
                xian_part(max(1, args.repeats // 3), scratch, args.baseline.resolve() if args.baseline else None)
            elif part == "formats":
                formats_part(args.repeats, scratch)
            else:
                compile_part(scratch)
    print(f"\nload average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
