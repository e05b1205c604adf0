"""KPIs, time series and confidence intervals, all computed from event logs.

Nothing here is tracked while the model runs: queue lengths and busy servers
are integrals over the residents' intervals, evaluated with sorted arrays and
cumulative sums (exact time averages, no sampling error).

A point's log is reduced to a :class:`Tally`, small and additive: tallies of
many points combine into the tally of a district without keeping any resident
in memory. Percentiles of one point are exact; over several points they are
read from 1-second bins (the first four hours; 1-minute bins beyond).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

import numpy as np
from scipy import stats

from .log import STAGE_ORDER, STAYED, ClosureLog, EventLog

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0
TIME_STATS = ("mean", "p50", "p90", "p95", "max")
DURATION_EDGES = np.concatenate([np.arange(0.0, 4 * HOUR, 1.0), np.arange(4 * HOUR, 15 * DAY + MINUTE, MINUTE)])
# Fixed bins (minutes) of the wait distribution charts, additive across points and replications.
WAIT_BIN_MIN = 0.25
WAIT_BINS = np.append(np.arange(0.0, 240.0 + WAIT_BIN_MIN, WAIT_BIN_MIN), np.inf)


# ---------------------------------------------------------------- durations


def time_stats(seconds: np.ndarray) -> dict[str, float]:
    """mean, p50, p90, p95 and max of durations, in minutes (NaN when empty)."""
    if seconds.size == 0:
        return {key: math.nan for key in TIME_STATS}
    minutes = seconds / MINUTE
    p50, p90, p95 = np.percentile(minutes, [50, 90, 95])
    return {"mean": float(minutes.mean()), "p50": float(p50), "p90": float(p90), "p95": float(p95), "max": float(minutes.max())}


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
        index = np.clip(np.searchsorted(DURATION_EDGES, seconds, side="right") - 1, 0, DURATION_EDGES.size - 1)
        bins, counts = np.unique(index, return_counts=True)
        largest = float(seconds.max()) if seconds.size else math.nan
        return cls(int(seconds.size), float(seconds.sum()), largest, bins, counts, time_stats(seconds))

    @classmethod
    def pooled(cls, parts: list["Durations"]) -> "Durations":
        dense = np.zeros(DURATION_EDGES.size, dtype=np.int64)
        for part in parts:
            np.add.at(dense, part.bins, part.counts)
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


def _peak(joins: np.ndarray, leaves: np.ndarray) -> int:
    """The most intervals [join, leave) open at once; at equal times, leaving counts first."""
    times = np.concatenate([leaves, joins])
    steps = np.concatenate([np.full(leaves.size, -1), np.full(joins.size, 1)])
    order = np.lexsort((steps, times))
    return int(np.cumsum(steps[order]).max(initial=0))


def queue_max(log: EventLog, stage: str) -> int:
    """The longest line ever seen at a stage: the peak of joins minus starts (or leaving)."""
    return _peak(*log.line(stage))


def waiting_intervals(log: EventLog) -> tuple[np.ndarray, np.ndarray]:
    """(joined, left) of every stretch anyone spent in any line of the point."""
    lines = [log.line(stage) for stage in log.stages]
    return np.concatenate([joins for joins, _ in lines]), np.concatenate([leaves for _, leaves in lines])


def total_queue_max(log: EventLog) -> int:
    """The most people waiting at the point at once, whatever the stage."""
    return _peak(*waiting_intervals(log))


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
    finish = log.station_free_s()
    return [max(0.0, float(finish[log.served & (log.day == day)].max(initial=close_s)) - close_s)
            for day, (_, close_s) in enumerate(log.hours)]


def staffed_span_s(log: EventLog) -> float:
    """Seconds the point is staffed: each day from opening (set-up included) to
    the later of closing and the last swab of that day's residents."""
    return sum(close_s - open_s for open_s, close_s in log.hours) + sum(overtime_by_day_s(log))


def staff_seconds(log: EventLog) -> dict[str, float]:
    """Staff-seconds per role: the rota, plus overtime of those on duty at each closing.

    In the paired layout a registrar works with each staffed station. Door-to-door
    teams count as ``home``. Logs without a staff plan count every server all day.
    """
    overtime = overtime_by_day_s(log)
    if log.plan is None:
        span = staffed_span_s(log)
        roles = {SERVING_ROLE[stage]: count * span for stage, count in log.servers.items()}
    else:
        roles = log.plan.scheduled_s()
        for role, duty in log.plan.duty.items():
            roles[role] += sum(duty.count_until(close_s) * extra for (_, close_s), extra in zip(log.hours, overtime))
        if log.closures is not None:
            for role, late in log.closures.late_leaving_s().items():
                roles[role] += late
        if "registration" in log.servers and "registrar" not in roles:
            roles["registrar"] = roles["sampler"]
    if log.home is not None:
        roles["home"] = log.home.teams * log.home.team_size * staffed_span_s(log)
    return roles


