"""Headroom: how much earlier a calling plan could end, or how much faster walk-ins could
come, before the p90 of the total wait passes a target.

Re-simulating every point of a district many times would multiply its run time,
so the headroom is **estimated with a fluid model** and calibrated on the run (``ESTIMATE_TOLERANCE``):

1. The point's arrivals are the run's own (the cumulative arrivals, mean over
   replications); a shortened plan moves them as ``plans.shorten_plan`` moves the
   calls (compressed in opening time towards the first call); faster walk-ins
   scale them (up to the roster).
2. Residents flow through the stages in walking order as a fluid: each stage
   serves its line at the rate of ``capacity.stage_rates`` (servers on duty over
   the mean time a server is tied up per resident, the layout included); a
   line grows while more arrive than the stage can serve. Residents who arrive
   while the point is closed join the line at the next opening. Waits are read
   first in, first out from the cumulative curves.
3. A fluid has no random waits: the difference between the run's p90 and the
   fluid's p90 of the plan as it is (the random part of the wait, and what the
   fluid leaves out: balking, priorities, lines per tent) is added to every
   estimate.

The headroom is then found by bisection on the estimate (opening hours for a
calling plan, the rate's factor for walk-ins). tests/validation/test_headroom.py
holds it to bisection by simulation on the calling plan itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable, Optional

import numpy as np

from ..experiment.replicate import point_log
from ..metrics import time_stats
from ..scenario.schema import PoissonArrivals, Point, Scenario
from .capacity import StageRate, mean_service_s, stage_rates
from .plans import (
    SMALLEST_FACTOR,
    Arrivals,
    clock_at,
    opening_time,
    plan_window,
    scale_walk_in,
    shorten_plan,
    stretch_room_h,
    with_point_arrivals,
)

GRID_S = 60.0
"""Step of the fluid model."""
COARSE_GRID_S = 180.0
"""Step of the fluid model for runs whose series are coarser than a minute (districts of over 100 points)."""
MAX_DRAIN_S = 3 * 86400.0
"""The fluid follows a point's line at most this long after the round's last closing."""
QUANTILES = 500
"""Residents followed through the fluid (evenly spaced in arrival order)."""
RANK_90 = int(0.9 * (QUANTILES - 1))
SEARCH_STEPS = 9
"""Bisection steps: the headroom of a calling plan of 16 h within 16 h / 2**9, about 2 minutes."""
MAX_WALK_IN_FACTOR = 10.0
"""Walk-in rates are not tried beyond this multiple."""
ESTIMATE_TOLERANCE = {"calling_plan": 0.25, "walk_in_rate": 0.05}
ESTIMATE_RELATIVE_TOLERANCE = 0.10
"""The estimate's stated agreement with bisection by simulation on the plan: within the larger of
these (hours of plan or factor of the rate) and 10% of the headroom; held by tests/validation/test_headroom.py."""


def estimate_tolerance(kind: str, value: Optional[float]) -> float:
    """How far an estimated headroom may be from bisection by simulation."""
    push = 0.0 if value is None else abs(value - (1.0 if kind == "walk_in_rate" else 0.0))
    return max(ESTIMATE_TOLERANCE[kind], ESTIMATE_RELATIVE_TOLERANCE * push)


@dataclass(frozen=True)
class Fluid:
    """The stages of one point as a fluid on a time grid."""

    grid: np.ndarray
    rates: list[StageRate]
    served: list[np.ndarray]
    """Per stage, residents it could have served from the grid's start to each grid time."""
    admitted: np.ndarray
    """Per grid time, the latest time whose arrivals may be in line (nights wait for the opening)."""

    @classmethod
    def of(cls, point: Point, scenario: Scenario, start_s: float, end_s: float, step_s: float = GRID_S) -> "Fluid":
        """From ``start_s`` (before the first arrival) to ``end_s`` (after the last service)."""
        hours = scenario.hours
        grid = np.arange(math.floor(start_s / step_s) * step_s, end_s + step_s, step_s)
        admitted = grid.copy()
        for day, (open_s, close_s) in enumerate(hours):
            following = hours[day + 1][0] if day + 1 < len(hours) else np.inf
            admitted[(grid > close_s) & (grid < following)] = close_s
        admitted[grid < hours[0][0]] = -np.inf
        rates = stage_rates(point, scenario, grid)
        served = [np.concatenate([[0.0], np.cumsum(rate.per_s[:-1] * step_s)]) for rate in rates]
        return cls(grid, rates, served, admitted)

    def p90_wait_min(self, arrived: np.ndarray) -> float:
        """The p90 of the total wait (minutes) of residents arriving as ``arrived`` (cumulative, on the grid)."""
        total = float(arrived[-1])
        if total <= 0:
            return 0.0
        flow = np.interp(self.admitted, self.grid, arrived, left=0.0)  # in line by each time
        for served in self.served:
            # A stage's departures: what it could serve, less what it could not for want of residents.
            flow = served + np.minimum.accumulate(np.minimum(flow - served, 0.0))
        who = (np.arange(QUANTILES) + 0.5) / QUANTILES * total
        # When each resident arrived and left the last line: the curves read backwards (a resident
        # on a flat stretch of a curve is placed at its end: residents sit strictly between counts).
        waits = np.interp(who, flow, self.grid, right=np.inf) - np.interp(who, arrived, self.grid)
        return float(np.partition(waits, RANK_90)[RANK_90]) / 60.0


