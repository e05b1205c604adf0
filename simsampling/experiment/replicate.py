"""Run a scenario's replications, serially, over local worker processes or on a Dask cluster.

Work is split into tasks (one point in one replication). Each task rebuilds its
own random streams from (seed, replication, point id), so results do not depend
on which process ran it or in what order; results are folded in task order.
Tasks travel to workers in batches of about a second (``executors.py``), and
each point runs on the SimPy engine or the fast engine (``plan_engines``); the
two give the same log to the last bit.

Memory stays bounded by the number of points, not residents: a task hands back
its point's tally, series and wait counts, and its log only when the first
replication's residents are kept (small runs) or written to persons.csv.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional

import numpy as np

from .. import __version__
from ..checks import LittleCheck, LittleSummary, littles_law
from ..collector import Tenure
from ..draws import draw_residents
from ..log import EventLog, concatenate
from ..metrics import (
    MINUTE,
    Band,
    PooledBins,
    Series,
    SeriesBands,
    SeriesSum,
    StaffedStations,
    StationTimeline,
    Tally,
    combine,
    kpis_of,
    point_series,
    staffed_stations,
    station_timeline,
    summarise,
    tally,
    wait_histograms,
)
from ..chain_metrics import CUMULATIVE_SERIES, chain_kpis, chain_series
from ..choices import DEFAULT_ENGINE, ENGINES, KEEP_LOGS_UP_TO
from ..persons import PersonsWriter, persons_stages
from ..scenario.schema import Point, Scenario
from ..steps import factor, step_for
from .costs import point_task_s
from .executors import DEFAULT_EXECUTOR, batch_tasks, check_executor, forks_workers, run_batches, runs_in_process

if TYPE_CHECKING:  # the engines and the chain import SimPy (and numba): loaded where a task runs
    from ..model.chain import ChainLog, PointTubes

Progress = Callable[[int, int], None]
"""Called as progress(done, total) after each finished task."""

FOLD_EVERY = 256
"""Points' tallies held before they are folded into the replication's: ``combine`` costs a pass
over the dense duration bins each time, so folding one point at a time would cost a district
of thousands of points seconds; the result is the same (sums in the same order)."""
FINE_SERIES_UP_TO = 100
"""Points up to which series are per minute; larger runs use 15-minute steps."""
FULL_TIMELINES_UP_TO = 20
"""Points up to which a run keeps each point's station timeline whole (``StationTimeline``); a larger run keeps
each point's staffing (``StaffedStations``: stations.csv, and which point rota.png shows) and gives the one
point rota.png draws its timeline then (``RunResult.station_timeline``). A Xi'an point's busy grid took 0.2 ms
of a worker's 3.5 ms for a chart of one point of 4,485 (benchmarks/README.md). Up to this size a run's charts
may be drawn by a process started before the engine was loaded (``report.DRAWER_POINTS``)."""


def full_timelines(scenario: Scenario) -> bool:
    """Whether a run of ``scenario`` keeps every point's station timeline whole (``FULL_TIMELINES_UP_TO``)."""
    return len(scenario.points) <= FULL_TIMELINES_UP_TO


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
    timeline: Optional[StaffedStations] = None
    """The stations' staffing and closures, and for a small run their busy share per step (a ``StationTimeline``):
    the first replication only."""
    pooled: Optional[BatchCounts] = None
    """Set by ``pool_counts`` on the first run of each replication in a batch: the counts of that replication's
    runs in the batch, added up; each of those runs then holds none of its own (its tally's durations without
    their bins, no wait counts)."""


@dataclass
class BatchCounts:
    """What a batch's points of one replication count, added up by the worker that ran them: their durations'
    counts per bin (``PooledBins.sparse``) and their wait histograms. Integers, so the same sums in any order;
    the main process only ever adds them up, and a Xi'an point's own were 75 of the 90 KiB it sent (a few
    thousand bins of durations, three histograms of 961 bins, nearly all empty), copied by pickling, the pipe
    and unpickling on the cores the workers share, then added up point by point."""

    bins: dict[str, tuple[np.ndarray, np.ndarray]]
    wait_counts: dict[str, np.ndarray]


