"""Speed record: residents per second of four simulators on one tandem model, and the Xi'an round per engine.

    pip install -e ".[bench,test]"          # psutil (bench) and Ciw (test)
    python benchmarks/speed_record.py                                   # the record (minutes: see benchmarks/README.md)
    python benchmarks/speed_record.py --residents 20000 --points 300 --skip-simpy-city   # a quick look

Part 1, the tandem: one point, three FIFO multi-server stages in series with unlimited
lines: temperature check (a pool of servers) -> registration at separate desks (one shared
line) -> swab at stations (one shared line). Walk-ins (a Poisson stream) over one 12-hour
opening period, about ``--residents`` of them; the service-time distributions of
``scenarios/one-point-demo.yaml``; server counts chosen so that each stage runs at about
``--utilisation``. Four simulators run it, each timed ``--repeats`` times, interleaved
(wall clock and CPU time of this thread; medians):

* textbook SimPy: the SimPy-tutorial model of point_speed.py (``textbook_run`` with desks; three ``simpy.Resource`` pools, one
  process per resident, service times drawn per event with Python's ``random``), given the
  arrival times;
* our SimPy engine, ``simsampling.model.simulate_point``, and our fast engine,
  ``simsampling.model.fast.simulate_point_fast``, on the same draws of
  ``simsampling.draws.draw_residents`` (made beforehand, untimed); the fast engine's
  compilation or cache load is timed apart and excluded;
* Ciw (the peer library): ``ciw.create_network`` with the same three stages, fed the same
  draws through ``ciw.dists.Distribution`` subclasses (resident k's own times), on the first
  ``--ciw-residents`` residents only (Ciw is slow): rates are per resident.

Part 2, the Xi'an-scale round (11.58 million residents, 4,485 points):
``simsampling run scenarios/calibration/xian-2021-round.yaml --jobs 2 --engine fast|simpy --no-persons`` end
to end in a subprocess (benchmarks/city_round.py's runner; ``--no-persons`` is the run's default
at this size, given so that a ``--points`` slice does the same work per resident): wall time,
CPU time of the process tree and its peak memory (proportional set sizes, summed).

Targets (benchmarks/README.md): the fast engine at least 100 times our SimPy engine's
residents per second on the tandem; the Xi'an round in under 30 s with the fast engine.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import math
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _missing(module: str, how: str) -> None:
    print(f"speed_record.py: cannot import {module}; install it with: {how}", file=sys.stderr)
    raise SystemExit(2)


try:
    import numpy as np
    import simpy

    import simsampling  # noqa: F401
except ImportError as error:
    _missing(error.name or "simsampling", 'pip install -e .   (from the repository root)')

from engine_speed import timed  # noqa: E402  (wall seconds, CPU seconds of this thread, result)
from point_speed import SCENARIO as DEMO, textbook_dists, textbook_run  # noqa: E402

from simsampling.draws import draw_residents  # noqa: E402
from simsampling.model import simulate_point  # noqa: E402
from simsampling.model.fast import JIT, simulate_point_fast  # noqa: E402
from simsampling.scenario import load_scenario, validate_scenario  # noqa: E402

OPEN, CLOSE = "08:00", "20:00"  # one opening period of 12 hours
TARGET_RATIO = 100.0  # fast engine / our SimPy engine, residents per second
TARGET_CITY_S = 30.0  # the Xi'an round with the fast engine, wall seconds
STARTED = time.perf_counter()
FAST_INNER = 5  # the fast engine is timed this many times per repeat (each run recorded): it takes milliseconds


# --------------------------------------------------------------------------- the tandem


def tandem_scenario(residents: int, utilisation: float):
    """One walk-in point: temperature pool -> registration desks -> swab stations, about ``residents`` walk-ins.

    Service times are the demo point's; each stage gets the fewest servers that keep its
    utilisation (arrival rate x mean service / servers) at or below ``utilisation``.
    """
    demo = load_scenario(DEMO).points[0].stages
    dump = lambda dist: dist.model_dump(mode="json", exclude_none=True)  # noqa: E731
    hours = 12.0
    rate_s = residents / (hours * 3600.0)
    registration = demo.registration
    means = {
        "temperature": demo.temperature.service_s.mean_value,
        "registration": registration.qr_share * registration.service_s.qr.mean_value
        + (1 - registration.qr_share) * registration.service_s.manual.mean_value,
        "swab": demo.swab.service_s.mean_value,
    }
    servers = {stage: max(1, math.ceil(rate_s * mean / utilisation)) for stage, mean in means.items()}
    data = {
        "name": "speed-record-tandem",
        "seed": 1,
        "replications": 1,
        "clock": {"open": OPEN, "close": CLOSE},
        "points": [{
            "id": "tandem",
            # Twice the expected walk-ins: the roster never caps the Poisson stream.
            "population": 2 * residents,
            "tents": servers["swab"],
            "queue": "shared",
            "stages": {
                "temperature": {"servers": servers["temperature"], "service_s": dump(demo.temperature.service_s)},
                "registration": {
                    "servers": servers["registration"],  # separate desks, one shared line
                    "qr_share": registration.qr_share,
                    "service_s": {"qr": dump(registration.service_s.qr), "manual": dump(registration.service_s.manual)},
                },
                "swab": {"servers": servers["swab"], "service_s": dump(demo.swab.service_s)},
            },
        }],
        "arrivals": {"kind": "poisson", "rate_per_hour": residents / hours},
    }
    scenario = validate_scenario(data)
    utilisations = {stage: rate_s * means[stage] / servers[stage] for stage in means}
    return scenario, servers, utilisations


def first(draws, n: int):
    """The draws of the first ``n`` residents who came (every per-resident array cut to ``n``)."""
    count = draws.count
    cut = {}
    for f in dataclasses.fields(draws):
        value = getattr(draws, f.name)
        if isinstance(value, np.ndarray) and value.shape[:1] == (count,):
            cut[f.name] = value[:n]
        elif isinstance(value, dict):  # per stage (service times, routes)
            cut[f.name] = {key: array[:n] for key, array in value.items()}
    return dataclasses.replace(draws, **cut)


def textbook_tandem(arrivals: list[float], servers: dict, dists: dict, seed: int):
    """``point_speed.textbook_run`` on the tandem: its server counts, desks for registration, no gate."""
    first = arrivals[0] if arrivals else 0.0
    return textbook_run(arrivals, first, servers["temperature"], servers["swab"], dists, seed, desks=servers["registration"])


def ciw_network(draws, n: int, servers: dict):
    """A Ciw network of the tandem serving the first ``n`` residents of ``draws`` their own times.

    Ciw's clock starts at the first arrival; individuals are numbered 1, 2, ... in order of
    arrival, so individual k gets resident k-1's service times.
    """
    import ciw

    class Gaps(ciw.dists.Distribution):
        """The pre-drawn inter-arrival times, then no more arrivals."""

        def __init__(self, gaps):
            self.gaps, self.next = gaps, 0

        def sample(self, t=None, ind=None):
            i = self.next
            self.next = i + 1
            return self.gaps[i] if i < len(self.gaps) else math.inf

    class Own(ciw.dists.Distribution):
        """Each individual's own pre-drawn service time."""

        def __init__(self, times):
            self.times = times

        def sample(self, t=None, ind=None):
            return self.times[ind.id_number - 1]

    arrival = draws.arrival_s[:n]
    gaps = np.diff(arrival, prepend=arrival[0]).tolist()
    network = ciw.create_network(
        arrival_distributions=[Gaps(gaps), None, None],
        service_distributions=[Own(draws.service_s[stage][:n].tolist()) for stage in ("temperature", "registration", "swab")],
        number_of_servers=[servers["temperature"], servers["registration"], servers["swab"]],
        routing=[[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]],
    )
    return network


