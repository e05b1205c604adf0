"""Headroom: how much earlier a calling plan could end, or how much faster walk-ins could
come, before the p90 of the total wait passes a target.

Re-simulating every point of a district many times would multiply its run time,
so the headroom is **estimated with a fluid model**, calibrated on the run, for all
points at once (arrays of points x set-ups x time, ``CHUNK`` points at a time):

1. A point's arrivals are the run's own (the cumulative arrivals, mean over
   replications); a shortened plan moves them as ``plans.shorten_plan`` moves the
   calls (compressed in opening time towards the first call); faster walk-ins
   scale them (up to the roster).
2. Residents flow through the stages in walking order as a fluid: each stage
   serves its line at the rate of ``capacity.stage_rates`` (servers on duty over
   the mean time a server is tied up per resident, the layout included); a
   line grows while more arrive than the stage can serve. Residents who arrive
   while the point is closed join the line at the next opening, which on the
   first day waits for the set-up: once for each of the run's set-up times (up to three),
   the p90s averaged as the run averages its replications'. Waits are read first
   in, first out from the cumulative curves.
3. A fluid has no random waits: the difference between the run's p90 and the
   fluid's p90 of the plan as it is (the random part of the wait, and what the
   fluid leaves out: balking, priorities, lines per tent) is added to every
   estimate.

The headroom is then found by bisection on the estimate (opening hours for a
calling plan, the rate's factor for walk-ins), to the estimate's stated tolerance
(``estimate_tolerance``). ``refine`` checks one point's headroom by simulating the
point under the plans tried. tests/validation/test_headroom.py holds both to
bisection by simulation on the plan itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable, Optional

import numpy as np

from ..experiment.replicate import point_log
from ..metrics import fluid_departures, pushed_times, rows_interp, rows_interp_numpy, served_curves, time_stats
from ..stages import union
from ..scenario.schema import PoissonArrivals, Point, Scenario
from .capacity import mean_service_s, open_mask, setup_times, stage_rates, stages_of
from .plans import (
    SMALLEST_FACTOR,
    Arrivals,
    clock_at,
    day_edges,
    opening_time,
    plan_span_h,
    plan_window,
    scale_walk_in,
    shorten_plan,
    stretch_room_h,
    with_point_arrivals,
)

GRID_S = 60.0
"""Step of the fluid model."""
COARSE_GRID_S = 300.0
"""Step of the fluid model for runs whose series are coarser than a minute (districts of over 100 points)."""
MAX_DRAIN_S = 3 * 86400.0
"""The fluid follows a point's line at most this long after the round's last closing."""
QUANTILES = 200
"""Residents followed through the fluid (evenly spaced in arrival order: the p90 within half a percent)."""
RANK_90 = int(0.9 * (QUANTILES - 1))
SEARCH_STEPS = {GRID_S: 8, COARSE_GRID_S: 6}
"""Bisection steps, by the fluid's step: a calling plan of 16 h placed within 16 h / 2**8, about 4 minutes,
or (districts of over 100 points, coarser series) 2**6, 15 minutes: the estimate's own tolerance."""
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


UNLIMITED = 1e6
"""Residents per grid step a stage a point does not have can serve: nobody waits there."""
CHUNK = 256
"""Points whose fluids are computed together (memory stays bounded in a city of thousands)."""


