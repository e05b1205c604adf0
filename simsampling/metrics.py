"""KPIs, time series and confidence intervals, all computed from event logs.

Nothing here is tracked while the model runs: queue lengths and busy servers
are integrals over the residents' intervals, evaluated with sorted arrays and
cumulative sums (exact time averages, no sampling error). A function taking a
list of logs treats them as one scope: a point (one log) or a whole run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
from scipy import stats

from .log import STAGE_ORDER, EventLog

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0
TIME_STATS = ("mean", "p50", "p90", "p95", "max")
# Fixed bins (minutes) so wait distributions add up across replications and points.
WAIT_BIN_MIN = 0.25
WAIT_BINS = np.append(np.arange(0.0, 240.0 + WAIT_BIN_MIN, WAIT_BIN_MIN), np.inf)


# ---------------------------------------------------------------- per replication


def time_stats(seconds: np.ndarray) -> dict[str, float]:
    """mean, p50, p90, p95 and max of durations, in minutes (NaN when empty)."""
    if seconds.size == 0:
        return {key: math.nan for key in TIME_STATS}
    minutes = seconds / MINUTE
    p50, p90, p95 = np.percentile(minutes, [50, 90, 95])
    return {"mean": float(minutes.mean()), "p50": float(p50), "p90": float(p90), "p95": float(p95), "max": float(minutes.max())}


def stages_of(logs: list[EventLog]) -> tuple[str, ...]:
    """Stages present at any of the points, in walking order."""
    present = {stage for log in logs for stage in log.stages}
    return tuple(stage for stage in STAGE_ORDER if stage in present)


def queue_max(log: EventLog, stage: str) -> int:
    """The longest line ever seen at a stage: the peak of joins minus starts."""
    served = log.served
    joins = log.enter(stage)[served]
    starts = log.start[stage][served]
    times = np.concatenate([starts, joins])
    steps = np.concatenate([np.full(starts.size, -1), np.full(joins.size, 1)])
    # At equal times, leave the line before counting the next one in.
    order = np.lexsort((steps, times))
    return int(np.cumsum(steps[order]).max(initial=0))


def staffed_span_s(log: EventLog) -> float:
    """Seconds the point's servers are on duty: opening to closing or the last swab."""
    return max(log.close_s, log.last_swab_s) - log.open_s


def replication_kpis(logs: list[EventLog]) -> dict[str, Any]:
    """KPIs of one replication over the given points, as a nested dict of floats."""
    stages = stages_of(logs)
    arrived = sum(log.arrived for log in logs)
    sampled = sum(log.sampled for log in logs)
    completion_s = max(log.last_swab_s - log.open_s for log in logs)
    overtime_s = max(max(0.0, log.last_swab_s - log.close_s) for log in logs)
    stations = sum(log.servers["swab"] for log in logs)
    finish = np.concatenate([log.finish_s[log.served] for log in logs])
    hourly = np.histogram(finish, bins=np.arange(0.0, max(DAY, finish.max(initial=0)) + HOUR, HOUR))[0]
    throughput = sampled / (completion_s / HOUR) if completion_s > 0 else math.nan
    in_system = np.concatenate([(log.finish_s - log.arrival_s)[log.served] for log in logs])
    kpis: dict[str, Any] = {
        "population": float(sum(log.population for log in logs)),
        "no_show": float(sum(log.no_show for log in logs)),
        "arrived": float(arrived),
        "sampled": float(sampled),
        "unserved": float(arrived - sampled),
        "completion_min": completion_s / MINUTE,
        "overtime_min": overtime_s / MINUTE,
        "throughput_per_hour": throughput,
        "throughput_per_station_hour": throughput / stations,
        "peak_hour_sampled": float(hourly.max(initial=0)),
        "time_in_system_min": time_stats(in_system),
        "wait_min": {},
        "queue_max": {},
        "utilization": {},
    }
    for stage in stages:
        having = [log for log in logs if stage in log.stages]
        kpis["wait_min"][stage] = time_stats(np.concatenate([log.wait(stage) for log in having]))
        kpis["queue_max"][stage] = float(max(queue_max(log, stage) for log in having))
        busy = sum(float(log.service(stage).sum()) for log in having)
        capacity = sum(log.servers[stage] * staffed_span_s(log) for log in having)
        kpis["utilization"][stage] = busy / capacity if capacity > 0 else math.nan
    return kpis


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
    """Per-minute series of one point in one replication, from midnight.

    ``queue[stage]`` and ``busy[stage]`` are time averages over each minute;
    ``arrived`` and ``sampled`` are cumulative counts at the end of each minute.
    """

    queue: dict[str, np.ndarray]
    busy: dict[str, np.ndarray]
    arrived: np.ndarray
    sampled: np.ndarray

    @property
    def minutes(self) -> int:
        return int(self.arrived.size)


def minute_edges(log: EventLog) -> np.ndarray:
    """Minute edges from midnight to the later of 24:00 and the last event, in whole hours."""
    last = max(DAY, float(np.nanmax(log.finish_s, initial=0.0)), float(log.arrival_s.max(initial=0.0)))
    hours = math.ceil(last / HOUR)
    return np.arange(0.0, hours * HOUR + MINUTE / 2, MINUTE)


def point_series(log: EventLog) -> Series:
    edges = minute_edges(log)
    served = log.served
    queue, busy = {}, {}
    for stage in log.stages:
        start = log.start[stage][served]
        queue[stage] = occupancy(log.enter(stage)[served], start, edges)
        busy[stage] = occupancy(start, log.end[stage][served], edges)
    ends = edges[1:]
    arrived = np.searchsorted(np.sort(log.arrival_s), ends, side="right").astype(float)
    sampled = np.searchsorted(np.sort(log.finish_s[served]), ends, side="right").astype(float)
    return Series(queue=queue, busy=busy, arrived=arrived, sampled=sampled)


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


def band(arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, min and max across replications of series of unequal length.

    Shorter series are extended with their last value: a count stays where
    it ended, and a queue or busy series ends at zero.
    """
    length = max(a.size for a in arrays)
    stacked = np.vstack([np.pad(a, (0, length - a.size), mode="edge") if a.size else np.zeros(length) for a in arrays])
    return stacked.mean(axis=0), stacked.min(axis=0), stacked.max(axis=0)


def add_series(parts: list[Series]) -> Series:
    """The series of several points together (lines and counts add up)."""

    def total(arrays: list[np.ndarray]) -> np.ndarray:
        length = max(a.size for a in arrays)
        return np.sum([np.pad(a, (0, length - a.size), mode="edge") for a in arrays], axis=0)

    stages = [s for s in STAGE_ORDER if any(s in part.queue for part in parts)]
    return Series(
        queue={s: total([p.queue[s] for p in parts if s in p.queue]) for s in stages},
        busy={s: total([p.busy[s] for p in parts if s in p.busy]) for s in stages},
        arrived=total([p.arrived for p in parts]),
        sampled=total([p.sampled for p in parts]),
    )