SERVING_ROLE = {"temperature": "temperature", "registration": "registrar", "swab": "sampler"}


def _hourly(times: np.ndarray) -> np.ndarray:
    """Counts per clock hour since midnight of day 0."""
    hours = np.floor(times / HOUR).astype(np.int64) if times.size else np.zeros(0, dtype=np.int64)
    return np.bincount(hours[hours >= 0], minlength=24)


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
    hourly: np.ndarray
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


COUNT_KEYS = (
    "population", "no_show", "not_called", "arrived", "sampled", "unserved",
    "home_residents", "home_sampled", "home_unserved", "home_visits", "sampled_by_deadline",
    "tubes", "part_filled_tubes", "balked", "reneged", "returned_after_balking", "turned_away", "priority",
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
    ))))
    durations = {"time_in_system": Durations.of((log.finish_s - log.arrival_s)[served])}
    total_wait = np.zeros(int(np.count_nonzero(served)))
    queue, busy, capacity = {}, {}, {}
    span = staffed_span_s(log)
    closures = log.closures
    # Slots closed for lack of staff while the point was open or serving its line out.
    spans = [(open_s, close_s + extra) for (open_s, close_s), extra in zip(log.hours, overtime_by_day_s(log))]
    closed = {stage: closures.closed_s(SERVING_ROLE[stage], spans) if closures is not None else 0.0 for stage in log.stages}
    for stage in log.stages:
        wait = log.wait(stage)
        total_wait += wait
        durations[f"wait.{stage}"] = Durations.of(wait)
        queue[stage] = float(queue_max(log, stage))
        busy[stage] = float(log.service(stage).sum())
        if stage == "swab" and log.tubes is not None:
            busy[stage] += log.tubes.handling_s(log.pool_ratio)
        if stage == "swab" and log.overhead_s is not None:
            busy[stage] += float(log.overhead_s.sum())
        capacity[stage] = log.servers[stage] * span - closed[stage]
    durations["wait.total"] = Durations.of(total_wait)
    queue["total"] = float(total_queue_max(log))
    staff = staff_seconds(log)
    overflow_s, peak_overflow = over_capacity(*waiting_intervals(log), log.waiting_capacity) if log.waiting_capacity is not None else (0.0, 0)
    last_sample = log.last_sample_s
    return Tally(
        counts=counts,
        open_s=log.open_s,
        close_s=log.close_s,
        last_swab_s=log.last_swab_s,
        last_sample_s=last_sample,
        overtime_s=max(0.0, log.last_swab_s - log.close_s),
        stations=log.servers["swab"],
        staff_s=sum(staff.values()),
        hourly=_hourly(done),
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
    )


def combine(parts: list[Tally]) -> Tally:
    """The tally of several points together (one replication)."""
    if len(parts) == 1:
        return parts[0]

    def add(dicts: list[dict[str, float]], how=sum) -> dict[str, float]:
        keys = [key for key in dict.fromkeys(k for d in dicts for k in d)]
        return {key: how(d[key] for d in dicts if key in d) for key in keys}

    hourly_length = max(p.hourly.size for p in parts)
    return Tally(
        counts=add([p.counts for p in parts]),
        open_s=min(p.open_s for p in parts),
        close_s=max(p.close_s for p in parts),
        last_swab_s=max(p.last_swab_s for p in parts),
        last_sample_s=max(p.last_sample_s for p in parts),
        overtime_s=max(p.overtime_s for p in parts),
        stations=sum(p.stations for p in parts),
        staff_s=sum(p.staff_s for p in parts),
        hourly=np.sum([np.pad(p.hourly, (0, hourly_length - p.hourly.size)) for p in parts], axis=0),
        durations={key: Durations.pooled([p.durations[key] for p in parts if key in p.durations])
                   for key in dict.fromkeys(k for p in parts for k in p.durations)},
        queue_max=add([p.queue_max for p in parts], max),
        busy_s=add([p.busy_s for p in parts]),
        capacity_s=add([p.capacity_s for p in parts]),
        points=sum(p.points for p in parts),
        points_finished=sum(p.points_finished for p in parts),
        staff_by_role_s=add([p.staff_by_role_s for p in parts]),
        closed_s=sum(p.closed_s for p in parts),
        over_capacity_s=sum(p.over_capacity_s for p in parts),
        peak_overflow=max(p.peak_overflow for p in parts),
    )


