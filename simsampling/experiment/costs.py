"""Seconds one task takes, by engine: the figures behind the run estimate and the batches.

A task is one point in one replication: its draws, the engine, the point's tally,
series and self-checks (``replicate.simulate_task``). The estimate printed before a
run (estimate.py) and the batches handed to workers (executors.batch_tasks) both
use ``task_s``, so the two cannot drift apart.

Measured on the development machine (2 cores, Python 3.11.7, x86_64 Linux) with
``simulate_task(..., keep_log=False)`` on the demo point of
benchmarks/point_speed.py scaled to a population, CPU time, best of 5.
"""

from __future__ import annotations

import math

SIMPY_RESIDENT_S = 25e-6
"""SimPy engine, per resident of a point of 2,600: 0.065 s for the scaled demo point,
i.e. 40,000 residents a second (re-measured 2026-11-28: 0.061 s)."""
SIMPY_RESIDENT_S_PER_DECADE = 3.5e-6
"""Larger points take longer per resident on SimPy (its event heap grows): 3.05 s for
100,000 residents (30.5 us each), 6.6 s for 200,000 (33 us)."""
SIMPY_TASK_S = 0.004
"""Fixed cost of a SimPy task: 1,000 points of 20 residents ran in 3.6 s, 3,000 in 12.4 s
(whole runs, results included)."""
FAST_RESIDENT_S = 0.8e-6
"""Fast engine, per resident, the whole task: 2.3 ms for 2,600 residents, 14.1 ms for 20,000, 83 ms for
100,000 (CPU time, best of 5, 2026-12-05, with this issue's speed work; 2.6, 17.4 and 100 ms before it).
Rounded up, so that a task of a few thousand residents (a Xi'an point: 2.7 ms in a worker, its result
sent back included) is not underestimated."""
FAST_TASK_S = 0.0008
"""Fixed cost of a fast-engine task: 0.73 ms for a point of 20 residents (200 tasks, best of 5, 2026-12-05;
1.3 ms before)."""


LINE_CHOICE_S = {"simpy": 3.5e-8, "fast": 1.3e-9}
"""With a line per station (``queue: per_tent``) each resident looks along every line for the shortest:
per resident and station, 35 ns on SimPy (5,000 residents at 10 and 1,000 stations: 0.144 and 0.317 s)
and 1.3 ns on the fast engine (20,000 residents: 0.026 and 0.051 s; CPU time, best of 3, 2026-12-03)."""


def task_s(population: int, engine: str = "simpy", stations: int = 1, lines: bool = False) -> float:
    """Seconds one process takes to simulate and measure one point of ``population`` once.

    ``lines``: a line per station (``queue: per_tent``), each resident choosing among ``stations``.
    """
    choosing = population * stations * LINE_CHOICE_S[engine] if lines else 0.0
    if engine == "fast":
        return FAST_TASK_S + population * FAST_RESIDENT_S + choosing
    per_resident = SIMPY_RESIDENT_S + SIMPY_RESIDENT_S_PER_DECADE * math.log10(max(population, 2600) / 2600)
    return SIMPY_TASK_S + population * per_resident + choosing


def point_task_s(point, engine: str) -> float:
    """``task_s`` of a scenario point (its residents, stations and lines)."""
    return task_s(point.population, engine, point.stations, point.queue == "per_tent")
