"""Run a scenario's replications, serially or over local worker processes.

Work is split into tasks (one point in one replication). Each task rebuilds its
own random streams from (seed, replication, point id), so results do not depend
on which process ran it or in what order; results are folded in task order.

Memory stays bounded by the number of points, not residents: a task hands back
its point's tally, series and wait counts, and its log only when the first
replication's residents are kept (small runs) or written to persons.csv.
"""

from __future__ import annotations

import csv
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import numpy as np

from .. import __version__
from ..checks import LittleCheck, LittleSummary, littles_law
from ..draws import draw_residents
from ..log import PERSONS_HEADER, EventLog, concatenate, write_persons_rows
from ..metrics import (
    MINUTE,
    Band,
    Series,
    SeriesBands,
    StationTimeline,
    Tally,
    add_series,
    combine,
    kpis_of,
    point_series,
    station_timeline,
    summarise,
    tally,
    wait_histograms,
)
from ..chain_metrics import chain_kpis, chain_series
from ..model import simulate_point
from ..model.chain import ChainLog, PointTubes, simulate_chain
from ..scenario.schema import Scenario

Progress = Callable[[int, int], None]
"""Called as progress(done, total) after each finished task."""

KEEP_LOGS_UP_TO = 1_000_000
"""Residents of the first replication kept in memory for ``RunResult.persons()``."""
FINE_SERIES_UP_TO = 100
"""Points up to which series are per minute; larger runs use 15-minute steps."""


def series_step_s(scenario: Scenario) -> float:
    return MINUTE if len(scenario.points) <= FINE_SERIES_UP_TO else 15 * MINUTE


@dataclass
class PointRun:
    """What one task hands back: the point's tally, KPIs, series, wait counts (and maybe its log)."""

    point_id: str
    replication: int
    tally: Tally
    kpis: dict[str, Any]
    series: Series
    wait_counts: dict[str, np.ndarray]
    log: Optional[EventLog] = None
    tubes: Optional[PointTubes] = None
    littles_law: list[LittleCheck] = field(default_factory=list)
    timeline: Optional[StationTimeline] = None
    """Busy share per station and step, and closures, for the rota chart (first replication only)."""


def simulate_task(scenario: Scenario, replication: int, point_index: int, step_s: float = MINUTE, keep_log: bool = True) -> PointRun:
    """Draw, simulate and measure one point in one replication."""
    point = scenario.points[point_index]
    draws = draw_residents(scenario, point, replication)
    log = simulate_point(point, scenario.hours, draws, replication)
    point_tally = tally(log, scenario.deadline_s)
    series = point_series(log, step_s)
    return PointRun(
        point_id=point.id,
        replication=replication,
        tally=point_tally,
        kpis=kpis_of(point_tally),
        series=series,
        wait_counts=wait_histograms([log]),
        log=log if keep_log else None,
        tubes=PointTubes.of(log, point_index) if scenario.chain is not None else None,
        littles_law=littles_law(log, series),
        timeline=station_timeline(log, step_s) if replication == 0 else None,
    )


@dataclass
class RunResult:
    """Everything a run produced, ready for the summary, tables and charts."""

    scenario: Scenario
    jobs: int
    step_s: float = MINUTE
    elapsed_s: float = 0.0
    run_kpis: list[dict[str, Any]] = field(default_factory=list)
    point_kpis: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    point_bands: dict[str, SeriesBands] = field(default_factory=dict)
    run_bands: SeriesBands = field(default_factory=SeriesBands)
    wait_counts: dict[str, np.ndarray] = field(default_factory=dict)
    first_logs: list[EventLog] = field(default_factory=list)
    chain_bands: dict[str, Band] = field(default_factory=dict)
    first_chain: Optional[ChainLog] = None
    persons_file: Optional[Path] = None
    persons_rows: int = 0
    littles_law: LittleSummary = field(default_factory=LittleSummary)
    timelines: dict[str, StationTimeline] = field(default_factory=dict)
    """Per point id, its stations' timeline in the first replication (a few kB per point)."""

    @property
    def replications(self) -> int:
        return len(self.run_kpis)

    @property
    def stations(self) -> int:
        return sum(point.stations for point in self.scenario.points)

    @cached_property
    def point_summaries(self) -> dict[str, dict[str, Any]]:
        return {point_id: summarise(kpis) for point_id, kpis in self.point_kpis.items()}

    @cached_property
    def summary(self) -> dict[str, Any]:
        """The content of summary.json (schema in docs/outputs.md), once the run is over."""
        scenario = self.scenario
        return {
            "schema_version": 2,
            "scenario": scenario.name,
            "seed": scenario.seed,
            "replications": self.replications,
            "simsampling_version": __version__,
            "engine": "simpy",
            "jobs": self.jobs,
            "elapsed_s": round(self.elapsed_s, 3),
            "clock": {"open": scenario.clock.open, "close": scenario.clock.close},
            "round": {"days": scenario.round.days, "deadline_h": (scenario.deadline_s - scenario.clock.open_s) / 3600.0},
            "kpis": summarise(self.run_kpis),
            "points": [
                {
                    "id": point.id,
                    "name": point.name or point.id,
                    "population": point.population,
                    "tents": point.tents,
                    "stations": point.stations,
                    "kpis": self.point_summaries[point.id],
                }
                for point in scenario.points
            ],
            "checks": {"littles_law": self.littles_law.as_dict()},
        }

    def persons(self) -> dict[str, np.ndarray]:
        """The per-resident log of the first replication, as named columns.

        Kept in memory for runs of up to ``KEEP_LOGS_UP_TO`` residents; larger
        runs write it to persons.csv when asked instead.
        """
        if not self.first_logs:
            raise ValueError("this run did not keep its residents in memory (too many); use persons.csv")
        return concatenate(self.first_logs)


