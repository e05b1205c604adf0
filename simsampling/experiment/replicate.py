"""Run a scenario's replications, serially or over local worker processes.

Work is split into tasks (one point in one replication). Each task rebuilds its
own random streams from (seed, replication, point id), so results do not depend
on which process ran it or in what order; results are gathered in task order.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Iterator, Optional

import numpy as np

from .. import __version__
from ..draws import draw_residents
from ..log import EventLog
from ..metrics import Series, add_series, point_series, replication_kpis, summarise, wait_histograms
from ..model import simulate_point
from ..scenario.schema import Scenario

Progress = Callable[[int, int], None]
"""Called as progress(done, total) after each finished task."""


@dataclass
class PointRun:
    """What one task hands back: the log and the point's own metrics."""

    log: EventLog
    kpis: dict[str, Any]
    series: Series


def simulate_task(scenario: Scenario, replication: int, point_index: int) -> PointRun:
    """Draw, simulate and measure one point in one replication."""
    point = scenario.points[point_index]
    draws = draw_residents(scenario, point, replication)
    log = simulate_point(point, scenario.clock, draws, replication)
    return PointRun(log=log, kpis=replication_kpis([log]), series=point_series(log))


@dataclass
class RunResult:
    """Everything a run produced, ready for the summary, tables and charts."""

    scenario: Scenario
    jobs: int
    elapsed_s: float = 0.0
    run_kpis: list[dict[str, Any]] = field(default_factory=list)
    point_kpis: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    point_series: dict[str, list[Series]] = field(default_factory=dict)
    run_series: list[Series] = field(default_factory=list)
    wait_counts: dict[str, np.ndarray] = field(default_factory=dict)
    first_logs: list[EventLog] = field(default_factory=list)

    @property
    def replications(self) -> int:
        return len(self.run_kpis)

    @property
    def stations(self) -> int:
        return sum(point.stations for point in self.scenario.points)

    @cached_property
    def summary(self) -> dict[str, Any]:
        """The content of summary.json (schema in docs/outputs.md), once the run is over."""
        scenario = self.scenario
        return {
            "schema_version": 1,
            "scenario": scenario.name,
            "seed": scenario.seed,
            "replications": self.replications,
            "simsampling_version": __version__,
            "engine": "simpy",
            "jobs": self.jobs,
            "elapsed_s": round(self.elapsed_s, 3),
            "clock": {"open": scenario.clock.open, "close": scenario.clock.close},
            "kpis": summarise(self.run_kpis),
            "points": [
                {
                    "id": point.id,
                    "name": point.name or point.id,
                    "population": point.population,
                    "tents": point.tents,
                    "stations": point.stations,
                    "kpis": summarise(self.point_kpis[point.id]),
                }
                for point in scenario.points
            ],
        }

    def persons(self) -> dict[str, np.ndarray]:
        """The per-resident log of the first replication, as named columns."""
        from ..log import concatenate

        return concatenate(self.first_logs)


def run_scenario(scenario: Scenario, jobs: int = 1, progress: Optional[Progress] = None) -> RunResult:
    """Run every replication of every point; identical results for any ``jobs``."""
    started = time.perf_counter()
    tasks = [(rep, index) for rep in range(scenario.replications) for index in range(len(scenario.points))]
    result = RunResult(scenario=scenario, jobs=jobs)
    result.point_kpis = {point.id: [] for point in scenario.points}
    result.point_series = {point.id: [] for point in scenario.points}
    current: list[PointRun] = []
    for done, run in enumerate(_execute(scenario, tasks, jobs), start=1):
        current.append(run)
        result.point_kpis[run.log.point_id].append(run.kpis)
        result.point_series[run.log.point_id].append(run.series)
        if len(current) == len(scenario.points):
            _close_replication(result, current)
            current = []
        if progress is not None:
            progress(done, len(tasks))
    result.elapsed_s = time.perf_counter() - started
    return result


def _close_replication(result: RunResult, runs: list[PointRun]) -> None:
    """Fold a finished replication into the result, keeping only the first one's logs."""
    logs = [run.log for run in runs]
    result.run_kpis.append(runs[0].kpis if len(runs) == 1 else replication_kpis(logs))
    result.run_series.append(runs[0].series if len(runs) == 1 else add_series([r.series for r in runs]))
    for stage, counts in wait_histograms(logs).items():
        result.wait_counts[stage] = result.wait_counts.get(stage, 0) + counts
    if not result.first_logs:
        result.first_logs = logs


def _execute(scenario: Scenario, tasks: list[tuple[int, int]], jobs: int) -> Iterator[PointRun]:
    if jobs <= 1 or len(tasks) <= 1:
        for rep, index in tasks:
            yield simulate_task(scenario, rep, index)
        return
    # spawn: workers start clean (no inherited threads or locks from the parent).
    context = multiprocessing.get_context("spawn")
    chunk = max(1, len(tasks) // (jobs * 8))
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_set_worker_scenario, initargs=(scenario,)) as pool:
        yield from pool.map(_worker_task, tasks, chunksize=chunk)


_worker_scenario: Optional[Scenario] = None


def _set_worker_scenario(scenario: Scenario) -> None:
    global _worker_scenario
    _worker_scenario = scenario


def _worker_task(task: tuple[int, int]) -> PointRun:
    assert _worker_scenario is not None
    return simulate_task(_worker_scenario, *task)