@dataclass(frozen=True)
class Push:
    """How a point's arrival plan can be pushed: ``value`` is the hours by which a calling plan ends
    earlier (``now`` 0) or the factor on a walk-in rate (``now`` 1), from ``low`` (the gentlest plan
    tried: stretched to the round's last closing, or a tenth of the rate) to ``high`` (the hardest:
    compressed to ``SMALLEST_FACTOR`` of its span, or ``MAX_WALK_IN_FACTOR``)."""

    kind: str
    arrivals: Arrivals
    hours: list
    population: int
    now: float
    low: float
    high: float

    @classmethod
    def of(cls, point: Point, scenario: Scenario) -> Optional["Push"]:
        """None for a plan that calls everyone at once (nothing to shorten)."""
        arrivals, hours = scenario.arrivals_for(point), scenario.hours
        if isinstance(arrivals, PoissonArrivals):
            return cls("walk_in_rate", arrivals, hours, point.population, 1.0, 1.0 / MAX_WALK_IN_FACTOR,
                       MAX_WALK_IN_FACTOR)
        start_s, end_s = plan_window(arrivals, hours, point.population)
        span_h = (opening_time(hours, end_s) - opening_time(hours, start_s)) / 3600.0
        if span_h <= 0:
            return None
        return cls("calling_plan", arrivals, hours, point.population, 0.0,
                   -stretch_room_h(arrivals, hours, point.population), span_h * (1.0 - SMALLEST_FACTOR))

    def plan(self, value: float) -> Arrivals:
        """The arrival plan pushed by ``value``."""
        if self.kind == "walk_in_rate":
            return scale_walk_in(self.arrivals, value)
        return shorten_plan(self.arrivals, self.hours, value, self.population)

    def headroom(self, value: Optional[float], target_min: float, p90_now_min: float, method: str,
                 correction_min: float = 0.0, at_least: bool = False) -> "Headroom":
        """The headroom at ``value`` (None: no plan tried meets the target)."""
        found = value is not None
        precision = estimate_tolerance(self.kind, value)
        if self.kind == "walk_in_rate":
            return Headroom(self.kind, target_min, p90_now_min, factor=value, reachable=found, at_least=at_least,
                            rate_per_hour=self.arrivals.rate_per_hour * value if found else None, method=method,
                            correction_min=correction_min, precision=precision)
        _, end_s = plan_window(self.arrivals, self.hours, self.population)
        end_at = clock_at(self.hours, opening_time(self.hours, end_s) - value * 3600.0) if found else None
        return Headroom(self.kind, target_min, p90_now_min, hours=value, plan_end_s=end_s, end_at_target_s=end_at,
                        reachable=found, at_least=at_least, method=method, correction_min=correction_min,
                        precision=precision)


