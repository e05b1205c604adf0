"""What a city round costs around its simulation: the workers' start, then the diagnosis and the results folder.

    pip install -e ".[bench]"
    python benchmarks/city_overheads.py                       # every part, 3 repeats
    python benchmarks/city_overheads.py --parts after --repeats 2
    PYTHONPATH=<another version's checkout> python benchmarks/city_overheads.py --parts after   # the same, on it
    python benchmarks/city_overheads.py --parts diagnose --result /tmp/xian.pkl --against <main's package> --repeats 3

Parts, on the Xi'an round (scenarios/calibration/xian-2021-round.yaml, 4,485 points):

* ``start``: two local workers (``executors.run_batches``, ``--jobs 2``) handed the round's shared object,
  each simulating one point; forked and spawned alternately (``executors.START_METHOD``). Printed: the
  wall time until both points are back, the CPU of the workers, and that of this process loading numba's
  code before forking (``replicate.load_engines``). Needs a version with ``START_METHOD``.
* ``after``: the round simulated once here (``run_scenario``, ``--jobs 2``; or read from ``--result FILE``, where the
  first use writes it: another version with the same result classes can then time the same part), then, each repeat, what
  ``simsampling run`` does after it: the diagnosis (``run_advice``) and the results folder with its charts
  (``report.results_writer`` where the version has it: the tables that need no advice written aside
  meanwhile; else ``write_results``), with the collector as in the command's process where the version has
  it (``collector.for_a_command``'s thresholds, the run's results frozen by ``kept_frozen``: without them, a
  collection walking the round's results adds up to half a second to the main process). Printed: wall, and CPU of this process and of its children. The
  first repeat is the one a run makes: in a version that writes points.csv through polars, that loads polars
  here, after which the tables are no longer written aside (``report.tables_aside``), which later repeats say.

* ``merge``: the main process's share of a run while its workers simulate: the first ``--points`` points
  simulated once here in batches of 250 (``replicate._run_batch``), pickled as workers send them, then fed to ``run_scenario`` in place
  of its workers (``replicate._execute``). Printed: CPU a point of pickling the batches (a worker's share), of unpickling them, and of
  ``run_scenario`` with it (the merging of tallies, KPIs, series and wait counts).
* ``diagnosis``: the round simulated once here, then ``run_advice`` on it, each repeat (the first repeat
  also loads numba's code for the checks by simulation, which a run has loaded before its workers fork).
* ``diagnose``: the round's result as ``after`` takes it (``--result FILE``), then ``advice.diagnosis.diagnose`` alone,
  each repeat: CPU of this process, with the checks by simulation and without (the fluid headrooms and every point's
  evidence: what a version's diagnosis computes itself), the result frozen as a run freezes it
  (``collector.kept_frozen``). With ``--against DIR`` (another version's package, e.g. exported with ``git archive``),
  each of ``--pairs`` pairs runs the part in a child process for this checkout, then one with DIR first on
  ``PYTHONPATH``, on the same result: alternating, so that both see the same load.

On a shared machine read the CPU seconds; wall times are the two cores' when they are idle.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
CITY = ROOT / "scenarios" / "calibration" / "xian-2021-round.yaml"
PARTS = ("start", "after", "merge", "diagnosis", "diagnose")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def join_pool_closing() -> None:
    """Wait for the threads that close local worker pools (their workers' CPU is counted once reaped)."""
    for thread in threading.enumerate():
        if thread.name == "simsampling-pool-close":
            thread.join()


def first_points(shared, batch: list) -> list:
    from simsampling.experiment.replicate import simulate_task

    return [simulate_task(shared.scenario, 0, index, shared.step_s, keep_log=False, engine="fast").point_id
            for index in batch]


def kept_timelines(replicate, scenario) -> tuple:
    """``_Shared``'s last field where the version has it: whether the run keeps its points' timelines whole."""
    return (replicate.full_timelines(scenario),) if hasattr(replicate, "full_timelines") else ()


def start_part(scenario, repeats: int) -> None:
    from simsampling.experiment import executors, replicate
    from simsampling.experiment.replicate import _Shared, load_engines, plan_engines, series_step_s

    if not hasattr(executors, "START_METHOD"):
        print("\nworkers' start: this version spawns its workers only (no START_METHOD); skipped")
        return
    engines = plan_engines(scenario, "fast").engines
    shared = _Shared(scenario, series_step_s(scenario), False, engines, *kept_timelines(replicate, scenario))
    print("\nworkers' start: two workers, one Xi'an point each (wall until back; CPU of the workers; this process)")
    for _ in range(repeats):
        for method in ("spawn", "fork"):
            executors.START_METHOD = method
            loading = time.process_time()
            if method == "fork":
                load_engines(scenario, engines)  # as run_scenario does before forking
            loading = time.process_time() - loading
            before, started = children_cpu(), time.perf_counter()
            list(executors.run_batches(first_points, shared, [[0], [1]], executor="processes", jobs=2))
            wall = time.perf_counter() - started
            join_pool_closing()
            print(f"  {method:5s}: {wall:6.2f} s wall, workers' CPU {children_cpu() - before:5.2f} s, "
                  f"loading the engine here {loading:4.2f} s", flush=True)


def round_result(scenario, pickled: Optional[Path]):
    """The round simulated here (``--jobs 2``), or its result read from ``pickled`` (written there first if it is
    not there yet, with the same package's classes): the parts after the simulation, without simulating again.
    A result read has numba's code of the checks by simulation loaded first, as a run has."""
    import pickle

    from simsampling.experiment import replicate, run_scenario

    if pickled is not None and pickled.exists():
        with pickled.open("rb") as handle:
            result = pickle.load(handle)
        if hasattr(replicate, "load_engines"):
            replicate.load_engines(scenario, replicate.plan_engines(scenario, "fast").engines)
        return result
    result = run_scenario(scenario, jobs=2, engine="fast")
    if pickled is not None:
        with pickled.open("wb") as handle:
            pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)
    return result