def ciw_run(network, n: int):
    """Simulate until all ``n`` residents have left; the Ciw simulation."""
    import ciw

    simulation = ciw.Simulation(network)
    simulation.simulate_until_max_customers(n, method="Complete")
    return simulation


# --------------------------------------------------------------------------- sanity figures


def batch_se(stay: np.ndarray, batches: int = 20) -> float:
    """Standard error of the mean of ``stay`` (in arrival order) by the method of batch means."""
    means = np.array([part.mean() for part in np.array_split(stay, batches)])
    return float(means.std(ddof=1) / math.sqrt(batches))


def ours_stay(log):
    """Residents served and their mean arrival-to-swab-end (seconds), from an event log."""
    served = log.served
    return int(served.sum()), float((log.end["swab"] - log.arrival_s)[served].mean())


def textbook_stay(log, arrivals):
    swab_end = {name: end for name, stage, _start, end in log if stage == "swab"}
    stay = np.array([end - arrivals[name] for name, end in swab_end.items()])
    return len(swab_end), float(stay.mean())


def ciw_stay(simulation):
    arrived, left = {}, {}
    for record in simulation.get_all_records():
        if record.node == 1:
            arrived[record.id_number] = record.arrival_date
        elif record.node == 3:
            left[record.id_number] = record.service_end_date
    stay = np.array([left[k] - arrived[k] for k in left])
    return len(left), float(stay.mean())