@dataclass(frozen=True)
class Headroom:
    """How far the arrival plan can be pushed before the p90 wait passes ``target_min``.

    ``kind`` is ``calling_plan`` (``hours``: how much earlier, in opening hours, the
    plan could end; negative: how much later it must end) or ``walk_in_rate``
    (``factor``: how many times as fast walk-ins could come; below 1: slower).
    ``reachable`` is False when no plan the search may try meets the target (a
    calling plan stretched to the last closing, walk-ins at a tenth of the rate):
    then more capacity is needed. ``at_least`` is True when even the hardest plan
    tried stays within the target. ``method``: ``estimate`` (the fluid model) or
    ``simulation`` (checked by simulating the plans tried).
    """

    kind: str
    target_min: float
    p90_now_min: float
    hours: Optional[float] = None
    factor: Optional[float] = None
    plan_end_s: Optional[float] = None
    end_at_target_s: Optional[float] = None
    rate_per_hour: Optional[float] = None
    reachable: bool = True
    at_least: bool = False
    method: str = "estimate"
    correction_min: float = 0.0
    precision: float = 0.0
    """How far the true value may be (hours or factor): for an estimate, the agreement with bisection by
    simulation that the validation tests hold; for a check by simulation, the bracket it ends in."""

    @property
    def value(self) -> Optional[float]:
        return self.hours if self.kind == "calling_plan" else self.factor


def point_headroom(point: Point, scenario: Scenario, arrived: np.ndarray, step_s: float, p90_now_min: float,
                   target_min: float, roster: float) -> Optional[Headroom]:
    """The headroom of one point from its run, estimated: ``arrived`` is its cumulative arrivals per
    series step (mean over replications), ``p90_now_min`` its p90 total wait, ``roster`` the
    residents it could receive (walk-ins stop there). None when nobody came or there is no plan to push."""
    push = Push.of(point, scenario)
    if push is None or p90_now_min is None or not math.isfinite(p90_now_min) or arrived.size == 0 or arrived[-1] <= 0:
        return None
    hours = scenario.hours
    came = np.concatenate([[0.0], arrived])
    first_step = int(np.argmax(came > 0)) - 1
    slowest = min(point.servers(stage) * 3600.0 / seconds for stage, seconds in mean_service_s(point, scenario).items())
    drain_s = 3600.0 * (1.0 + max(roster, came[-1]) / slowest)
    finish_s = min(max(hours[-1][1], arrived.size * step_s) + drain_s, hours[-1][1] + MAX_DRAIN_S)
    fluid = Fluid.of(point, scenario, min(first_step * step_s, hours[0][0]), finish_s,
                     GRID_S if step_s <= GRID_S else COARSE_GRID_S)
    base = np.interp(fluid.grid, np.arange(arrived.size + 1) * step_s, came)
    correction = p90_now_min - fluid.p90_wait_min(base)
    if push.kind == "walk_in_rate":
        pushed = lambda factor: np.minimum(base * factor, max(roster, base[-1]))  # noqa: E731
    else:
        start_s, end_s = plan_window(push.arrivals, hours, point.population)
        start_open, end_open = opening_time(hours, start_s), opening_time(hours, end_s)
        span = end_open - start_open
        grid_open = opening_time(hours, fluid.grid)
        early = fluid.grid <= start_s

        def pushed(by_h: float) -> np.ndarray:
            factor = (span - by_h * 3600.0) / span
            moved = np.where(early, fluid.grid, clock_at(hours, start_open + (grid_open - start_open) * factor, start=True))
            moved = np.maximum.accumulate(moved) + np.arange(moved.size) * 1e-6  # increasing, for interpolation
            return np.interp(fluid.grid, moved, base)

    estimate = lambda value: fluid.p90_wait_min(pushed(value)) + correction  # noqa: E731
    value, at_least = _search(estimate, push, target_min, p90_now_min)
    return push.headroom(value, target_min, p90_now_min, "estimate", correction, at_least)


