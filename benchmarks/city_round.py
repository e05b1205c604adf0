"""Wall time and peak memory of a city-scale round, against the one-point textbook baseline.

    pip install -e ".[bench]"
    python benchmarks/city_round.py                       # the Xi'an round, --jobs 2
    python benchmarks/city_round.py --points 500          # a slice, for a quick look

In one run it measures:

* the baseline: residents per second of the textbook SimPy model of
  benchmarks/point_speed.py on the demo point scaled to 100,000 residents;
* the round: ``simsampling run scenarios/calibration/xian-2021-round.yaml --jobs J`` end to
  end in a subprocess (loading, simulation, metrics, every output and chart),
  its wall time, residents per second, and the peak memory of the whole
  process tree (main process and workers together, sampled every 0.2 s with
  psutil).

Targets (docs: benchmarks/README.md): the whole round in under 5 minutes on 2
cores, peak memory under 4 GB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from point_speed import scaled_scenario, textbook_dists, textbook_run  # noqa: E402

from simsampling import load_scenario  # noqa: E402
from simsampling.draws import draw_residents  # noqa: E402
from simsampling.report.scenario_yaml import scenario_files  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CITY = REPO / "scenarios" / "calibration" / "xian-2021-round.yaml"


def baseline_rate(residents: int = 100_000) -> float:
    """Residents per second of the textbook model on the scaled demo point."""
    scenario = scaled_scenario(residents)
    point = scenario.points[0]
    draws = draw_residents(scenario, point, 0)
    arrivals = draws.arrival_s.tolist()
    started = time.perf_counter()
    textbook_run(arrivals, scenario.clock.open_s, point.servers("temperature"), point.stations, textbook_dists(point), 1)
    return len(arrivals) / (time.perf_counter() - started)


def tree_memory(process: psutil.Process) -> int:
    """Memory of the process tree: the sum of proportional set sizes where the system gives them.

    PSS splits each shared page between the processes sharing it; a plain sum of RSS would
    count twice the pages a forked child (the chart drawer, report/forked.py) shares with
    its parent. Elsewhere, the sum of RSS (an over-count).
    """
    total = 0
    for proc in [process, *process.children(recursive=True)]:
        try:
            info = proc.memory_full_info() if hasattr(psutil.Process, "memory_full_info") else proc.memory_info()
            total += getattr(info, "pss", info.rss)
        except psutil.Error:
            pass
    return total


def city_scenario(points: int, scratch: Path):
    """The Xi'an round and its file, or (``points`` > 0) its first ``points`` points written to ``scratch``."""
    scenario = load_scenario(CITY)
    path = CITY
    if points:
        scenario = scenario.model_copy(update={"points": scenario.points[:points]})
        for name, text in scenario_files(scenario, "slice").items():  # a slice of many points: with its table
            (scratch / name).write_text(text, encoding="utf-8")
        path = scratch / "slice.yaml"
    return scenario, path


def run_round(scenario_path: Path, jobs: int, out: Path, engine: str | None = None, options: tuple[str, ...] = (),
              memory: bool = True) -> tuple[float, int]:
    """Wall seconds and peak memory (bytes, ``tree_memory``; 0 without ``memory``) of the whole process tree.

    ``engine`` (auto, simpy or fast) is passed as ``--engine``, None leaves the run's default;
    ``options`` are further options of ``simsampling run``. Sampling the memory costs CPU beside the
    run (``measured``): a run timed against a target is timed without it.
    """
    command = [sys.executable, "-m", "simsampling", "run", str(scenario_path), "--jobs", str(jobs), "--out", str(out), "--quiet"]
    if engine is not None:
        command += ["--engine", engine]
    command += list(options)
    elapsed, peak, code = measured(command, memory=memory, stdout=subprocess.DEVNULL)  # its engine line and folder: not figures
    if code != 0:
        raise SystemExit(f"the run failed with exit status {code}")
    return elapsed, peak


def measured(command: list[str], timeout: float | None = None, memory: bool = True, **popen) -> tuple[float, int, int | None]:
    """Run ``command``: its wall seconds, the peak memory of its process tree (``tree_memory``, sampled every
    0.2 s; 0 without ``memory``) and its exit status (None: stopped, with all its processes, after ``timeout``
    seconds). Each sample reads every process's memory map (/proc/<pid>/smaps): on the Xi'an round, about
    13 ms of CPU a sample, some 0.7 s of CPU a run on the two cores the run itself needs."""
    started = time.perf_counter()
    child = subprocess.Popen(command, **popen)
    process = psutil.Process(child.pid)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            try:
                peak = max(peak, tree_memory(process))
            except psutil.Error:
                pass
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    if memory:
        sampler.start()
    try:
        child.communicate(timeout=timeout)
        code: int | None = child.returncode
    except subprocess.TimeoutExpired:
        for proc in [*process.children(recursive=True), process]:
            try:
                proc.kill()
            except psutil.Error:
                pass
        child.wait()
        code = None
    elapsed = time.perf_counter() - started
    done.set()
    if memory:
        sampler.join()
    return elapsed, peak, code


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--points", type=int, default=0, help="run only the first N points (0: all)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as scratch:
        scenario, path = city_scenario(args.points, Path(scratch))
        residents = sum(p.population for p in scenario.points)
        stations = sum(p.stations for p in scenario.points)
        print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; psutil {psutil.__version__}")
        print(f"round: {scenario.name}: {len(scenario.points):,} points, {residents:,} residents, {stations:,} stations, "
              f"{scenario.replications} replication(s), --jobs {args.jobs}")
        rate = baseline_rate()
        print(f"baseline (textbook SimPy, one point, 100,000 residents, one core): {rate:,.0f} residents/s")
        elapsed, peak = run_round(path, args.jobs, Path(scratch) / "out")
        per_second = residents * scenario.replications / elapsed
        print(f"round end to end (charts included): {elapsed:,.1f} s wall, peak memory {peak / 2**30:.2f} GiB")
        print(f"  {per_second:,.0f} residents/s, {per_second / rate:.2f} x the one-core baseline")
        print(f"targets: under 300 s ({'met' if elapsed < 300 else 'MISSED'}), under 4 GiB ({'met' if peak < 4 * 2**30 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