def pool_counts(runs: list[PointRun]) -> list[PointRun]:
    """``runs`` (consecutive tasks, in task order) with the counts of each replication's runs added up on its
    first run (``PointRun.pooled``): what ``run_scenario`` folds from them is the same."""
    for _, group in itertools.groupby(runs, key=lambda run: run.replication):
        group = list(group)
        bins, waits = PooledBins(), {}
        for run in group:
            bins.add_durations(run.tally.durations)
            run.tally.durations = {kind: part.without_bins() for kind, part in run.tally.durations.items()}
            for stage, counts in run.wait_counts.items():  # added in place: one array a stage, not one a point
                held = waits.get(stage)
                if held is None:
                    waits[stage] = counts.copy()
                else:
                    held += counts
            run.wait_counts = {}
        group[0].pooled = BatchCounts(bins.sparse(), waits)
    return runs




class EngineScopeError(ValueError):
    """The fast engine was asked for (``engine="fast"``) but cannot run some points.

    ``points`` lists (point id, reason from ``model.fast.fast_scope``) in scenario order.
    """

    def __init__(self, points: list[tuple[str, str]]):
        self.points = points
        more = f" (and {len(points) - 1} more points)" if len(points) > 1 else ""
        super().__init__(f"point {points[0][0]}: the fast engine cannot simulate {points[0][1]}{more}")


@dataclass(frozen=True)
class EnginePlan:
    """Which engine runs each point (``engines``, scenario order), and why a point is not on the fast one."""

    asked: str
    engines: tuple[str, ...]
    reasons: tuple[Optional[str], ...] = ()
    """Per point, why the fast engine cannot run it, or did not (``WHILE_COMPILING``); None: it can, or it was not asked about."""

    @property
    def fast_points(self) -> int:
        return self.engines.count("fast")

    @property
    def simpy_points(self) -> int:
        return self.engines.count("simpy")

    def reason_counts(self) -> dict[str, int]:
        """Points per reason (a point with several reasons counts under each), most frequent first."""
        counts = Counter(part for reason in self.reasons if reason for part in reason.split("; "))
        return dict(counts.most_common())

    def as_dict(self) -> dict[str, Any]:
        """The ``engine`` entry of summary.json."""
        return {"asked": self.asked, "fast_points": self.fast_points, "simpy_points": self.simpy_points, "reasons": self.reason_counts()}

    def describe(self) -> str:
        """One line, like "engine: fast for 326 points; simpy for 2 (pooled tubes (pooling))"."""
        parts = []
        if self.fast_points:
            parts.append(f"fast for {self.fast_points} point{'s' if self.fast_points != 1 else ''}")
        if self.simpy_points:
            text = f"simpy for {self.simpy_points}" + ("" if parts else f" point{'s' if self.simpy_points != 1 else ''}")
            reasons = self.reason_counts()
            if reasons:
                shown = [reason if len(reasons) == 1 else f"{reason}: {count}" for reason, count in list(reasons.items())[:3]]
                text += f" ({'; '.join(shown)}{'; ...' if len(reasons) > 3 else ''})"
            elif self.asked == "simpy":
                text += " (asked)"
            parts.append(text)
        return "engine: " + ("; ".join(parts) if parts else "no points")


SIMPY_WHILE_COMPILING = "simpy-while-compiling"
"""What ``auto`` becomes when ``warm_up`` runs a small first run on SimPy while the fast engine compiles in
another process: SimPy for every point, with that reason (``WHILE_COMPILING``); ``asked`` stays ``auto``."""
WHILE_COMPILING = "while the fast engine compiles for later runs"


