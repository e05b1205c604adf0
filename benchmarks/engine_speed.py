"""Residents simulated per second: the SimPy engine against the fast engine (model/fast.py).

Run from anywhere (the scenario is found relative to this file):

    python benchmarks/engine_speed.py                      # 100,000 residents, 5 repeats
    python benchmarks/engine_speed.py --residents 20000 --repeats 3

Both engines get the same pre-made draws of the demo point of
``scenarios/one-point-demo.yaml`` scaled to ``--residents`` (the scaling of
``benchmarks/point_speed.py``: tents and temperature servers in proportion), and
each builds its full event log; neither computes metrics. Timed ``--repeats``
times each, interleaved; the median is reported. The fast engine's one-off
compilation (or loading it from numba's cache) is timed apart and excluded.
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


def timed(fn, *args):
    started = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - started, result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=100_000, help="population of the scaled point (default 100000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each engine; the median is reported (default 5)")
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
    print(f"CPUs: {os.cpu_count()}; {platform.machine()} {platform.system()}; processor: {platform.processor() or 'unknown'}")

    scenario = scaled_scenario(args.residents)
    point = scenario.points[0]
    reason = fast_scope(point, scenario)
    if reason is not None:
        print(f"the fast engine cannot run this point: {reason}")
        return 1
    hours = scenario.hours
    draws = draw_residents(scenario, point, 0)
    print(f"point: population {point.population}, {point.stations} stations, temperature servers "
          f"{point.servers('temperature')}, registration {point.stages.registration.servers}, queue {point.queue}")

    seconds, _ = timed(simulate_point_fast, point, hours, draw_residents(scaled_scenario(2600), scaled_scenario(2600).points[0], 0))
    print(f"fast engine compilation or cache load (first call, excluded): {seconds:.2f} s")
    print(f"repeats: {args.repeats} of each, interleaved; seconds are the median (best in brackets)")
    print()

    times = {"SimPy engine (simulate_point)": [], "fast engine (simulate_point_fast)": []}
    ref = fast = None
    for _ in range(args.repeats):
        seconds, ref = timed(simulate_point, point, hours, draws, 0)
        times["SimPy engine (simulate_point)"].append(seconds)
        seconds, fast = timed(simulate_point_fast, point, hours, draws, 0)
        times["fast engine (simulate_point_fast)"].append(seconds)

    admitted = int(ref.served.sum())
    width = max(len(name) for name in times)
    print(f"{'engine':<{width}}  {'residents':>9}  {'seconds':>16}  {'residents/s':>12}")
    median = {}
    for name, values in times.items():
        median[name] = statistics.median(values)
        secs = f"{median[name]:.4f} ({min(values):.4f})"
        print(f"{name:<{width}}  {admitted:>9}  {secs:>16}  {admitted / median[name]:>12,.0f}")
    ratio = median["SimPy engine (simulate_point)"] / median["fast engine (simulate_point_fast)"]
    print()
    print(f"ratio fast/SimPy in residents per second: {ratio:.1f}")
    print()

    same = all(np.array_equal(fast.start[s], ref.start[s], equal_nan=True) and np.array_equal(fast.end[s], ref.end[s], equal_nan=True) for s in ref.stages)
    same = same and np.array_equal(fast.station, ref.station) and np.array_equal(fast.arrival_s, ref.arrival_s)
    print("sanity (untimed): residents swabbed, last swab (s since midnight), every timestamp bit-identical")
    print(f"  SimPy: {ref.sampled:>8}  {ref.last_swab_s:.6f}")
    print(f"  fast:  {fast.sampled:>8}  {fast.last_swab_s:.6f}  {'yes' if same else 'NO'}")
    return 0 if same and fast.last_swab_s == ref.last_swab_s else 1


if __name__ == "__main__":
    sys.exit(main())
