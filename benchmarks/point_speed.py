"""Residents simulated per second: our point model against a textbook SimPy model.

Run from anywhere (the scenario is found relative to this file):

    python benchmarks/point_speed.py                      # 100,000 residents, 5 repeats
    python benchmarks/point_speed.py --residents 20000 --repeats 3

Both models see the same load: the demo point of ``scenarios/one-point-demo.yaml``
scaled to ``--residents`` (tents and temperature servers scaled in proportion,
so utilisation stays about that of the demo), and the same arrival times, taken
from ``simsampling.draws.draw_residents``.

Measured, each ``--repeats`` times (interleaved), median reported:

* ours, end to end: ``simsampling.experiment.simulate_task(..., engine="simpy")`` (draws + SimPy
  model + metrics), i.e. what one task of a run costs;
* ours, SimPy only: ``simsampling.model.simulate_point`` given pre-made draws
  (builds the event log, no metrics);
* textbook: the classic SimPy-tutorial model, a source process and one process
  per resident doing ``with resource.request() as req: yield req; yield
  env.timeout(random draw)`` per stage, service times drawn per event with
  Python's ``random`` from the same distributions, timestamps appended to a
  list of tuples. Arrival times are given to it (not timed); everything else is.

The textbook model is simpler than ours: registration is a plain pool of
registrars (one per station) in its own line, so a registered resident does
not hold a registrar while waiting for a swab station (no paired-registrar
blocking), and there is no event log or metrics. The target is that ours is at
least as fast per resident (ratio ours/textbook >= 1).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Optional

import numpy as np
import simpy

from simsampling.draws import draw_residents
from simsampling.experiment import simulate_task
from simsampling.metrics import MINUTE
from simsampling.model import simulate_point
from simsampling.scenario import load_scenario
from simsampling.scenario.distributions import Exponential, Fixed, Lognormal, Triangular, Uniform

REPO = Path(__file__).resolve().parent.parent
SCENARIO = REPO / "scenarios" / "one-point-demo.yaml"


# --------------------------------------------------------------------------- setup


def scaled_scenario(residents: int):
    """The demo scenario with its point scaled to ``residents`` (servers in proportion)."""
    scenario = load_scenario(SCENARIO)
    point = scenario.points[0]
    factor = residents / point.population

    def scale(count: int) -> int:
        return max(1, round(count * factor))

    stages = point.stages
    update = {}
    if stages.temperature is not None:
        update["temperature"] = stages.temperature.model_copy(update={"servers": scale(stages.temperature.servers)})
    if stages.registration is not None and stages.registration.servers != "per_tent":
        update["registration"] = stages.registration.model_copy(
            update={"servers": scale(stages.registration.servers)}
        )
    if stages.swab.servers != "per_tent":
        update["swab"] = stages.swab.model_copy(update={"servers": scale(stages.swab.servers)})
    point = point.model_copy(
        update={"population": residents, "tents": scale(point.tents), "stages": stages.model_copy(update=update)}
    )
    return scenario.model_copy(update={"points": [point]})


def textbook_dists(point) -> dict:
    """The point's service-time distributions, as the textbook model takes them."""
    stages = point.stages
    return {
        "temperature": stages.temperature.service_s,
        "qr": stages.registration.service_s.qr,
        "manual": stages.registration.service_s.manual,
        "qr_share": stages.registration.qr_share,
        "swab": stages.swab.service_s,
    }


def python_sampler(dist, rnd: random.Random):
    """A zero-argument callable drawing ``dist`` with Python's ``random`` (one call per event)."""
    if isinstance(dist, Lognormal):
        sigma2 = math.log1p((dist.sd / dist.mean) ** 2)
        mu, sigma = math.log(dist.mean) - sigma2 / 2.0, math.sqrt(sigma2)
        return lambda: rnd.lognormvariate(mu, sigma)
    if isinstance(dist, Triangular):
        low, high, mode = dist.low, dist.high, dist.mode
        return lambda: rnd.triangular(low, high, mode)  # note: random's order is (low, high, mode)
    if isinstance(dist, Exponential):
        rate = 1.0 / dist.mean
        return lambda: rnd.expovariate(rate)
    if isinstance(dist, Uniform):
        low, high = dist.low, dist.high
        return lambda: rnd.uniform(low, high)
    if isinstance(dist, Fixed):
        value = float(dist.value)
        return lambda: value
    raise TypeError(f"textbook model does not support {dist!r}")


# --------------------------------------------------------------------------- textbook model