@dataclass(frozen=True)
class Fluids:
    """Several points' stages as fluids on one time grid: arrays ``[point, set-up, time]``.

    A point with a set-up has a row for each of the run's set-up times, up to three (a long set-up piles
    up more residents than a short one spares: the fluid of the mean set-up is too kind);
    ``weight`` averages a point's rows as the run averages its replications.
    """

    grid: np.ndarray
    served: np.ndarray
    """``[stage, point, set-up, time]``: per stage in walking order, residents it could have served from the grid's
    start to each time."""
    weight: np.ndarray
    admitted: np.ndarray
    """Per grid time, the latest time whose arrivals may be in line (nights wait for the opening)."""
    in_line: "_Reading"
    """Reads the points' arrivals at ``admitted`` (the same for every push: found once)."""
    departed: np.ndarray
    """Working memory of :meth:`p90_wait_min` for the last stage's departures, reused by each call (a chunk's
    fluids are read eight times or more)."""

    @classmethod
    def of(cls, points: list[Point], scenario: Scenario, grid: np.ndarray, replications: int = 1,
           means: Optional[list[dict[str, float]]] = None) -> "Fluids":
        """``means``: each point's ``capacity.mean_service_s`` when already known."""
        hours = scenario.hours
        admitted = grid.copy()
        for day, (open_s, close_s) in enumerate(hours):
            following = hours[day + 1][0] if day + 1 < len(hours) else np.inf
            admitted[(grid > close_s) & (grid < following)] = close_s
        admitted[grid < hours[0][0]] = -np.inf
        setups = [setup_times(point, scenario, replications) for point in points]
        rows = max(len(times) for times in setups)
        weight = np.array([[1.0 / len(times) if k < len(times) else 0.0 for k in range(rows)] for times in setups])
        padded = np.array([times + times[-1:] * (rows - len(times)) for times in setups])
        # Before the set-up ends on the first day nobody is served: a row per set-up time.
        closed = (grid >= hours[0][0]) & (grid < hours[0][0] + padded[:, :, None])
        step = grid[1] - grid[0]
        stages = list(union([stages_of(point) for point in points]))
        # Points without a staff plan serve at a constant rate while open: one mask scaled per point and stage.
        means = means if means is not None else [mean_service_s(point, scenario) for point in points]
        # A stage of no time, or of so little that its rate overflows (a subnormal mean), limits nothing.
        scale = np.array([[min(point.servers(stage) / mean[stage], UNLIMITED / step) if mean.get(stage, 0.0) > 0
                           else UNLIMITED / step for stage in stages] for point, mean in zip(points, means)])
        served = served_curves(scale, open_mask(hours, grid), closed, float(step), np.empty((len(stages),) + closed.shape))
        for c, point in enumerate(points):  # a staff plan's rates change over time: its rows made again from them
            if point.staff is not None:
                for stage, rate in stage_rates(point, scenario, grid, UNLIMITED / step).items():
                    row = served[stages.index(stage), c]
                    row[:, 0] = 0.0
                    np.cumsum(np.where(closed[c], 0.0, rate[None, :])[:, :-1] * step, axis=1, out=row[:, 1:])
        return cls(grid, served, weight, admitted, _Reading.of(admitted, grid, len(points), left=0.0),
                   np.empty(closed.shape))

    def p90_wait_min(self, arrived: np.ndarray) -> np.ndarray:
        """Per point, the p90 of the total wait (minutes) of residents arriving as ``arrived`` (cumulative,
        a row per point on the grid), the mean over its set-up rows (as the run's p90 is a mean over replications)."""
        total = arrived[:, -1]
        queued = self.in_line(arrived) if len(arrived) == self.in_line.rows else _rows_interp(
            self.admitted, self.grid, arrived, left=0.0)
        flow = fluid_departures(np.ascontiguousarray(queued), self.served, self.departed)
        who = (np.arange(QUANTILES) + 0.5) / QUANTILES * total[:, None]
        # When each resident arrived and left the last line: the curves read backwards (a resident
        # on a flat stretch of a curve is placed at its end: residents sit strictly between counts).
        points, rows, _ = flow.shape
        # Read back into the grid's times, one row that every curve shares.
        left = _rows_interp(np.repeat(who, rows, axis=0), flow.reshape(points * rows, -1), self.grid).reshape(points, rows, -1)
        left[who[:, None, :] > flow[:, :, -1:]] = np.inf  # never served within the grid
        waits = left - _rows_interp(who, arrived, self.grid)[:, None, :]
        p90 = np.partition(waits, RANK_90, axis=2)[:, :, RANK_90]
        return np.where(total > 0, (np.where(self.weight > 0, p90, 0.0) * self.weight).sum(axis=1), 0.0) / 60.0


