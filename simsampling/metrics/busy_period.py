"""A stage's busy period: the stretch of minutes in which residents waited at it while it had
servers on duty, the serving and duty time in it (utilisation when it matters) and the waiting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..log import EventLog
from ..stages import role
from ..steps import step_for
from .compiled import busiest_spells
from .durations import HOUR, MINUTE
from .staff_time import staffed_spans
from .series import occupancy, stage_runs


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
    """The stage's busy period (``busy_periods``)."""
    return busy_periods(log)[stage]


def busy_periods(log: EventLog) -> dict[str, BusyPeriod]:
    """Each stage's busy period: the longest-waiting stretch of minutes in which at least ``BUSY_LINE``
    resident waited on average while the stage had servers on duty (from each staffed day's opening,
    after the first day's set-up, to its last swab), gaps up to ``BUSY_GAP_S`` bridged.

    Servers on duty are the stage's less those closed for lack of staff. A server paired with the
    stations (a registrar in the paired layout: its role has no duty of its own) is busy while
    serving and while its resident waits for the next stage.

    Every stage's in one compiled call (``busiest_spells``), each sorted array of times passed once, however many
    stages read it (a stage's service begins are its line's leaves, its ends the next line's joins): ``stage_runs``,
    which the series read too."""
    spans, step, edges, duty_each = _duty_grid(log)
    stages, main = log.stages, log.main
    if edges.size < 2:
        return {stage: BusyPeriod() for stage in stages}
    runs = stage_runs(log)
    closing = log.closures.role if log.closures is not None and log.closures.start_s.size else None
    duties, staffing = [duty_each], []  # each stage's paired line, its duty's row and its servers
    for stage in stages:
        serving = role(stage)
        paired = log.plan is not None and serving not in log.plan.duty and stage in main[-2:-1]
        if paired:
            serving = role(main[-1])
        servers, row = log.servers[stage], 0
        mine = closing == serving if closing is not None else None
        if mine is not None and mine.any():  # (closing nothing subtracts zeros)
            duty = servers * duty_each
            servers, row = 1, len(duties)  # (the duty as found: once 1.0 times)
            for begin, end in spans:  # closures within each staffed span
                low = np.clip(log.closures.start_s[mine], begin, end)
                duty -= occupancy(low, np.clip(log.closures.end_s[mine], begin, end), edges)
            duties.append(duty)
        staffing.append((stages.index(main[-1]) if paired else -1, row, servers))
    layout = np.hstack((runs.layout, np.array(staffing, dtype=np.intp).reshape(-1, 3)))  # each stage: its runs, its staffing
    spells, sums = busiest_spells(runs.times, runs.more, runs.places, layout, edges,
                                  duty_each[np.newaxis] if len(duties) == 1 else np.array(duties), BUSY_LINE, BUSY_GAP_S / step + 1)
    return {stage: BusyPeriod() if first < 0 else
            BusyPeriod(float(edges[first]), float(edges[last]), float(serving_s) * step, float(duty_s) * step, float(waiting) * step)
            for stage, (first, last), (waiting, serving_s, duty_s) in zip(stages, spells.tolist(), sums.tolist())}


def _duty_grid(log: EventLog) -> tuple[list[tuple[float, float]], float, np.ndarray, np.ndarray]:
    """What every stage's busy period shares (once per log): the staffed spans (the first day's from the
    end of its set-up), the step and the edges of the minutes over them, and a server's duty in each."""

    def compute() -> tuple[list[tuple[float, float]], float, np.ndarray, np.ndarray]:
        spans = staffed_spans(log)
        if spans[0][0] == log.hours[0][0]:
            spans[0] = (spans[0][0] + log.setup_s, max(spans[0][1], spans[0][0] + log.setup_s))
        step = step_for(spans[-1][1] - spans[0][0], MINUTE)  # a span of years (a valid heavy tail) in coarser steps
        edges = np.arange(math.floor(spans[0][0] / step), math.ceil(spans[-1][1] / step) + 1) * step
        if edges.size < 2:
            return spans, step, edges, edges
        starts, ends = np.array([a for a, _ in spans]), np.array([b for _, b in spans])
        return spans, step, edges, occupancy(starts, ends, edges)

    return log.derived("busy_period_grid", compute)


def busy_period_kpis(period: BusyPeriod, open_s: float) -> dict[str, float]:
    return {
        "start_h": (period.start_s - open_s) / HOUR,
        "end_h": (period.end_s - open_s) / HOUR,
        "utilization": period.busy_s / period.duty_s if period.duty_s > 0 else math.nan,
        "waiting_person_min": period.waiting_s / MINUTE,
    }
