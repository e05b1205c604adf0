"""What limits each point and the whole run, read from a finished run (every run).

For each point, from its KPIs (means over replications) and its series:

**limited_by**, by the first rule that holds (``target`` is the p90 wait target,
15 minutes unless given):

1. ``hours``: the opening hours leave residents unserved: a calling plan
   leaves residents uncalled (``not_called``), door-to-door teams leave
   households unvisited (``home_unserved``), residents come after their day's
   closing or are left in line when the staff go (``turned_away``), or the
   line at the last closing takes longer than ``target`` to serve
   (``overtime_min > target``). Each of these is at least half a resident (or
   a minute) on average.
2. ``capacity``: lines hold residents back: the p90 total wait is over
   ``target``, or the last swab comes more than ``target`` after the last
   arrival (the line drains slowly), or residents leave the line
   (``balked + reneged``, at least half a resident).
3. ``arrivals``: otherwise: the calling plan (or the walk-in demand) sets the
   finish and capacity has headroom.

**bottleneck**: the stage holding the most resident-minutes of waiting (the
integral of its line, ``timeseries.csv``), not counting the waiting before the
point opens (``waiting_before_opening_person_min``, at the first stage: early
arrivals and residents called before the set-up is done). ``wait_share`` is its
share of all such waiting; ``utilization`` is over its **busy period**, the
``busy_period`` KPIs (``metrics.busy_period``): in each replication, the stretch
of minutes in which at least one resident waited at the stage on average while
it had servers on duty (after the opening and the set-up), gaps of up to 15
minutes bridged, the stretch holding the most waiting; its servers' busy time
over their time on duty there (a registrar paired with a station is busy while
its resident waits for the sampler too), then the mean over the replications
that had one. A stage that never had such a line has no busy period: its
utilisation is then the KPI's, over the whole staffed time.

**headroom**: ``headroom.py``.

For the run: ``limited_by`` of the point that finishes last (with counts of
points per class), the bottleneck over all points' waiting, and the least
headroom of any point (the point that would pass the target first).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Optional

from ..scenario.schema import CallingArrivals, PoissonArrivals, Point, Scenario, SlotArrivals
from .capacity import stages_of
from .headroom import Headroom, estimate_headrooms, refine
from .plans import calls_window, plan_window
from .targets import DEFAULT_MAX_P90_WAIT_MIN
LIMITS = ("capacity", "arrivals", "hours")
AT_LEAST = 0.5
"""A count (residents, minutes) counts as present from half a unit on average."""
CHECK_BUDGET_RESIDENTS = 100_000
"""Resident-simulations a run spends checking headrooms by simulation (about a tenth of a second on the
fast engine): the demo point's three plans of five replications take 39,000."""
CHECK_REPLICATIONS = 10
"""Replications simulated per plan in a check (the run's first ones)."""
CHECKS_PER_POINT = 4
"""Plans a headroom check simulates at most: a bracket and a bisection step or two."""
DOUBTFUL_CORRECTION_MIN = 3.0
"""A fluid estimate that misses the run's own p90 by more than this is checked by simulation first ..."""
DOUBTFUL_JUMP = 4.0
"""... its bracket widening in steps of this many times its stated precision."""


# ------------------------------------------------------------------ the records


@dataclass(frozen=True)
class BusyPeriod:
    """A stage's busy period, means over the replications that had one (``replications``)."""

    start_h: float
    end_h: float
    utilization: float
    waiting_person_min: float
    replications: int


@dataclass(frozen=True)
class Bottleneck:
    stage: str
    wait_share: float
    utilization: float
    """Over the busy period; over the whole staffed time (the KPI) when there is none."""
    waiting_person_min: float
    servers: int
    busy_period: Optional[BusyPeriod] = None
    points: int = 1
    """Points at which this stage holds the most waiting (the run's record)."""


@dataclass(frozen=True)
class Evidence:
    """The numbers behind ``limited_by`` (hours from the first opening; clock times in seconds since midnight of day 0)."""

    plan: str
    """``slots``, ``calling`` or ``walk_in``."""
    plan_end_s: float
    last_arrival_s: Optional[float]
    last_swab_s: float
    finish_s: float
    drain_min: Optional[float]
    p90_wait_min: Optional[float]
    overtime_min: float
    last_closing_s: float
    waiting_at_closing: float
    not_called: float
    never_walked_in: float
    home_unserved: float
    turned_away: float
    left_the_line: float
    roster: float
    arrived: float
    sampled_total: float
    rules: tuple[str, ...] = ()
    """The conditions that held, by name (``p90_wait_over_target``, ``not_called``...)."""
    calls_end_s: Optional[float] = None
    """The end of the calls or slots, the mop-up left out (``plans.calls_window``); None for walk-ins."""


