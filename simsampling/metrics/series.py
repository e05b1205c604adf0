"""Per-step time series of a run (lines, busy servers, arrivals and samples): exact time averages
from the residents' intervals, added up over points and banded over replications; wait
histograms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Optional

import numpy as np

from ..log import EventLog
from ..stages import union
from ..steps import end_of_groups, factor, mean_of_groups, step_edges, step_for, sum_of_groups
from .compiled import counted_up_to, lines_and_busy, sorted_occupancy
from .durations import DAY, HOUR, MINUTE, in_order
from .lines import nearly_in_order, point_durations, sorted_line, sorted_lines


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

    def __reduce__(self):
        # A point's series travel as one array (a row per series) when they are alike (every point's are): one
        # array to pickle, not eight; given back as views of its rows, the same values.
        arrays = [*self.queue.values(), *self.busy.values(), self.arrived, self.sampled]
        if list(self.queue) == list(self.busy) and all(a.ndim == 1 and a.dtype == np.float64 and a.size == self.arrived.size for a in arrays):
            return _rows_as_series, (tuple(self.queue), np.stack(arrays), self.step_s)
        return Series, (self.queue, self.busy, self.arrived, self.sampled, self.step_s)

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


def _rows_as_series(stages: tuple[str, ...], rows: np.ndarray, step_s: float) -> Series:
    """The series ``Series.__reduce__`` stacked: queues, then busy servers, by stage, then arrived and sampled."""
    count = len(stages)
    return Series(queue=dict(zip(stages, rows[:count])), busy=dict(zip(stages, rows[count:2 * count])),
                  arrived=rows[-2], sampled=rows[-1], step_s=step_s)


def series_edges(log: EventLog, step_s: float = MINUTE) -> np.ndarray:
    """Step edges from midnight of day 0 to the later of the round's last midnight and the last event.

    The step is ``step_s``, or coarser when the span would need more than ``steps.MAX_SERIES_STEPS``.
    """
    left = log.left_s[~np.isnan(log.left_s)]
    last = max(len(log.hours) * DAY, log.last_sample_s, float(log.arrival_s.max(initial=0.0)), float(left.max(initial=0.0)))
    step_s = step_for(last, step_s)
    return step_edges(0, math.ceil(last / step_s) + 1, step_s)


def sorted_service(log: EventLog, stage: str) -> tuple[np.ndarray, np.ndarray]:
    """Begins and ends of the stage's services, each sorted: the intervals in which a stage's servers are busy
    serving (a station until its hand disinfection is done), over every resident served there (the swabbed, and at
    a side stage or before a divert, the diverted); sorted once per log, for the series and the busy period alike."""

    def compute() -> tuple[np.ndarray, np.ndarray]:
        main = log.main
        following = main[main.index(stage) + 1] if stage in main[:-1] else None
        if log.everyone_counted:  # a stage's begins are its line's leaves, its ends the next line's joins: the same arrays
            ends = sorted_line(log, following)[0] if following else nearly_in_order(log.station_free_s())
            return sorted_line(log, stage)[1], ends
        through = log.through(stage)
        end = log.station_free_s()[through] if stage == "swab" else log.end[stage][through]
        # Without reneging or diverts a stage's services begin as its line is left, and end as the next
        # stage's line is joined: the same times, sorted once.
        return (_sorted_as(log.start[stage][through], log.line(stage)[1], lambda: sorted_line(log, stage)[1]),
                _sorted_as(end, log.line(following)[0], lambda: sorted_line(log, following)[0]) if following else in_order(end))

    return log.derived(("sorted_service", stage), compute)


@dataclass(frozen=True)
class StageRuns:
    """A point's sorted lines and services as runs of two arrays, each distinct run once (a stage's service begins are
    its line's leaves, its ends the next line's joins): what the series' and the busy periods' compiled calls read,
    each run's sums at their edges then found once."""

    times: np.ndarray
    """The lines' sorted times (``sorted_lines``): their runs first, a stage's joins, then its leaves."""
    more: np.ndarray
    """The services' sorted times that are no line's, one run after another (``times`` when there are none)."""
    places: np.ndarray
    """Each run's array (0: ``times``, 1: ``more``), start and stop."""
    layout: np.ndarray
    """Each stage's runs: its line's joins and leaves, its services' begins and ends."""


