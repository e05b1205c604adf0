"""Self-checks of a run's consistency, computed on every run and recorded in summary.json.

Little's law, L = lambda W, ties the two ways the results describe a line: the
time series (``metrics.point_series``, what timeseries.csv and the queue charts
show) and the per-resident log (what the wait KPIs and persons.csv show). Over a
window that holds every resident's whole wait it is an identity, not an
approximation: both sides are the same area (resident-seconds in line) divided
by the window. So any gap beyond rounding means the series lost or invented
waiting time: a resident left out, a window cut short, a NaN let through.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .log import EventLog
from .metrics import Series, mean_of
from .metrics.lines import point_durations

LITTLE_TOLERANCE = 1e-9
"""Largest relative gap accepted. The series is exact but computed in floating
point: occupancy() subtracts cumulative sums of timestamps, so its rounding is
about epsilon x window per resident (2e-11 s of mean wait for a one-day window).
Against a mean wait of at least ``WAIT_FLOOR`` of the window that is a relative
gap near 2e-11 for any window: measured at most 3.0e-11 over every run of the
functional and validation tests. 1e-9 leaves a factor 30 for unlucky rounding,
while one resident's lost minute in a day of 100,000 residents waiting 10 s
each is a gap of 6e-5."""
WAIT_FLOOR = 1e-5
"""Mean waits shorter than this share of the window (0.86 s of a day) are
compared as if they were that long: below it the gap would measure rounding,
not the model (waits of milliseconds at an idle point)."""


@dataclass
class LittleCheck:
    """Little's law at one stage of one point in one replication.

    ``queue_mean`` is L from the series over ``window_s``; ``arrival_rate``
    (residents joining the line per second over the same window) times
    ``wait_mean_s`` is lambda W from the log.
    """

    point_id: str
    replication: int
    stage: str
    window_s: float
    queue_mean: float
    arrival_rate: float
    wait_mean_s: float

    @property
    def relative_gap(self) -> float:
        """|L - lambda W| / max(L, lambda W, lambda x WAIT_FLOOR x window): 0 when all are 0,
        NaN when a side is not a number."""
        expected = self.arrival_rate * self.wait_mean_s
        scale = max(abs(self.queue_mean), abs(expected), self.arrival_rate * WAIT_FLOOR * self.window_s)
        if not math.isfinite(scale):
            return math.nan
        return abs(self.queue_mean - expected) / scale if scale > 0 else 0.0


def littles_law(log: EventLog, series: Series) -> list[LittleCheck]:
    """L from the point's series against lambda W from its log, per stage.

    The window is the series' whole span, from its first step to its last
    (``series_edges``: midnight of day 0 to after the last event), so it holds
    every wait when the series is right; L is the time average of the per-step
    queue over it, lambda the joins over its length.
    """
    window = series.steps * series.step_s
    checks = []
    # When everyone came through, a line's waits are the stage's (``stage_waits``), already added up in its
    # summary by numpy's sum: their mean is that sum over their count (``mean_of``'s two operations).
    durations = point_durations(log)[0] if log.everyone_counted else None
    for stage in log.stages:
        joined, left = log.line(stage)
        if not joined.size:
            wait_mean_s = 0.0
        elif durations is not None:
            wait_mean_s = durations[f"wait.{stage}"].total / joined.size
        else:
            wait_mean_s = mean_of(left - joined)
        queue = series.queue.get(stage, np.zeros(0))
        checks.append(LittleCheck(
            point_id=log.point_id,
            replication=log.replication,
            stage=stage,
            window_s=window,
            queue_mean=float(queue.sum() * series.step_s / window) if window > 0 else 0.0,
            arrival_rate=joined.size / window if window > 0 else 0.0,
            wait_mean_s=wait_mean_s,
        ))
    return checks


@dataclass
class LittleSummary:
    """Little's law checks of a run, added up as tasks finish (the worst gap is kept)."""

    stages_checked: int = 0
    max_relative_gap: float = 0.0
    worst: str = ""

    def add(self, checks: list[LittleCheck]) -> None:
        for check in checks:
            self.stages_checked += 1
            gap = check.relative_gap
            if math.isnan(self.max_relative_gap) or gap <= self.max_relative_gap:  # NaN is the worst and stays
                continue
            self.max_relative_gap, self.worst = gap, f"{check.point_id} {check.stage} replication {check.replication}"

    @property
    def passed(self) -> bool:
        return self.max_relative_gap <= LITTLE_TOLERANCE

    def as_dict(self) -> dict:
        """For summary.json: a gap that is not a number is written as null (and fails)."""
        gap = self.max_relative_gap
        return {
            "max_relative_gap": gap if math.isfinite(gap) else None,
            "stages_checked": self.stages_checked,
            "tolerance": LITTLE_TOLERANCE,
            "passed": self.passed,
            "worst": self.worst,
        }