@dataclass(frozen=True)
class PointDiagnosis:
    point: Point
    limited_by: str
    evidence: Evidence
    bottleneck: Optional[Bottleneck]
    waiting_person_min: dict[str, float]
    waiting_before_opening_person_min: float
    headroom: Optional[Headroom]

    @property
    def id(self) -> str:
        return self.point.id

    @property
    def total_waiting_person_min(self) -> float:
        return sum(self.waiting_person_min.values())


@dataclass(frozen=True)
class RunDiagnosis:
    limited_by: str
    counts: dict[str, int]
    latest_point: str
    bottleneck: Optional[Bottleneck]
    headrooms: dict[str, tuple[str, Headroom]] = field(default_factory=dict)
    """Per headroom kind, the point with the least headroom and its headroom."""
    finish_set_by_plan: bool = False
    """Every point is arrivals-limited: finish times follow the calling plans, not capacity."""
    plan_end_s: Optional[float] = None
    """With ``finish_set_by_plan``, the latest end of any point's plan."""
    waiting_before_opening_person_min: float = 0.0
    total_waiting_person_min: float = 0.0


@dataclass(frozen=True)
class Diagnosis:
    target_min: float
    points: list[PointDiagnosis]
    run: RunDiagnosis
    deadline_s: float
    open_s: float
    scenario: Optional[Scenario] = None

    def point(self, point_id: str) -> PointDiagnosis:
        return next(p for p in self.points if p.id == point_id)


# ------------------------------------------------------------------ per point


def _mean(leaf: Any, default: float = math.nan) -> float:
    value = leaf.get("mean") if isinstance(leaf, dict) else None
    return default if value is None else float(value)


def plan_kind(arrivals) -> str:
    return {SlotArrivals: "slots", CallingArrivals: "calling", PoissonArrivals: "walk_in"}[type(arrivals)]


def stage_waiting(bands, stages: tuple[str, ...], before_opening: float) -> dict[str, float]:
    """Resident-minutes of waiting at each stage (the integral of its line), the waiting before the opening
    taken off the first stage (where residents wait for it)."""
    waiting = {stage: bands.queue[stage].mean_sum() * bands.step_s / 60.0 for stage in stages if stage in bands.queue}
    if waiting:
        first = next(iter(waiting))
        waiting[first] = max(0.0, waiting[first] - before_opening)
    return waiting


def point_bottleneck(point: Point, kpis: dict, waiting: dict[str, float]) -> Optional[Bottleneck]:
    """The stage holding the most waiting, with its share and its utilisation over its busy period."""
    total = sum(waiting.values())
    if not waiting or total <= 0:
        return None
    stage = max(waiting, key=waiting.get)
    return _bottleneck(stage, waiting[stage] / total, waiting[stage], point.servers(stage), kpis)


def _bottleneck(stage: str, share: float, waiting: float, servers: int, kpis: dict, points: int = 1) -> Bottleneck:
    """The stage's record from the ``busy_period`` KPIs (means over the replications that had one)."""
    leaves = kpis.get("busy_period", {}).get(stage, {})
    utilization = _mean(leaves.get("utilization", {}))
    start, end = _mean(leaves.get("start_h", {})), _mean(leaves.get("end_h", {}))
    period = None
    if math.isfinite(utilization) and math.isfinite(start) and math.isfinite(end):
        period = BusyPeriod(start, end, utilization, _mean(leaves.get("waiting_person_min", {}), 0.0),
                            leaves["utilization"].get("n", 0))
    else:
        utilization = _mean(kpis["utilization"].get(stage, {}))
    return Bottleneck(stage, share, utilization, waiting, servers, period, points)


def classify(evidence: Evidence, target: float) -> tuple[str, tuple[str, ...]]:
    """``limited_by`` and the names of the conditions that held (rules in the module docstring)."""
    hours = [name for name, value in (("not_called", evidence.not_called), ("home_unserved", evidence.home_unserved),
                                      ("turned_away", evidence.turned_away)) if value >= AT_LEAST]
    if evidence.overtime_min > target:
        hours.append("overtime_over_target")
    if hours:
        return "hours", tuple(hours)
    capacity = []
    if evidence.p90_wait_min is not None and evidence.p90_wait_min > target:
        capacity.append("p90_wait_over_target")
    if evidence.drain_min is not None and evidence.drain_min > target:
        capacity.append("slow_drain")
    if evidence.left_the_line >= AT_LEAST:
        capacity.append("left_the_line")
    if capacity:
        return "capacity", tuple(capacity)
    return "arrivals", ("within_target",)