def stage_runs(log: EventLog) -> StageRuns:
    """A point's ``StageRuns`` (once per log)."""

    def compute() -> StageRuns:
        lines = sorted_lines(log)
        count = len(log.stages)
        bounds = [0, *lines.ends.tolist()]
        places = [(0, bounds[run], bounds[run + 1]) for run in range(2 * count)]
        runs: dict[int, int] = {}  # each sorted array's index among the runs
        for at, (joins, leaves) in enumerate(lines.lines):
            runs[id(joins)], runs[id(leaves)] = at, count + at
        more: list[np.ndarray] = []

        def run(values: np.ndarray) -> int:
            if id(values) not in runs:
                runs[id(values)] = len(places)
                start = places[-1][2] if places[-1][0] == 1 else 0
                places.append((1, start, start + values.size))
                more.append(values)
            return runs[id(values)]

        layout = [(at, count + at, *map(run, sorted_service(log, stage))) for at, stage in enumerate(log.stages)]
        return StageRuns(lines.times, more[0] if len(more) == 1 else np.concatenate(more) if more else lines.times,
                         np.array(places, dtype=np.intp).reshape(-1, 3), np.array(layout, dtype=np.intp).reshape(-1, 4))

    return log.derived("stage_runs", compute)


def _sorted_as(times: np.ndarray, other: np.ndarray, other_sorted) -> np.ndarray:
    """``in_order(times)``: ``other_sorted()`` when ``other`` holds the same times, bit for bit (NaN, -0.0): their
    bytes compared (a third of ``np.array_equal``'s time on their 64-bit words, five times a point)."""
    if times.size == other.size and times.dtype == other.dtype == np.float64 and times.tobytes() == other.tobytes():
        return other_sorted()
    return in_order(times)


def sorted_sampled_times(log: EventLog) -> np.ndarray:
    """``in_order(log.sampled_times())``. Without hand disinfection or side stages, the swabs' ends are the ends
    of the stations' services, already sorted (``sorted_service``): those sorted, then the home visits', sort
    in one merge of a sorted run (the same values; a point's swabs sorted once, not twice)."""
    if log.overhead_s is not None or log.sources:
        return in_order(log.sampled_times())
    swabs = sorted_service(log, "swab")[1]
    home = log.home
    return swabs if home is None else in_order(np.concatenate([swabs, home.end_s[home.served]]))


def point_series(log: EventLog, step_s: float = MINUTE) -> Series:
    edges = series_edges(log, step_s)
    step_s = float(edges[1] - edges[0]) if edges.size > 1 else step_s
    stages = log.stages
    runs = stage_runs(log)  # each stage's line and busy servers (``sorted_occupancy`` of each) in one call
    rows = lines_and_busy(runs.times, runs.more, runs.places, runs.layout, edges)
    count = len(stages)
    queue, busy = dict(zip(stages, rows[:count])), dict(zip(stages, rows[count:]))
    ends = edges[1:]
    if stages:  # the first line's joins are the arrivals when everyone stood in it: sorted already
        first = stages[0]
        arrivals = _sorted_as(log.arrival_s, log.line(first)[0], lambda: sorted_line(log, first)[0])
    else:
        arrivals = in_order(log.arrival_s)
    arrived = counted_up_to(arrivals, ends)
    sampled = counted_up_to(sorted_sampled_times(log), ends)
    return Series(queue=queue, busy=busy, arrived=arrived, sampled=sampled, step_s=step_s)


def pad(array: np.ndarray, length: int) -> np.ndarray:
    """Extend with the last value: a count stays where it ended, a line or busy count at zero."""
    if array.size == length:
        return array
    return np.pad(array, (0, length - array.size), mode="edge") if array.size else np.zeros(length)


def add_series(parts: list[Series]) -> Series:
    """The series of several points together (lines and counts add up)."""

    def total(arrays: list[np.ndarray]) -> np.ndarray:
        length = max(a.size for a in arrays)
        if len(arrays) == 2:  # the sum over two rows is their one addition, without stacking them (a run adds a point at a time)
            return pad(arrays[0], length) + pad(arrays[1], length)
        return np.sum([pad(a, length) for a in arrays], axis=0)

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