def run_scenario(
    scenario: Scenario,
    jobs: int = 1,
    progress: Optional[Progress] = None,
    keep_logs: Optional[bool] = None,
    persons_file: Optional[Path] = None,
) -> RunResult:
    """Run every replication of every point; identical results for any ``jobs``.

    ``keep_logs`` keeps the first replication's residents in memory (default:
    when the round has at most a million); ``persons_file``, if given, receives
    them as persons.csv rows while the run goes on.
    """
    started = time.perf_counter()
    if keep_logs is None:
        keep_logs = sum(p.population for p in scenario.points) <= KEEP_LOGS_UP_TO
    points = len(scenario.points)
    step_s = series_step_s(scenario)
    tasks = [(rep, index) for rep in range(scenario.replications) for index in range(points)]
    result = RunResult(scenario=scenario, jobs=jobs, step_s=step_s, persons_file=persons_file)
    result.point_kpis = {point.id: [] for point in scenario.points}
    result.point_bands = {point.id: SeriesBands() for point in scenario.points}
    want_logs = keep_logs or persons_file is not None
    handle = persons_file.open("w", newline="", encoding="utf-8") if persons_file is not None else None
    writer = csv.writer(handle) if handle is not None else None
    if writer is not None:
        writer.writerow(PERSONS_HEADER)
    running: Optional[Tally] = None
    run_series: Optional[Series] = None
    chain_parts: list[PointTubes] = []
    try:
        for done, run in enumerate(_execute(scenario, tasks, jobs, step_s, want_logs), start=1):
            result.point_kpis[run.point_id].append(run.kpis)
            result.point_bands[run.point_id].add(run.series)
            if run.timeline is not None:
                result.timelines[run.point_id] = run.timeline
            result.littles_law.add(run.littles_law)
            for stage, counts in run.wait_counts.items():
                result.wait_counts[stage] = result.wait_counts.get(stage, 0) + counts
            running = run.tally if running is None else combine([running, run.tally])
            run_series = run.series if run_series is None else add_series([run_series, run.series])
            if run.log is not None:
                if writer is not None:
                    result.persons_rows += write_persons_rows(writer, run.log)
                if keep_logs:
                    result.first_logs.append(run.log)
            if run.tubes is not None:
                chain_parts.append(run.tubes)
            if done % points == 0:  # the last point of a replication
                kpis = dict(run.kpis) if points == 1 else kpis_of(running)
                if scenario.chain is not None:
                    kpis["chain"] = _run_chain(scenario, run.replication, chain_parts, run_series.step_s, result)
                result.run_kpis.append(kpis)
                result.run_bands.add(run_series)
                running, run_series, chain_parts = None, None, []
            if progress is not None:
                progress(done, len(tasks))
    finally:
        if handle is not None:
            handle.close()
    result.elapsed_s = time.perf_counter() - started
    return result


def _run_chain(scenario: Scenario, replication: int, parts: list[PointTubes], step_s: float, result: RunResult) -> dict[str, Any]:
    """Simulate the replication's sample chain; fold its series into the result; return its KPIs."""
    log = simulate_chain(scenario, replication, parts)
    last = np.nanmax(np.concatenate([[scenario.hours[-1][1]], log.released_s, log.recall_released_s]))
    edges = np.arange(int(np.ceil(last / step_s)) + 1) * step_s
    for name, values in chain_series(log, edges).items():
        result.chain_bands.setdefault(name, Band()).add(values)
    if result.first_chain is None:
        result.first_chain = log
    start = scenario.hours[0][0]
    return chain_kpis(log, start, scenario.deadline_s, scenario.chain.freshness_limit_h)


def _execute(scenario: Scenario, tasks: list[tuple[int, int]], jobs: int, step_s: float, want_logs: bool) -> Iterator[PointRun]:
    if jobs <= 1 or len(tasks) <= 1:
        for rep, index in tasks:
            yield simulate_task(scenario, rep, index, step_s, keep_log=want_logs and rep == 0)
        return
    # spawn: workers start clean (no inherited threads or locks from the parent).
    context = multiprocessing.get_context("spawn")
    chunk = max(1, min(64, len(tasks) // (jobs * 8)))
    with ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_set_worker_scenario, initargs=(scenario, step_s, want_logs)
    ) as pool:
        yield from pool.map(_worker_task, tasks, chunksize=chunk)


_worker: dict[str, Any] = {}


def _set_worker_scenario(scenario: Scenario, step_s: float, want_logs: bool) -> None:
    _worker.update(scenario=scenario, step_s=step_s, want_logs=want_logs)


def _worker_task(task: tuple[int, int]) -> PointRun:
    rep, index = task
    return simulate_task(_worker["scenario"], rep, index, _worker["step_s"], keep_log=_worker["want_logs"] and rep == 0)