def _rows_interp(x: np.ndarray, xp: np.ndarray, fp: np.ndarray, left: Optional[float] = None,
                 ordered: bool = False) -> np.ndarray:
    """``np.interp`` row by row in one call (each row lifted above the one before: ``metrics.rows_interp``); ``x``,
    ``xp`` (non-decreasing per row) and ``fp`` are 2-D, or 1-D when every row shares them. ``ordered``: each row of
    ``xp`` is its own running maximum (a NaN carried to its end, as ``metrics.pushed_times`` makes it), so its
    largest and smallest values are in its last and first columns: the lift is read there, not over every value."""
    rows = max(len(a) if np.ndim(a) == 2 else 1 for a in (x, xp, fp))
    two_d = [np.ascontiguousarray(a, dtype=np.float64).reshape(-1, np.shape(a)[-1]) for a in (x, xp, fp)]
    xp2 = two_d[1]
    step = float(xp2[:, -1].max() - xp2[:, 0].min() if ordered else xp2.max() - xp2.min()) + 1.0
    # A non-finite xp lifts no row apart (inf - inf): numpy's search over the rows laid end to end, as it falls.
    read = rows_interp if math.isfinite(step) else rows_interp_numpy
    values = read(*two_d, step, np.empty((rows, two_d[0].shape[1])))
    return np.where(x < np.reshape(xp, (-1, np.shape(xp)[-1]))[:, :1], left, values) if left is not None else values


@dataclass(frozen=True)
class _Reading:
    """:func:`_rows_interp` of ``rows`` rows at fixed ``x`` (1-D) on a fixed ``xp`` (1-D), for any ``fp``: where each
    ``x`` falls found once, then each call reads ``fp`` there with numpy's own arithmetic (``np.interp``: the
    value at a point of ``xp`` where ``x`` falls on one, else the slope from it to the next times the distance
    past it, on the lifted values as :func:`_rows_interp` lifts them; the other way round where that gives NaN),
    so the same values to the bit, without a search each time."""

    rows: int
    at: np.ndarray
    """Per row and ``x``, the index (in all rows' ``fp`` laid end to end) of the last ``xp`` at or below it."""
    between: np.ndarray
    """Where ``x`` falls between two points of ``xp`` (the others read ``fp`` at ``at``), as indices of ``at``."""
    past: np.ndarray
    """There, how far ``x`` is past its ``xp`` point, and ..."""
    before: np.ndarray
    """... before the next one (negative),"""
    width: np.ndarray
    """... and how far apart the two are."""
    outside: np.ndarray
    """Where ``x`` is below ``xp`` (``left`` is read there; nowhere without ``left``)."""
    left: Optional[float]
    undefined: np.ndarray
    """Where ``x`` is NaN (so is the value), as indices of ``at``."""

    @classmethod
    def of(cls, x: np.ndarray, xp: np.ndarray, rows: int, left: Optional[float] = None) -> "_Reading":
        if rows > 1 and _whole(x, xp, rows):
            return cls.of(x, xp, 1, left).repeated(rows, xp.size)
        lift = (float(xp.max() - xp.min()) + 1.0) * np.arange(rows)[:, None]
        lifted = (xp + lift).ravel()
        wanted = (np.clip(x, xp[0], xp[-1]) + lift).ravel()
        at = np.searchsorted(lifted, wanted, side="right") - 1  # np.interp's search
        between = np.flatnonzero((at < lifted.size - 1) & (lifted[at] != wanted))
        ahead = at[between]
        outside = x < xp[0] if left is not None else np.zeros(x.shape, dtype=bool)
        return cls(rows, at, between, wanted[between] - lifted[ahead], wanted[between] - lifted[ahead + 1],
                   lifted[ahead + 1] - lifted[ahead], outside, left, np.flatnonzero(np.isnan(wanted)))

    def repeated(self, rows: int, points: int) -> "_Reading":
        """This reading of one row, for ``rows`` rows of ``points`` points each: where the lifted sums are exact
        (:func:`_whole`), each row's search lands where the first row's does, that row's length further on, with
        the same distances."""
        wanted = self.at.size
        return _Reading(rows, (self.at + points * np.arange(rows)[:, None]).ravel(),
                        (self.between + wanted * np.arange(rows)[:, None]).ravel(), np.tile(self.past, rows),
                        np.tile(self.before, rows), np.tile(self.width, rows), self.outside, self.left,
                        (self.undefined + wanted * np.arange(rows)[:, None]).ravel())

    def __call__(self, fp: np.ndarray) -> np.ndarray:
        flat = np.ravel(fp)
        values = flat[self.at]
        ahead = self.at[self.between]
        low, high = flat[ahead], flat[ahead + 1]
        with np.errstate(invalid="ignore", over="ignore"):  # infinite values: NaN, handled as np.interp does
            slope = (high - low) / self.width
            read = slope * self.past + low
            lost = np.isnan(read)
            if lost.any():  # as np.interp: from the next point, or the value both points share
                again = slope * self.before + high
                read = np.where(lost, np.where(np.isnan(again) & (low == high), low, again), read)
        values[self.between] = read
        values[self.undefined] = np.nan
        values = values.reshape(self.rows, -1)
        return np.where(self.outside, self.left, values) if self.left is not None else values