def textbook_run(arrivals: list[float], open_s: float, temp_servers: int, stations: int, dists: dict, seed: int,
                 desks: Optional[int] = None):
    """The SimPy-tutorial model: temperature -> registration -> swab, one shared line each.

    Registration has one registrar per station, or ``desks`` desks. Residents arriving
    before opening wait at the gate until it opens.
    Returns the log: a list of (resident, stage, start, end) tuples.
    """
    rnd = random.Random(seed)
    temperature_time = python_sampler(dists["temperature"], rnd)
    qr_time = python_sampler(dists["qr"], rnd)
    manual_time = python_sampler(dists["manual"], rnd)
    swab_time = python_sampler(dists["swab"], rnd)
    qr_share = dists["qr_share"]

    env = simpy.Environment(initial_time=min(open_s, arrivals[0]) if arrivals else open_s)
    temperature = simpy.Resource(env, capacity=temp_servers)
    registration = simpy.Resource(env, capacity=stations if desks is None else desks)
    swab = simpy.Resource(env, capacity=stations)  # one sampler per station
    log = []

    def resident(env, name):
        with temperature.request() as req:
            yield req
            start = env.now
            yield env.timeout(temperature_time())
            log.append((name, "temperature", start, env.now))
        with registration.request() as req:
            yield req
            start = env.now
            yield env.timeout(qr_time() if rnd.random() < qr_share else manual_time())
            log.append((name, "registration", start, env.now))
        with swab.request() as req:
            yield req
            start = env.now
            yield env.timeout(swab_time())
            log.append((name, "swab", start, env.now))

    def source(env):
        for i, arrival in enumerate(arrivals):
            yield env.timeout(max(arrival, open_s) - env.now)
            env.process(resident(env, i))

    env.process(source(env))
    env.run()
    return log


# --------------------------------------------------------------------------- measurement


def timed(fn, *args):
    started = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - started, result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=100_000, help="population of the scaled point (default 100000)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each model; the median is reported (default 5)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the textbook model's random module")
    args = parser.parse_args(argv)
    if args.residents < 1 or args.repeats < 1:
        parser.error("--residents and --repeats must be at least 1")

    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        affinity = os.cpu_count()
    print(f"Python {platform.python_version()} ({platform.python_implementation()}), "
          f"SimPy {simpy.__version__}, numpy {np.__version__}")
    print(f"CPUs: {os.cpu_count()} (usable by this process: {affinity}); {platform.machine()} {platform.system()}")
    print(f"processor: {platform.processor() or 'unknown'}")

    scenario = scaled_scenario(args.residents)
    point = scenario.points[0]
    clock = scenario.clock
    temp_servers = point.servers("temperature")
    stations = point.stations
    dists = textbook_dists(point)
    print(f"point: population {point.population}, {point.tents} tents ({stations} stations), "
          f"temperature servers {temp_servers}, registration {point.stages.registration.servers}, queue {point.queue}")

    draws = draw_residents(scenario, point, 0)
    admitted = int(np.searchsorted(draws.arrival_s, clock.close_s, side="right"))
    arrivals = draws.arrival_s[:admitted].tolist()
    print(f"residents who came: {draws.count}, admitted before closing (simulated by both models): {admitted}")
    print(f"repeats: {args.repeats} of each, interleaved; seconds are the median (best in brackets)")
    print()

    # Warm-up (imports, caches) on a small copy, untimed.
    small = scaled_scenario(2600)
    simulate_task(small, 0, 0, engine="simpy")
    small_draws = draw_residents(small, small.points[0], 0)
    textbook_run(small_draws.arrival_s.tolist()[:100], clock.open_s, 1, 4, dists, args.seed)

    times = {"ours, end to end (simulate_task)": [], "ours, SimPy only (simulate_point)": [], "textbook SimPy": []}
    ours_log = text_log = None
    for _ in range(args.repeats):
        seconds, run = timed(simulate_task, scenario, 0, 0, MINUTE, True, "simpy")
        times["ours, end to end (simulate_task)"].append(seconds)
        seconds, ours_log = timed(simulate_point, point, clock, draws, 0)
        times["ours, SimPy only (simulate_point)"].append(seconds)
        seconds, text_log = timed(textbook_run, arrivals, clock.open_s, temp_servers, stations, dists, args.seed)
        times["textbook SimPy"].append(seconds)
        del run

    median = {name: statistics.median(values) for name, values in times.items()}
    width = max(len(name) for name in times)
    print(f"{'model':<{width}}  {'residents':>9}  {'seconds':>16}  {'residents/s':>11}")
    for name, values in times.items():
        secs = f"{median[name]:.3f} ({min(values):.3f})"
        print(f"{name:<{width}}  {admitted:>9}  {secs:>16}  {admitted / median[name]:>11,.0f}")
    print()
    text = median["textbook SimPy"]
    e2e = text / median["ours, end to end (simulate_task)"]
    simpy_only = text / median["ours, SimPy only (simulate_point)"]
    print("ratio ours/textbook in residents per second (>= 1.00 means ours is at least as fast):")
    print(f"  end to end: {e2e:.2f}    SimPy only: {simpy_only:.2f}")
    print()

    # Sanity check, untimed: both models carried a comparable load.
    ours_stay = (ours_log.end["swab"] - ours_log.arrival_s)[ours_log.served]
    swab_end = {name: end for name, stage, _start, end in text_log if stage == "swab"}
    text_stay = np.array([swab_end[i] - arrivals[i] for i in range(admitted)])
    print("sanity (untimed): residents swabbed, mean arrival-to-swab-end (min), last swab")
    print(f"  ours:     {ours_log.sampled:>7}  {ours_stay.mean() / 60:6.1f}  {_hhmm(ours_log.last_swab_s)}")
    print(f"  textbook: {len(swab_end):>7}  {text_stay.mean() / 60:6.1f}  {_hhmm(max(swab_end.values()))}")
    print("note: the textbook model is simpler than ours (a plain registrar pool, no paired-registrar")
    print("      blocking while a resident waits for a swab station; no event-log arrays, no metrics).")
    return 0


def _hhmm(seconds: float) -> str:
    minutes = int(round(seconds / 60))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


if __name__ == "__main__":
    sys.exit(main())
