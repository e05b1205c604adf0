"""Each station's spells (busy, idle, closed for lack of staff) and its timeline, from a point's
log: what stations.csv and rota.png show.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..log import ClosureLog, EventLog
from ..steps import MAX_TIMELINE_STEPS, rungs, step_edges
from .durations import MINUTE
from .staff_time import staffed_spans
from .compiled import rows_busy


MAX_TIMELINE_ROWS = 60
"""Rows of a station timeline: beyond this many stations a row holds several, in order (rota.png draws
rows, and a chart of 10,000 stations draws 60 rows of 167, not 10,000)."""


@dataclass
class StaffedStations:
    """When a point's sampling stations were staffed in the first replication, and closed for lack of staff.

    What a run keeps of every point: ``staffed`` are the point's staffed spans (each
    day's opening to its closing or last station free), ``closures`` the spells a station
    was closed for lack of staff (breaks not covered by relief, samplers off duty;
    ``end_s`` infinite: to the end), ``sampled`` the residents swabbed. stations.csv writes
    them, and rota.png chooses its point by them; a run of many points keeps no more of
    each (``experiment.FULL_TIMELINES_UP_TO``), and the one point rota.png draws is given
    its :class:`StationTimeline` when drawn.
    """

    point_id: str
    staffed: list[tuple[float, float]]
    closures: ClosureLog
    sampled: int

    def closed_s(self, reason: Optional[str] = None) -> float:
        """Station-seconds closed within the staffed spans (all closures, or those of ``reason``)."""
        closures = self.closures
        if reason is None:
            return closures.closed_s("sampler", self.staffed)
        mine = closures.reason == reason
        return ClosureLog(*(getattr(closures, name)[mine] for name in CLOSURE_FIELDS)).closed_s("sampler", self.staffed)


@dataclass(kw_only=True)
class StationTimeline(StaffedStations):
    """What each sampling station of a point did, step by step: for the rota chart.

    Its size is bounded whatever the point's size or span: ``busy`` is rows x steps
    (float32), a row per station up to ``MAX_TIMELINE_ROWS`` stations (beyond,
    ``per_row`` consecutive stations a row, averaged), at most ``steps.MAX_TIMELINE_STEPS``
    steps from the first opening to the last closing or the last station activity.

    ``busy[k, j]`` is the share of step j (from ``start_s + j * step_s``) that
    the stations of row k spent serving: swabs, hand disinfection and the sealing
    of full pooled tubes, as in the utilisation KPI.
    """

    step_s: float
    start_s: float
    busy: np.ndarray
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
    return all_spells(station_spells(log))


def all_spells(spells: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``station_spells``' (station, begin, end) of every kind, one kind after the other."""
    return tuple(np.concatenate(column) for column in zip(*spells.values()))


def staffed_stations(log: EventLog) -> StaffedStations:
    """A point's staffed spans, its samplers' closures and the residents sampled (:class:`StaffedStations`)."""
    closures = log.closures if log.closures is not None else ClosureLog.of([])
    if closures.start_s.size:  # (most points close nothing: kept as it is, not filtered)
        closures = ClosureLog(*(getattr(closures, name)[closures.role == "sampler"] for name in CLOSURE_FIELDS))
    return StaffedStations(point_id=log.point_id, staffed=staffed_spans(log), closures=closures, sampled=log.sampled)


def station_timeline(log: EventLog, step_s: float = MINUTE) -> StationTimeline:
    """Busy share per station (or row of stations) and step, the staffed spans and the samplers' closures of one point.

    Its size is bounded whatever the point: at most MAX_TIMELINE_ROWS rows and steps.MAX_TIMELINE_STEPS
    steps (coarser steps for a long span).
    """
    stations = log.servers["swab"]
    per_row = -(-stations // MAX_TIMELINE_ROWS)
    rows = -(-stations // per_row)
    spells = station_spells(log)
    kept = staffed_stations(log)
    station, begin, end = all_spells(spells)
    # The earliest begin and the latest end of all spells (NaN if any is NaN: then the opening or the staffed end).
    first = min(log.open_s, float(begin.min(initial=log.open_s)))
    last = max(kept.staffed[-1][1], float(end.max(initial=log.open_s)))
    for step_s in rungs(step_s):
        first_step, last_step = math.floor(first / step_s), math.ceil(last / step_s)
        if last_step - first_step <= MAX_TIMELINE_STEPS:
            break
    edges = step_edges(first_step, max(last_step, first_step + 1) + 1, step_s)
    busy = rows_busy(station, begin, end, rows, per_row, stations, edges)
    return StationTimeline(
        point_id=kept.point_id,
        staffed=kept.staffed,
        closures=kept.closures,
        sampled=kept.sampled,
        step_s=float(step_s),
        start_s=float(edges[0]),
        busy=busy,
        per_row=per_row,
        station_count=stations,
    )