def kpis_of(t: Tally) -> dict[str, Any]:
    """The KPI tree of one replication (schema in docs/outputs.md)."""
    counts = t.counts
    completion_s = t.last_swab_s - t.open_s
    throughput = counts["sampled"] / (completion_s / HOUR) if completion_s > 0 else math.nan
    population = counts["population"]
    stages = [s for s in STAGE_ORDER if s in t.busy_s]
    sampler_s = t.staff_by_role_s.get("sampler", 0.0) + t.staff_by_role_s.get("relief", 0.0)
    return {
        **{key: counts[key] for key in COUNT_KEYS if key != "sampled_by_deadline"},
        "sampled_total": counts["sampled"] + counts["home_sampled"],
        "completion_min": completion_s / MINUTE,
        "finish_h": (t.last_sample_s - t.open_s) / HOUR,
        "overtime_min": t.overtime_s / MINUTE,
        "throughput_per_hour": throughput,
        "throughput_per_station_hour": throughput / t.stations,
        "peak_hour_sampled": float(t.hourly.max(initial=0)),
        "staff_hours": t.staff_s / HOUR,
        "sampled_by_deadline": counts["sampled_by_deadline"],
        "sampled_by_deadline_share": counts["sampled_by_deadline"] / population if population else math.nan,
        "points_finished_by_deadline_share": t.points_finished / t.points,
        "time_in_system_min": t.durations["time_in_system"].stats(),
        "wait_min": {**{s: t.durations[f"wait.{s}"].stats() for s in stages}, "total": t.durations["wait.total"].stats()},
        "queue_max": {**{s: t.queue_max[s] for s in stages}, "total": t.queue_max["total"]},
        "utilization": {s: t.busy_s[s] / t.capacity_s[s] if t.capacity_s[s] > 0 else math.nan for s in stages},
        "staff_hours_by_role": {role: t.staff_by_role_s.get(role, 0.0) / HOUR for role in STAFF_ROLES},
        "idle_share": {SERVING_ROLE[s]: _idle_share(t, s) for s in stages},
        "residents_per_sampler_hour": counts["sampled"] / (sampler_s / HOUR) if sampler_s > 0 else math.nan,
        "stations_closed_min": t.closed_s / MINUTE,
        "waiting_over_capacity_person_min": t.over_capacity_s / MINUTE,
        "waiting_peak_overflow": t.peak_overflow,
    }


STAFF_ROLES = ("sampler", "relief", "registrar", "temperature", "marshal", "home")


def _idle_share(t: Tally, stage: str) -> float:
    """Share of a serving role's paid time not spent serving (waiting for residents, breaks, closed)."""
    role = SERVING_ROLE[stage]
    paid = t.staff_by_role_s.get(role, 0.0) + (t.staff_by_role_s.get("relief", 0.0) if role == "sampler" else 0.0)
    return 1.0 - t.busy_s[stage] / paid if paid > 0 else math.nan


def replication_kpis(logs: list[EventLog], deadline_s: Optional[float] = None) -> dict[str, Any]:
    """KPIs of one replication over the given points (deadline default: the last closing)."""
    deadline = deadline_s if deadline_s is not None else max(log.close_s for log in logs)
    return kpis_of(combine([tally(log, deadline) for log in logs]))


# ---------------------------------------------------------------- series


