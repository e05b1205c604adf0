"""Residents simulated per second: the SimPy engine against the fast engine (model/fast/).

Run from anywhere (the scenario is found relative to this file):

    python benchmarks/engine_speed.py                      # 100,000 residents, 5 repeats
    python benchmarks/engine_speed.py --residents 20000 --repeats 3
    python benchmarks/engine_speed.py --features           # with staff breaks, balking, reneging...

Both engines get the same pre-made draws of the demo point of
``scenarios/one-point-demo.yaml`` scaled to ``--residents`` (the scaling of
``benchmarks/point_speed.py``: tents and temperature servers in proportion), and
each builds its full event log; neither computes metrics. ``--features`` adds
what phase 2 of the fast engine covers: samplers' breaks (two relief samplers
cover some), balking with returns, reneging, a green channel and disinfection.

Timed ``--repeats`` times each, interleaved; the median is reported, of the
wall-clock time and of the CPU time of the calling thread (on a shared machine
the CPU time is the steadier: it leaves out the time other processes held the
CPU). The fast engine's one-off compilation (or loading it from numba's cache)
is timed apart and excluded.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import simpy

sys.path.insert(0, str(Path(__file__).resolve().parent))
from point_speed import scaled_scenario  # noqa: E402

from simsampling.draws import draw_residents  # noqa: E402
from simsampling.model import simulate_point  # noqa: E402
from simsampling.model.fast import JIT, fast_scope, simulate_point_fast  # noqa: E402
from simsampling.scenario import validate_scenario  # noqa: E402


def timed(fn, *args):
    wall, cpu = time.perf_counter(), time.thread_time()
    result = fn(*args)
    return time.perf_counter() - wall, time.thread_time() - cpu, result


def with_features(scenario):
    """The scenario with the phase-2 features on its point: breaks, balking, reneging, green channel, disinfection."""
    data = scenario.model_dump(mode="json", exclude_none=True)
    point = data["points"][0]
    point["staff"] = {"relief": 2, "breaks": {"every_min": 120, "length_min": 15, "stagger_min": 1}}
    point["balking"] = {"threshold": {"dist": "uniform", "low": 20, "high": 1000}, "return_share": 0.5,
                        "return_after_min": {"dist": "fixed", "value": 60}}
    point["reneging"] = {"patience_min": {"dist": "uniform", "low": 10, "high": 60}}
    point["green_channel"] = {"share": 0.1, "channel": "priority", "service_factor": 1.5}
    point["stages"]["swab"]["disinfection_s"] = {"dist": "fixed", "value": 5}
    return validate_scenario(data)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=100_000, help="population of the scaled point (default 100000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each engine; the median is reported (default 5)")
    parser.add_argument("--features", action="store_true", help="add breaks, balking, reneging, a green channel and disinfection")
    args = parser.parse_args(argv)
    if args.residents < 1 or args.repeats < 1:
        parser.error("--residents and --repeats must be at least 1")

    try:
        import numba

        compiler = f"numba {numba.__version__}" if JIT else "numba missing: plain Python"
    except ImportError:
        compiler = "numba missing: plain Python"
    print(f"Python {platform.python_version()} ({platform.python_implementation()}), SimPy {simpy.__version__}, "
          f"numpy {np.__version__}, {compiler}")
    print(f"CPUs: {os.cpu_count()}; {platform.machine()} {platform.system()}; processor: {platform.processor() or 'unknown'}; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    prepare = with_features if args.features else (lambda scenario: scenario)
    scenario = prepare(scaled_scenario(args.residents))
    point = scenario.points[0]
    reason = fast_scope(point, scenario)
    if reason is not None:
        print(f"the fast engine cannot run this point: {reason}")
        return 1
    hours = scenario.hours
    draws = draw_residents(scenario, point, 0)
    print(f"point: population {point.population}, {point.stations} stations, temperature servers "
          f"{point.servers('temperature')}, registration {point.stages.registration.servers}, queue {point.queue}"
          + ("; breaks, balking, reneging, green channel, disinfection" if args.features else ""))

    small = prepare(scaled_scenario(2600))
    seconds, _, _ = timed(simulate_point_fast, small.points[0], small.hours, draw_residents(small, small.points[0], 0))
    print(f"fast engine compilation or cache load (first call, excluded): {seconds:.2f} s")
    print(f"repeats: {args.repeats} of each, interleaved; seconds are medians (best in brackets)")
    print()

    names = ("SimPy engine (simulate_point)", "fast engine (simulate_point_fast)")
    wall = {name: [] for name in names}
    cpu = {name: [] for name in names}
    ref = fast = None
    for _ in range(args.repeats):
        for name, fn in zip(names, (simulate_point, simulate_point_fast)):
            w, c, log = timed(fn, point, hours, draws, 0)
            wall[name].append(w)
            cpu[name].append(c)
            if fn is simulate_point:
                ref = log
            else:
                fast = log

    residents = draws.count
    width = max(len(name) for name in names)
    print(f"{'engine':<{width}}  {'residents':>9}  {'wall seconds':>17}  {'CPU seconds':>17}  {'residents/s (wall)':>18}")
    for name in names:
        w = f"{statistics.median(wall[name]):.4f} ({min(wall[name]):.4f})"
        c = f"{statistics.median(cpu[name]):.4f} ({min(cpu[name]):.4f})"
        print(f"{name:<{width}}  {residents:>9}  {w:>17}  {c:>17}  {residents / statistics.median(wall[name]):>18,.0f}")
    ratio = {kind: statistics.median(times[names[0]]) / statistics.median(times[names[1]]) for kind, times in (("wall", wall), ("CPU", cpu))}
    print()
    print(f"ratio fast/SimPy in residents per second: {ratio['wall']:.1f} (wall-clock medians), {ratio['CPU']:.1f} (CPU-time medians)")
    print()

    same = all(np.array_equal(fast.start[s], ref.start[s], equal_nan=True) and np.array_equal(fast.end[s], ref.end[s], equal_nan=True) for s in ref.stages)
    same = same and np.array_equal(fast.station, ref.station) and np.array_equal(fast.arrival_s, ref.arrival_s)
    same = same and np.array_equal(fast.left, ref.left) and np.array_equal(fast.left_s, ref.left_s, equal_nan=True)
    same = same and all(np.array_equal(getattr(fast.closures, f), getattr(ref.closures, f)) for f in ("role", "slot", "start_s", "end_s"))
    print("sanity (untimed): residents swabbed, balked, reneged, closures, last swab (s since midnight), every timestamp bit-identical")
    for label, log in (("SimPy", ref), ("fast", fast)):
        print(f"  {label + ':':<6} {log.sampled:>8} {int(log.balked.sum()):>7} {int(log.reneged.sum()):>7} {log.closures.role.size:>8}  "
              f"{log.last_swab_s:.6f}" + ("" if log is ref else f"  {'yes' if same else 'NO'}"))
    return 0 if same and fast.last_swab_s == ref.last_swab_s else 1


if __name__ == "__main__":
    sys.exit(main())