def _search(p90: Callable[[float], float], push: Push, target: float, p90_now: float) -> tuple[Optional[float], bool]:
    """The hardest push with a p90 within ``target``, by bisection (the p90 grows with the push):
    (value or None if no push tried meets it, whether even ``push.high`` meets it)."""
    if p90_now <= target:
        if p90(push.high) <= target:
            return push.high, True
        good, bad = push.now, push.high
    else:
        if push.low >= push.now or p90(push.low) > target:
            return None, False
        good, bad = push.low, push.now
    for _ in range(SEARCH_STEPS):
        middle = (good + bad) / 2.0
        good, bad = (middle, bad) if p90(middle) <= target else (good, middle)
    return good, False


# ------------------------------------------------------------------ checked by simulation

REFINE_TOLERANCE = {"calling_plan": 5.0 / 60.0, "walk_in_rate": 0.02}
"""How closely a headroom checked by simulation is placed: 5 minutes of plan, 2% of the walk-in rate."""


def simulated_p90_min(scenario: Scenario, point: Point, arrivals: Arrivals, replications: int,
                      engine: str = "auto") -> float:
    """The p90 of the total wait (minutes, mean over ``replications``) of ``point`` alone, called by ``arrivals``:
    the same figure as its ``wait_min.total.p90`` KPI in a run of that plan."""
    alone = with_point_arrivals(scenario, point, arrivals)
    values = []
    for replication in range(replications):
        log = point_log(alone, replication, alone.points[0], engine)
        if log.sampled:
            values.append(time_stats(sum(log.wait(stage) for stage in log.stages))["p90"])
    return float(np.mean(values)) if values else math.nan


def refine(estimate: Headroom, point: Point, scenario: Scenario, replications: int,
           max_plans: int = 4) -> tuple[Headroom, int]:
    """The headroom found again by simulating the point (its first ``replications``) under at most
    ``max_plans`` plans: a bracket around the estimate (half a tolerance either side, widening),
    then bisection towards ``REFINE_TOLERANCE``. Returns it and the plans simulated; its
    ``precision`` is the width of the bracket left (the tolerance, or wider when the plans ran out)."""
    push = Push.of(point, scenario)
    tolerance = REFINE_TOLERANCE[estimate.kind]
    tried: dict[float, float] = {}

    def p90(value: float) -> float:
        if value not in tried:
            tried[value] = math.inf if len(tried) >= max_plans else simulated_p90_min(scenario, point, push.plan(value),
                                                                                        replications)
        return tried[value]

    guess = estimate.value if estimate.value is not None else (push.high if estimate.at_least else push.low)
    good, bad = _bracket(p90, guess, push.low, push.high, estimate.target_min, tolerance)
    while good is not None and bad is not None and bad - good > tolerance and len(tried) < max_plans:
        middle = (good + bad) / 2.0
        good, bad = (middle, bad) if p90(middle) <= estimate.target_min else (good, middle)
    if any(math.isinf(value) for value in tried.values()):  # the plans ran out while bracketing
        return estimate, min(len(tried), max_plans)
    found = push.headroom(good, estimate.target_min, estimate.p90_now_min, "simulation", estimate.correction_min,
                          at_least=good is not None and bad is None)
    return replace(found, precision=(bad - good) if good is not None and bad is not None else tolerance), len(tried)


def _bracket(p90: Callable[[float], float], guess: float, low: float, high: float, target: float,
             tolerance: float) -> tuple[Optional[float], Optional[float]]:
    """(good, bad): a push that meets the target and a larger one that does not, tried first half a
    tolerance either side of ``guess``, then further out by doubling steps; good is None if even
    ``low`` fails, bad None if even ``high`` meets it."""
    step, bad = tolerance / 2.0, None
    good = max(low, guess - step)
    while p90(good) > target:
        if good <= low:
            return None, None
        bad, step = good, step * 2.0
        good = max(low, good - step)
    if bad is not None:
        return good, bad
    step = tolerance / 2.0
    while good < high:
        above = min(high, max(guess, good) + step)
        if p90(above) > target:
            return good, above
        good, step = above, step * 2.0
    return good, None
