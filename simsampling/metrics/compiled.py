"""The compiled loops of the metrics: numba functions made at their first call and cached on disk,
doing numpy's arithmetic operation by operation (no fastmath), so every figure is numpy's to the
last bit; numba is imported only by the processes that measure logs.

While a first run's points are simulated on SimPy and numba compiles in another process
(experiment/warm_up.py), the loops not yet compiled run as the Python they are written in
(``interpret_cold_loops``): the same operations on the same float64 values, so the same figures
(tests/functional/test_compile_cache.py compares whole runs), at about 18 us a resident of the demo
instead of about 6 s of compilation in the run's own process.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from ..jit import cached, import_numba


@dataclass(frozen=True)
class _Loop:
    dispatcher: Callable[[], Any]
    """Makes (once) and returns numba's dispatcher of the loop."""
    chosen: list
    """What a call runs, once chosen: numba's dispatcher, or the Python function while it is interpreted."""
    interpreted: Callable
    """What runs while the loop is interpreted: the function itself, or its whole-array numpy twin."""
    example: Optional[Callable[[], tuple]]
    """Arguments of a small call, for a loop that no simulation calls (``compile_examples``)."""


_LOOPS: list[_Loop] = []
_HELPERS: list[Callable] = []
"""Plain functions the loops call (``helper``): registered with numba once, before the first loop compiles."""


def helper(function: Callable) -> Callable:
    """``function``, callable from the compiled loops as well as from Python: written once, it runs as Python in
    an interpreted loop and is compiled into a compiled loop that calls it (numba's ``register_jitable``)."""
    _HELPERS.append(function)
    return function


def _register_helpers(numba: Any) -> None:
    while _HELPERS:
        numba.extending.register_jitable(_HELPERS.pop())


def interpret_cold_loops(on: bool) -> None:
    """With ``on``, this process (and the workers it forks later) runs each loop neither compiled nor cached
    as Python; off, every loop compiles (or loads from the cache) at its next call."""
    for loop in _LOOPS:
        loop.chosen.clear()
        if on and not cached(loop.dispatcher()):
            loop.chosen.append(loop.interpreted)


def compile_examples() -> None:
    """Compile (or load from the cache) each loop that no simulation calls, by calling it on its example: the
    warm-up's small points then leave no loop cold."""
    for loop in _LOOPS:
        if loop.example is not None:
            loop.dispatcher()(*loop.example())


def compiled_loop(function: Optional[Callable] = None, *, interpreted: Optional[Callable] = None,
                  example: Optional[Callable[[], tuple]] = None) -> Callable:
    """``function`` compiled by numba at its first call (cached on disk; no fastmath, so
    each operation rounds as numpy's does), or run as Python while ``interpret_cold_loops``
    says so. numba is imported by the processes that measure logs, not by every import of
    the package.

    Used as ``@compiled_loop(interpreted=..., example=...)`` by a loop over arrays too large for Python (the
    advice's fluids): ``interpreted`` runs instead of the function while it is interpreted (numpy on whole
    arrays, the same figures), and ``example`` gives the arguments of a small call (``compile_examples``)."""
    if function is None:
        return functools.partial(compiled_loop, interpreted=interpreted, example=example)
    compiled: list[Callable] = []
    chosen: list[Callable] = []

    def dispatcher() -> Callable:
        if not compiled:
            numba = import_numba()
            _register_helpers(numba)
            compiled.append(numba.njit(cache=True)(function))
        return compiled[0]

    def call(*args):
        if not chosen:
            chosen.append(dispatcher())
        return chosen[0](*args)

    _LOOPS.append(_Loop(dispatcher, chosen, interpreted or function, example))
    return functools.update_wrapper(call, function)


def dispatchers() -> list[Any]:
    """numba's dispatchers of the compiled loops (made, not compiled), to ask whether they are cached."""
    return [loop.dispatcher() for loop in _LOOPS]