def plan_engines(scenario: Scenario, engine: str = DEFAULT_ENGINE) -> EnginePlan:
    """Choose each point's engine: ``simpy`` always SimPy; ``fast`` the fast engine (raises
    ``EngineScopeError`` naming every point out of its scope); ``auto`` the fast engine
    for every point in its scope and SimPy for the others (``SIMPY_WHILE_COMPILING``: SimPy)."""
    if engine not in ENGINES and engine != SIMPY_WHILE_COMPILING:
        raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    if engine in ("simpy", SIMPY_WHILE_COMPILING):
        why = WHILE_COMPILING if engine == SIMPY_WHILE_COMPILING else None
        return EnginePlan(asked="simpy" if why is None else "auto", engines=("simpy",) * len(scenario.points),
                          reasons=(why,) * len(scenario.points))
    from ..model.fast import fast_scope  # imports numba: only when the fast engine may run

    reasons = tuple(fast_scope(point, scenario) for point in scenario.points)
    if engine == "fast":
        refused = [(point.id, reason) for point, reason in zip(scenario.points, reasons) if reason is not None]
        if refused:
            raise EngineScopeError(refused)
    return EnginePlan(asked=engine, engines=tuple("fast" if reason is None else "simpy" for reason in reasons), reasons=reasons)


def simulate_task(
    scenario: Scenario,
    replication: int,
    point_index: int,
    step_s: float = MINUTE,
    keep_log: bool = True,
    engine: str = DEFAULT_ENGINE,
    full_timeline: bool = True,
) -> PointRun:
    """Draw, simulate and measure one point in one replication (``engine`` as for :func:`point_log`); in the first
    replication its stations' timeline, whole or (``full_timeline`` False) their staffing only."""
    point = scenario.points[point_index]
    log = point_log(scenario, replication, point, engine)
    point_tally = tally(log, scenario.deadline_s)
    series = point_series(log, step_s)
    tubes = None
    if scenario.chain is not None:
        from ..model.chain import PointTubes

        tubes = PointTubes.of(log, point_index)
    run = PointRun(
        point_id=point.id,
        replication=replication,
        tally=point_tally,
        kpis=kpis_of(point_tally),
        series=series,
        wait_counts=wait_histograms([log]),
        log=log if keep_log else None,
        tubes=tubes,
        littles_law=littles_law(log, series),
        timeline=None if replication != 0 else station_timeline(log, step_s) if full_timeline else staffed_stations(log),
    )
    log.forget_derived()  # a kept log holds no sorted copies while the run goes on
    return run


def load_engines(scenario: Scenario, engines: tuple[str, ...]) -> None:
    """Run a small copy (100 residents at most) of each kind of point (engine, door-to-door teams or not):
    the same features, so the same compiled types as the run's own calls, which then find numba's code
    compiled (a first run) or loaded from its cache (forked workers inherit it)."""
    kinds = {}
    for point, engine in zip(scenario.points, engines):
        kinds.setdefault((engine, point.home is not None), point)
    full = full_timelines(scenario)  # as the run measures (a city's timelines' loop is not loaded for it)
    for (engine, _), point in kinds.items():
        small = point.model_copy(update={"population": min(point.population, 100)})
        simulate_task(scenario.model_copy(update={"points": [small]}), 0, 0, keep_log=False, engine=engine,
                      full_timeline=full)