def after_part(scenario, repeats: int, scratch: Path, pickled: Optional[Path] = None) -> None:
    import simsampling.report as report
    from simsampling.advice import run_advice

    import contextlib

    from simsampling import collector

    print("\nafter the simulation: the diagnosis and the results folder (charts included)")
    result = round_result(scenario, pickled)
    join_pool_closing()  # the run's workers are reaped before the first repeat is timed, not during it
    # The collector as in a command's process, where the version has it: its thresholds, the run's results frozen.
    getattr(collector, "for_a_command", lambda: None)()
    frozen = getattr(collector, "kept_frozen", contextlib.nullcontext)
    for repeat in range(repeats):
        out = scratch / f"after-{repeat}"
        wall, mine, theirs = time.perf_counter(), time.process_time(), children_cpu()
        if hasattr(report, "results_writer"):
            with frozen(), report.results_writer(result, out) as finish:
                finish(run_advice(result))
        else:
            report.write_results(result, out, advice=run_advice(result))
        inline = " (tables written here: this process has loaded polars)" if (
            hasattr(report, "tables_aside") and not report.tables_aside(result)) else ""
        print(f"  {time.perf_counter() - wall:6.2f} s wall, CPU here {time.process_time() - mine:5.2f} s, "
              f"children {children_cpu() - theirs:5.2f} s{inline}", flush=True)
        shutil.rmtree(out)


def merge_part(scenario, repeats: int, points: int) -> None:
    import statistics
    from multiprocessing.reduction import ForkingPickler

    from simsampling.experiment import replicate

    scenario = scenario.model_copy(update={"points": scenario.points[:points]})
    step_s = 15 * 60.0  # a city's series step (``series_step_s`` of the whole round)
    # As a worker hands back a batch: ``_run_batch``'s results, pickled as the pool's pipe does (ForkingPickler).
    shared = replicate._Shared(scenario, step_s, False, ("fast",) * points, *kept_timelines(replicate, scenario))
    results = [replicate._run_batch(shared, [(0, index) for index in range(start, min(start + 250, points))])
               for start in range(0, points, 250)]
    batches = [ForkingPickler.dumps(runs) for runs in results]
    simulate, series_step_s = replicate._execute, replicate.series_step_s
    replicate._execute = lambda *args, **kwargs: (run for batch in batches for run in ForkingPickler.loads(batch))
    replicate.series_step_s = lambda scenario: step_s
    pickled, unpickled, merged = [], [], []
    try:
        for _ in range(repeats):
            started = time.process_time()
            for runs in results:
                ForkingPickler.dumps(runs)
            pickled.append(time.process_time() - started)
            started = time.process_time()
            for batch in batches:
                ForkingPickler.loads(batch)
            unpickled.append(time.process_time() - started)
            started = time.process_time()
            replicate.run_scenario(scenario, engine="fast")
            merged.append(time.process_time() - started)
    finally:
        replicate._execute, replicate.series_step_s = simulate, series_step_s
    print(f"\nmerging {points:,} points' results in the main process ({sum(map(len, batches)) / points / 1024:.0f} KiB a point "
          f"pickled), CPU, median of {repeats}: pickling (a worker's) {statistics.median(pickled) / points * 1e3:.3f} ms a point, unpickling {statistics.median(unpickled) / points * 1e3:.3f} ms a point, "
          f"run_scenario with it {statistics.median(merged) / points * 1e3:.3f} ms a point")