@compiled_loop
def duration_summaries(seconds: np.ndarray, ends: np.ndarray, edges: np.ndarray, fine: int, percents: np.ndarray, unit: float,
                       counted: np.ndarray, count_edges: np.ndarray, count_width: float) -> tuple:
    """``duration_summary`` of each run of ``seconds`` (ending at ``ends``: a point's waits at each stage, in all and
    its time in system), in one call a point, with its statistics as ``durations._stats`` made them in Python: the
    mean (the sum in ``unit``s over the count), the ``percents`` (``np.percentile``'s linear method, at
    ``percentile_ranks``) and the largest, in ``unit``s (NaN for a run of none). Returns every run's bins that hold
    any and their counts one run after another, where each run's bins end there, each run's largest (NaN when
    none) and sum, a row of statistics a run, and a row for each run ``counted`` says: its values in ``unit``s
    counted between ``count_edges`` (``histogram_in``: a point's waits in the wait charts' bins)."""
    runs = ends.size
    histograms = np.zeros((np.count_nonzero(counted), max(count_edges.size - 1, 0)), np.intp)
    row = 0
    for r in range(runs):
        if counted[r]:
            histograms[row] = histogram_in(seconds[ends[r - 1] if r else 0:ends[r]], unit, count_edges, count_width)
            row += 1
    found = [(np.zeros(0, np.intp), np.zeros(0, np.intp))]  # (an empty first, which types the list)
    largest, totals, stats = np.empty(runs), np.empty(runs), np.empty((runs, 2 + percents.size))
    bin_ends = np.empty(runs, np.intp)
    held = 0
    for r in range(runs):
        start = ends[r - 1] if r else 0
        count = ends[r] - start
        ranks, weights = percentile_ranks(count, percents)
        bins, counts, top, values, total, in_units = duration_summary(seconds[start:ends[r]], edges, fine, ranks, unit)
        found.append((bins, counts))
        held += bins.size
        bin_ends[r] = held
        largest[r], totals[r] = top if count else np.nan, total
        stats[r, 0] = in_units / count if count else np.nan
        for i in range(percents.size):  # numpy gives the NaN when there is one
            if count == 0 or np.isnan(top):
                stats[r, 1 + i] = largest[r]
                continue
            low, high = values[2 * i] / unit, values[2 * i + 1] / unit
            step = high - low
            stats[r, 1 + i] = high - step * (1 - weights[i]) if weights[i] >= 0.5 else low + step * weights[i]
        stats[r, 1 + percents.size] = largest[r] / unit
    all_bins, all_counts = np.empty(held, np.intp), np.empty(held, np.intp)
    for r in range(runs):
        bins, counts = found[r + 1]
        start = bin_ends[r - 1] if r else 0
        all_bins[start:bin_ends[r]] = bins
        all_counts[start:bin_ends[r]] = counts
    return all_bins, all_counts, bin_ends, largest, totals, stats, histograms


@helper
def percentile_ranks(count: int, percents: np.ndarray) -> tuple:
    """``np.percentile``'s linear method for ``percents`` of ``count`` values: the ranks (in sorted order) of the two
    values each one interpolates, and the weight of the second (none for no values)."""
    last = count - 1
    ranks, weights = np.empty(2 * percents.size if count else 0, np.intp), np.empty(percents.size if count else 0)
    for i in range(weights.size):
        virtual = last * (percents[i] / 100)
        # At or beyond the end numpy takes index -1 twice, with a weight of virtual + 1.
        below = math.floor(virtual) if virtual < last else -1
        ranks[2 * i], ranks[2 * i + 1] = below % count, below + 1 if below >= 0 else last
        weights[i] = virtual - below
    return ranks, weights