def _whole(x: np.ndarray, xp: np.ndarray, rows: int) -> bool:
    """Whether ``x`` (as the search clips it to ``xp``) and ``xp`` are whole numbers, and so are their sums with
    :class:`_Reading`'s lift of the last of ``rows`` rows (below 2**53): then every lifted sum and difference is
    exact (a city's grid and opening hours are whole seconds; the nights' ``-inf`` clipped)."""
    x = np.clip(x, xp[0], xp[-1])
    low, high = float(min(x.min(), xp.min())), float(max(x.max(), xp.max()))
    lift = (float(xp.max() - xp.min()) + 1.0) * (rows - 1)
    return (math.isfinite(low) and math.isfinite(high) and max(abs(low), abs(high)) + abs(lift) < 2.0 ** 53
            and lift == math.floor(lift) and bool((np.floor(x) == x).all()) and bool((np.floor(xp) == xp).all()))


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
    window: tuple[float, float] = (math.nan, math.nan)
    """The plan's first call and end (``plans.plan_window``; calling plans)."""

    @classmethod
    def of(cls, point: Point, scenario: Scenario, calls: Optional[tuple[float, float]] = None) -> Optional["Push"]:
        """None for a plan that calls everyone at once (nothing to shorten). ``calls``: the point's
        ``plans.calls_window`` when the caller has it."""
        arrivals, hours = scenario.arrivals_for(point), scenario.hours
        if isinstance(arrivals, PoissonArrivals):
            return cls("walk_in_rate", arrivals, hours, point.population, 1.0, 1.0 / MAX_WALK_IN_FACTOR,
                       MAX_WALK_IN_FACTOR)
        window = plan_window(arrivals, hours, point.population, calls)
        span_h = plan_span_h(arrivals, hours, point.population, window)
        if span_h <= 0:
            return None
        return cls("calling_plan", arrivals, hours, point.population, 0.0,
                   -stretch_room_h(arrivals, hours, point.population, window), span_h * (1.0 - SMALLEST_FACTOR),
                   window)

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
        end_s = self.window[1]
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