def point_evidence(point: Point, scenario: Scenario, kpis: dict, bands,
                   calls: Optional[tuple[float, float]] = None) -> Evidence:
    """``calls``: the point's ``plans.calls_window`` when the caller has it."""
    arrivals = scenario.arrivals_for(point)
    kind = plan_kind(arrivals)
    open_s = scenario.hours[0][0]
    last_arrival_h = _mean(kpis.get("last_arrival_h", {}))
    last_arrival = open_s + 3600.0 * last_arrival_h if math.isfinite(last_arrival_h) else None
    last_swab = open_s + 60.0 * _mean(kpis["completion_min"], 0.0)
    p90 = _mean(kpis["wait_min"].get("total", {}).get("p90", {}))
    last_close = scenario.hours[-1][1]
    closing_step = int(last_close // bands.step_s) - 1
    waiting = bands.queue_total
    not_called = _mean(kpis["not_called"], 0.0)
    calls = calls if calls is not None else calls_window(arrivals, scenario.hours, point.population)
    return Evidence(
        plan=kind,
        plan_end_s=plan_window(arrivals, scenario.hours, point.population, calls)[1],
        calls_end_s=None if kind == "walk_in" else calls[1],
        last_arrival_s=last_arrival,
        last_swab_s=last_swab,
        finish_s=open_s + 3600.0 * _mean(kpis["finish_h"], 0.0),
        drain_min=(last_swab - last_arrival) / 60.0 if last_arrival is not None else None,
        p90_wait_min=p90 if math.isfinite(p90) else None,
        overtime_min=_mean(kpis["overtime_min"], 0.0),
        last_closing_s=last_close,
        waiting_at_closing=waiting.mean_at(closing_step) if 0 <= closing_step < waiting.total.size else 0.0,
        not_called=0.0 if kind == "walk_in" else not_called,
        never_walked_in=not_called if kind == "walk_in" else 0.0,
        home_unserved=_mean(kpis["home_unserved"], 0.0),
        turned_away=_mean(kpis["turned_away"], 0.0),
        left_the_line=_mean(kpis["balked"], 0.0) + _mean(kpis["reneged"], 0.0),
        roster=_mean(kpis["population"], 0.0) - _mean(kpis["home_residents"], 0.0),
        arrived=_mean(kpis["arrived"], 0.0),
        sampled_total=_mean(kpis["sampled_total"], 0.0),
    )


def point_waiting(point: Point, kpis: dict, bands) -> tuple[dict[str, float], float]:
    """Resident-minutes of waiting per stage (:func:`stage_waiting`) and before the opening."""
    before = _mean(kpis.get("waiting_before_opening_person_min", {}), 0.0)
    return stage_waiting(bands, stages_of(point), before), before


def bottlenecks(result) -> dict[str, Optional[Bottleneck]]:
    """Each point's bottleneck in a finished run, as the diagnosis names it (no headroom: cheap).

    The impact view (``advise``) names the same stage with the same share."""
    out = {}
    for point in result.scenario.points:
        kpis = result.point_summaries[point.id]
        waiting, _ = point_waiting(point, kpis, result.point_bands[point.id])
        out[point.id] = point_bottleneck(point, kpis, waiting)
    return out


def diagnose_point(point: Point, scenario: Scenario, kpis: dict, bands, target: float,
                   calls: Optional[tuple[float, float]] = None) -> PointDiagnosis:
    """Everything but the headroom (estimated for all points at once, see :func:`diagnose`); ``calls`` as
    :func:`point_evidence` takes it."""
    evidence = point_evidence(point, scenario, kpis, bands, calls)
    limited_by, rules = classify(evidence, target)
    waiting, before = point_waiting(point, kpis, bands)
    return PointDiagnosis(point, limited_by, replace(evidence, rules=rules), point_bottleneck(point, kpis, waiting),
                          waiting, before, None)


def diagnose(result, target_min: float = DEFAULT_MAX_P90_WAIT_MIN, check_by_simulation: bool = True) -> Diagnosis:
    """The diagnosis of a finished run (``RunResult``): every point, then the run.

    Headrooms are estimated for every point at once (``headroom.estimate_headrooms``). With
    ``check_by_simulation``, those that matter most are checked by simulating the plans tried
    (:func:`headroom.refine`), within ``CHECK_BUDGET_RESIDENTS``: first the estimates the fluid
    model is doubtful of, then the least headroom of each kind (the run's), then the rest by least
    headroom; only points the fast engine can run, simulated on it once it is compiled (on SimPy during a
    first run, while it compiles aside: the same figures, and no compilation in the run's own process).
    """
    scenario = result.scenario
    hours = scenario.hours
    # Each point's calls found once, for its evidence and its headroom's push.
    calls = [calls_window(scenario.arrivals_for(point), hours, point.population) for point in scenario.points]
    points = [diagnose_point(point, scenario, result.point_summaries[point.id], result.point_bands[point.id], target_min,
                             window) for point, window in zip(scenario.points, calls)]
    bands = [result.point_bands[point.id] for point in scenario.points]
    headrooms = estimate_headrooms(scenario.points, scenario, [band.arrived.mean for band in bands], result.step_s,
                                   [p.evidence.p90_wait_min if p.evidence.p90_wait_min is not None else math.nan
                                    for p in points], target_min, [p.evidence.roster for p in points],
                                   result.replications, calls)
    points = [point if headroom is None else PointDiagnosis(  # made anew, not replaced: a city has thousands
        point.point, point.limited_by, point.evidence, point.bottleneck, point.waiting_person_min,
        point.waiting_before_opening_person_min, headroom) for point, headroom in zip(points, headrooms)]
    if check_by_simulation:
        points = _checked(points, scenario, result.replications)
    return Diagnosis(target_min, points, run_diagnosis(points, result), scenario.deadline_s, scenario.hours[0][0], scenario)


def _checked(points: list[PointDiagnosis], scenario: Scenario, replications: int) -> list[PointDiagnosis]:
    """Headrooms checked by simulation, in order of need, while the budget lasts."""
    from ..experiment.warm_up import ready_engine
    from ..model.fast import fast_scope  # only points the fast engine runs are checked (milliseconds each)

    candidates = [i for i, p in enumerate(points) if p.headroom is not None]
    doubtful = sorted((i for i in candidates if abs(points[i].headroom.correction_min) > DOUBTFUL_CORRECTION_MIN),
                      key=lambda i: -abs(points[i].headroom.correction_min))
    by_least = sorted(candidates, key=lambda i: _least(points[i].headroom))
    least_of_kind = list({points[i].headroom.kind: i for i in reversed(by_least)}.values())
    budget, runs = CHECK_BUDGET_RESIDENTS, min(replications, CHECK_REPLICATIONS)
    checked = list(points)
    engines: dict[bool, str] = {}  # with door-to-door teams or not: SimPy while the fast engine is not compiled
    for order, i in enumerate(dict.fromkeys(doubtful + least_of_kind + by_least)):
        point, estimate = points[i].point, points[i].headroom
        residents = max(1, round(points[i].evidence.arrived))  # what a simulation of the point costs
        # The first point checked gets its plans whatever its size; the others while the budget lasts.
        plans = CHECKS_PER_POINT if order == 0 else min(CHECKS_PER_POINT, budget // (residents * runs))
        if plans < 2 or fast_scope(point, scenario) is not None:
            continue
        # A doubtful estimate may be far off: its bracket widens four times as fast.
        jump = estimate.precision * (DOUBTFUL_JUMP if i in doubtful else 1.0)
        home = point.home is not None
        if home not in engines:
            engines[home] = ready_engine(home)
        headroom, tried = refine(estimate, point, scenario, runs, plans, jump, engines[home])
        budget -= tried * residents * runs
        checked[i] = replace(points[i], headroom=headroom)
    return checked


def _least(headroom: Headroom) -> float:
    """Sort key: how much push is left (no headroom reachable: least)."""
    if not headroom.reachable:
        return -math.inf
    return headroom.value - (1.0 if headroom.kind == "walk_in_rate" else 0.0)


def run_diagnosis(points: list[PointDiagnosis], result) -> RunDiagnosis:
    counts = Counter(p.limited_by for p in points)
    latest = max(points, key=lambda p: p.evidence.finish_s)
    waiting: dict[str, float] = {}
    for point in points:
        for stage, minutes in point.waiting_person_min.items():
            waiting[stage] = waiting.get(stage, 0.0) + minutes
    total = sum(waiting.values())
    bottleneck = None
    if total > 0:
        stage = max(waiting, key=waiting.get)
        bottleneck = points[0].bottleneck if len(points) == 1 else _bottleneck(
            stage, waiting[stage] / total, waiting[stage], sum(p.point.servers(stage) for p in points if stage in p.waiting_person_min),
            result.summary["kpis"], sum(1 for p in points if p.bottleneck is not None and p.bottleneck.stage == stage))
    headrooms: dict[str, tuple[str, Headroom]] = {}
    for point in sorted((p for p in points if p.headroom is not None), key=lambda p: _least(p.headroom)):
        headrooms.setdefault(point.headroom.kind, (point.id, point.headroom))
    by_plan = counts.get("arrivals", 0) == len(points)
    plan_end = max(p.evidence.plan_end_s for p in points) if by_plan else None
    return RunDiagnosis(latest.limited_by, {limit: counts.get(limit, 0) for limit in LIMITS}, latest.id, bottleneck,
                        headrooms, by_plan, plan_end, sum(p.waiting_before_opening_person_min for p in points), total)