@helper
def duration_summary(seconds: np.ndarray, edges: np.ndarray, fine: int, ranks: np.ndarray, unit: float) -> tuple:
    """Durations in any order, counted in bins of ``edges``, without sorting them.

    Returns the bins that hold any and how many each holds (a bin as
    ``searchsorted(edges, x, "right") - 1`` gives it: below zero the first, beyond
    the last edge or NaN the last; under ``fine`` seconds the whole seconds), the
    largest (NaN if any is NaN), the values at ``ranks`` in sorted order, and the sums of
    the durations and of the durations in ``unit``s, ``np.sum``'s to the bit (``pairwise_sum``:
    a point's five summaries make no numpy calls of their own). The values at ranks are found
    by counting through the bins, then sorting the bin that holds each, its values
    gathered in one pass for every rank (NaN when any is NaN, as numpy's percentiles
    are then). A bin holds few values, and numba compiles ``np.sort`` in about 2 s of
    CPU against 7 s for ``np.partition``.
    """
    last = edges.size - 1
    index = np.empty(seconds.size, np.intp)
    in_units = np.empty(seconds.size)
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
        in_units[i] = x / unit
        top = max(top, b)
        largest = max(largest, x)
    dense = np.zeros(top + 1, np.intp)
    held = 0  # the bins that hold any
    for b in index:
        held += dense[b] == 0
        dense[b] += 1
    bins, counts = np.empty(held + 1, np.intp), np.empty(held + 1, np.intp)
    k = 0
    for b in range(top + 1):  # the bins that hold any (``np.flatnonzero``'s) and their counts, without a branch a bin
        bins[k] = b
        counts[k] = dense[b]
        k += dense[b] != 0
    bins, counts = bins[:held], counts[:held]
    values = np.full(ranks.size, np.nan)
    sums = (pairwise_sum(seconds, 0, seconds.size), pairwise_sum(in_units, 0, seconds.size))
    if nan or ranks.size == 0:
        return bins, counts, np.nan if nan else largest, values, sums[0], sums[1]
    # Each rank's bin, its count and the rank within the bin, counting through the bins that hold any (back to the
    # first for a lower rank).
    wanted, within, sizes = np.empty(ranks.size, np.intp), np.empty(ranks.size, np.intp), np.empty(ranks.size, np.intp)
    before, k = 0, 0
    for j in range(ranks.size):
        if ranks[j] < before:
            before, k = 0, 0
        while before + counts[k] <= ranks[j]:
            before += counts[k]
            k += 1
        wanted[j], within[j], sizes[j] = bins[k], ranks[j] - before, counts[k]
    # The wanted bins' values gathered in one pass over the durations, in their order there; each bin then sorted once.
    # A wanted bin's count in ``dense`` becomes -1 - where its next value goes in ``gathered`` (no array of every bin).
    lows = np.empty(ranks.size, np.intp)
    size = 0
    for j in range(ranks.size):
        b = wanted[j]
        if dense[b] >= 0:
            dense[b] = -1 - size
            size += sizes[j]
        lows[j] = -1 - dense[b]
    gathered = np.empty(size)
    for i in range(seconds.size):
        at = dense[index[i]]
        if at < 0:
            gathered[-1 - at] = seconds[i]
            dense[index[i]] = at - 1
    for j in range(ranks.size):
        low = lows[j]
        done = False
        for earlier in range(j):
            done = done or wanted[earlier] == wanted[j]
        if not done:
            gathered[low:low + sizes[j]] = np.sort(gathered[low:low + sizes[j]])
        values[j] = gathered[low + within[j]]
    return bins, counts, np.nan if nan else largest, values, sums[0], sums[1]


@compiled_loop
def days_and_last_finish(day: np.ndarray, served: np.ndarray, finish: np.ndarray, closes: np.ndarray) -> tuple:
    """In one pass over a point's residents: the days on which any came, in order (``np.flatnonzero(np.bincount(day))``;
    with ``False`` when a day is negative, then unsorted), and for each day of ``closes`` the latest ``finish`` of
    those served that day, from its closing (``finish[served & (day == d)].max(initial=closes[d])``: NaN when any
    is NaN; times after midnight, so no signed zeros to tie)."""
    last = closes.copy()
    top = -1
    counted = True
    for i in range(day.size):
        d = day[i]
        if d < 0:
            counted = False
        elif d > top:
            top = d
        if served[i] and 0 <= d < closes.size and not np.isnan(last[d]):
            x = finish[i]
            if np.isnan(x) or x > last[d]:
                last[d] = x
    present = np.zeros(top + 1, np.bool_)
    for i in range(day.size):
        if day[i] >= 0:
            present[day[i]] = True
    days = np.flatnonzero(present)
    return days, counted, last


def sort_runs_numpy(times: np.ndarray, run_ends: np.ndarray, most_moves: int) -> np.ndarray:
    """:func:`sort_runs` as numpy does it: each run sorted in place by ``ndarray.sort``'s stable sort (none left)."""
    for r in range(run_ends.size):
        times[run_ends[r - 1] if r else 0:run_ends[r]].sort(kind="stable")
    return np.zeros(run_ends.size, np.bool_)