def diagnosis_part(scenario, repeats: int) -> None:
    from simsampling.advice import run_advice
    from simsampling.experiment import run_scenario

    result = run_scenario(scenario, jobs=2, engine="fast")
    join_pool_closing()
    result.summary  # noqa: B018 - a run has made it (and every point's flow) before it is diagnosed
    print("\nthe diagnosis (run_advice) of the round, CPU of this process")
    for _ in range(repeats):
        started = time.process_time()
        run_advice(result)
        print(f"  {time.process_time() - started:5.2f} s", flush=True)


def diagnose_part(scenario, repeats: int, pickled: Optional[Path]) -> None:
    import statistics

    from simsampling.advice.diagnosis import diagnose

    result = round_result(scenario, pickled)
    if not repeats:  # the result written to --result only
        return
    join_pool_closing()
    result.summary  # noqa: B018 - a run has made it before it is diagnosed
    diagnose(result)  # the first call loads what later ones share (the checks' engine, modules)
    times: dict[str, list[float]] = {"with checks by simulation": [], "without": []}
    import contextlib

    from simsampling import collector  # a run diagnoses with its results frozen (kept_frozen), where the version does
    with getattr(collector, "kept_frozen", contextlib.nullcontext)():
        for _ in range(repeats):
            for checks, name in ((True, "with checks by simulation"), (False, "without")):
                started = time.process_time()
                diagnose(result, check_by_simulation=checks)
                times[name].append(time.process_time() - started)
    print(f"\ndiagnose of the round, CPU of this process, {repeats} repeat(s) after one not timed:")
    for name, values in times.items():
        print(f"  {name:<26} median {statistics.median(values):5.3f} s  (" + ", ".join(f"{v:.3f}" for v in values) + ")",
              flush=True)


def against_part(argv: list, against: Path, pairs: int, pickled: Path) -> None:
    """The ``diagnose`` part in child processes, this checkout then ``against``, ``pairs`` times."""
    import subprocess

    if not pickled.exists():  # simulated once, by this checkout, before the pairs
        subprocess.run([sys.executable, __file__, "--parts", "diagnose", "--repeats", "0", "--result", str(pickled)],
                       check=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=tempfile.gettempdir())
    for pair in range(pairs):
        for package in (ROOT, against):
            print(f"\npair {pair + 1}, {time.strftime('%H:%M:%S', time.gmtime())} UTC, load average "
                  f"{os.getloadavg()[0]:.2f}", flush=True)
            subprocess.run([sys.executable, __file__, *argv], check=True, cwd=tempfile.gettempdir(),
                           env={**os.environ, "PYTHONPATH": str(package)})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of {', '.join(PARTS)}")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--points", type=int, default=800, help="points simulated for the merge part")
    parser.add_argument("--result", type=Path, help="the after and diagnose parts: the round's result pickled in this "
                        "file (simulated and written there first when it is not there yet)")
    parser.add_argument("--against", type=Path, help="the diagnose part: alternate with the package in this folder")
    parser.add_argument("--pairs", type=int, default=2, help="with --against: pairs of child processes")
    args = parser.parse_args(argv)
    parts = [part for part in args.parts.split(",") if part]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown parts: {', '.join(unknown)}")
    if args.against is not None:
        if parts != ["diagnose"] or args.result is None:
            parser.error("--against times the diagnose part alone, on a --result FILE")
        against_part(["--parts", "diagnose", "--repeats", str(args.repeats), "--result", str(args.result.resolve())],
                     args.against.resolve(), args.pairs, args.result.resolve())
        return 0
    import simsampling
    from simsampling.scenario import load_scenario

    print(f"simsampling from {Path(simsampling.__file__).parent}; Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs; load average at start {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    scenario = load_scenario(CITY)
    with tempfile.TemporaryDirectory(prefix="city-overheads-") as scratch:
        if "start" in parts:
            start_part(scenario, args.repeats)
        if "after" in parts:
            after_part(scenario, args.repeats, Path(scratch), args.result)
        if "merge" in parts:
            merge_part(scenario, args.repeats, args.points)
        if "diagnosis" in parts:
            diagnosis_part(scenario, args.repeats)
        if "diagnose" in parts:
            diagnose_part(scenario, args.repeats, args.result)
    print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
