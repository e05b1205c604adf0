"""Points ranked by what a planner must act on, not by finish time.

A district's finish times often tie (every point finishes when its calling plan
ends), so points are ranked by their most serious **concern**, then by how
serious it is:

1. ``late``: the point finishes after the deadline, or leaves residents
   unreached (``hours``-limited); by the hours past the deadline;
2. ``overflow``: its peak line (all stages) is larger than its waiting area
   holds; by the peak over the capacity;
3. ``long_wait``: its p90 total wait is over the target; by the p90;
4. ``none``: by the p90 total wait, then the peak line: the points nearest
   to trouble first.

Each point also says how many of its stations stood idle all round:
``idle_stations`` is its stations less the most that were ever busy at once
(the highest per-step average across replications, 1-minute or 15-minute steps),
rounded down: where staff could be moved from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Optional

import numpy as np

from .capacity import STAFFING_STAGE
from .diagnosis import Diagnosis, PointDiagnosis

CONCERNS = ("late", "overflow", "long_wait", "none")
"""From the most serious."""


@dataclass(frozen=True)
class Ranked:
    rank: int
    point: str
    concern: str
    late_h: float
    p90_wait_min: Optional[float]
    peak_line: float
    waiting_space: Optional[int]
    idle_stations: int
    peak_busy_stations: float


@dataclass(frozen=True)
class Ranking:
    """The points ranked (``rank_points``), with what a chart of them says beside: the p90 target and whether
    the calling plans set every finish (by when). What the charts follow of a run's advice (``RunAdvice.charted``):
    small enough to hand to the process that draws them, where the whole advice of a city is not (its diagnosis
    holds the scenario: 6 MB pickled in 0.6 s; this, 4,485 rows, 0.4 MB in 10 ms)."""

    rows: tuple[Ranked, ...]
    target_min: float
    finish_set_by_plan: bool = False
    plan_end_s: Optional[float] = None

    def rank_of(self, point_id: str) -> Ranked:
        return self._ranks[point_id]

    @cached_property
    def _ranks(self) -> dict[str, Ranked]:
        return {row.point: row for row in self.rows}

    def ranked_ids(self) -> list[str]:
        """Point ids, the one to act on first first."""
        return [row.point for row in self.rows]


def _mean(leaf) -> float:
    value = leaf.get("mean") if isinstance(leaf, dict) else None
    return math.nan if value is None else float(value)


def concern_of(diagnosis: PointDiagnosis, kpis: dict, deadline_h: float, target_min: float) -> tuple[str, float]:
    """The point's most serious concern and its size (the sort key within the concern)."""
    late = max(0.0, _mean(kpis["finish_h"]) - deadline_h)
    p90 = diagnosis.evidence.p90_wait_min
    peak = _mean(kpis["queue_max"].get("total", {}))
    space = diagnosis.point.waiting_area.capacity if diagnosis.point.waiting_area is not None else None
    if late > 0 or diagnosis.limited_by == "hours":
        return "late", late
    if space is not None and peak > space:
        return "overflow", peak / max(space, 1)
    if p90 is not None and p90 > target_min:
        return "long_wait", p90
    return "none", p90 if p90 is not None else 0.0


def rank_points(diagnosis: Diagnosis, point_kpis: dict[str, dict], bands: dict) -> list[Ranked]:
    """Every point, the one to act on first at rank 1."""
    deadline_h = (diagnosis.deadline_s - diagnosis.open_s) / 3600.0
    rows = []
    for point in diagnosis.points:
        kpis = point_kpis[point.id]
        concern, size = concern_of(point, kpis, deadline_h, diagnosis.target_min)
        p90 = point.evidence.p90_wait_min
        peak = _mean(kpis["queue_max"].get("total", {}))
        busy = bands[point.id].busy.get(STAFFING_STAGE)
        most_busy = float(np.max(busy.high, initial=0.0)) if busy is not None else 0.0
        stations = point.point.stations
        key = (CONCERNS.index(concern), -size, -(p90 or 0.0), -(peak if math.isfinite(peak) else 0.0))
        rows.append((key, point.id, concern, max(0.0, _mean(kpis["finish_h"]) - deadline_h), p90, peak,
                     point.point.waiting_area.capacity if point.point.waiting_area is not None else None,
                     max(0, math.floor(stations - most_busy + 1e-9)), most_busy))
    rows.sort(key=lambda row: (row[0], row[1]))
    return [Ranked(rank, *row[1:]) for rank, row in enumerate(rows, start=1)]