@compiled_loop(interpreted=sort_runs_numpy)
def sort_runs(times: np.ndarray, run_ends: np.ndarray, most_moves: int) -> np.ndarray:
    """Each run of ``times`` (ending at ``run_ends``) sorted in place by insertion, a point's lines' times being
    nearly in order already (a later resident seldom passes more than a few): numpy's stable sort's values, NaN
    last. Returns the runs left to numpy's sort (``ndarray.sort(kind="stable")``): those holding a NaN, and those
    whose insertions moved more than ``most_moves`` values a value. Neither kind is harmed by what was done: an
    insertion only moves a value before larger ones, never two equal ones (nor a NaN) past each other, so a stable
    sort of the run finds the order it would have found."""
    left = np.zeros(run_ends.size, np.bool_)
    for r in range(run_ends.size):
        first, stop = run_ends[r - 1] if r else 0, run_ends[r]
        budget = most_moves * (stop - first)
        for i in range(first, stop):
            x = times[i]
            if np.isnan(x):
                left[r] = True
                break
            if i == first or not (x < times[i - 1]):
                continue
            j = i
            while j > first and x < times[j - 1]:
                times[j] = times[j - 1]
                j -= 1
            times[j] = x
            budget -= i - j
            if budget < 0:
                left[r] = True
                break
    return left


def hour_counts_numpy(times: np.ndarray, hour: float, most: int) -> tuple:
    """:func:`hour_counts` in numpy's calls."""
    hours = np.floor(times / hour)
    hours = hours[hours >= 0]
    if hours.size and not hours.max() < most:
        return np.zeros(0), np.zeros(0, np.intp), False
    dense = np.bincount(hours.astype(np.intp))
    found = np.flatnonzero(dense)
    return found.astype(np.float64), dense[found], True


@compiled_loop(interpreted=hour_counts_numpy)
def hour_counts(times: np.ndarray, hour: float, most: int) -> tuple:
    """Times counted by ``np.floor(times / hour)``, the hours from 0 on (NaN left out), in one pass: the hours that
    hold any (float64) and their counts, as ``np.bincount`` and ``np.flatnonzero`` count them; ``False`` and
    nothing counted when an hour is ``most`` or beyond (an array of every hour would be too long)."""
    top = -1
    for i in range(times.size):
        h = np.floor(times[i] / hour)
        if h >= 0 and h > top:
            if h >= most:
                return np.zeros(0), np.zeros(0, np.intp), False
            top = int(h)
    dense = np.zeros(top + 1, np.intp)
    for i in range(times.size):
        h = np.floor(times[i] / hour)
        if h >= 0:
            dense[int(h)] += 1
    held = 0
    for h in range(top + 1):
        held += dense[h] != 0
    hours, counts = np.empty(held), np.empty(held, np.intp)
    k = 0
    for h in range(top + 1):
        if dense[h]:
            hours[k], counts[k] = h, dense[h]
            k += 1
    return hours, counts, True


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
def merged_peaks(joins: np.ndarray, join_ends: np.ndarray, leaves: np.ndarray, leave_ends: np.ndarray) -> tuple:
    """``peak`` of each of several lines and of all of them together, merging their sorted runs as it goes.

    Line i's sorted joins (and leaves) are the run of ``joins`` (and ``leaves``) ending at
    ``join_ends[i]`` (``leave_ends[i]``). The joins are taken in time order across the runs and
    every leave up to each join is counted: the counts ``peak`` finds on the runs merged by a
    stable sort (a count depends on how many events precede it, not on their order within a tie),
    without the merge. Once only NaN joins are left, each line's peak and the total follow
    ``peak``'s rule for them (NaN sorts last: every leave counts).
    """
    lines = join_ends.size
    join_starts, leave_starts = np.empty(lines, np.intp), np.empty(lines, np.intp)
    at, gone, best = np.empty(lines, np.intp), np.empty(lines, np.intp), np.empty(lines, np.intp)
    for i in range(lines):  # element by element: numba compiles slices and copies several times slower
        join_starts[i] = at[i] = join_ends[i - 1] if i else 0
        leave_starts[i] = gone[i] = leave_ends[i - 1] if i else 0
        best[i] = 0
    total = joined = left = 0
    while True:
        pick = -1
        for i in range(lines):  # the earliest head of a run with joins left, NaN last
            if at[i] < join_ends[i] and (pick < 0 or joins[at[i]] < joins[at[pick]] or np.isnan(joins[at[pick]])):
                pick = i
        if pick < 0:
            break
        t = joins[at[pick]]
        if np.isnan(t):  # only NaN joins are left
            for i in range(lines):
                if at[i] < join_ends[i]:
                    best[i] = max(best[i], (join_ends[i] - join_starts[i]) - (leave_ends[i] - leave_starts[i]))
            total = max(total, joins.size - leaves.size)
            break
        at[pick] += 1
        joined += 1
        for i in range(lines):
            while gone[i] < leave_ends[i] and leaves[gone[i]] <= t:
                gone[i] += 1
                left += 1
        best[pick] = max(best[pick], (at[pick] - join_starts[pick]) - (gone[pick] - leave_starts[pick]))
        total = max(total, joined - left)
    return total, best