def estimate_headrooms(points: list[Point], scenario: Scenario, arrived: list[np.ndarray], step_s: float,
                       p90_now_min: list[float], target_min: float, roster: list[float],
                       replications: int = 1, calls: Optional[list[tuple[float, float]]] = None) -> list[Optional[Headroom]]:
    """The estimated headroom of each point from its run: ``arrived`` its cumulative arrivals per series
    step (mean over replications), ``p90_now_min`` its p90 total wait, ``roster`` the residents it
    could receive (walk-ins stop there), ``replications`` the run's (their set-ups), ``calls`` each point's
    ``plans.calls_window`` when the caller has them. None for a point nobody came to, or whose plan cannot
    be pushed. Points are computed ``CHUNK`` at a time."""
    found: list[Optional[Headroom]] = [None] * len(points)
    pushes = [Push.of(point, scenario, calls[i] if calls is not None else None) for i, point in enumerate(points)]
    usable = [i for i, push in enumerate(pushes) if push is not None and arrived[i].size and arrived[i][-1] > 0
              and p90_now_min[i] is not None and math.isfinite(p90_now_min[i])]
    hours = scenario.hours
    grid_s = GRID_S if step_s <= GRID_S else COARSE_GRID_S
    for begin in range(0, len(usable), CHUNK):
        chunk = usable[begin:begin + CHUNK]
        length = max(arrived[i].size for i in chunk) + 1
        came = np.zeros((len(chunk), length))  # none at the start, then the arrivals, the last count held to the end
        for row, i in zip(came, chunk):
            row[1:arrived[i].size + 1] = arrived[i]
            row[arrived[i].size + 1:] = arrived[i][-1]
        firsts = (np.argmax(came > 0, axis=1) - 1).tolist()
        means = [mean_service_s(points[i], scenario) for i in chunk]
        slowest = [min((points[i].servers(stage) * 3600.0 / seconds for stage, seconds in mean.items() if seconds > 0),
                       default=math.inf) for i, mean in zip(chunk, means)]  # a stage of no time (valid) limits nothing
        drain_s = max(3600.0 * (1.0 + max(roster[i], row[-1]) / rate) for i, row, rate in zip(chunk, came, slowest))
        end_s = min(max(hours[-1][1], came.shape[1] * step_s) + drain_s, hours[-1][1] + MAX_DRAIN_S)
        start_s = min(min(firsts) * step_s, hours[0][0])
        grid = np.arange(math.floor(start_s / grid_s) * grid_s, end_s + grid_s, grid_s)
        fluids = Fluids.of([points[i] for i in chunk], scenario, grid, replications, means)
        base = _rows_interp(grid, np.arange(came.shape[1]) * step_s, came)
        now = np.array([p90_now_min[i] for i in chunk])
        modelled = fluids.p90_wait_min(base)
        # A line the model does not drain within its grid (a ten-day swab) has no estimate: no push is found.
        placed = np.isfinite(modelled)
        correction = np.where(placed, now - modelled, 0.0)
        pushed = _pusher([pushes[i] for i in chunk], base, grid, hours, np.array([roster[i] for i in chunk]))
        values, at_least = _search(lambda value: fluids.p90_wait_min(pushed(value)) + correction,
                                   [pushes[i] for i in chunk], target_min, now, SEARCH_STEPS[grid_s])
        values, at_least = np.where(placed, values, np.nan), at_least & placed
        for k, i in enumerate(chunk):
            value = None if math.isnan(values[k]) else float(values[k])
            found[i] = pushes[i].headroom(value, target_min, p90_now_min[i], "estimate", float(correction[k]),
                                          bool(at_least[k]))
    return found


def _pusher(pushes: list[Push], base: np.ndarray, grid: np.ndarray, hours, roster: np.ndarray):
    """The points' arrival curves under a push (an array, a value per point): calling plans compressed
    in opening time towards their first call, walk-ins scaled up to the roster."""
    walk_in = np.array([push.kind == "walk_in_rate" for push in pushes])
    windows = [push.window if not w else (grid[0], grid[-1]) for push, w in zip(pushes, walk_in)]
    start_s = np.array([start for start, _ in windows])[:, None]
    start_open = opening_time(hours, start_s)
    span = np.maximum(opening_time(hours, np.array([end for _, end in windows])[:, None]) - start_open, 1.0)[:, 0]
    since_start = opening_time(hours, grid)[None, :] - start_open  # each grid time's opening time after the first call
    early = grid[None, :] <= start_s
    ramp = np.arange(grid.size) * 1e-6  # keeps the moved times increasing, for interpolation
    most = np.maximum(roster, base[:, -1])[:, None]
    first_open, days, moved = np.ascontiguousarray(start_open[:, 0]), day_edges(hours), np.empty(since_start.shape)

    def pushed(value: np.ndarray) -> np.ndarray:
        # What does not depend on the push is made once above; a kind no point has is not computed.
        if walk_in.all():
            return np.minimum(base * value[:, None], most)
        factor = np.where(walk_in, 1.0, (span - value * 3600.0) / span)
        # Compressed in opening time, read back into clock times (the next opening at a day's end: ``clock_at``'s
        # ``start``), the grid before the first call, the most so far where rounding steps back, plus the ramp.
        compressed = _rows_interp(grid, pushed_times(first_open, since_start, factor, early, grid, *days, ramp, moved),
                                  base, ordered=True)
        if not walk_in.any():
            return compressed
        return np.where(walk_in[:, None], np.minimum(base * value[:, None], most), compressed)

    return pushed


