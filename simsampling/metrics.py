"""KPIs, time series and confidence intervals, all computed from event logs.

Nothing here is tracked while the model runs: queue lengths and busy servers
are integrals over the residents' intervals, evaluated with sorted arrays and
cumulative sums (exact time averages, no sampling error).

A point's log is reduced to a :class:`Tally`, small and additive: tallies of
many points combine into the tally of a district without keeping any resident
in memory. Percentiles of one point are exact; over several points they are
read from 1-second bins (the first four hours; 1-minute bins beyond).

Cost per point matters (a city round has thousands): times in a log come
nearly in order (arrivals, starts, ends), so they are sorted with a stable sort
(timsort: several times faster than quicksort on them, the same values), each
once per log (``EventLog.derived``); durations are counted in their bins and
their percentiles selected, not sorted; and compiled loops replace chains of
numpy calls, doing numpy's arithmetic operation by operation, so every figure
is the same to the last bit.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional

import numpy as np

from .jit import configure_cache
from .log import STAYED, ClosureLog, EventLog
from .stages import ROLES, role, union
from .steps import MAX_TIMELINE_STEPS, end_of_groups, factor, mean_of_groups, rungs, step_for, sum_of_groups

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0
TIME_STATS = ("mean", "p50", "p90", "p95", "max")
SECOND_BINS_S = 4 * HOUR
DURATION_EDGES = np.concatenate([np.arange(0.0, SECOND_BINS_S, 1.0), np.arange(SECOND_BINS_S, 15 * DAY + MINUTE, MINUTE)])
PERCENTS = (50, 90, 95)
# Fixed bins (minutes) of the wait distribution charts, additive across points and replications.
WAIT_BIN_MIN = 0.25
WAIT_BINS = np.append(np.arange(0.0, 240.0 + WAIT_BIN_MIN, WAIT_BIN_MIN), np.inf)


# ---------------------------------------------------------------- compiled loops


_DISPATCHERS: list[Callable[[], Any]] = []


def _compiled(function: Callable) -> Callable:
    """``function`` compiled by numba at its first call (cached on disk; no fastmath, so
    each operation rounds as numpy's does). numba is imported by the processes that
    measure logs, not by every import of the package."""
    compiled: list[Callable] = []

    def dispatcher() -> Callable:
        if not compiled:
            configure_cache()
            import numba

            compiled.append(numba.njit(cache=True)(function))
        return compiled[0]

    def call(*args):
        return (compiled[0] if compiled else dispatcher())(*args)

    _DISPATCHERS.append(dispatcher)
    return functools.update_wrapper(call, function)


def dispatchers() -> list[Any]:
    """numba's dispatchers of the compiled loops (made, not compiled), to ask whether they are cached."""
    return [dispatcher() for dispatcher in _DISPATCHERS]


@_compiled
def _duration_summary(seconds: np.ndarray, edges: np.ndarray, fine: int, ranks: np.ndarray) -> tuple:
    """Durations in any order, counted in bins of ``edges``, without sorting them.

    Returns the bins that hold any and how many each holds (a bin as
    ``searchsorted(edges, x, "right") - 1`` gives it: below zero the first, beyond
    the last edge or NaN the last; under ``fine`` seconds the whole seconds), the
    largest (NaN if any is NaN), and the values at ``ranks`` in sorted order: found
    by counting through the bins, then sorting the bin that holds each (NaN when any
    is NaN, as numpy's percentiles are then). A bin holds few values, and numba
    compiles ``np.sort`` in about 2 s of CPU against 7 s for ``np.partition``.
    """
    last = edges.size - 1
    index = np.empty(seconds.size, np.intp)
    top = 0
    largest = -np.inf
    nan = False
    for i in range(seconds.size):
        x = seconds[i]
        if x < 0:
            b = 0
        elif x < fine:
            b = int(x)
        elif np.isnan(x):
            b = last
            nan = True
        else:
            b = min(np.searchsorted(edges, x, side="right") - 1, last)
        index[i] = b
        top = max(top, b)
        largest = max(largest, x)
    dense = np.zeros(top + 1, np.intp)
    for b in index:
        dense[b] += 1
    bins = np.flatnonzero(dense)
    values = np.full(ranks.size, np.nan)
    before, b = 0, 0
    members = seconds[:0]
    for j in range(0 if nan else ranks.size):
        if ranks[j] < before:  # back to the first bin
            before, b, members = 0, 0, seconds[:0]
        while before + dense[b] <= ranks[j]:
            before += dense[b]
            b += 1
            members = seconds[:0]
        if members.size == 0:
            members = np.sort(seconds[index == b])
        values[j] = members[ranks[j] - before]
    return bins, dense[bins], np.nan if nan else largest, values


@_compiled
def _peak(joins: np.ndarray, leaves: np.ndarray) -> int:
    """The most intervals [join, leave) open at once, from the sorted joins and leaves.

    The count peaks at a join: the joins so far less the leaves up to then (at
    equal times, leaving counts first; NaN sorts last, after every time).
    """
    best = left = 0
    for k in range(joins.size):
        if np.isnan(joins[k]):
            left = leaves.size
        while left < leaves.size and leaves[left] <= joins[k]:
            left += 1
        best = max(best, k + 1 - left)
    return best


@_compiled
def sorted_occupancy(begin: np.ndarray, end: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``occupancy`` of intervals whose begins and ends are each sorted (NaN last), between
    increasing edges: F(edge) = (begins before it) x edge - their sum, less the same of the ends."""
    inside = np.empty(edges.size)
    began = ended = 0
    began_s = ended_s = 0.0
    for j in range(edges.size):
        edge = edges[j]
        while began < begin.size and begin[began] < edge:
            began_s = begin[0] if began == 0 else began_s + begin[began]
            began += 1
        while ended < end.size and end[ended] < edge:
            ended_s = end[0] if ended == 0 else ended_s + end[ended]
            ended += 1
        inside[j] = (began * edge - began_s) - (ended * edge - ended_s)
    return (inside[1:] - inside[:-1]) / (edges[1:] - edges[:-1])


@_compiled
def _histogram(values: np.ndarray, edges: np.ndarray, width: float) -> np.ndarray:
    """``np.histogram(values, edges)[0]`` for increasing edges, without sorting: bin i holds
    [edge i, edge i+1), the last bin its right edge too; values outside, or NaN, are left out.
    A value's bin is guessed from the usual bin ``width``, then settled against the edges."""
    last = edges.size - 2
    counts = np.zeros(last + 1, np.intp)
    for x in values:
        if edges[0] <= x <= edges[-1]:
            guess = (x - edges[0]) / width
            b = int(guess) if guess < last else last
            while b > 0 and edges[b] > x:
                b -= 1
            while b < last and edges[b + 1] <= x:
                b += 1
            counts[b] += 1
    return counts


# ---------------------------------------------------------------- durations


def in_order(values: np.ndarray) -> np.ndarray:
    """A sorted copy (stable sort: fast on nearly ordered times)."""
    return np.sort(values, kind="stable")


def _percentile_ranks(count: int) -> tuple[np.ndarray, list[float]]:
    """``np.percentile``'s linear method for ``PERCENTS`` of ``count`` values: the ranks
    (in sorted order) of the two values each one interpolates, and the weight of the second."""
    last = count - 1
    ranks, weights = [], []
    for percent in PERCENTS if count else ():
        virtual = last * (percent / 100)
        # At or beyond the end numpy takes index -1 twice, with a weight of virtual + 1.
        below = math.floor(virtual) if virtual < last else -1
        ranks += [below % count, below + 1 if below >= 0 else last]
        weights.append(virtual - below)
    return np.array(ranks, dtype=np.intp), weights


def _stats(seconds: np.ndarray, at_ranks: np.ndarray, weights: list[float], largest: float) -> dict[str, float]:
    """``time_stats`` from the values at ``_percentile_ranks`` and the largest value:
    numpy's arithmetic, operation by operation (tests/unit/test_metrics.py holds it to numpy)."""
    if seconds.size == 0:
        return {key: math.nan for key in TIME_STATS}
    percentiles = [largest] * len(PERCENTS)  # numpy gives the NaN when there is one
    if not math.isnan(largest):
        for i, weight in enumerate(weights):
            low, high = float(at_ranks[2 * i]) / MINUTE, float(at_ranks[2 * i + 1]) / MINUTE
            step = high - low
            percentiles[i] = high - step * (1 - weight) if weight >= 0.5 else low + step * weight
    p50, p90, p95 = percentiles
    return {"mean": float((seconds / MINUTE).mean()), "p50": p50, "p90": p90, "p95": p95, "max": largest / MINUTE}


def time_stats(seconds: np.ndarray) -> dict[str, float]:
    """mean, p50, p90, p95 and max of durations, in minutes (NaN when empty)."""
    ordered = np.sort(seconds)
    ranks, weights = _percentile_ranks(seconds.size)
    return _stats(seconds, ordered[ranks], weights, float(ordered[-1]) if seconds.size else math.nan)


@dataclass
class Durations:
    """Durations of one kind (seconds): exact statistics, and bins to pool with others."""

    count: int
    total: float
    largest: float
    bins: np.ndarray
    counts: np.ndarray
    exact: Optional[dict[str, float]] = None

    @classmethod
    def of(cls, seconds: np.ndarray) -> "Durations":
        ranks, weights = _percentile_ranks(seconds.size)
        bins, counts, largest, at_ranks = _duration_summary(seconds, DURATION_EDGES, int(SECOND_BINS_S), ranks)
        largest = float(largest) if seconds.size else math.nan
        return cls(int(seconds.size), float(seconds.sum()), largest, bins, counts, _stats(seconds, at_ranks, weights, largest))

    @classmethod
    def pooled(cls, parts: list["Durations"]) -> "Durations":
        dense = np.zeros(DURATION_EDGES.size, dtype=np.int64)
        for part in parts:
            dense[part.bins] += part.counts  # a part's bins are distinct
        bins = np.flatnonzero(dense)
        count = sum(p.count for p in parts)
        largest = max((p.largest for p in parts if p.count), default=math.nan)
        return cls(count, sum(p.total for p in parts), largest, bins, dense[bins])

    def stats(self) -> dict[str, float]:
        """Statistics in minutes; percentiles interpolated within bins when pooled."""
        if self.exact is not None:
            return self.exact
        if self.count == 0:
            return {key: math.nan for key in TIME_STATS}
        cumulative = np.cumsum(self.counts)
        lows = DURATION_EDGES[self.bins]
        widths = np.append(np.diff(DURATION_EDGES), MINUTE)[self.bins]

        def percentile(q: float) -> float:
            rank = q / 100.0 * (self.count - 1)
            k = int(np.searchsorted(cumulative, rank, side="right"))
            before = cumulative[k - 1] if k else 0
            inside = (rank - before + 0.5) / self.counts[k]
            return min(float(lows[k] + widths[k] * inside), self.largest) / MINUTE

        return {
            "mean": self.total / self.count / MINUTE,
            "p50": percentile(50),
            "p90": percentile(90),
            "p95": percentile(95),
            "max": self.largest / MINUTE,
        }


# ---------------------------------------------------------------- one point


def sorted_line(log: EventLog, stage: str) -> tuple[np.ndarray, np.ndarray]:
    """``log.line(stage)``, joins and leaves each sorted: for the line's peak and its series."""
    return log.derived(("sorted_line", stage), lambda: tuple(map(in_order, log.line(stage))))


def queue_max(log: EventLog, stage: str) -> int:
    """The longest line ever seen at a stage: the peak of joins minus starts (or leaving)."""
    return int(_peak(*sorted_line(log, stage)))


def area_max(log: EventLog, stage: str) -> int:
    """The most people in a side stage's area at once (waiting there or being served), from
    their joins and the ends of their service there."""
    through = np.isfinite(log.end[stage])
    return int(_peak(in_order(log.enter(stage)[through]), in_order(log.end[stage][through])))


def waiting_intervals(log: EventLog) -> tuple[np.ndarray, np.ndarray]:
    """(joined, left) of every stretch anyone spent in any line of the point."""
    lines = [log.line(stage) for stage in log.stages]
    return np.concatenate([joins for joins, _ in lines]), np.concatenate([leaves for _, leaves in lines])


def total_queue_max(log: EventLog) -> int:
    """The most people waiting at the point at once, whatever the stage (from the
    stages' sorted lines: a stable sort of sorted runs merges them)."""
    lines = [sorted_line(log, stage) for stage in log.stages]
    return int(_peak(*(in_order(np.concatenate(side)) for side in zip(*lines))))


def over_capacity(joins: np.ndarray, leaves: np.ndarray, capacity: int) -> tuple[float, int]:
    """Person-seconds spent waiting beyond ``capacity`` people, and the peak overflow.

    The number waiting is a step function of the sorted joins and leaves
    (leaving first at equal times); its excess over the capacity is integrated exactly.
    """
    times = np.concatenate([leaves, joins])
    steps = np.concatenate([np.full(leaves.size, -1), np.full(joins.size, 1)])
    order = np.lexsort((steps, times))
    times, level = times[order], np.cumsum(steps[order])
    excess = np.clip(level - capacity, 0, None)
    person_s = float((excess[:-1] * np.diff(times)).sum()) if times.size else 0.0
    return person_s, int(excess.max(initial=0))


def overtime_by_day_s(log: EventLog) -> list[float]:
    """Seconds each day's last station (swab and disinfection) was busy after that day's closing."""

    def compute() -> list[float]:
        finish = log.station_free_s()
        return [max(0.0, float(finish[log.served & (log.day == day)].max(initial=close_s)) - close_s)
                for day, (_, close_s) in enumerate(log.hours)]

    return log.derived("overtime_by_day_s", compute)


def staffed_days(log: EventLog) -> list[int]:
    """The days the point is staffed: those on which residents came (or the first day, if nobody came).

    A day of the round on which nobody is due at the point (a two-day round called
    on the first day only) is not staffed: no staff-hours, no utilisation."""
    return log.derived("staffed_days", lambda: sorted(set(log.day.tolist())) or [0])


def staffed_spans(log: EventLog, days: Optional[list[int]] = None) -> list[tuple[float, float]]:
    """Each staffed day's (or each of ``days``') opening and the later of its closing and its last station free."""
    overtime = overtime_by_day_s(log)
    return [(log.hours[day][0], log.hours[day][1] + overtime[day]) for day in (staffed_days(log) if days is None else days)]


def home_team_days(log: EventLog) -> list[int]:
    """Days door-to-door teams work: from the first day to the last on which they started a visit
    (every day of the round if a household was never visited)."""
    home = log.home
    if not home.served.all():
        return list(range(len(log.hours)))
    return list(range(int(log.home_days().max(initial=0)) + 1))


def staffed_span_s(log: EventLog) -> float:
    """Seconds the point is staffed: each staffed day from opening (set-up included) to
    the later of closing and the last swab of that day's residents."""
    return sum(close_s - open_s for open_s, close_s in staffed_spans(log))


def staff_seconds(log: EventLog) -> dict[str, float]:
    """Staff-seconds per role: the rota, plus overtime of those on duty at each closing.

    In the paired layout a registrar works with each staffed station. Door-to-door
    teams count as ``home``. Logs without a staff plan count every server all day.
    """
    overtime = overtime_by_day_s(log)
    if log.plan is None:
        span = staffed_span_s(log)
        roles = {role(stage): count * span for stage, count in log.servers.items()}
    else:
        roles = log.plan.scheduled_s([(day * DAY, (day + 1) * DAY) for day in staffed_days(log)])
        for name, duty in log.plan.duty.items():
            roles[name] += sum(duty.count_until(log.hours[day][1]) * overtime[day] for day in staffed_days(log))
        if log.closures is not None:
            for name, late in log.closures.late_leaving_s().items():
                roles[name] += late
        if "registration" in log.servers and "registrar" not in roles:
            roles["registrar"] = roles["sampler"]
    if log.home is not None:
        span = sum(close_s - open_s for open_s, close_s in staffed_spans(log, home_team_days(log)))
        roles["home"] = log.home.teams * log.home.team_size * span
    return roles


@dataclass(frozen=True)
class HourCounts:
    """Residents counted per clock hour since midnight of day 0, for the hours that have any: memory follows
    the residents, not the span (a swab time of a heavy-tailed law may put the last one years later)."""

    hours: np.ndarray
    counts: np.ndarray

    @staticmethod
    def of(times: np.ndarray) -> "HourCounts":
        hours = np.floor(times / HOUR)
        hours, counts = np.unique(hours[hours >= 0], return_counts=True)
        return HourCounts(hours, counts)

    @staticmethod
    def added(parts: list["HourCounts"]) -> "HourCounts":
        hours, where = np.unique(np.concatenate([p.hours for p in parts]), return_inverse=True)
        return HourCounts(hours, np.bincount(where, weights=np.concatenate([p.counts for p in parts]),
                                             minlength=hours.size).astype(np.int64))

    def peak(self) -> float:
        return float(self.counts.max(initial=0))


@dataclass
class Tally:
    """One replication of a point, or of many points added up: everything a KPI needs."""

    counts: dict[str, float]
    open_s: float
    close_s: float
    last_swab_s: float
    last_sample_s: float
    overtime_s: float
    stations: int
    staff_s: float
    hourly: HourCounts
    durations: dict[str, Durations]
    queue_max: dict[str, float]
    busy_s: dict[str, float]
    capacity_s: dict[str, float]
    points: int = 1
    points_finished: int = 0
    staff_by_role_s: dict[str, float] = field(default_factory=dict)
    closed_s: float = 0.0
    over_capacity_s: float = 0.0
    peak_overflow: float = 0.0
    last_arrival_s: float = math.nan
    before_opening_s: float = 0.0
    busy_periods: dict[str, "BusyPeriod"] = field(default_factory=dict)
    diverted_to: dict[str, float] = field(default_factory=dict)
    occupancy_max: dict[str, float] = field(default_factory=dict)


COUNT_KEYS = (
    "population", "no_show", "not_called", "arrived", "sampled", "unserved",
    "home_residents", "home_sampled", "home_unserved", "home_visits", "sampled_by_deadline",
    "tubes", "part_filled_tubes", "balked", "reneged", "returned_after_balking", "turned_away", "priority", "diverted",
)


def tally(log: EventLog, deadline_s: float) -> Tally:
    """Reduce one point's log to what its KPIs, and the district's, need."""
    served = log.served
    done = log.sampled_times()
    home = log.home
    home_residents = home.resident.size if home is not None else 0
    tubes = log.tubes
    counts = dict(zip(COUNT_KEYS, map(float, (
        log.population, log.no_show, log.not_called, log.arrived, log.sampled, log.arrived - log.sampled,
        home_residents, log.home_sampled, home_residents - log.home_sampled, home.visits if home is not None else 0,
        np.count_nonzero(done <= deadline_s),
        tubes.count if tubes is not None else 0,
        np.count_nonzero(tubes.members < log.pool_ratio) if tubes is not None else 0,
        np.count_nonzero(log.balked), np.count_nonzero(log.reneged), np.count_nonzero((log.balks > 0) & ~log.balked),
        np.count_nonzero(~served & (log.left == STAYED)),
        np.count_nonzero(log.priority) if log.priority is not None else 0,
        np.count_nonzero(log.diverted),
    ))))
    durations = {"time_in_system": Durations.of((log.finish_s - log.arrival_s)[served])}
    queue, busy, capacity = {}, {}, {}
    span = staffed_span_s(log)
    closures = log.closures
    # Slots closed for lack of staff while the point was open or serving its line out.
    spans = staffed_spans(log)
    closed = {stage: closures.closed_s(role(stage), spans) if closures is not None else 0.0 for stage in log.stages}
    for stage in log.stages:
        durations[f"wait.{stage}"] = Durations.of(log.wait(stage))
        queue[stage] = float(queue_max(log, stage))
        busy[stage] = float(log.service(stage).sum())
        if stage == "swab" and log.tubes is not None:
            busy[stage] += log.tubes.handling_s(log.pool_ratio)
        if stage == "swab" and log.overhead_s is not None:
            busy[stage] += float(log.overhead_s.sum())
        capacity[stage] = log.servers[stage] * span - closed[stage]
    durations["wait.total"] = Durations.of(log.total_wait())
    queue["total"] = float(total_queue_max(log))
    staff = staff_seconds(log)
    overflow_s, peak_overflow = over_capacity(*waiting_intervals(log), log.waiting_capacity) if log.waiting_capacity is not None else (0.0, 0)
    arrivals = log.arrival_s
    last_sample = log.last_sample_s
    side = {stage: log.line(stage)[0].size for stage in log.side}
    return Tally(
        counts=counts,
        open_s=log.open_s,
        close_s=log.close_s,
        last_swab_s=log.last_swab_s,
        last_sample_s=last_sample,
        overtime_s=max(0.0, log.last_swab_s - log.close_s),
        stations=log.servers["swab"],
        staff_s=sum(staff.values()),
        hourly=HourCounts.of(done),
        durations=durations,
        queue_max=queue,
        busy_s=busy,
        capacity_s=capacity,
        points=1,
        # Finished: everyone it was to sample is sampled (or came too late) by the deadline.
        points_finished=int(last_sample <= deadline_s and counts["not_called"] == 0 and counts["home_unserved"] == 0),
        staff_by_role_s=staff,
        closed_s=closed.get("swab", 0.0),
        over_capacity_s=overflow_s,
        peak_overflow=float(peak_overflow),
        last_arrival_s=float(arrivals.max()) if arrivals.size else math.nan,
        before_opening_s=waiting_before_opening_s(log),
        busy_periods={stage: busy_period(log, stage) for stage in log.stages},
        diverted_to={stage: float(count) for stage, count in side.items()},
        occupancy_max={stage: float(area_max(log, stage)) for stage in side},
    )


def waiting_before_opening_s(log: EventLog) -> float:
    """Resident-seconds spent in line before the point opened: before each day's opening, the first
    day's after its set-up (early arrivals, residents called before the set-up was done)."""
    if not log.stages or not log.arrived:
        return 0.0
    first = log.stages[0]
    ready = np.array([open_s + (log.setup_s if day == 0 else 0.0) for day, (open_s, _) in enumerate(log.hours)])
    left_here = log.reneged & (log.left_stage == log.stages.index(first))
    leave = np.where(left_here, log.left_s, log.start[first])
    return float(np.clip(np.fmin(leave, ready[log.day]) - log.arrival_s, 0.0, None).sum())


BUSY_LINE = 1.0
"""Residents waiting at a stage, on average over a minute, for the minute to be in its busy period."""
BUSY_GAP_S = 15 * MINUTE
"""Shorter gaps between such minutes belong to the same busy period."""


@dataclass(frozen=True)
class BusyPeriod:
    """A stage's busy period in one replication (or several added up): when it began and ended, the
    server-seconds spent serving and on duty in it, and the resident-seconds of waiting in it."""

    start_s: float = math.nan
    end_s: float = math.nan
    busy_s: float = 0.0
    duty_s: float = 0.0
    waiting_s: float = 0.0

    @staticmethod
    def added(parts: list["BusyPeriod"]) -> "BusyPeriod":
        """Several points' periods: the earliest start, the latest end, the sums."""
        starts = [p.start_s for p in parts if not math.isnan(p.start_s)]
        return BusyPeriod(min(starts, default=math.nan), max((p.end_s for p in parts if not math.isnan(p.end_s)), default=math.nan),
                          sum(p.busy_s for p in parts), sum(p.duty_s for p in parts), sum(p.waiting_s for p in parts))


def busy_period(log: EventLog, stage: str) -> BusyPeriod:
    """The stage's busy period: the longest-waiting stretch of minutes in which at least ``BUSY_LINE``
    resident waited on average while the stage had servers on duty (from each staffed day's opening,
    after the first day's set-up, to its last swab), gaps up to ``BUSY_GAP_S`` bridged.

    Servers on duty are the stage's less those closed for lack of staff. A server paired with the
    stations (a registrar in the paired layout: its role has no duty of its own) is busy while
    serving and while its resident waits for the next stage."""
    spans = staffed_spans(log)
    if spans[0][0] == log.hours[0][0]:
        spans[0] = (spans[0][0] + log.setup_s, max(spans[0][1], spans[0][0] + log.setup_s))
    step = step_for(spans[-1][1] - spans[0][0], MINUTE)  # a span of years (a valid heavy tail) in coarser steps
    edges = np.arange(math.floor(spans[0][0] / step), math.ceil(spans[-1][1] / step) + 1) * step
    if edges.size < 2:
        return BusyPeriod()
    line = sorted_occupancy(*sorted_line(log, stage), edges)
    busy = busy_servers(log, stage, edges)
    serving = role(stage)
    main = log.main
    if log.plan is not None and serving not in log.plan.duty and stage in main[-2:-1]:
        busy = busy + sorted_occupancy(*sorted_line(log, main[-1]), edges)
        serving = role(main[-1])
    starts, ends = np.array([a for a, _ in spans]), np.array([b for _, b in spans])
    duty = log.servers[stage] * occupancy(starts, ends, edges)
    if log.closures is not None:
        mine = log.closures.role == serving
        for begin, end in spans:  # closures within each staffed span
            low = np.clip(log.closures.start_s[mine], begin, end)
            duty -= occupancy(low, np.clip(log.closures.end_s[mine], begin, end), edges)
    congested = np.flatnonzero((line >= BUSY_LINE) & (duty > 0))
    if congested.size == 0:
        return BusyPeriod()
    breaks = np.flatnonzero(np.diff(congested) > BUSY_GAP_S / step + 1)
    spells = zip(congested[np.concatenate([[0], breaks + 1])], congested[np.concatenate([breaks, [congested.size - 1]])] + 1)
    first, last = max(spells, key=lambda spell: float(line[spell[0]:spell[1]].sum()))
    return BusyPeriod(float(edges[first]), float(edges[last]), float(busy[first:last].sum()) * step,
                      float(np.clip(duty[first:last], 0.0, None).sum()) * step, float(line[first:last].sum()) * step)


def combine(parts: list[Tally]) -> Tally:
    """The tally of several points together (one replication)."""
    if len(parts) == 1:
        return parts[0]

    def add(dicts: list[dict[str, float]], how=sum) -> dict[str, float]:
        keys = [key for key in dict.fromkeys(k for d in dicts for k in d)]
        return {key: how(d[key] for d in dicts if key in d) for key in keys}

    stages = union(tuple(p.busy_s) for p in parts)  # each point's flow, in one order

    def by_stage(dicts: list[dict[str, float]], how=sum) -> dict[str, float]:
        added = add(dicts, how)
        return {key: added[key] for key in (*stages, *added) if key in added}

    return Tally(
        counts=add([p.counts for p in parts]),
        open_s=min(p.open_s for p in parts),
        close_s=max(p.close_s for p in parts),
        last_swab_s=max(p.last_swab_s for p in parts),
        last_sample_s=max(p.last_sample_s for p in parts),
        overtime_s=max(p.overtime_s for p in parts),
        stations=sum(p.stations for p in parts),
        staff_s=sum(p.staff_s for p in parts),
        hourly=HourCounts.added([p.hourly for p in parts]),
        durations={key: Durations.pooled([p.durations[key] for p in parts if key in p.durations])
                   for key in dict.fromkeys(k for p in parts for k in p.durations)},
        queue_max=by_stage([p.queue_max for p in parts], max),
        busy_s=by_stage([p.busy_s for p in parts]),
        capacity_s=by_stage([p.capacity_s for p in parts]),
        points=sum(p.points for p in parts),
        points_finished=sum(p.points_finished for p in parts),
        staff_by_role_s=add([p.staff_by_role_s for p in parts]),
        closed_s=sum(p.closed_s for p in parts),
        over_capacity_s=sum(p.over_capacity_s for p in parts),
        peak_overflow=max(p.peak_overflow for p in parts),
        last_arrival_s=max((p.last_arrival_s for p in parts if not math.isnan(p.last_arrival_s)), default=math.nan),
        before_opening_s=sum(p.before_opening_s for p in parts),
        busy_periods={stage: BusyPeriod.added([p.busy_periods[stage] for p in parts if stage in p.busy_periods])
                      for stage in dict.fromkeys(k for p in parts for k in p.busy_periods)},
        diverted_to=by_stage([p.diverted_to for p in parts]),
        occupancy_max=by_stage([p.occupancy_max for p in parts], max),
    )


def kpis_of(t: Tally) -> dict[str, Any]:
    """The KPI tree of one replication (schema in docs/outputs.md)."""
    counts = t.counts
    completion_s = t.last_swab_s - t.open_s
    throughput = counts["sampled"] / (completion_s / HOUR) if completion_s > 0 else math.nan
    population = counts["population"]
    stages = list(t.busy_s)
    sampler_s = t.staff_by_role_s.get("sampler", 0.0) + t.staff_by_role_s.get("relief", 0.0)
    return {
        **{key: counts[key] for key in COUNT_KEYS if key != "sampled_by_deadline"},
        "sampled_total": counts["sampled"] + counts["home_sampled"],
        "completion_min": completion_s / MINUTE,
        "finish_h": (t.last_sample_s - t.open_s) / HOUR,
        "last_arrival_h": (t.last_arrival_s - t.open_s) / HOUR,
        "overtime_min": t.overtime_s / MINUTE,
        "throughput_per_hour": throughput,
        "throughput_per_station_hour": throughput / t.stations,
        "peak_hour_sampled": t.hourly.peak(),
        "staff_hours": t.staff_s / HOUR,
        "sampled_by_deadline": counts["sampled_by_deadline"],
        "sampled_by_deadline_share": counts["sampled_by_deadline"] / population if population else math.nan,
        "points_finished_by_deadline_share": t.points_finished / t.points,
        "time_in_system_min": t.durations["time_in_system"].stats(),
        "wait_min": {**{s: t.durations[f"wait.{s}"].stats() for s in stages}, "total": t.durations["wait.total"].stats()},
        "queue_max": {**{s: t.queue_max[s] for s in stages}, "total": t.queue_max["total"]},
        "utilization": {s: t.busy_s[s] / t.capacity_s[s] if t.capacity_s[s] > 0 else math.nan for s in stages},
        "staff_hours_by_role": {name: t.staff_by_role_s.get(name, 0.0) / HOUR
                                for name in STAFF_ROLES + tuple(r for r in t.staff_by_role_s if r not in STAFF_ROLES)},
        "idle_share": {role(s): _idle_share(t, s) for s in stages},
        "residents_per_sampler_hour": counts["sampled"] / (sampler_s / HOUR) if sampler_s > 0 else math.nan,
        "stations_closed_min": t.closed_s / MINUTE,
        "waiting_over_capacity_person_min": t.over_capacity_s / MINUTE,
        "waiting_peak_overflow": t.peak_overflow,
        "waiting_before_opening_person_min": t.before_opening_s / MINUTE,
        "busy_period": {s: _busy_period_kpis(t.busy_periods.get(s, BusyPeriod()), t.open_s) for s in stages},
        "diverted_to": dict(t.diverted_to),
        "occupancy_max": dict(t.occupancy_max),
    }


def _busy_period_kpis(period: BusyPeriod, open_s: float) -> dict[str, float]:
    return {
        "start_h": (period.start_s - open_s) / HOUR,
        "end_h": (period.end_s - open_s) / HOUR,
        "utilization": period.busy_s / period.duty_s if period.duty_s > 0 else math.nan,
        "waiting_person_min": period.waiting_s / MINUTE,
    }


STAFF_ROLES = (*ROLES, "home")
"""Roles in ``staff_hours_by_role`` (door-to-door teams as ``home``), then any plain stage's."""


def _idle_share(t: Tally, stage: str) -> float:
    """Share of a serving role's paid time not spent serving (waiting for residents, breaks, closed)."""
    serving = role(stage)
    paid = t.staff_by_role_s.get(serving, 0.0) + (t.staff_by_role_s.get("relief", 0.0) if serving == "sampler" else 0.0)
    return 1.0 - t.busy_s[stage] / paid if paid > 0 else math.nan


def replication_kpis(logs: list[EventLog], deadline_s: Optional[float] = None) -> dict[str, Any]:
    """KPIs of one replication over the given points (deadline default: the last closing)."""
    deadline = deadline_s if deadline_s is not None else max(log.close_s for log in logs)
    return kpis_of(combine([tally(log, deadline) for log in logs]))


# ---------------------------------------------------------------- series


def occupancy(begin: np.ndarray, end: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Time-average number of intervals [begin, end) open in each bin between increasing edges.

    Uses F(T) = sum over residents of the time spent in the interval before T,
    which is a difference of two sorted cumulative sums; exact for any bins.
    """
    return sorted_occupancy(in_order(begin), in_order(end), edges)


@dataclass
class Series:
    """Series of one point (or several added up) in one replication, from midnight of day 0.

    ``queue[stage]`` and ``busy[stage]`` are time averages over each step;
    ``arrived`` and ``sampled`` (at the point or at home) are cumulative
    counts at the end of each step. ``step_s`` is the step in seconds.
    """

    queue: dict[str, np.ndarray]
    busy: dict[str, np.ndarray]
    arrived: np.ndarray
    sampled: np.ndarray
    step_s: float = MINUTE

    @property
    def steps(self) -> int:
        return int(self.arrived.size)

    @property
    def queue_total(self) -> np.ndarray:
        return np.sum(list(self.queue.values()), axis=0) if self.queue else np.zeros(self.steps)

    def coarsened(self, step_s: float) -> "Series":
        """The same series in steps of ``step_s`` (a multiple of this step: steps.py), exactly."""
        k = factor(step_s, self.step_s)
        if k == 1:
            return self
        return Series(queue={s: mean_of_groups(a, k) for s, a in self.queue.items()},
                      busy={s: mean_of_groups(a, k) for s, a in self.busy.items()},
                      arrived=end_of_groups(self.arrived, k), sampled=end_of_groups(self.sampled, k), step_s=step_s)


def series_edges(log: EventLog, step_s: float = MINUTE) -> np.ndarray:
    """Step edges from midnight of day 0 to the later of the round's last midnight and the last event.

    The step is ``step_s``, or coarser when the span would need more than ``steps.MAX_SERIES_STEPS``.
    """
    left = log.left_s[~np.isnan(log.left_s)]
    last = max(len(log.hours) * DAY, log.last_sample_s, float(log.arrival_s.max(initial=0.0)), float(left.max(initial=0.0)))
    step_s = step_for(last, step_s)
    steps = math.ceil(last / step_s)
    return np.arange(steps + 1) * step_s


def busy_servers(log: EventLog, stage: str, edges: np.ndarray) -> np.ndarray:
    """Servers of a stage busy serving, time-averaged over each step (a station until its hand disinfection is done),
    over every resident served there (the swabbed, and at a side stage or before a divert, the diverted)."""
    through = log.through(stage)
    end = log.station_free_s()[through] if stage == "swab" else log.end[stage][through]
    return occupancy(log.start[stage][through], end, edges)


def point_series(log: EventLog, step_s: float = MINUTE) -> Series:
    edges = series_edges(log, step_s)
    step_s = float(edges[1] - edges[0]) if edges.size > 1 else step_s
    queue, busy = {}, {}
    for stage in log.stages:
        queue[stage] = sorted_occupancy(*sorted_line(log, stage), edges)
        busy[stage] = busy_servers(log, stage, edges)
    ends = edges[1:]
    arrived = np.searchsorted(in_order(log.arrival_s), ends, side="right").astype(float)
    sampled = np.searchsorted(in_order(log.sampled_times()), ends, side="right").astype(float)
    return Series(queue=queue, busy=busy, arrived=arrived, sampled=sampled, step_s=step_s)


def _pad(array: np.ndarray, length: int) -> np.ndarray:
    """Extend with the last value: a count stays where it ended, a line or busy count at zero."""
    if array.size == length:
        return array
    return np.pad(array, (0, length - array.size), mode="edge") if array.size else np.zeros(length)


def add_series(parts: list[Series]) -> Series:
    """The series of several points together (lines and counts add up)."""

    def total(arrays: list[np.ndarray]) -> np.ndarray:
        length = max(a.size for a in arrays)
        return np.sum([_pad(a, length) for a in arrays], axis=0)

    step_s = max(part.step_s for part in parts)
    parts = [part.coarsened(step_s) for part in parts]
    stages = union(tuple(part.queue) for part in parts)
    return Series(
        queue={s: total([p.queue[s] for p in parts if s in p.queue]) for s in stages},
        busy={s: total([p.busy[s] for p in parts if s in p.busy]) for s in stages},
        arrived=total([p.arrived for p in parts]),
        sampled=total([p.sampled for p in parts]),
        step_s=parts[0].step_s,
    )


@dataclass
class Band:
    """Mean, min and max across replications of a series, accumulated one replication at a time."""

    n: int = 0
    total: np.ndarray = field(default_factory=lambda: np.zeros(0))
    low: np.ndarray = field(default_factory=lambda: np.zeros(0))
    high: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def add(self, values: np.ndarray) -> None:
        length = max(values.size, self.total.size)
        values = _pad(values, length)
        if self.n == 0:
            self.total, self.low, self.high = values.astype(float).copy(), values.copy(), values.copy()
        else:
            self.total, self.low, self.high = (_pad(a, length) for a in (self.total, self.low, self.high))
            # An earlier replication that ended sooner stays at its last value.
            self.total = self.total + values
            self.low = np.minimum(self.low, values)
            self.high = np.maximum(self.high, values)
        self.n += 1

    @property
    def mean(self) -> np.ndarray:
        return self.total / max(self.n, 1)

    def coarsened(self, k: int, cumulative: bool) -> "Band":
        """The band in steps ``k`` times longer. Exact for the mean; for a time average the low and high
        become the averages of the finer ones (an envelope at least as wide as the true one)."""
        if k == 1:
            return self
        group = end_of_groups if cumulative else mean_of_groups
        return Band(n=self.n, total=group(self.total, k), low=group(self.low, k), high=group(self.high, k))


def band(arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, min and max across replications of series of unequal length."""
    accumulated = Band()
    for array in arrays:
        accumulated.add(array)
    return accumulated.mean, accumulated.low, accumulated.high


@dataclass
class SeriesBands:
    """Bands of every series of a scope (a point, or the whole run) across replications."""

    step_s: float = MINUTE
    queue: dict[str, Band] = field(default_factory=dict)
    busy: dict[str, Band] = field(default_factory=dict)
    queue_total: Band = field(default_factory=Band)
    arrived: Band = field(default_factory=Band)
    sampled: Band = field(default_factory=Band)
    hourly_sampled: list[np.ndarray] = field(default_factory=list)

    def add(self, series: Series) -> None:
        if self.sampled.n and series.step_s != self.step_s:  # a replication that ran long: steps.py
            if series.step_s < self.step_s:
                series = series.coarsened(self.step_s)
            else:
                self.coarsen(series.step_s)
        self.step_s = series.step_s
        for stage, values in series.queue.items():
            self.queue.setdefault(stage, Band()).add(values)
            self.busy.setdefault(stage, Band()).add(series.busy[stage])
        self.queue_total.add(series.queue_total)
        self.arrived.add(series.arrived)
        self.sampled.add(series.sampled)
        per_hour = int(round(HOUR / series.step_s))
        cumulative = series.sampled[per_hour - 1 :: per_hour] if per_hour >= 1 else series.sampled
        self.hourly_sampled.append(np.diff(np.concatenate([[0.0], cumulative])))

    @property
    def steps(self) -> int:
        return int(self.sampled.total.size)

    @property
    def period_s(self) -> float:
        """What one entry of ``hourly_sampled`` counts: an hour, or a step when steps are longer."""
        return max(HOUR, self.step_s)

    def coarsen(self, step_s: float) -> None:
        """Hold every band in steps of ``step_s`` (a multiple of the present step)."""
        k = factor(step_s, self.step_s)
        if k == 1:
            return
        periods = factor(max(HOUR, step_s), self.period_s)
        self.queue = {s: b.coarsened(k, False) for s, b in self.queue.items()}
        self.busy = {s: b.coarsened(k, False) for s, b in self.busy.items()}
        self.queue_total = self.queue_total.coarsened(k, False)
        self.arrived, self.sampled = self.arrived.coarsened(k, True), self.sampled.coarsened(k, True)
        self.hourly_sampled = [sum_of_groups(h, periods) for h in self.hourly_sampled]
        self.step_s = step_s


def wait_histograms(logs: Iterable[EventLog]) -> dict[str, np.ndarray]:
    """Counts of waits (minutes) in the fixed ``WAIT_BINS`` per stage.

    As ``np.histogram`` counts them (the last bin closed, NaN and negative waits left out).
    """
    counts: dict[str, np.ndarray] = {}
    for log in logs:
        for stage in log.stages:
            counts[stage] = counts.get(stage, 0) + _histogram(log.wait(stage) / MINUTE, WAIT_BINS, WAIT_BIN_MIN)
    return counts


# ---------------------------------------------------------------- across replications


def estimate(values: list[float]) -> dict[str, Any]:
    """Mean over replications with a 95% t confidence interval.

    ``ci95`` is null when fewer than two finite values exist; ``n`` counts the
    replications that gave a finite value (a wait has none when nobody came).
    """
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    n = len(finite)
    if n == 0:
        return {"mean": None, "ci95": None, "n": 0}
    if n == 1:  # a city round's thousands of points, one replication each: no arrays, no t quantile
        return {"mean": finite[0], "ci95": None, "n": 1}
    array = np.asarray(finite)
    mean = float(array.mean())
    half = float(_t975(n - 1) * array.std(ddof=1) / math.sqrt(n))
    return {"mean": mean, "ci95": [mean - half, mean + half], "n": n}


@functools.lru_cache(maxsize=None)
def _t975(df: int) -> float:
    """The 97.5% quantile of Student's t: scipy's ppf costs about 0.1 ms a call, and a summary makes thousands.

    ``scipy.special.stdtrit`` is what ``scipy.stats.t.ppf`` computes (the same value to the bit,
    tests/unit/test_metrics.py), without importing scipy.stats: 0.3 s of CPU against 1 s, in every
    run. scipy is imported here, not with the module: ``validate`` never needs it."""
    from scipy.special import stdtrit

    return float(stdtrit(df, 0.975))


def summarise(replications: list[dict[str, Any]]) -> dict[str, Any]:
    """Turn per-replication KPI trees into one tree of ``estimate`` leaves."""
    first = replications[0]
    summary: dict[str, Any] = {}
    for key, value in first.items():
        if isinstance(value, dict):
            summary[key] = summarise([rep[key] for rep in replications])
        else:
            summary[key] = estimate([rep[key] for rep in replications])
    return summary


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"wait_min": {"swab": {"p90": leaf}}}`` -> ``{"wait_min.swab.p90": leaf}``."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and "mean" in value and "n" in value:
            flat[path] = value
        elif isinstance(value, dict):
            flat.update(flatten(value, path))
        else:
            flat[path] = value
    return flat


# ---------------------------------------------------------------- station timelines


MAX_TIMELINE_ROWS = 60
"""Rows of a station timeline: beyond this many stations a row holds several, in order (rota.png draws
rows, and a chart of 10,000 stations draws 60 rows of 167, not 10,000)."""


@dataclass
class StationTimeline:
    """What each sampling station of a point did, step by step: for the rota chart.

    Kept for every point of the first replication, so it is small whatever the
    point's size or span: ``busy`` is rows x steps (float32), a row per station
    up to ``MAX_TIMELINE_ROWS`` stations (beyond, ``per_row`` consecutive stations
    a row, averaged), at most ``steps.MAX_TIMELINE_STEPS`` steps from the first
    opening to the last closing or the last station activity; the samplers'
    closures are the rows of the log's :class:`ClosureLog`.

    ``busy[k, j]`` is the share of step j (from ``start_s + j * step_s``) that
    the stations of row k spent serving: swabs, hand disinfection and the sealing
    of full pooled tubes, as in the utilisation KPI. ``staffed`` are the point's
    staffed spans (each day's opening to its closing or last station free), and
    ``closures`` the spells a station was closed for lack of staff (breaks not
    covered by relief, samplers off duty; ``end_s`` infinite: to the end).
    """

    point_id: str
    step_s: float
    start_s: float
    busy: np.ndarray
    staffed: list[tuple[float, float]]
    closures: ClosureLog
    sampled: int
    per_row: int = 1
    """Stations in each row (the last row may hold fewer)."""
    station_count: int = 0
    """The point's sampling stations (0: one per row)."""

    @property
    def stations(self) -> int:
        return self.station_count or int(self.busy.shape[0])

    @property
    def rows(self) -> int:
        return int(self.busy.shape[0])

    def row_stations(self) -> np.ndarray:
        """Stations in each row."""
        first = np.arange(self.rows) * self.per_row
        return np.minimum(first + self.per_row, self.stations) - first

    @property
    def steps(self) -> int:
        return int(self.busy.shape[1])

    @property
    def edges(self) -> np.ndarray:
        """Step edges, seconds since midnight of day 0."""
        return self.start_s + np.arange(self.steps + 1) * self.step_s

    @property
    def busy_s(self) -> float:
        """Station-seconds spent serving."""
        if self.per_row == 1:
            return float(self.busy.sum(dtype=float) * self.step_s)
        return float((self.busy.sum(axis=1, dtype=float) * self.row_stations()).sum() * self.step_s)

    def closed_s(self, reason: Optional[str] = None) -> float:
        """Station-seconds closed within the staffed spans (all closures, or those of ``reason``)."""
        closures = self.closures
        if reason is None:
            return closures.closed_s("sampler", self.staffed)
        mine = closures.reason == reason
        return ClosureLog(*(getattr(closures, name)[mine] for name in CLOSURE_FIELDS)).closed_s("sampler", self.staffed)

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays (what a district keeps per point)."""
        return int(self.busy.nbytes + sum(getattr(self.closures, name).nbytes for name in CLOSURE_FIELDS))


CLOSURE_FIELDS = ("role", "slot", "scheduled_s", "start_s", "end_s", "reason")


def station_spells(log: EventLog) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(station, begin, end) of every stretch a sampling station was busy, by kind, not overlapping.

    ``swab``: a served resident in the chair; ``sealing``: the sampler sealing a full pooled
    tube, between the swab that filled it and the disinfection (in group entry, after the
    group's last disinfection); ``disinfection``: hand disinfection after each resident.
    """
    served = log.served
    station = log.station[served]
    start, end = log.start["swab"][served], log.end["swab"][served]
    overhead = log.overhead_s[served] if log.overhead_s is not None else np.zeros(end.size)
    after = end
    spells = {"swab": (station, start, end)}
    tubes = log.tubes
    if tubes is not None and log.tube is not None and tubes.count:
        full = tubes.members == log.pool_ratio
        tube = log.tube[served]
        mine = np.clip(tube, 0, None)
        # The swab that filled a tube is followed by its sealing, then by the disinfection.
        sealed_by = (tube >= 0) & full[mine] & (tubes.last_swab_s[mine] == end)
        after = np.where(sealed_by, tubes.sealed_s[mine], end)
        spells["sealing"] = (tubes.station[full], tubes.last_swab_s[full], tubes.sealed_s[full])
    spells["disinfection"] = (station, after, after + overhead)
    return spells


def station_intervals(log: EventLog) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(station, begin, end) of every stretch a sampling station was busy (all of ``station_spells``)."""
    return tuple(np.concatenate(column) for column in zip(*station_spells(log).values()))


def station_timeline(log: EventLog, step_s: float = MINUTE) -> StationTimeline:
    """Busy share per station (or row of stations) and step, the staffed spans and the samplers' closures of one point.

    Its size is bounded whatever the point: at most MAX_TIMELINE_ROWS rows and steps.MAX_TIMELINE_STEPS
    steps (coarser steps for a long span).
    """
    station, begin, end = station_intervals(log)
    stations = log.servers["swab"]
    staffed = staffed_spans(log)
    first = min(log.open_s, float(begin.min(initial=log.open_s)))
    last = max(staffed[-1][1], float(end.max(initial=log.open_s)))
    for step_s in rungs(step_s):
        first_step, last_step = math.floor(first / step_s), math.ceil(last / step_s)
        if last_step - first_step <= MAX_TIMELINE_STEPS:
            break
    edges = np.arange(first_step, max(last_step, first_step + 1) + 1) * step_s
    per_row = -(-stations // MAX_TIMELINE_ROWS)
    rows = -(-stations // per_row)
    busy = np.zeros((rows, edges.size - 1), dtype=np.float32)
    by_station = np.argsort(station, kind="stable")  # each row's spells in one slice, not a pass over all per row
    bounds = np.searchsorted(station[by_station], np.arange(rows + 1) * per_row).tolist()
    for k, (low, high) in enumerate(zip(bounds, bounds[1:])):
        if high > low:
            here = by_station[low:high]
            busy_share = occupancy(begin[here], end[here], edges)
            busy[k] = np.clip(busy_share if per_row == 1 else busy_share / min(per_row, stations - k * per_row), 0.0, 1.0)
    closures = log.closures if log.closures is not None else ClosureLog.of([])
    samplers = closures.role == "sampler"
    return StationTimeline(
        point_id=log.point_id,
        step_s=float(step_s),
        start_s=float(edges[0]),
        busy=busy,
        staffed=staffed,
        closures=ClosureLog(*(getattr(closures, name)[samplers] for name in CLOSURE_FIELDS)),
        sampled=log.sampled,
        per_row=per_row,
        station_count=stations,
    )