@helper
def block_sum(values: np.ndarray, start: int, n: int) -> float:
    """numpy's sum of a block of up to 128 values from ``start`` (``pairwise_sum``'s unit): one by one from -0.0
    under 8, else eight accumulators added in pairs, then the rest one by one."""
    if n < 8:
        total = -0.0
        for i in range(start, start + n):
            total += values[i]
        return total
    r0, r1, r2, r3 = values[start], values[start + 1], values[start + 2], values[start + 3]
    r4, r5, r6, r7 = values[start + 4], values[start + 5], values[start + 6], values[start + 7]
    i = 8
    while i < n - n % 8:
        r0 += values[start + i]
        r1 += values[start + i + 1]
        r2 += values[start + i + 2]
        r3 += values[start + i + 3]
        r4 += values[start + i + 4]
        r5 += values[start + i + 5]
        r6 += values[start + i + 6]
        r7 += values[start + i + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        total += values[start + i]
        i += 1
    return total


@helper
def pairwise_sum(values: np.ndarray, start: int, count: int) -> float:
    """``np.add.reduce(values[start:start + count])`` to the bit: 0.0 plus numpy's pairwise sum (blocks of up to
    128 added with eight accumulators, longer runs halved at a multiple of 8), without recursion (numba compiles
    none): a stack of the halves still to add. Written once for the loops that add up as numpy does."""
    if count <= 128:  # one block (most of a point's sums): no stack
        return 0.0 + block_sum(values, start, count)
    stack_lo, stack_n, stack_left = np.empty(64, np.intp), np.empty(64, np.intp), np.empty(64)
    stack_right = np.empty(64, np.bool_)
    depth = 0
    stack_lo[0] = start
    stack_n[0] = count
    while True:
        while stack_n[depth] > 128:  # down to the first block of this half
            half = stack_n[depth] // 2
            half -= half % 8
            stack_lo[depth + 1] = stack_lo[depth]
            stack_n[depth + 1] = half
            stack_right[depth + 1] = False
            depth += 1
        total = block_sum(values, stack_lo[depth], stack_n[depth])
        while depth > 0 and stack_right[depth]:  # a right half done: add it to its left half
            depth -= 1
            total = stack_left[depth] + total
        if depth == 0:
            break
        stack_left[depth - 1] = total  # a left half done: on to its right half
        stack_lo[depth] += stack_n[depth]
        stack_n[depth] = stack_n[depth - 1] - stack_n[depth]
        stack_right[depth] = True
    return 0.0 + total


@compiled_loop
def busiest_spells(times: np.ndarray, more: np.ndarray, runs: np.ndarray, layout: np.ndarray, edges: np.ndarray,
                   duties: np.ndarray, threshold: float, gap: float) -> tuple:
    """``busiest_spell`` of each of a point's stages on the busy periods' grid ``edges``, in one call a point.

    Run r of sorted times (NaN last) is ``times`` (``runs[r, 0]`` 0) or ``more`` (1) from ``runs[r, 1]`` to
    ``runs[r, 2]``. Stage k's row of ``layout`` says which: its line is the occupancy of the runs ``layout[k, 0]``
    (joins) and ``layout[k, 1]`` (leaves), its busy servers that of the runs ``layout[k, 2]`` (begins) and
    ``layout[k, 3]`` (ends) plus, when ``layout[k, 4]`` is a stage's index (a paired registrar), that stage's line;
    its duty is ``layout[k, 6]`` servers times the row ``layout[k, 5]`` of ``duties``. Each run's sums at the edges
    (``edge_sums_into``) are found once, however many stages read it (a stage's service begins are its line's
    leaves, its ends the next line's joins); each step's value is then made as ``sorted_occupancy`` and numpy's
    product make it. Returns each stage's first and one past its last step (-1 without a spell) and its three
    sums, as ``busiest_spell``."""
    stages = layout.shape[0]
    steps = max(edges.size - 1, 0)
    below = np.empty((runs.shape[0], edges.size))
    for r in range(runs.shape[0]):
        edge_sums_into(below[r], times if runs[r, 0] == 0 else more, runs[r, 1], runs[r, 2], edges)
    line = np.empty((stages, steps))
    for k in range(stages):
        occupancy_of_sums(line[k], below[layout[k, 0]], below[layout[k, 1]], edges)
    spans, sums = np.empty((stages, 2), np.intp), np.empty((stages, 3))
    busy, duty = np.empty(steps), np.empty(steps)
    for k in range(stages):
        occupancy_of_sums(busy, below[layout[k, 2]], below[layout[k, 3]], edges)
        paired, row, servers = layout[k, 4], layout[k, 5], layout[k, 6]
        if paired >= 0:
            for i in range(steps):
                busy[i] = busy[i] + line[paired, i]
        for i in range(steps):
            duty[i] = servers * duties[row, i]
        first, last, waiting, serving, on_duty = busiest_spell(line[k], busy, duty, threshold, gap)
        spans[k, 0], spans[k, 1] = first, last
        sums[k, 0], sums[k, 1], sums[k, 2] = waiting, serving, on_duty
    return spans, sums


EDGE_BLOCK = 256
"""Edges whose runs' sums ``lines_and_busy`` finds before measuring them (a few kilobytes a run, kept in the
processor's cache, not an array of every edge)."""


@compiled_loop
def lines_and_busy(times: np.ndarray, more: np.ndarray, runs: np.ndarray, layout: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Each of a point's stages' line and busy servers between the same increasing ``edges`` (``sorted_occupancy``
    of each), in one call a point: the runs as ``busiest_spells`` reads them (stage k's line the runs ``layout[k, 0]``
    and ``layout[k, 1]``, its services ``layout[k, 2]`` and ``layout[k, 3]``), each run's sums at the edges found
    once, however many stages read it, ``EDGE_BLOCK`` edges at a time (a block's last edge is the next one's first:
    its sums found again, the same). Returns a row a stage's line, then a row a stage's busy servers."""
    stages, count = layout.shape[0], runs.shape[0]
    out = np.empty((2 * stages, max(edges.size - 1, 0)))
    below = np.empty((count, EDGE_BLOCK + 1))
    began, began_s = np.zeros(count, np.intp), np.zeros(count)
    first = 0
    while first < edges.size - 1:
        stop = min(first + EDGE_BLOCK, edges.size - 1)
        block = edges[first:stop + 1]
        for r in range(count):
            values = times if runs[r, 0] == 0 else more
            began[r], began_s[r] = edge_sums_from(below[r], values[runs[r, 1]:runs[r, 2]], began[r], began_s[r], block)
        for k in range(stages):
            occupancy_of_sums(out[k, first:stop], below[layout[k, 0]], below[layout[k, 1]], block)
            occupancy_of_sums(out[stages + k, first:stop], below[layout[k, 2]], below[layout[k, 3]], block)
        first = stop
    return out


@helper
def edge_sums_into(out: np.ndarray, times: np.ndarray, start: int, stop: int, edges: np.ndarray) -> None:
    """For each edge, (how many of the sorted ``times[start:stop]`` are before it) x edge - their sum: the sum
    added one by one from the first (``counted_before``)."""
    edge_sums_from(out, times[start:stop], 0, 0.0, edges)


@helper
def edge_sums_from(out: np.ndarray, run: np.ndarray, began: int, began_s: float, edges: np.ndarray) -> tuple:
    """``edge_sums_into`` of the sorted ``run`` from its first ``began`` values, summing to ``began_s``, before the
    first edge (counted on from there); returns the count and sum before the last edge."""
    for j in range(edges.size):
        began, began_s = counted_before(run, began, began_s, edges[j])
        out[j] = began * edges[j] - began_s
    return began, began_s


@helper
def occupancy_of_sums(out: np.ndarray, begun: np.ndarray, ended: np.ndarray, edges: np.ndarray) -> None:
    """``occupancy_into``'s steps from the begins' and the ends' ``edge_sums_into``: the same operations."""
    before = 0.0
    for j in range(edges.size):
        inside = begun[j] - ended[j]
        if j > 0:
            out[j - 1] = (inside - before) / (edges[j] - edges[j - 1])
        before = inside


@helper
def busiest_spell(line: np.ndarray, busy: np.ndarray, duty: np.ndarray, threshold: float, gap: float) -> tuple:
    """The spell of steps with ``line >= threshold`` and ``duty > 0`` (gaps between such steps up to
    ``gap`` bridged) whose line adds up to the most, the first of equals: its first step, one past its
    last (-1, -1 without any), and the sums of ``line``, ``busy`` and ``duty`` (negative duty as 0) over it.

    Sums are ``np.sum``'s, to the bit (``pairwise_sum``).
    """
    lows, highs = np.empty(line.size + 2, np.intp), np.empty(line.size + 2, np.intp)
    spells = 0
    begin = previous = -1
    for i in range(line.size + 1):
        if i < line.size and not (line[i] >= threshold and duty[i] > 0):
            continue
        if begin >= 0 and (i == line.size or i - previous > gap):  # a spell ends at ``previous``
            lows[spells] = begin
            highs[spells] = previous + 1
            spells += 1
            begin = -1
        if i < line.size:
            if begin < 0:
                begin = i
            previous = i
    if spells == 0:
        return -1, -1, 0.0, 0.0, 0.0
    sums = np.empty(spells)
    for k in range(spells):
        sums[k] = pairwise_sum(line, lows[k], highs[k] - lows[k])
    chosen = 0  # the first of the largest
    for k in range(1, spells):
        if sums[k] > sums[chosen]:
            chosen = k
    first, last = lows[chosen], highs[chosen]
    clipped = np.empty(last - first)
    for i in range(first, last):
        clipped[i - first] = 0.0 if duty[i] < 0 else duty[i]
    return first, last, sums[chosen], pairwise_sum(busy, first, last - first), pairwise_sum(clipped, 0, last - first)


@compiled_loop
def sorted_occupancy(begin: np.ndarray, end: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``occupancy`` of intervals whose begins and ends are each sorted (NaN last), between
    increasing edges (``occupancy_into``)."""
    out = np.empty(max(edges.size - 1, 0))
    occupancy_into(out, begin, end, edges)
    return out


@helper
def counted_before(values: np.ndarray, count: int, total: float, edge: float) -> tuple:
    """The sorted ``values`` (NaN last) before ``edge``: how many and their sum, counted on from the first ``count``
    summing to ``total``, added one by one from the first (the occupancies' F, written once for all of them)."""
    while count < values.size and values[count] < edge:
        total = values[0] if count == 0 else total + values[count]
        count += 1
    return count, total


@helper
def occupancy_into(out: np.ndarray, begin: np.ndarray, end: np.ndarray, edges: np.ndarray) -> None:
    """``sorted_occupancy`` into ``out``: F(edge) = (begins before it) x edge - their sum, less the same of the
    ends. Each step's value is (F(its right edge) - F(its left edge)) / its width, made as F is (no arrays of
    F, its differences and the widths: a point's series and busy periods make a dozen of these a point)."""
    began = ended = 0
    began_s = ended_s = 0.0
    before = 0.0
    for j in range(edges.size):
        edge = edges[j]
        began, began_s = counted_before(begin, began, began_s, edge)
        ended, ended_s = counted_before(end, ended, ended_s, edge)
        inside = (began * edge - began_s) - (ended * edge - ended_s)
        if j > 0:
            out[j - 1] = (inside - before) / (edge - edges[j - 1])
        before = inside


@helper
def histogram_in(values: np.ndarray, unit: float, edges: np.ndarray, width: float) -> np.ndarray:
    """``np.histogram(values / unit, edges)[0]`` for increasing edges, without sorting, each value divided as it is
    counted (a point's waits in minutes, without an array of them): bin i holds [edge i, edge i+1), the last bin
    its right edge too; values outside, or NaN, are left out. A value's bin is guessed from the usual bin
    ``width`` (times its inverse: a guess, so no division), then settled against the edges."""
    last = edges.size - 2
    counts = np.zeros(last + 1, np.intp)
    inverse = 1.0 / width
    for value in values:
        x = value / unit
        if edges[0] <= x <= edges[-1]:
            guess = (x - edges[0]) * inverse
            b = int(guess) if guess < last else last
            while b > 0 and edges[b] > x:
                b -= 1
            while b < last and edges[b + 1] <= x:
                b += 1
            counts[b] += 1
    return counts


@compiled_loop
def counted_up_to(values: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``np.searchsorted(values, ends, side="right")`` as float64, for sorted ``values`` (NaN last) and increasing
    ``ends``: how many values are at or before each end, in one merge of the two (a point's arrivals and samples
    counted at some 3,000 step ends, each end not searched for on its own)."""
    out = np.empty(ends.size)
    counted = 0
    for j in range(ends.size):
        end = ends[j]
        while counted < values.size and values[counted] <= end:
            counted += 1
        out[j] = counted
    return out


@helper
def sorted_runs(values: np.ndarray) -> np.ndarray:
    """``np.sort(values)``'s values: merged when they are two non-decreasing runs without NaN (a station's
    spells, one kind after the other), else sorted. Equal values may come in another order: only 0.0 and -0.0
    tell apart, and a sum or count up to a time takes all of them or none."""
    n = values.size
    out = np.empty(n)
    if n == 0:
        return out
    if np.isnan(values[0]):
        out[:] = np.sort(values)
        return out
    cut = n  # where the second run starts
    for i in range(1, n):
        if not values[i] >= values[i - 1]:  # a descent, or NaN
            cut = i
            break
    for i in range(cut + 1, n):
        if not values[i] >= values[i - 1]:
            out[:] = np.sort(values)
            return out
    if cut < n and np.isnan(values[cut]):
        out[:] = np.sort(values)
        return out
    a, b = 0, cut
    for k in range(n):
        if b >= n or (a < cut and values[a] <= values[b]):
            out[k] = values[a]
            a += 1
        else:
            out[k] = values[b]
            b += 1
    return out


def rows_busy_numpy(station: np.ndarray, begin: np.ndarray, end: np.ndarray, rows: int, per_row: int, stations: int,
                    edges: np.ndarray) -> np.ndarray:
    """``rows_busy`` in numpy: each row's spells gathered, sorted and measured (``sorted_occupancy``), its share
    clipped to [0, 1] (the timeline as it was made before ``rows_busy``)."""
    busy = np.zeros((rows, max(edges.size - 1, 0)), dtype=np.float32)
    row = np.where((station >= 0) & (station < rows * per_row), station // per_row, -1)
    for k in range(rows):
        here = np.flatnonzero(row == k)
        if here.size:
            share = sorted_occupancy(np.sort(begin[here], kind="stable"), np.sort(end[here], kind="stable"), edges)
            busy[k] = np.clip(share if per_row == 1 else share / min(per_row, stations - k * per_row), 0.0, 1.0)
    return busy


@compiled_loop(interpreted=rows_busy_numpy)
def rows_busy(station: np.ndarray, begin: np.ndarray, end: np.ndarray, rows: int, per_row: int, stations: int,
              edges: np.ndarray) -> np.ndarray:
    """The busy share of each row of ``per_row`` stations (of ``stations``) in each step between ``edges``: the time
    average of its spells [begin, end) open (``occupancy_into``), over its stations, clipped to [0, 1] as
    ``np.clip`` clips (NaN kept), as float32. A station timeline's rows in one call: each row's spells gathered
    in their order and sorted as two runs merged (``sorted_runs``), not gathered, concatenated and sorted by numpy."""
    steps = max(edges.size - 1, 0)
    busy = np.zeros((rows, steps), dtype=np.float32)
    row = np.empty(station.size, np.intp)
    count = np.zeros(rows + 1, np.intp)
    for i in range(station.size):
        s = station[i]
        row[i] = s // per_row if 0 <= s < rows * per_row else -1
        if row[i] >= 0:
            count[row[i] + 1] += 1
    for k in range(rows):
        count[k + 1] += count[k]
    at = count[:rows].copy()
    gathered_begin, gathered_end = np.empty(count[rows]), np.empty(count[rows])
    for i in range(station.size):
        k = row[i]
        if k >= 0:
            gathered_begin[at[k]] = begin[i]
            gathered_end[at[k]] = end[i]
            at[k] += 1
    share = np.empty(steps)
    for k in range(rows):
        low, high = count[k], count[k + 1]
        if high == low:
            continue
        occupancy_into(share, sorted_runs(gathered_begin[low:high]), sorted_runs(gathered_end[low:high]), edges)
        divisor = min(per_row, stations - k * per_row)
        for j in range(steps):
            x = share[j] if per_row == 1 else share[j] / divisor
            x = x if np.isnan(x) or x > 0.0 else 0.0  # np.clip: the larger of x and 0.0 (0.0 at a tie), NaN kept
            x = x if np.isnan(x) or x < 1.0 else 1.0
            busy[k, j] = x
    return busy