def occupancy(begin: np.ndarray, end: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Time-average number of intervals [begin, end) open in each bin between edges.

    Uses F(T) = sum over residents of the time spent in the interval before T,
    which is a difference of two sorted cumulative sums; exact for any bins.
    """

    def integral(points: np.ndarray) -> np.ndarray:
        points = np.sort(points)
        cumulative = np.concatenate([[0.0], np.cumsum(points)])
        k = np.searchsorted(points, edges, side="left")
        return k * edges - cumulative[k]

    inside = integral(begin) - integral(end)
    return np.diff(inside) / np.diff(edges)


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


def series_edges(log: EventLog, step_s: float = MINUTE) -> np.ndarray:
    """Step edges from midnight of day 0 to the later of the round's last midnight and the last event."""
    left = log.left_s[~np.isnan(log.left_s)]
    last = max(len(log.hours) * DAY, log.last_sample_s, float(log.arrival_s.max(initial=0.0)), float(left.max(initial=0.0)))
    steps = math.ceil(last / step_s)
    return np.arange(steps + 1) * step_s


def point_series(log: EventLog, step_s: float = MINUTE) -> Series:
    edges = series_edges(log, step_s)
    served = log.served
    queue, busy = {}, {}
    for stage in log.stages:
        queue[stage] = occupancy(*log.line(stage), edges)
        end = log.station_free_s()[served] if stage == "swab" else log.end[stage][served]
        busy[stage] = occupancy(log.start[stage][served], end, edges)
    ends = edges[1:]
    arrived = np.searchsorted(np.sort(log.arrival_s), ends, side="right").astype(float)
    sampled = np.searchsorted(np.sort(log.sampled_times()), ends, side="right").astype(float)
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

    stages = [s for s in STAGE_ORDER if any(s in part.queue for part in parts)]
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


def wait_histograms(logs: Iterable[EventLog]) -> dict[str, np.ndarray]:
    """Counts of waits (minutes) in the fixed ``WAIT_BINS`` per stage."""
    counts: dict[str, np.ndarray] = {}
    for log in logs:
        for stage in log.stages:
            hist = np.histogram(log.wait(stage) / MINUTE, bins=WAIT_BINS)[0]
            counts[stage] = counts.get(stage, 0) + hist
    return counts


# ---------------------------------------------------------------- across replications


def estimate(values: list[float]) -> dict[str, Any]:
    """Mean over replications with a 95% t confidence interval.

    ``ci95`` is null when fewer than two finite values exist; ``n`` counts the
    replications that gave a finite value (a wait has none when nobody came).
    """
    finite = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    n = int(finite.size)
    if n == 0:
        return {"mean": None, "ci95": None, "n": 0}
    mean = float(finite.mean())
    if n < 2:
        return {"mean": mean, "ci95": None, "n": n}
    half = float(stats.t.ppf(0.975, n - 1) * finite.std(ddof=1) / math.sqrt(n))
    return {"mean": mean, "ci95": [mean - half, mean + half], "n": n}


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


@dataclass
class StationTimeline:
    """What each sampling station of a point did, step by step: for the rota chart.

    Kept for every point of the first replication, so it is small whatever the
    point's size: ``busy`` is stations x steps (float32), over the steps from the
    first opening to the last closing or the last station activity, and the
    samplers' closures are the few rows of the log's :class:`ClosureLog`.

    ``busy[k, j]`` is the share of step j (from ``start_s + j * step_s``) that
    station k spent serving: swabs, hand disinfection and the sealing of full
    pooled tubes, as in the utilisation KPI. ``staffed`` are the point's
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

    @property
    def stations(self) -> int:
        return int(self.busy.shape[0])

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
        return float(self.busy.sum(dtype=float) * self.step_s)

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


def station_intervals(log: EventLog) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(station, begin, end) of every stretch a sampling station was busy, not overlapping.

    A served resident holds the station for the swab, then for hand disinfection;
    a full pooled tube is sealed by the sampler between the swab that filled it
    and that disinfection (in group entry, after the group's last disinfection).
    """
    served = log.served
    station = log.station[served]
    start, end = log.start["swab"][served], log.end["swab"][served]
    overhead = log.overhead_s[served] if log.overhead_s is not None else np.zeros(end.size)
    after = end
    parts = [(station, start, end)]
    tubes = log.tubes
    if tubes is not None and log.tube is not None and tubes.count:
        full = tubes.members == log.pool_ratio
        tube = log.tube[served]
        mine = np.clip(tube, 0, None)
        # The swab that filled a tube is followed by its sealing, then by the disinfection.
        sealed_by = (tube >= 0) & full[mine] & (tubes.last_swab_s[mine] == end)
        after = np.where(sealed_by, tubes.sealed_s[mine], end)
        parts.append((tubes.station[full], tubes.last_swab_s[full], tubes.sealed_s[full]))
    parts.append((station, after, after + overhead))
    return tuple(np.concatenate(column) for column in zip(*parts))


def station_timeline(log: EventLog, step_s: float = MINUTE) -> StationTimeline:
    """Busy share per station and step, the staffed spans and the samplers' closures of one point."""
    station, begin, end = station_intervals(log)
    stations = log.servers["swab"]
    overtime = overtime_by_day_s(log)
    staffed = [(open_s, close_s + extra) for (open_s, close_s), extra in zip(log.hours, overtime)]
    last = float(end.max(initial=log.open_s))
    first_step = math.floor(min(log.open_s, float(begin.min(initial=log.open_s))) / step_s)
    last_step = math.ceil(max(staffed[-1][1], last) / step_s)
    edges = np.arange(first_step, max(last_step, first_step + 1) + 1) * step_s
    busy = np.zeros((stations, edges.size - 1), dtype=np.float32)
    for k in range(stations):
        here = station == k
        if here.any():
            busy[k] = np.clip(occupancy(begin[here], end[here], edges), 0.0, 1.0)
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
    )