def point_log(scenario: Scenario, replication: int, point: Point, engine: str = DEFAULT_ENGINE) -> EventLog:
    """Draw and simulate one point of ``scenario`` in one replication: its event log.

    ``engine``: ``simpy``, ``fast`` (ValueError for a point out of its scope) or
    ``auto`` (fast when the point is in its scope); the log is the same.
    """
    draws = draw_residents(scenario, point, replication)
    if engine == "auto":
        from ..model.fast import fast_scope

        engine = "fast" if fast_scope(point, scenario) is None else "simpy"
    if engine == "fast":
        from ..model.fast import simulate_point_fast

        return simulate_point_fast(point, scenario.hours, draws, replication)
    if engine == "simpy":
        from ..model import simulate_point

        return simulate_point(point, scenario.hours, draws, replication)
    raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")


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
    chain_step_s: float = MINUTE
    """The step of ``chain_bands``: ``step_s`` once the run is over."""
    first_chain: Optional[ChainLog] = None
    persons_file: Optional[Path] = None
    persons_rows: int = 0
    littles_law: LittleSummary = field(default_factory=LittleSummary)
    timelines: dict[str, StaffedStations] = field(default_factory=dict)
    """Per point id, its stations' staffing in the first replication, with their timeline (a few kB per point) in
    a run of up to ``FULL_TIMELINES_UP_TO`` points: ``station_timeline`` gives any point's."""
    executor: str = DEFAULT_EXECUTOR
    """Where the tasks ran, as asked: ``serial``, ``processes`` or ``dask``."""
    engine: Optional[EnginePlan] = None
    """Which engine ran each point (None: SimPy for every point)."""

    @property
    def replications(self) -> int:
        return len(self.run_kpis)

    def station_timeline(self, point_id: str) -> StationTimeline:
        """The point's station timeline in the first replication (rota.png): the one kept, or, in a run that kept
        its points' staffing only (``FULL_TIMELINES_UP_TO``), the point simulated again in that replication (the
        same draws, so the same log) and measured as a worker measures it."""
        kept = self.timelines[point_id]
        if isinstance(kept, StationTimeline):
            return kept
        index = next(index for index, point in enumerate(self.scenario.points) if point.id == point_id)
        engine = self.engine.engines[index] if self.engine is not None else "simpy"
        again = simulate_task(self.scenario, 0, index, series_step_s(self.scenario), keep_log=False, engine=engine,
                              full_timeline=True)
        return again.timeline

    @property
    def stations(self) -> int:
        return sum(point.stations for point in self.scenario.points)

    @cached_property
    def persons_stages(self) -> tuple[str, ...]:
        """Every stage of the points' flows, in one order: summary.json's ``stages``, persons.csv's columns."""
        return persons_stages(point.flow.names for point in self.scenario.points)

    @cached_property
    def point_summaries(self) -> dict[str, dict[str, Any]]:
        return {point_id: summarise(kpis) for point_id, kpis in self.point_kpis.items()}

    @cached_property
    def summary(self) -> dict[str, Any]:
        """The content of summary.json (schema in docs/outputs.md), once the run is over."""
        scenario = self.scenario
        return {
            "schema_version": 5,
            "scenario": scenario.name,
            "seed": scenario.seed,
            "replications": self.replications,
            "simsampling_version": __version__,
            "engine": (self.engine or plan_engines(scenario, "simpy")).as_dict(),
            "executor": self.executor,
            "jobs": self.jobs,
            "elapsed_s": round(self.elapsed_s, 3),
            "clock": {"open": scenario.clock.open, "close": scenario.clock.close},
            "round": {"days": scenario.round.days, "deadline_h": (scenario.deadline_s - scenario.clock.open_s) / 3600.0},
            "stages": list(self.persons_stages),
            "kpis": summarise(self.run_kpis),
            "points": [
                {
                    "id": point.id,
                    "name": point.name or point.id,
                    "population": point.population,
                    "tents": point.tents,
                    "stations": point.stations,
                    "stages": list(point.flow.names),
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
        return concatenate(self.first_logs, self.persons_stages)


def run_scenario(
    scenario: Scenario,
    jobs: int = 1,
    progress: Optional[Progress] = None,
    keep_logs: Optional[bool] = None,
    persons_file: Optional[Path] = None,
    first_replication: int = 0,
    engine: str = DEFAULT_ENGINE,
    executor: str = DEFAULT_EXECUTOR,
    scheduler: Optional[str] = None,
) -> RunResult:
    """Run every replication of every point; identical results for any ``jobs``, ``executor`` and ``engine``.

    ``engine``: ``auto`` (the fast engine for every point in its scope, SimPy for
    the others), ``simpy`` or ``fast`` (``EngineScopeError``, before anything
    runs, if a point is out of its scope). ``executor``: ``processes`` (``jobs``
    local worker processes), ``serial`` or ``dask`` (the Dask scheduler at
    ``scheduler``, or a local cluster of ``jobs`` worker processes;
    ``ExecutorUnavailable`` if dask.distributed is not installed).

    ``first_replication`` runs replications ``first_replication ..
    first_replication + scenario.replications - 1`` (each keyed by its number, so
    batches run one after another give the same replications as one run; see
    experiment/sequential.py). Only replication 0 keeps residents and timelines.

    ``keep_logs`` keeps the first replication's residents in memory (default:
    when the round has at most a million); ``persons_file``, if given, receives
    them as persons rows while the run goes on (Parquet if its suffix is ``.parquet``, else CSV).
    """
    started = time.perf_counter()
    check_executor(executor, scheduler)
    plan = plan_engines(scenario, engine)
    if keep_logs is None:
        keep_logs = sum(p.population for p in scenario.points) <= KEEP_LOGS_UP_TO
    points = len(scenario.points)
    step_s = series_step_s(scenario)
    first = first_replication
    tasks = [(rep, index) for rep in range(first, first + scenario.replications) for index in range(points)]
    result = RunResult(scenario=scenario, jobs=jobs, step_s=step_s, chain_step_s=step_s, persons_file=persons_file,
                       executor=executor, engine=plan)
    result.point_kpis = {point.id: [] for point in scenario.points}
    result.point_bands = {point.id: SeriesBands() for point in scenario.points}
    want_logs = keep_logs or persons_file is not None
    writer = PersonsWriter(persons_file, result.persons_stages, "parquet" if persons_file.suffix == ".parquet" else "csv") if persons_file is not None else None
    last = first + scenario.replications - 1
    summaries: dict[str, dict[str, Any]] = {}
    tallies: list[Tally] = []
    bins = PooledBins()  # the replication's durations' counts per bin, which its tallies come without (pool_counts)
    run_series = SeriesSum()  # the replication's points' series added up
    chain_parts: list[PointTubes] = []
    runs = _execute(scenario, tasks, jobs, step_s, want_logs, engines=plan.engines, executor=executor, scheduler=scheduler)
    kept = Tenure()  # what is kept no longer walked by every collection
    try:
        for done, run in enumerate(runs, start=1):
            kept.add()
            result.point_kpis[run.point_id].append(run.kpis)
            if run.replication == last:  # summarised now, while the workers are still busy
                summaries[run.point_id] = summarise(result.point_kpis[run.point_id])
            result.point_bands[run.point_id].add(run.series)
            if run.timeline is not None:
                result.timelines[run.point_id] = run.timeline
            result.littles_law.add(run.littles_law)
            if run.pooled is not None:  # the counts of the replication's runs in this batch
                for stage, counts in run.pooled.wait_counts.items():
                    result.wait_counts[stage] = result.wait_counts.get(stage, 0) + counts
                bins.add_pooled(run.pooled.bins)
            tallies.append(run.tally)
            if len(tallies) > FOLD_EVERY:
                tallies = [combine(tallies)]
            run_series.add(run.series)
            if run.log is not None:
                if writer is not None:
                    result.persons_rows += writer.append(run.log)
                if keep_logs:
                    result.first_logs.append(run.log)
            if run.tubes is not None:
                chain_parts.append(run.tubes)
            if done % points == 0:  # the last point of a replication
                kpis = dict(run.kpis) if points == 1 else kpis_of(_with_bins(combine(tallies), bins))
                if scenario.chain is not None:
                    kpis["chain"] = _run_chain(scenario, run.replication, chain_parts, step_s, result)
                result.run_kpis.append(kpis)
                result.run_bands.add(run_series.series)
                tallies, run_series, chain_parts, bins = [], SeriesSum(), [], PooledBins()
            if progress is not None:
                progress(done, len(tasks))
    except BaseException:
        if writer is not None:
            writer.discard()
        raise
    finally:
        runs.close()  # stops the workers (and a local Dask cluster) at once if the run was interrupted
        kept.release()
    if writer is not None:
        result.persons_file = writer.close()
    result.point_summaries = summaries  # the cached value, dropped like any other by sequential.merge_results
    same_steps(result)
    result.elapsed_s = time.perf_counter() - started
    return result


def _with_bins(tally: Tally, bins: PooledBins) -> Tally:
    """A replication's tally, its points' durations pooled without their bins, with their counts per bin."""
    tally.durations = bins.attached(tally.durations)
    return tally


def same_steps(result: "RunResult") -> None:
    """Put every series of the run in the coarsest step any of them took (steps.py: a replication whose lines
    drained for weeks); a round of up to two weeks keeps its minutes and is left as it is."""
    bands = [result.run_bands, *result.point_bands.values()]
    step = max([b.step_s for b in bands if b.sampled.n] + [result.step_s, result.chain_step_s])
    for scope in bands:
        if scope.sampled.n:
            scope.coarsen(step)
    _coarsen_chain(result, step)
    result.step_s = step


def _coarsen_chain(result: "RunResult", step_s: float) -> None:
    k = factor(step_s, result.chain_step_s)
    result.chain_bands = {name: band.coarsened(k, name in CUMULATIVE_SERIES) for name, band in result.chain_bands.items()}
    result.chain_step_s = step_s


def _run_chain(scenario: Scenario, replication: int, parts: list[PointTubes], step_s: float, result: RunResult) -> dict[str, Any]:
    """Simulate the replication's sample chain; fold its series into the result; return its KPIs."""
    from ..model.chain import simulate_chain

    log = simulate_chain(scenario, replication, parts)
    last = np.nanmax(np.concatenate([[scenario.hours[-1][1]], log.released_s, log.recall_released_s]))
    step_s = max(step_for(last, step_s), result.chain_step_s)
    if step_s > result.chain_step_s:
        _coarsen_chain(result, step_s)
    edges = np.arange(int(np.ceil(last / step_s)) + 1) * step_s
    for name, values in chain_series(log, edges).items():
        result.chain_bands.setdefault(name, Band()).add(values)
    if result.first_chain is None:
        result.first_chain = log
    start = scenario.hours[0][0]
    return chain_kpis(log, start, scenario.deadline_s, scenario.chain.freshness_limit_h)


def _execute(
    scenario: Scenario,
    tasks: list[tuple[int, int]],
    jobs: int,
    step_s: float,
    want_logs: bool,
    engines: Optional[tuple[str, ...]] = None,
    executor: str = DEFAULT_EXECUTOR,
    scheduler: Optional[str] = None,
) -> Iterator[PointRun]:
    """Every task's PointRun, in task order, whatever the executor (the single place tasks are run)."""
    shared = _Shared(scenario, step_s, want_logs, engines or ("simpy",) * len(scenario.points), full_timelines(scenario))
    costs = [point_task_s(scenario.points[index], shared.engines[index]) for _, index in tasks]
    batches = [tasks[span.start : span.stop] for span in batch_tasks(costs, workers=jobs)]
    if runs_in_process(executor, jobs, len(batches)):
        # In this process, one task at a time so the progress bar moves per task (and stays here:
        # many one-task batches must not start the workers that one batch did not need).
        batches, executor = [[task] for task in tasks], "serial"
    elif forks_workers(executor, jobs, len(batches)):
        # numba's code loaded here, once (about 0.7 s of CPU), is inherited by every forked worker, and by
        # this process's own later simulations (the diagnosis' checks), instead of loaded by each.
        load_engines(scenario, shared.engines)
    for runs in run_batches(_run_batch, shared, batches, executor=executor, jobs=jobs, scheduler=scheduler):
        yield from runs


@dataclass(frozen=True)
class _Shared:
    """What every batch needs, sent to each worker once."""

    scenario: Scenario
    step_s: float
    want_logs: bool
    engines: tuple[str, ...]
    full_timelines: bool = True


def _run_batch(shared: _Shared, batch: list[tuple[int, int]]) -> list[PointRun]:
    """Run a batch of tasks in a worker (or in this process), in order; their counts added up (``pool_counts``)."""
    return pool_counts([
        simulate_task(shared.scenario, rep, index, shared.step_s, keep_log=shared.want_logs and rep == 0,
                      engine=shared.engines[index], full_timeline=shared.full_timelines)
        for rep, index in batch
    ])