# --------------------------------------------------------------------------- main


def verdict(ratio_wall: float, ratio_cpu: float) -> str:
    """The ratio target, judged on both the wall-clock and the CPU-time medians."""
    met = [kind for kind, ratio in (("wall", ratio_wall), ("CPU", ratio_cpu)) if ratio >= TARGET_RATIO]
    return "met" if len(met) == 2 else f"met by {met[0]} time only" if met else "MISSED"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=100_000, help="expected walk-ins at the tandem point (default 100000)")
    parser.add_argument("--ciw-residents", type=int, default=None,
                        help="residents Ciw simulates, the first who came (default: all of them; 0: leave Ciw out)")
    parser.add_argument("--utilisation", type=float, default=0.8, help="utilisation of each tandem stage, at most (default 0.8)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each tandem simulator; medians reported (default 3)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the textbook model's random module")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes of the Xi'an round (default 2)")
    parser.add_argument("--points", type=int, default=0, help="run only the first N points of the Xi'an round (0: all)")
    parser.add_argument("--skip-simpy-city", action="store_true", help="leave out the Xi'an round with the SimPy engine (the longest part)")
    parser.add_argument("--skip-city", action="store_true", help="leave out the Xi'an round altogether")
    args = parser.parse_args(argv)
    if args.ciw_residents is None:
        args.ciw_residents = args.residents
    if args.residents < 100 or args.repeats < 1 or args.ciw_residents < 0:
        parser.error("--residents must be at least 100, --repeats at least 1, --ciw-residents not negative")
    if not 0 < args.utilisation < 1:
        parser.error("--utilisation must lie between 0 and 1")

    try:
        import psutil

        from city_round import city_scenario, run_round
    except ImportError:
        _missing("psutil", 'pip install -e ".[bench]"   (the bench extra)')
    ciw = None
    if args.ciw_residents:
        try:
            import ciw
        except ImportError:
            _missing("ciw", 'pip install -e ".[test]"   (the test extra), or leave Ciw out with --ciw-residents 0')

    try:
        import numba

        compiler = f"numba {numba.__version__}" if JIT else "numba missing: plain Python"
    except ImportError:
        compiler = "numba missing: plain Python"
    print(f"speed record, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: "
          f"python benchmarks/speed_record.py {' '.join(sys.argv[1:] if argv is None else argv)}".rstrip())
    print(f"Python {platform.python_version()} ({platform.python_implementation()}), SimPy {simpy.__version__}, "
          f"numpy {np.__version__}, {compiler}, Ciw {ciw.__version__ if ciw else '(left out)'}, psutil {psutil.__version__}")
    print(f"CPUs: {os.cpu_count()}; {platform.machine()} {platform.system()}; "
          f"load average at start {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()

    # ------------------------------------------------------------------ part 1: the tandem
    scenario, servers, utilisations = tandem_scenario(args.residents, args.utilisation)
    point, hours = scenario.points[0], scenario.hours
    draws = draw_residents(scenario, point, 0)
    n = draws.count
    n_ciw = min(args.ciw_residents, n)
    arrivals = draws.arrival_s.tolist()
    dists = textbook_dists(point)
    print(f"part 1, the tandem: one point, walk-ins {OPEN}-{CLOSE} (Poisson, {args.residents / 12:,.0f}/h), "
          f"{n:,} residents came")
    print("  stages (FIFO, one shared line each, unlimited): "
          + " -> ".join(f"{stage} {servers[stage]} servers (utilisation {utilisations[stage]:.2f})" for stage in servers))
    print(f"  service times (s) of {DEMO.name}: temperature {dists['temperature'].model_dump(exclude_none=True)}, "
          f"registration {dists['qr_share']:.0%} QR {dists['qr'].model_dump(exclude_none=True)} else "
          f"{dists['manual'].model_dump(exclude_none=True)}, swab {dists['swab'].model_dump(exclude_none=True)}")
    if ciw:
        print(f"  Ciw simulates the first {n_ciw:,} residents (the same servers and draws)")

    small = first(draws, min(n, 500))
    seconds, _, _ = timed(simulate_point_fast, point, hours, small, 0)
    print(f"  fast engine compilation or cache load (first call, excluded): {seconds:.2f} s")
    # Untimed warm-up of the others on the first 500 residents.
    simulate_point(point, hours, small, 0)
    textbook_tandem(small.arrival_s.tolist(), servers, dists, args.seed)
    if ciw:
        ciw_run(ciw_network(draws, min(n_ciw, 500), servers), min(n_ciw, 500))
    print(f"  repeats: {args.repeats} of each (the fast engine {FAST_INNER} runs per repeat), interleaved; "
          f"seconds are medians (best in brackets)")
    print()

    rows = {
        "textbook SimPy": (n, lambda: textbook_tandem(arrivals, servers, dists, args.seed)),
        "our SimPy engine (simulate_point)": (n, lambda: simulate_point(point, hours, draws, 0)),
        "our fast engine (simulate_point_fast)": (n, lambda: simulate_point_fast(point, hours, draws, 0)),
    }
    if ciw:
        rows[f"Ciw {ciw.__version__}"] = (n_ciw, None)
    simpy_name, fast_name = "our SimPy engine (simulate_point)", "our fast engine (simulate_point_fast)"
    wall = {name: [] for name in rows}
    cpu = {name: [] for name in rows}
    result = {}  # the event logs of our engines' last runs
    summary = {}  # (residents served, mean time in system) of the textbook model's and Ciw's last runs
    for _ in range(args.repeats):
        for name, (_count, run) in rows.items():
            for _inner in range(FAST_INNER if name == fast_name else 1):
                # Each run starts from a collected heap, and keeps no other run's objects alive (a
                # retained Ciw simulation would slow the garbage collector in the runs after it).
                if run is None:  # Ciw: a fresh network (its arrival stream is consumed), built untimed
                    network = ciw_network(draws, n_ciw, servers)
                    gc.collect()
                    w, c, out = timed(ciw_run, network, n_ciw)
                    summary[name] = ciw_stay(out)
                    del network
                else:
                    gc.collect()
                    w, c, out = timed(run)
                    if name in (simpy_name, fast_name):
                        result[name] = out
                    else:
                        summary[name] = textbook_stay(out, arrivals)
                del out
                wall[name].append(w)
                cpu[name].append(c)
    gc.collect()

    width = max(len(name) for name in rows)
    print(f"{'simulator':<{width}}  {'residents':>9}  {'wall seconds':>17}  {'CPU seconds':>17}  {'residents/s (wall)':>18}  {'(CPU)':>11}")
    rate = {}
    for name, (count, _run) in rows.items():
        mw, mc = statistics.median(wall[name]), statistics.median(cpu[name])
        rate[name] = (count / mw, count / mc if mc > 0 else math.inf)
        w = f"{mw:.4f} ({min(wall[name]):.4f})"
        c = f"{mc:.4f} ({min(cpu[name]):.4f})"
        print(f"{name:<{width}}  {count:>9,}  {w:>17}  {c:>17}  {rate[name][0]:>18,.0f}  {rate[name][1]:>11,.0f}")
    ratio_wall = rate[fast_name][0] / rate[simpy_name][0]
    ratio_cpu = rate[fast_name][1] / rate[simpy_name][1]
    print()
    print(f"ratio fast/SimPy engine in residents per second: {ratio_wall:.1f} (wall medians), {ratio_cpu:.1f} (CPU medians); "
          f"target >= {TARGET_RATIO:.0f}: {verdict(ratio_wall, ratio_cpu)}")
    for name in rows:
        if name != simpy_name:
            print(f"  {name} / our SimPy engine: {rate[name][0] / rate[simpy_name][0]:.2f} (wall), "
                  f"{rate[name][1] / rate[simpy_name][1]:.2f} (CPU)")
    print()

    # Sanity, untimed: the same load was carried.
    ref, fast = result[simpy_name], result[fast_name]
    same = all(np.array_equal(fast.start[s], ref.start[s], equal_nan=True) and np.array_equal(fast.end[s], ref.end[s], equal_nan=True)
               for s in ref.stages)
    print("sanity (untimed): residents served, mean time in system (arrival to end of swab)")
    print(f"  {'our SimPy engine':<30} {ours_stay(ref)[0]:>8,}  {ours_stay(ref)[1]:9.3f} s")
    print(f"  {'our fast engine':<30} {ours_stay(fast)[0]:>8,}  {ours_stay(fast)[1]:9.3f} s   "
          f"every timestamp bit-identical to the SimPy engine's: {'yes' if same else 'NO'}")
    served, stay = summary["textbook SimPy"]
    ref_stay = (ref.end["swab"] - ref.arrival_s)[ref.served]
    print(f"  {'textbook SimPy':<30} {served:>8,}  {stay:9.3f} s   (its own random draws) minus ours: {stay - ours_stay(ref)[1]:+.3f} s; "
          f"2 standard errors of ours (20 batch means): {2 * batch_se(ref_stay):.3f} s")
    if ciw:
        ciw_served, ciw_mean = summary[f"Ciw {ciw.__version__}"]
        sub_served, sub_mean = ours_stay(simulate_point_fast(point, hours, first(draws, n_ciw), 0))
        print(f"  {'Ciw, first ' + format(n_ciw, ',') + ' residents':<30} {ciw_served:>8,}  {ciw_mean:9.3f} s   "
              f"(the same draws)")
        print(f"  {'fast engine, same ' + format(n_ciw, ',') + ' only':<30} {sub_served:>8,}  {sub_mean:9.3f} s   "
              f"difference from Ciw: {abs(ciw_mean - sub_mean):.2g} s")
    print()

    # ------------------------------------------------------------------ part 2: the Xi'an round
    city_rows = []
    if not args.skip_city:
        engines = ["fast"] + ([] if args.skip_simpy_city else ["simpy"])
        with tempfile.TemporaryDirectory() as scratch:
            city, path = city_scenario(args.points, Path(scratch))
            residents = sum(p.population for p in city.points) * city.replications
            print(f"part 2, the round: {city.name}: {len(city.points):,} points, {residents:,} residents, "
                  f"{sum(p.stations for p in city.points):,} stations, {city.replications} replication(s), --jobs {args.jobs}"
                  + ("" if not args.points else f" (a slice: the first {args.points} points)"))
            for engine in engines:
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                # --no-persons: the run's default for a round this size, and a slice's too (else slices
                # of up to 1,000,000 residents would also write persons.csv).
                elapsed, peak = run_round(path, args.jobs, Path(scratch) / f"out-{engine}", engine=engine, options=("--no-persons",))
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                city_rows.append((engine, residents, elapsed, cpu_s, peak))
                print(f"  --engine {engine:<5}: {elapsed:8.1f} s wall, {cpu_s:8.1f} s CPU (all processes), "
                      f"{residents / elapsed:>11,.0f} residents/s, peak memory {peak / 2**30:.2f} GiB")
        fast_s = city_rows[0][2]
        if args.points:
            print(f"  fast engine: {fast_s:.1f} s for a slice; the {TARGET_CITY_S:.0f} s target is for the whole round (not judged)")
        else:
            print(f"  fast engine: {fast_s:.1f} s; target under {TARGET_CITY_S:.0f} s: {'met' if fast_s < TARGET_CITY_S else 'MISSED'}")
        if len(city_rows) == 2:
            print(f"  ratio fast/SimPy engine, whole run: {city_rows[1][2] / fast_s:.1f} (wall)")
        print()

    # ------------------------------------------------------------------ the table
    print("markdown table:")
    print()
    print("| what | residents | wall s | CPU s | residents/s (wall) | peak memory |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (count, _run) in rows.items():
        print(f"| tandem, {name} | {count:,} | {statistics.median(wall[name]):.3f} | {statistics.median(cpu[name]):.3f} | "
              f"{rate[name][0]:,.0f} | |")
    for engine, residents, elapsed, cpu_s, peak in city_rows:
        what = "Xi'an round" if not args.points else f"Xi'an round, first {args.points} points"
        print(f"| {what}, `--engine {engine} --jobs {args.jobs}` | {residents:,} | {elapsed:.1f} | {cpu_s:.1f} | "
              f"{residents / elapsed:,.0f} | {peak / 2**30:.2f} GiB |")
    print()
    print(f"fast/SimPy engine on the tandem: {ratio_wall:.1f}x per resident by wall time, {ratio_cpu:.1f}x by CPU time "
          f"(target >= {TARGET_RATIO:.0f}: {verdict(ratio_wall, ratio_cpu)})"
          + (f"; Xi'an round with the fast engine: {city_rows[0][2]:.1f} s (target < {TARGET_CITY_S:.0f} s: "
             + ("not judged on a slice" if args.points else "met" if city_rows[0][2] < TARGET_CITY_S else "MISSED") + ")"
             if city_rows else ""))
    print(f"whole script: {time.perf_counter() - STARTED:.0f} s wall")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
