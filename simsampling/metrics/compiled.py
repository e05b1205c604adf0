"""The compiled loops of the metrics: numba functions made at their first call and cached on disk,
doing numpy's arithmetic operation by operation (no fastmath), so every figure is numpy's to the
last bit; numba is imported only by the processes that measure logs.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from ..jit import import_numba


_DISPATCHERS: list[Callable[[], Any]] = []


def compiled_loop(function: Callable) -> Callable:
    """``function`` compiled by numba at its first call (cached on disk; no fastmath, so
    each operation rounds as numpy's does). numba is imported by the processes that
    measure logs, not by every import of the package."""
    compiled: list[Callable] = []

    def dispatcher() -> Callable:
        if not compiled:
            numba = import_numba()
            compiled.append(numba.njit(cache=True)(function))
        return compiled[0]

    def call(*args):
        return (compiled[0] if compiled else dispatcher())(*args)

    _DISPATCHERS.append(dispatcher)
    return functools.update_wrapper(call, function)


def dispatchers() -> list[Any]:
    """numba's dispatchers of the compiled loops (made, not compiled), to ask whether they are cached."""
    return [dispatcher() for dispatcher in _DISPATCHERS]


@compiled_loop
def duration_summary(seconds: np.ndarray, edges: np.ndarray, fine: int, ranks: np.ndarray) -> tuple:
    """Durations in any order, counted in bins of ``edges``, without sorting them.

    Returns the bins that hold any and how many each holds (a bin as
    ``searchsorted(edges, x, "right") - 1`` gives it: below zero the first, beyond
    the last edge or NaN the last; under ``fine`` seconds the whole seconds), the
    largest (NaN if any is NaN), and the values at ``ranks`` in sorted order: found
    by counting through the bins, then sorting the bin that holds each (NaN when any
    is NaN, as numpy's percentiles are then). A bin holds few values, and numba
    compiles ``np.sort`` in about 2 s of CPU against 7 s for ``np.partition``.
    """
    last = edges.size - 1
    index = np.empty(seconds.size, np.intp)
    top = 0
    largest = -np.inf
    nan = False
    for i in range(seconds.size):
        x = seconds[i]
        if x < 0:
            b = 0
        elif x < fine:
            b = int(x)
        elif np.isnan(x):
            b = last
            nan = True
        else:
            b = min(np.searchsorted(edges, x, side="right") - 1, last)
        index[i] = b
        top = max(top, b)
        largest = max(largest, x)
    dense = np.zeros(top + 1, np.intp)
    for b in index:
        dense[b] += 1
    bins = np.flatnonzero(dense)
    values = np.full(ranks.size, np.nan)
    before, b = 0, 0
    members = seconds[:0]
    for j in range(0 if nan else ranks.size):
        if ranks[j] < before:  # back to the first bin
            before, b, members = 0, 0, seconds[:0]
        while before + dense[b] <= ranks[j]:
            before += dense[b]
            b += 1
            members = seconds[:0]
        if members.size == 0:
            members = np.sort(seconds[index == b])
        values[j] = members[ranks[j] - before]
    return bins, dense[bins], np.nan if nan else largest, values


@compiled_loop
def peak(joins: np.ndarray, leaves: np.ndarray) -> int:
    """The most intervals [join, leave) open at once, from the sorted joins and leaves.

    The count peaks at a join: the joins so far less the leaves up to then (at
    equal times, leaving counts first; NaN sorts last, after every time).
    """
    best = left = 0
    for k in range(joins.size):
        if np.isnan(joins[k]):
            left = leaves.size
        while left < leaves.size and leaves[left] <= joins[k]:
            left += 1
        best = max(best, k + 1 - left)
    return best


@compiled_loop
def sorted_occupancy(begin: np.ndarray, end: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``occupancy`` of intervals whose begins and ends are each sorted (NaN last), between
    increasing edges: F(edge) = (begins before it) x edge - their sum, less the same of the ends."""
    inside = np.empty(edges.size)
    began = ended = 0
    began_s = ended_s = 0.0
    for j in range(edges.size):
        edge = edges[j]
        while began < begin.size and begin[began] < edge:
            began_s = begin[0] if began == 0 else began_s + begin[began]
            began += 1
        while ended < end.size and end[ended] < edge:
            ended_s = end[0] if ended == 0 else ended_s + end[ended]
            ended += 1
        inside[j] = (began * edge - began_s) - (ended * edge - ended_s)
    return (inside[1:] - inside[:-1]) / (edges[1:] - edges[:-1])


@compiled_loop
def histogram(values: np.ndarray, edges: np.ndarray, width: float) -> np.ndarray:
    """``np.histogram(values, edges)[0]`` for increasing edges, without sorting: bin i holds
    [edge i, edge i+1), the last bin its right edge too; values outside, or NaN, are left out.
    A value's bin is guessed from the usual bin ``width``, then settled against the edges."""
    last = edges.size - 2
    counts = np.zeros(last + 1, np.intp)
    for x in values:
        if edges[0] <= x <= edges[-1]:
            guess = (x - edges[0]) / width
            b = int(guess) if guess < last else last
            while b > 0 and edges[b] > x:
                b -= 1
            while b < last and edges[b + 1] <= x:
                b += 1
            counts[b] += 1
    return counts
