"""A point's log reduced to a Tally, small and additive: the tallies of many points combine into a
district's without keeping any resident; the KPIs of a replication are read from it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from ..log import STAYED, EventLog
from ..stages import ROLES, role, union
from .compiled import hour_counts
from .durations import Durations, HOUR, MINUTE
from .lines import area_max, over_capacity, point_durations, queue_max, total_queue_max, waiting_before_opening_s, waiting_intervals
from .staff_time import staff_seconds, staffed_span_s, staffed_spans
from .busy_period import BusyPeriod, busy_period_kpis, busy_periods


DENSE_HOURS = 24 * 366
"""Hours since midnight of day 0 up to which ``HourCounts.of`` counts in an array of every hour."""


@dataclass(frozen=True)
class HourCounts:
    """Residents counted per clock hour since midnight of day 0, for the hours that have any: memory follows
    the residents, not the span (a swab time of a heavy-tailed law may put the last one years later)."""

    hours: np.ndarray
    counts: np.ndarray

    @staticmethod
    def of(times: np.ndarray) -> "HourCounts":
        hours, counts, dense = hour_counts(times, HOUR, DENSE_HOURS)
        if dense:  # counted in place: np.unique's counts without its sort
            return HourCounts(hours, counts)
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
    done = log.sampled_times()
    home = log.home
    home_residents = home.resident.size if home is not None else 0
    tubes = log.tubes
    balked, reneged, returned, turned_away, diverted = _left_counts(log)
    counts = dict(zip(COUNT_KEYS, map(float, (
        log.population, log.no_show, log.not_called, log.arrived, log.sampled, log.arrived - log.sampled,
        home_residents, log.home_sampled, home_residents - log.home_sampled, home.visits if home is not None else 0,
        np.count_nonzero(done <= deadline_s),
        tubes.count if tubes is not None else 0,
        np.count_nonzero(tubes.members < log.pool_ratio) if tubes is not None else 0,
        balked, reneged, returned, turned_away,
        np.count_nonzero(log.priority) if log.priority is not None else 0,
        diverted,
    ))))
    durations = dict(point_durations(log)[0])
    queue, busy, capacity = {}, {}, {}
    span = staffed_span_s(log)
    closures = log.closures
    # Slots closed for lack of staff while the point was open or serving its line out.
    spans = staffed_spans(log)
    closed = {stage: closures.closed_s(role(stage), spans) if closures is not None else 0.0 for stage in log.stages}
    for stage in log.stages:
        queue[stage] = float(queue_max(log, stage))
        busy[stage] = float(log.service(stage).sum())
        if stage == "swab" and log.tubes is not None:
            busy[stage] += log.tubes.handling_s(log.pool_ratio)
        if stage == "swab" and log.overhead_s is not None:
            busy[stage] += float(log.overhead_s.sum())
        capacity[stage] = log.servers[stage] * span - closed[stage]
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
        busy_periods=busy_periods(log),
        diverted_to={stage: float(count) for stage, count in side.items()},
        occupancy_max={stage: float(area_max(log, stage)) for stage in side},
    )


def _left_counts(log: EventLog) -> tuple[int, int, int, int, int]:
    """Residents who balked, reneged, came back after balking, were turned away (stayed, unserved) and were diverted.
    Where nobody left (most points: found in one pass), none of the first kinds did and the unserved were turned
    away, without a mask of each kind."""
    if not log.left.any():
        return 0, 0, int(np.count_nonzero(log.balks > 0)), log.arrived - log.sampled, 0
    balked = log.balked
    return (int(np.count_nonzero(balked)), int(np.count_nonzero(log.reneged)), int(np.count_nonzero((log.balks > 0) & ~balked)),
            int(np.count_nonzero(~log.served & (log.left == STAYED))), int(np.count_nonzero(log.diverted)))


def combine(parts: list[Tally]) -> Tally:
    """The tally of several points together (one replication)."""
    if len(parts) == 1:
        return parts[0]

    def add(dicts: list[dict[str, float]], how=sum) -> dict[str, float]:
        keys = list(dicts[0])
        if all(list(d) == keys for d in dicts):  # the same keys in the same order (a city's points): column by column
            return dict(zip(keys, map(how, zip(*(d.values() for d in dicts)))))
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
        "busy_period": {s: busy_period_kpis(t.busy_periods.get(s, BusyPeriod()), t.open_s) for s in stages},
        "diverted_to": dict(t.diverted_to),
        "occupancy_max": dict(t.occupancy_max),
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
