"""Durations (waits, time in system): their bins, exact percentiles of one point and binned ones
over many, without sorting them; the clock's units.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional, Union

import numpy as np

from .compiled import duration_summaries, percentile_ranks


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


def mean_of(values: np.ndarray) -> float:
    """``float(values.mean())`` of a 1-d float64 array, without ``mean``'s Python wrapper (a few microseconds,
    several times a point): numpy's own sum divided by the count, the same two operations (the same bits)."""
    return float(np.add.reduce(values) / values.size)


def run_ends(sizes: list[int]) -> np.ndarray:
    """Where each of runs of these sizes ends when laid end to end (``np.cumsum``'s values, as intp), without its
    wrapper's round trip through an array of the list (about 3 us, twice a point)."""
    return np.fromiter(itertools.accumulate(sizes), np.intp, len(sizes))


def in_order(values: np.ndarray) -> np.ndarray:
    """A sorted copy (stable sort: fast on nearly ordered times)."""
    return np.sort(values, kind="stable")


_PERCENTS = np.array(PERCENTS, dtype=float)


@lru_cache(maxsize=64)
def _percentile_ranks(count: int) -> tuple[np.ndarray, list[float]]:
    """``percentile_ranks`` of ``PERCENTS`` for ``count`` values, the weights as a list (kept for the last 64
    counts: shared, not to be changed)."""
    ranks, weights = percentile_ranks(count, _PERCENTS)
    return ranks, weights.tolist()


def _stats(seconds: np.ndarray, at_ranks: np.ndarray, weights: list[float], largest: float) -> dict[str, float]:
    """``time_stats`` from the values at ``_percentile_ranks`` and the largest value: numpy's arithmetic, operation by
    operation (tests/unit/test_metrics.py holds it to numpy; ``duration_summaries`` makes the same)."""
    if seconds.size == 0:
        return {key: math.nan for key in TIME_STATS}
    percentiles = [largest] * len(PERCENTS)  # numpy gives the NaN when there is one
    if not math.isnan(largest):
        for i, weight in enumerate(weights):
            low, high = float(at_ranks[2 * i]) / MINUTE, float(at_ranks[2 * i + 1]) / MINUTE
            step = high - low
            percentiles[i] = high - step * (1 - weight) if weight >= 0.5 else low + step * weight
    p50, p90, p95 = percentiles
    return {"mean": mean_of(seconds / MINUTE), "p50": p50, "p90": p90, "p95": p95, "max": largest / MINUTE}


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
        return summarised([seconds], (False,))[0][0]

    @classmethod
    def pooled(cls, parts: list["Durations"]) -> "Durations":
        dense = _no_counts()
        for part in parts:
            if part.bins.size:  # (none: pooled without its bins, ``without_bins``)
                dense[part.bins] += part.counts  # a part's bins are distinct
        count = sum(p.count for p in parts)
        largest = max((p.largest for p in parts if p.count), default=math.nan)
        return cls(count, sum(p.total for p in parts), largest, _NO_BINS, _NO_BINS).with_bins(dense)

    def without_bins(self) -> "Durations":
        """The same durations without their counts per bin, which are added up elsewhere (``PooledBins``) and
        given back by ``with_bins``: a worker's batch of points sends its bins added up, not each point's."""
        return Durations(self.count, self.total, self.largest, _NO_BINS, _NO_BINS, self.exact)

    def with_bins(self, dense: np.ndarray) -> "Durations":
        """The same durations with the counts per bin ``dense`` (one count for each bin of ``DURATION_EDGES``)."""
        return Durations(self.count, self.total, self.largest, *_nonzero(dense), self.exact)

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


def summarised(columns: list[np.ndarray], counted: tuple[bool, ...]) -> tuple[list[Durations], list[np.ndarray]]:
    """``Durations`` of each column, and the columns ``counted`` says counted in minutes in ``WAIT_BINS``
    (``np.histogram``'s counts), in one compiled call (``duration_summaries``: a point's five summaries and three
    wait histograms were eight calls). The statistics are ``_stats``' arithmetic (the mean as ``mean_of`` makes it:
    numpy's sum of the minutes over the count); the bins, and the counts in ``WAIT_BINS``, are views of one array."""
    sizes = [column.size for column in columns]
    bins, counts, bin_ends, largest, totals, stats, histograms = duration_summaries(
        columns[0] if len(columns) == 1 else np.concatenate(columns), run_ends(sizes), DURATION_EDGES,
        int(SECOND_BINS_S), _PERCENTS, MINUTE, np.array(counted, dtype=np.bool_), WAIT_BINS, WAIT_BIN_MIN)
    cuts = [0, *bin_ends.tolist()]
    return ([Durations(count, total, top, bins[cuts[k]:cuts[k + 1]], counts[cuts[k]:cuts[k + 1]], dict(zip(TIME_STATS, row)))
             for k, (count, total, top, row) in enumerate(zip(sizes, totals.tolist(), largest.tolist(), stats.tolist()))],
            list(histograms))


_NO_BINS = np.zeros(0, np.intp)
_NO_BINS.flags.writeable = False


def _nonzero(dense: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    bins = np.flatnonzero(dense)
    return bins, dense[bins]


def _no_counts() -> np.ndarray:
    """A count of zero for every bin of ``DURATION_EDGES``."""
    return np.zeros(DURATION_EDGES.size, dtype=np.int64)


@dataclass
class PooledBins:
    """Counts per bin of several points' durations, by kind (``time_in_system``, ``wait.swab``...): integers,
    so the same sums in any order, added up where the points are measured (a worker's batch) or where their
    sums meet (the main process), and given back to the durations pooled without them (``attached``).

    A kind's first counts are held as they come (the bins that hold any, and their counts); the second are
    added to them in a count for every bin of ``DURATION_EDGES``: a batch of one point (a run in one process)
    sends its own, as they were."""

    held: dict[str, Union[tuple[np.ndarray, np.ndarray], np.ndarray]] = field(default_factory=dict)
    """Per kind, (bins, counts) or a count for each bin of ``DURATION_EDGES``."""

    def add(self, kind: str, bins: np.ndarray, counts: np.ndarray) -> None:
        """Add ``counts`` of the distinct ``bins`` to the kind's."""
        held = self.held.get(kind)
        if held is None:
            self.held[kind] = (bins, counts)
            return
        if isinstance(held, tuple):
            dense = _no_counts()
            dense[held[0]] += held[1]
            held = self.held[kind] = dense
        held[bins] += counts

    def add_durations(self, durations: dict[str, Durations]) -> None:
        for kind, part in durations.items():
            self.add(kind, part.bins, part.counts)

    def add_pooled(self, other: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        """Add the counts of another ``PooledBins``, as its ``sparse`` gave them."""
        for kind, (bins, counts) in other.items():
            self.add(kind, bins, counts)

    def sparse(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per kind, the bins that hold any and their counts: what a batch sends (5 kinds of a few thousand bins at most)."""
        return {kind: held if isinstance(held, tuple) else _nonzero(held) for kind, held in self.held.items()}

    def attached(self, durations: dict[str, Durations]) -> dict[str, Durations]:
        """``durations`` (pooled without their bins) with these counts per bin."""
        attached = {}
        for kind, part in durations.items():
            held = self.held.get(kind)
            if isinstance(held, tuple):  # a kind counted once: its bins as a dense count's would be
                held = (np.asarray(held[0], np.intp), np.asarray(held[1], np.int64))
                attached[kind] = Durations(part.count, part.total, part.largest, *held, part.exact)
            else:
                attached[kind] = part.with_bins(_no_counts() if held is None else held)
        return attached
