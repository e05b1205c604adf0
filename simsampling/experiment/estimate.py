"""How long a run will take and how much memory it will need, before it starts.

A city round with many replications, or one giant point, can run for hours or
exhaust the machine's memory near the end, when the results are written. The
figures here let the command line say so up front and refuse a run that cannot
fit. Time follows the engine each point runs on (experiment/costs.py) and assumes
the cores are free; memory is meant to err high but may fall a few percent short
(the Beibei district: 0.91 GiB estimated, 0.94 GiB measured). The Xi'an round on
two cores: 10.8 s and 1.2 GiB estimated, 11.1-11.2 s and 0.68-0.70 GiB measured with the fast engine
(2026-12-05, on a machine then some 14% slower than its best); 162 s estimated and 182 s measured with
SimPy (2026-11-29). What grows with a point's span or stations is here too (``span_s``, timelines,
stations), or bounded by design (steps.py); benchmarks/estimate_bounds.py checks the estimate against
random runs.

Every constant was measured on the development machine (2 cores, Python 3.11.7,
x86_64 Linux, nothing else running) with the scripts of benchmarks/ and runs
of the shipped scenarios; docs/outputs.md ("Before a run") gives the checks
against whole runs.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..choices import DEFAULT_EXECUTOR
from ..metrics import DAY, HOUR, MAX_TIMELINE_ROWS, MINUTE
from ..scenario.distributions import Empirical, Exponential, Fixed, Gamma, Lognormal, Normal, Triangular, Uniform, Weibull
from ..scenario.errors import Problem, ScenarioError
from ..scenario.schema import CallingArrivals, PoissonArrivals, Point, Scenario, SlotArrivals, poisson_window
from ..steps import MAX_SERIES_STEPS, MAX_TIMELINE_STEPS
from .costs import point_task_s
from .executors import START_METHOD, batch_tasks, runs_in_process
from .replicate import KEEP_LOGS_UP_TO, full_timelines, plan_engines, series_step_s

MIB = 2**20

# ---------------------------------------------------------------- time

FOLD_TASK_S = 0.00025
"""The main process's work per task while the run goes on (a worker's results unpickled; tallies, series
bands and summaries folded in): 0.056 and 0.160 ms of CPU a point for 800 points of the Xi'an round
(benchmarks/city_overheads.py --parts merge, 2026-12-05; 1.3 ms on 2026-11-28), on the same cores as the workers."""
START_S = {"fork": 0.15, "spawn": 2.5}
"""Starting the worker processes until both have simulated a Xi'an point, by ``executors.START_METHOD``: forked
(Linux), 0.08-0.11 s with numba's code loaded first (0.12 s of CPU); spawned, each importing numpy, numba and
the package and reading the scenario, 2.4-2.6 s (benchmarks/city_overheads.py --parts start, 2026-12-05)."""
PROCESS_S = 0.7
"""The command's own start (Python, the package's imports, numba's cached code) and the scenario's reading: the
demo's ``import`` and ``run_scenario`` in a process of their own took 0.77 s, of which its five tasks 0.02 s
(docs/outputs.md, "Before a run", gives the runs; 2026-12-05, 07:05 UTC, the machine then some 14% slower than
two hours before; 1.4 s on 2026-11-29)."""
WRITE_S = 0.45
"""Writing the results folder of the demo point (one replication): its run took 1.17 s against 0.77 s for its
``run_scenario`` alone (2026-12-05; 1.55 s on 2026-11-28)."""
WRITE_POINT_DAY_S = 0.031
"""Writing, per point and day, with 1-minute series (up to 100 points: timeseries.csv
lists every point's rows): 100 points of the Xi'an round on two days took 7.7 s."""
WRITE_POINT_STEP_S = WRITE_POINT_DAY_S / 1440
"""The same per step of a point's series: a point whose lines drain for weeks writes that many more rows."""
WRITE_CHART_STEP_S = 5.5e-5
"""Drawing, per step of the run's series beyond a day of minutes: a point of 300 residents whose ten-day
swabs keep it busy for 700 days (16,808 hourly steps) wrote its folder in 1.76 times the demo's time
(16.3 s against 9.3 s on a loaded machine, 2026-12-03): 1.2 s more on an idle one, a third of it the tables."""
WRITE_MANY_S = 1.9
"""Writing the results of a round of over 100 points (15-minute series), beside the diagnosis: the charts and
tables (in a forked child) and the diagnosis (in the main process) take about as long as each other. The first
1,000 points of the Xi'an round took 1.94 s after their ``run_scenario``, its first 2,500 2.51 s, the whole round
2.67 s (runs against ``import`` and ``run_scenario`` alone, 2026-12-05; 4.3 s for 1,000 points on 2026-11-28)."""
WRITE_POINT_S = 0.0002
"""Writing, per point beyond that (and per two days of its series): the slope of the same runs."""
PERSONS_ROW_S = 2.5e-6
"""Writing one row of persons.csv, a column at a time: 0.37-0.40 s of CPU for the 189,892 rows of the
200,000-resident point (1.9-2.1 us a row, polars imported before; 2026-12-03, load average 6)."""


# ---------------------------------------------------------------- memory

MAIN_BYTES = 150 * MIB
"""The main process once the package, matplotlib and the scenario are loaded (145 MiB)."""
WORKER_BYTES = 120 * MIB
"""A worker process once started (116 MiB: the package without matplotlib)."""
WRITE_BYTES = 60 * MIB + 160 * MIB
"""Charts and tables being written, beside what grows with the points: 60 MiB, and
160 MiB for the forked process drawing the charts (report/forked.py; its own pages,
proportional set size: the Xi'an round peaked at 1.09 GiB against 0.93 GiB with the
charts drawn in the main process)."""
POINT_BYTES = 60_000
"""Per point in the main process (scenario, KPI summaries, tables being written),
fitted with ``SERIES_FACTOR`` to 100, 1,000 and 3,000 points: peaks of 321, 336
and 585 MiB in the main process (tests at 20 residents per point)."""
SERIES_FACTOR = 1.85
"""Bytes held per byte of a point's series bands (27 arrays across the round),
counting the copies made while tables and charts are written."""
SERIES_ARRAYS = 27
POINT_REPLICATION_BYTES = 5_000
"""KPIs of one point in one replication, kept until the summary: 1,000 points
took 21 MiB more with 5 replications than with 1."""
SIMULATE_BYTES_PER_RESIDENT = {"simpy": 650, "fast": 370}
"""Peak memory of simulating a point, per resident, by engine. SimPy (processes,
timestamps, the log): 62 MiB for 100,000 residents, 177 MiB for 300,000. The fast
engine's arrays: tracemalloc's peak of ``simulate_task`` is 292 bytes per resident
against SimPy's 515 (100,000 and 300,000 residents alike), scaled as SimPy's was."""
KEEP_BYTES_PER_RESIDENT = 340
"""A resident of the first replication kept for persons.csv: the Beibei district's 830,000
residents peaked 271 MiB higher than with ``--no-persons`` (0.935 against 0.67 GiB, ``--jobs 2``,
2026-11-29; 41 MiB for 190,000 on the SimPy engine before)."""
PERSONS_WRITE_BYTES_PER_RESIDENT = 300
"""Writing a point's residents to persons.csv (its columns, and polars' copy as text): the process grew
by 47 MiB (259 bytes a row) writing the 189,892 rows of the 200,000-resident point, and by 11-21 MiB
when written again (resident set sampled every 2 ms, 2026-12-03)."""
STATION_BYTES = 4_000
"""Per sampling station of a point being simulated (SimPy resources and lines, the fast engine's arrays)."""
TIMELINE_CELL_BYTES = 4 * 3
"""A cell (row x step) of a point's station timeline kept for rota.png (float32), with the copies made
while it is computed and drawn."""
HOURLY_BYTES = 8 * 2
"""An hour of a point's residents sampled per hour, kept per replication for throughput.csv."""


def long_value(dist) -> float:
    """A value a draw of ``dist`` rarely exceeds (a duration's long tail): the largest for bounded laws,
    the mean and four standard deviations otherwise."""
    if isinstance(dist, Fixed):
        return dist.value
    if isinstance(dist, (Triangular, Uniform)):
        return dist.high
    if isinstance(dist, Empirical):
        return max(dist.values)
    if isinstance(dist, Exponential):
        return 5.0 * dist.mean
    if isinstance(dist, (Lognormal, Normal)):
        return dist.mean + 4.0 * dist.sd
    if isinstance(dist, Gamma):
        return dist.mean_value + 4.0 * math.sqrt(dist.shape) * dist.scale
    if isinstance(dist, Weibull):
        spread = math.gamma(1.0 + 2.0 / dist.shape) - math.gamma(1.0 + 1.0 / dist.shape) ** 2
        return dist.mean_value + 4.0 * dist.scale * math.sqrt(max(0.0, spread))
    return dist.mean_value


def span_s(scenario: Scenario, point: Point) -> float:
    """When a point's last event may come (seconds since midnight of day 0): the later of the round's end,
    the last arrival (late, or back after balking) and the time its busiest stage needs to serve everyone.

    Rounds whose lines drain within the days keep their series per minute; a point overloaded for weeks
    gets as many steps as that (at most steps.MAX_SERIES_STEPS): the memory of its series follows.
    """
    hours = scenario.hours
    if point.population == 0:
        return len(hours) * DAY
    first_open, last_close = hours[0][0], hours[-1][1]
    arrivals = scenario.arrivals_for(point)
    last_arrival = last_close
    if isinstance(arrivals, (SlotArrivals, CallingArrivals)):
        last_arrival += max(0.0, long_value(arrivals.lateness_min) * MINUTE)
    elif isinstance(arrivals, PoissonArrivals):
        last_arrival = max(last_arrival, (len(hours) - 1) * DAY + poisson_window(arrivals, scenario.clock)[1])
    if point.balking is not None:
        last_arrival += max(0.0, long_value(point.balking.return_after_min) * MINUTE)
    stages = point.stages
    factor = 1.0
    if point.green_channel is not None:
        factor += point.green_channel.share * (point.green_channel.service_factor - 1.0)
    work, tail = [], 0.0
    for name in ("temperature", "registration", "swab"):
        stage = getattr(stages, name)
        if stage is None:
            continue
        if name == "registration":
            times = stage.service_s
            mean = stage.qr_share * times.qr.mean_value + (1 - stage.qr_share) * times.manual.mean_value
            longest = max(long_value(times.qr), long_value(times.manual))
        else:
            mean, longest = stage.service_s.mean_value, long_value(stage.service_s)
            if name == "swab" and stage.disinfection_s is not None:
                mean += stage.disinfection_s.mean_value
                longest += long_value(stage.disinfection_s)
        pooling = scenario.pooling_for(point)
        if name == "swab" and pooling is not None:
            mean += pooling.tube_handling_s.mean_value / pooling.ratio
        work.append(point.population * mean * factor / point.servers(name))
        tail += longest * factor
    drained = first_open + max(work, default=0.0) + tail
    return max(len(hours) * DAY, last_arrival + tail, drained)


def series_steps(scenario: Scenario, point: Point) -> int:
    """Steps of the point's series: as many as its span needs, at most steps.MAX_SERIES_STEPS."""
    return min(MAX_SERIES_STEPS, int(span_s(scenario, point) // series_step_s(scenario)) + 1)


@dataclass(frozen=True)
class Estimate:
    """Wall time and peak memory (all processes together) of one run.

    ``memory_parts`` splits the memory by what a planner can change: ``--jobs``
    (worker processes), ``--persons`` (residents kept or written), ``replications``
    (KPIs per point and replication) and ``points`` (the rest).
    """

    wall_s: float
    memory_bytes: float
    processes: int
    memory_parts: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        """Like "estimated 3 min 10 s and 1.2 GiB on 2 processes"."""
        noun = "process" if self.processes == 1 else "processes"
        return f"estimated {duration_text(self.wall_s)} and {self.memory_bytes / 2**30:.1f} GiB on {self.processes} {noun}"


def estimate_run(
    scenario: Scenario, jobs: int = 1, keep_logs: Optional[bool] = None, persons: bool = False, engine: str = "auto"
) -> Estimate:
    """Estimate a run of ``scenario`` as ``run_scenario`` would do it with these arguments.

    ``keep_logs`` as in ``run_scenario`` (None: the default, for rounds of up to
    ``KEEP_LOGS_UP_TO`` residents); ``persons`` when persons.csv is streamed;
    ``engine`` as in ``run_scenario`` (``EngineScopeError`` for ``fast`` on a point out of its scope).
    """
    engines = plan_engines(scenario, engine).engines
    populations = sorted((p.population for p in scenario.points), reverse=True)
    residents = sum(populations)
    points = len(populations)
    replications = scenario.replications
    tasks = points * replications
    if keep_logs is None:
        keep_logs = residents <= KEEP_LOGS_UP_TO
    costs = [point_task_s(point, point_engine) for point, point_engine in zip(scenario.points, engines)]
    # As run_scenario batches the tasks: a run of one batch stays in this process, whatever ``jobs``.
    batches = len(batch_tasks(costs * replications, workers=jobs))
    starts = not runs_in_process(DEFAULT_EXECUTOR, jobs, batches)
    processes = min(jobs, batches) if starts else 1
    cores = min(processes, usable_cpus())

    step_s = series_step_s(scenario)
    fine = step_s == MINUTE
    steps = [series_steps(scenario, point) for point in scenario.points]
    simulate_s = (replications * sum(costs) + tasks * FOLD_TASK_S) / cores
    write_s = (WRITE_S + WRITE_POINT_STEP_S * sum(steps) if fine
               else WRITE_MANY_S + WRITE_POINT_S * sum(max(1.0, n * step_s / (2 * DAY)) for n in steps))
    write_s += WRITE_CHART_STEP_S * max(0, max(steps) - DAY / MINUTE)
    if keep_logs or persons:
        write_s += residents * PERSONS_ROW_S
    wall_s = PROCESS_S + (START_S[START_METHOD] if starts else 0.0) + simulate_s + write_s

    largest = sorted(zip(scenario.points, engines), key=lambda pair: -pair[0].population)[:processes]
    simulating = sum(SIMULATE_BYTES_PER_RESIDENT[point_engine] * point.population + STATION_BYTES * point.stations
                     + SERIES_ARRAYS * 8 * MAX_SERIES_STEPS for point, point_engine in largest)
    # Every point's timeline in a run that keeps them whole, else the one rota.png draws (the largest, to err high).
    cells = [min(p.stations, MAX_TIMELINE_ROWS) * min(n, MAX_TIMELINE_STEPS) for p, n in zip(scenario.points, steps)]
    timelines = sum(cells) if full_timelines(scenario) else max(cells, default=0)
    hours = sum(n * step_s / HOUR + 1 for n in steps)
    parts = {
        "points": MAIN_BYTES + WRITE_BYTES + points * POINT_BYTES + SERIES_FACTOR * SERIES_ARRAYS * 8 * sum(steps)
        + TIMELINE_CELL_BYTES * timelines,
        "replications": POINT_REPLICATION_BYTES * tasks + HOURLY_BYTES * hours * replications,
        "--persons": (KEEP_BYTES_PER_RESIDENT * residents if keep_logs else 0)
        + (PERSONS_WRITE_BYTES_PER_RESIDENT * populations[0] if keep_logs or persons else 0),
        # With one process the main process simulates; with more, each worker holds one point at a time.
        "--jobs": simulating + (WORKER_BYTES * processes if processes > 1 else 0),
    }
    return Estimate(wall_s=wall_s, memory_bytes=sum(parts.values()), processes=processes, memory_parts=parts)


def check_memory(estimate: Estimate, file: str) -> None:
    """Refuse, as bad input, a run that would not fit in memory: better now than after an hour.

    The problem names the lever that holds the most memory. The command line and the app
    both refuse this way, with the same message.
    """
    available = available_memory()
    if available is None or estimate.memory_bytes <= available:
        return
    lever = max(estimate.memory_parts, key=estimate.memory_parts.get)
    message = (
        f"{estimate.describe()}, but only {available / 2**30:.1f} GiB of memory is available; "
        "use --no-persons, fewer replications or fewer --jobs, "
        "split the round into smaller scenarios, or run anyway with --no-memory-check"
    )
    raise ScenarioError([Problem(file, None, lever, message)])


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity where the system tells)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def available_memory() -> Optional[int]:
    """Bytes that can be allocated without swapping, or None when the system does not say.

    Linux's MemAvailable counts free memory and caches it can drop; a cgroup v2
    limit (a container's) caps it. Elsewhere, free physical pages if the system
    reports them (os.sysconf), which undercounts caches; on Windows, None (no check).
    """
    available = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            return None
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text())
        if limit != "max":
            available = min(available, int(limit) - used)
    except (OSError, ValueError):
        pass
    return max(0, available)


def duration_text(seconds: float) -> str:
    """"45 s", "3 min 10 s", "2 h 05 min"."""
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
