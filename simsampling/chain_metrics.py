"""KPIs and series of the sample chain, from its log (see model/chain.py)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .metrics import HOUR, occupancy, time_stats

if TYPE_CHECKING:  # the chain's model imports SimPy; these functions only read its log
    from .model.chain import ChainLog


def hour_stats(seconds: np.ndarray) -> dict[str, float]:
    """mean, p50, p90, p95 and max of durations, in hours (NaN when empty)."""
    return {key: value / 60.0 for key, value in time_stats(seconds).items()}


def chain_kpis(log: ChainLog, start_s: float, deadline_s: float, freshness_limit_h: float) -> dict[str, Any]:
    """The chain's KPI tree for one replication (schema in docs/outputs.md)."""
    reached = ~np.isnan(log.arrived_s)
    age = (log.arrived_s - log.opened_s)[reached]
    result_of_member = log.released_s[log.member_tube]
    has_result = ~np.isnan(result_of_member)
    swab_to_result = (result_of_member - log.member_swab_s)[has_result]
    last = np.nanmax(np.concatenate([log.released_s, log.recall_released_s]), initial=math.nan) if log.released_s.size else math.nan
    trips = np.array([load for *_, load in log.trips], dtype=float)
    busy = sum(end - start for _, start, end, _ in log.runs)
    first = np.nanmin(log.arrived_s, initial=math.inf) if log.arrived_s.size else math.inf
    capacity = sum(lab.instruments for lab in log.labs) * (last - first) if math.isfinite(first) and math.isfinite(last) and last > first else math.nan
    identified = identification_s(log)
    members = log.member_tube.size
    return {
        "tubes": float(log.sealed_s.size),
        "tubes_without_result": float(np.count_nonzero(np.isnan(log.released_s))),
        "specimen_age_h": hour_stats(age),
        "specimens_over_limit": float(np.count_nonzero(age > freshness_limit_h * HOUR)),
        "swab_to_result_h": hour_stats(swab_to_result),
        "last_result_h": (last - start_s) / HOUR if math.isfinite(last) else math.nan,
        "results_by_deadline_share": float(np.count_nonzero(result_of_member <= deadline_s)) / members if members else math.nan,
        "lab_utilization": busy / capacity if capacity and capacity > 0 else math.nan,
        "courier_trips": float(trips.size),
        "tubes_per_trip": float(trips.mean()) if trips.size else math.nan,
        "positive_pools": float(np.count_nonzero(log.positive)),
        "recalls": float(log.recall_swab_s.size),
        "infected": float(np.count_nonzero(log.member_infected)),
        "identification_h": hour_stats(identified),
    }


def identification_s(log: ChainLog) -> np.ndarray:
    """For each infected resident identified, seconds from its swab to its individual result.

    In a pool of one the first result identifies; otherwise the result of the
    single tube taken at the recall does.
    """
    singles = log.members[log.member_tube] == 1
    direct = log.member_infected & singles & ~np.isnan(log.released_s[log.member_tube])
    times = [(log.released_s[log.member_tube] - log.member_swab_s)[direct]]
    recalled = log.recall_infected & ~np.isnan(log.recall_released_s)
    pooled = log.members[log.recall_positive_tube] > 1
    times.append((log.recall_released_s - log.recall_first_swab_s)[recalled & pooled])
    return np.concatenate(times)


CUMULATIVE_SERIES = ("results",)
"""Series of chain_series that count up (the others are time averages over each step)."""


def chain_series(log: ChainLog, edges: np.ndarray) -> dict[str, np.ndarray]:
    """Per step: tubes waiting at the laboratories, recall tubes included (time average),
    and residents with the result of their pool (cumulative)."""
    arrived = np.concatenate([log.arrived_s, log.recall_arrived_s])
    started = np.concatenate([log.run_start_s, log.recall_run_start_s])
    reached = ~np.isnan(arrived)
    started = np.where(np.isnan(started), edges[-1], started)
    backlog = occupancy(arrived[reached], started[reached], edges)
    result_of_member = np.sort(log.released_s[log.member_tube])
    results = np.searchsorted(result_of_member, edges[1:], side="right").astype(float)
    return {"lab_backlog": backlog, "results": results}

