"""How long a run will take and how much memory it will need, before it starts.

A city round with many replications, or one giant point, can run for hours or
exhaust the machine's memory near the end, when the results are written. The
figures here let the command line say so up front and refuse a run that cannot
fit. Memory is meant to err high (measured 0-25% over); time assumes the cores
are free (the Xi'an round: 174 s estimated, 171 s on an idle machine, 327 s with
another program busy on one of the two cores).

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

from ..metrics import DAY, MINUTE
from ..scenario.schema import Scenario
from .replicate import KEEP_LOGS_UP_TO, series_step_s

MIB = 2**20

# ---------------------------------------------------------------- time

RESIDENT_S = 25e-6
"""One process's time per resident of a point of 2,600 (draws, SimPy, tally,
series): 0.065 s for the scaled demo point of benchmarks/point_speed.py
(``simulate_task``, best of 5), i.e. 40,000 residents a second."""
RESIDENT_S_PER_DECADE = 3.5e-6
"""Larger points take longer per resident (SimPy's event heap grows): 3.05 s for
100,000 residents (30.5 us each), 6.6 s for 200,000 (33 us)."""
POINT_TASK_S = 0.004
"""Fixed cost of one task (draws, tally and series of a point in one
replication): 1,000 points of 20 residents ran in 3.6 s, 3,000 in 12.4 s."""
START_S = 2.0
"""Starting worker processes: each imports numpy, scipy, SimPy and the package."""
WRITE_S = 1.6
"""Writing the results folder of the demo point (one replication)."""
WRITE_POINT_S = 0.0035
"""Writing, per point, with 15-minute series (over 100 points): 1,000 and 3,000
points of the Xi'an round (two days) took 5.6 and 10.9 s."""
WRITE_POINT_DAY_S = 0.02
"""Writing, per point and day, with 1-minute series (timeseries.csv lists every
point's rows): 100 points on two days took 5.7 s."""
PERSONS_ROW_S = 8e-6
"""Writing one row of persons.csv: 1.5 s more for 190,000 rows."""


def point_s(population: int) -> float:
    """Seconds one process takes to simulate one point once."""
    per_resident = RESIDENT_S + RESIDENT_S_PER_DECADE * math.log10(max(population, 2600) / 2600)
    return POINT_TASK_S + population * per_resident


# ---------------------------------------------------------------- memory

MAIN_BYTES = 150 * MIB
"""The main process once the package, matplotlib and the scenario are loaded (145 MiB)."""
WORKER_BYTES = 120 * MIB
"""A worker process once started (116 MiB: the package without matplotlib)."""
WRITE_BYTES = 60 * MIB
"""Charts and tables being written, beside what grows with the points."""
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
SIMULATE_BYTES_PER_RESIDENT = 650
"""Peak memory of simulating a point, per resident (SimPy processes, timestamps,
the log): 62 MiB for 100,000 residents, 177 MiB for 300,000."""
KEEP_BYTES_PER_RESIDENT = 220
"""A resident of the first replication kept for persons.csv: 41 MiB for 190,000."""
PERSONS_WRITE_BYTES_PER_RESIDENT = 700
"""Writing a point's residents to persons.csv (its table as Python objects):
about 135 MiB at once for a point of 190,000."""


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


def estimate_run(scenario: Scenario, jobs: int = 1, keep_logs: Optional[bool] = None, persons: bool = False) -> Estimate:
    """Estimate a run of ``scenario`` as ``run_scenario`` would do it with these arguments.

    ``keep_logs`` as in ``run_scenario`` (None: the default, for rounds of up to
    ``KEEP_LOGS_UP_TO`` residents); ``persons`` when persons.csv is streamed.
    """
    populations = sorted((p.population for p in scenario.points), reverse=True)
    residents = sum(populations)
    points = len(populations)
    replications = scenario.replications
    tasks = points * replications
    if keep_logs is None:
        keep_logs = residents <= KEEP_LOGS_UP_TO
    processes = max(1, min(jobs, tasks))
    cores = min(processes, usable_cpus())

    fine = series_step_s(scenario) == MINUTE
    simulate_s = replications * sum(point_s(p) for p in populations) / cores
    write_s = WRITE_S + points * (WRITE_POINT_DAY_S * scenario.round.days if fine else WRITE_POINT_S)
    if keep_logs or persons:
        write_s += residents * PERSONS_ROW_S
    wall_s = (START_S if processes > 1 else 0.0) + simulate_s + write_s

    steps = scenario.round.days * DAY / series_step_s(scenario)
    simulating = SIMULATE_BYTES_PER_RESIDENT * sum(populations[:processes])
    parts = {
        "points": MAIN_BYTES + WRITE_BYTES + points * (POINT_BYTES + SERIES_FACTOR * SERIES_ARRAYS * 8 * steps),
        "replications": POINT_REPLICATION_BYTES * tasks,
        "--persons": (KEEP_BYTES_PER_RESIDENT * residents if keep_logs else 0)
        + (PERSONS_WRITE_BYTES_PER_RESIDENT * populations[0] if keep_logs or persons else 0),
        # With one process the main process simulates; with more, each worker holds one point at a time.
        "--jobs": simulating + (WORKER_BYTES * processes if processes > 1 else 0),
    }
    return Estimate(wall_s=wall_s, memory_bytes=sum(parts.values()), processes=processes, memory_parts=parts)


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