class SeriesSum:
    """Points' series added up as they come, as ``add_series`` of the sum so far and the next one (the same additions
    in the same order, so the same values), into arrays this sum owns once it made them: a city round adds thousands
    of points one at a time, alike (the same stages, step and length), each without new arrays."""

    def __init__(self) -> None:
        self.series: Optional[Series] = None
        """The sum so far (the first point's own series until a second comes: not added into)."""
        self._owned = False

    def add(self, series: Series) -> None:
        total = self.series
        if total is None:
            self.series = series
        elif self._owned and _alike(total, series):
            for into, values in zip(_arrays(total), _arrays(series)):
                np.add(into, values, out=into)
        else:
            self.series = add_series([total, series])
            self._owned = all(array.dtype == np.float64 for array in _arrays(self.series))


def _arrays(series: Series) -> list[np.ndarray]:
    return [*series.queue.values(), *series.busy.values(), series.arrived, series.sampled]


def _alike(total: Series, series: Series) -> bool:
    """Whether ``add_series([total, series])`` adds array to array, each of ``series`` into one of ``total`` of its
    size and stage, in ``total``'s order (the same stages in the same order, the same step, the same lengths)."""
    stages = list(total.queue)
    return (series.step_s == total.step_s and list(series.queue) == stages and list(series.busy) == stages
            and list(total.busy) == stages
            and all(a.shape == b.shape for a, b in zip(_arrays(total), _arrays(series))))


_NONE = np.zeros(0)
_NONE.flags.writeable = False


@dataclass
class Band:
    """Mean, min and max across replications of a series, accumulated one replication at a time."""

    n: int = 0
    # A new band's arrays: one empty array for every band (a city round makes tens of thousands), which
    # ``add`` replaces, as it replaces every array it holds (never changed in place).
    total: np.ndarray = field(default_factory=lambda: _NONE)
    low: np.ndarray = field(default_factory=lambda: _NONE)
    high: np.ndarray = field(default_factory=lambda: _NONE)

    def add(self, values: np.ndarray) -> None:
        length = max(values.size, self.total.size)
        values = pad(values, length)
        if self.n == 0:
            # One array for the three (a run of one replication, a city round's thousands of points, keeps its
            # series once, not thrice): a band's arrays are replaced by each addition, never changed in place.
            self.total = values.astype(float, copy=False)
            self.low = self.high = values
        else:
            self.total, self.low, self.high = (pad(a, length) for a in (self.total, self.low, self.high))
            # An earlier replication that ended sooner stays at its last value.
            self.total = self.total + values
            self.low = np.minimum(self.low, values)
            self.high = np.maximum(self.high, values)
        self.n += 1

    @property
    def mean(self) -> np.ndarray:
        return self.total / max(self.n, 1)

    def mean_at(self, step: int) -> float:
        """``mean[step]`` without dividing the whole series (a city's diagnosis reads one step of thousands)."""
        return float(self.total[step] / max(self.n, 1))

    def mean_sum(self) -> float:
        """``mean.sum()``; a band of one replication is its own mean (dividing by one changes no value)."""
        return float((self.total if self.n <= 1 else self.total / self.n).sum())

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
            _band(self.queue, stage).add(values)
            _band(self.busy, stage).add(series.busy[stage])
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


def _band(bands: dict[str, Band], stage: str) -> Band:
    """The stage's band, a new one the first time (``setdefault`` would make a band at every call)."""
    band = bands.get(stage)
    if band is None:
        band = bands[stage] = Band()
    return band


def wait_histograms(logs: Iterable[EventLog]) -> dict[str, np.ndarray]:
    """Counts of waits (minutes) in the fixed ``WAIT_BINS`` per stage.

    As ``np.histogram`` counts them (the last bin closed, NaN and negative waits left out).
    """
    counts: dict[str, np.ndarray] = {}
    for log in logs:
        for stage in log.stages:
            counted = point_durations(log)[1][stage]  # (counted with the waits' summaries)
            counts[stage] = counted if stage not in counts else counts[stage] + counted
    return counts
