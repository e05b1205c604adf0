"""Time steps of series and timelines: bounded in number whatever the span of a run.

A round's series are per minute (per 15 minutes beyond 100 points). A valid
scenario may still keep its lines busy for weeks or years (a swab of ten days,
the schema's longest): at one step a minute its series, bands, tables and charts
would grow without bound. So a series holds at most ``MAX_SERIES_STEPS`` steps
and a station timeline at most ``MAX_TIMELINE_STEPS``: a longer span takes the
first coarser step of a ladder in which each step divides the next (1 min,
15 min, 1 h, 6 h, 1 day, 1 week, then tenfold), so a fine series is made coarse
exactly (time averages averaged, cumulative counts read at the coarse step's end).
Rounds of up to two weeks keep their minutes (and their figures, to the bit).
"""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np

MAX_SERIES_STEPS = 20_160
"""Two weeks of minutes; 210 days of 15-minute steps, 840 days of hours."""
MAX_TIMELINE_STEPS = 2_880
"""Columns of a station timeline (rota.png, about 1,400 pixels wide): two days of minutes."""
LADDER_S = (60.0, 900.0, 3600.0, 21_600.0, 86_400.0, 604_800.0)


def rungs(step_s: float) -> Iterator[float]:
    """``step_s``, then every coarser step of the ladder that it divides, without end."""
    yield step_s
    last = step_s
    for rung in LADDER_S:
        if rung > step_s and rung % step_s == 0:
            last = rung
            yield rung
    while True:
        last *= 10.0
        yield last


_EDGES: dict[float, np.ndarray] = {}
"""Per step, the edges ``step_edges`` made so far (their indices times the step)."""


def step_edges(first: int, stop: int, step_s: float) -> np.ndarray:
    """``np.arange(first, stop) * step_s``: the same values, for ``first`` >= 0 a view of one array per step made
    once and lengthened as needed (each edge is its index times the step, however long the array): a city's points
    each made and multiplied some 3,000 edges for their series and again for their station timeline. Shared: not
    to be changed. Not flagged read-only either: numba types a read-only array apart from a writable one, and the
    series' and timelines' compiled loops would compile a second version (in the run, for a cache made before)."""
    if first < 0 or stop <= first:
        return np.arange(first, stop) * step_s
    made = _EDGES.get(step_s)
    if made is None or made.size < stop:
        if len(_EDGES) >= 16:
            _EDGES.clear()
        made = _EDGES[step_s] = np.arange(max(stop, 4096 if made is None else 2 * made.size)) * step_s
    return made[first:stop]


def step_for(span_s: float, step_s: float, most: int = MAX_SERIES_STEPS) -> float:
    """The step of a series of ``span_s`` seconds: ``step_s``, or the first coarser rung with at most ``most`` steps."""
    if not math.isfinite(span_s):
        raise ValueError(f"a series cannot span {span_s} s")
    return next(rung for rung in rungs(step_s) if math.ceil(span_s / rung) <= most)


def factor(coarse_s: float, fine_s: float) -> int:
    """How many steps of ``fine_s`` make one of ``coarse_s`` (a whole number, by the ladder)."""
    k = int(round(coarse_s / fine_s))
    if k < 1 or abs(k * fine_s - coarse_s) > 1e-6 * coarse_s:
        raise ValueError(f"a step of {coarse_s} s is not a multiple of {fine_s} s")
    return k


def _grouped(values: np.ndarray, k: int) -> np.ndarray:
    """``values`` padded with zeros to whole groups of ``k``, one group a row."""
    groups = -(-values.size // k)
    padded = np.zeros(groups * k, dtype=values.dtype)
    padded[: values.size] = values
    return padded.reshape(groups, k)


def mean_of_groups(values: np.ndarray, k: int) -> np.ndarray:
    """Time averages over steps ``k`` times longer: zero after the end (nothing in line once the series ends)."""
    if 0 < values.size < k:  # one group, not padded: a step of a century is 10^13 minutes of zeros (a fuzzed round)
        return np.sum(values, keepdims=True) / k
    return values if k == 1 else _grouped(values, k).mean(axis=1)


def sum_of_groups(values: np.ndarray, k: int) -> np.ndarray:
    """Counts over steps ``k`` times longer."""
    if 0 < values.size < k:
        return np.sum(values, keepdims=True)
    return values if k == 1 else _grouped(values, k).sum(axis=1)


def end_of_groups(values: np.ndarray, k: int) -> np.ndarray:
    """A cumulative count at the end of steps ``k`` times longer (it stays at its last value after the end)."""
    if k == 1 or values.size == 0:
        return values
    if values.size < k:
        return values[-1:].copy()
    groups = -(-values.size // k)
    padded = np.full(groups * k, values[-1], dtype=values.dtype)
    padded[: values.size] = values
    return padded[k - 1 :: k]