def _search(p90: Callable[[np.ndarray], np.ndarray], pushes: list[Push], target: float, p90_now: np.ndarray,
            steps: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Per point, the hardest push with a p90 within ``target``, by bisection (the p90 grows with the
    push), all points at once: (value, NaN where no push tried meets it; whether even the hardest does)."""
    now, low, high = (np.array([getattr(push, name) for push in pushes]) for name in ("now", "low", "high"))
    within = p90_now <= target
    probe = p90(np.where(within, high, low))  # the hardest plan for those within, the gentlest for the others
    at_least = within & (probe <= target)
    hopeless = ~within & ((low >= now) | (probe > target))
    good, bad = np.where(within, now, low), np.where(within, high, now)
    for _ in range(steps):
        middle = (good + bad) / 2.0
        ok = p90(middle) <= target
        good, bad = np.where(ok, middle, good), np.where(ok, bad, middle)
    value = np.where(at_least, high, np.where(hopeless, np.nan, good))
    return value, at_least


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
            values.append(time_stats(log.total_wait())["p90"])
    return float(np.mean(values)) if values else math.nan


def refine(estimate: Headroom, point: Point, scenario: Scenario, replications: int,
           max_plans: int = 4, jump: Optional[float] = None, engine: str = "auto") -> tuple[Headroom, int]:
    """The headroom found again by simulating the point (its first ``replications``) under at most
    ``max_plans`` plans: a bracket around the estimate (half a tolerance either side, then ``jump``,
    default the estimate's precision, doubling), then bisection towards ``REFINE_TOLERANCE``.
    Returns it and the plans simulated.

    What the plans show is kept even when they run out: the largest push that met the target and the
    smallest above it that did not (``precision`` is their distance); only the first found: "at
    least" that push; only failures: the estimate, no larger than the smallest failure. ``engine``
    simulates the plans (``replicate.point_log``'s; both engines give the same figures).
    """
    push = Push.of(point, scenario)
    tolerance = REFINE_TOLERANCE[estimate.kind]
    target = estimate.target_min
    tried: dict[float, float] = {}

    def p90(value: float) -> float:
        if value not in tried:
            if len(tried) >= max_plans:
                raise _OutOfPlans
            tried[value] = simulated_p90_min(scenario, point, push.plan(value), replications, engine)
        return tried[value]

    guess = estimate.value if estimate.value is not None else (push.high if estimate.at_least else push.low)
    try:
        good, bad = _bracket(p90, guess, push.low, push.high, target, tolerance, jump or estimate.precision)
        while good is not None and bad is not None and bad - good > tolerance:
            middle = (good + bad) / 2.0
            good, bad = (middle, bad) if p90(middle) <= target else (good, middle)
    except _OutOfPlans:
        pass
    failed = [value for value, wait in tried.items() if wait > target]
    bad = min(failed, default=None)
    passed = [value for value, wait in tried.items() if wait <= target and (bad is None or value < bad)]
    if passed:
        good = max(passed)
        found = push.headroom(good, target, estimate.p90_now_min, "simulation", estimate.correction_min, bad is None)
        return replace(found, precision=bad - good if bad is not None else tolerance), len(tried)
    if bad is not None and bad <= push.low:  # even the gentlest plan fails
        return push.headroom(None, target, estimate.p90_now_min, "simulation", estimate.correction_min), len(tried)
    if bad is not None and estimate.value is not None and estimate.value >= bad:  # no larger than a failure
        return replace(push.headroom(bad - tolerance, target, estimate.p90_now_min, "estimate", estimate.correction_min),
                       precision=estimate.precision), len(tried)
    return estimate, len(tried)


class _OutOfPlans(Exception):
    """A check by simulation has simulated all the plans it may."""


def _bracket(p90: Callable[[float], float], guess: float, low: float, high: float, target: float,
             tolerance: float, jump: float) -> tuple[Optional[float], Optional[float]]:
    """(good, bad): a push that meets the target and a larger one that does not. Tried first half a
    ``tolerance`` either side of ``guess`` (enough when the estimate is close), then ``jump`` (the
    estimate's own tolerance) further out, doubling; good is None if even ``low`` fails, bad None if
    even ``high`` meets it."""
    steps = [tolerance / 2.0] + [jump * 2 ** k for k in range(40)]
    bad = None
    for step in steps:
        good = max(low, guess - step)
        if p90(good) <= target:
            break
        bad = good
        if good <= low:
            return None, None
    if bad is not None:
        return good, bad
    for step in steps:
        above = min(high, guess + step)
        if above > good:
            if p90(above) > target:
                return good, above
            good = above
        if above >= high:
            return good, None
    return good, None
