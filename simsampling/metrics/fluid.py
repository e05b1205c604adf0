"""Fluid stages in series: who has left the last stage by each time, when residents flow through stages
that can each have served at most a given number by then. The advice's headroom model
(advice/headroom.py) reads it eight times or more per chunk of 256 points of a city, so it is a compiled
loop: one pass over time for all stages, where numpy made four a stage (``np.minimum.accumulate`` alone took
5 ns an element, 0.3 s of the Xi'an round's diagnosis); so are the times a pushed plan moves the grid to
(:func:`pushed_times`), what the stages could serve (:func:`served_curves`) and the readings of curves row
by row (:func:`rows_interp`). Its numpy twin runs while the loop is interpreted (a first run on
SimPy): the same operations, so the same figures to the bit (tests/unit/test_fluid.py).
"""

from __future__ import annotations

import numpy as np

from .compiled import compiled_loop


def departures_numpy(arrived: np.ndarray, served: np.ndarray, out: np.ndarray) -> np.ndarray:
    """:func:`fluid_departures` on whole arrays: a stage's departures are what it could serve, less what it
    could not for want of residents (the running minimum of min(flow - served, 0))."""
    flow = np.broadcast_to(arrived[:, None, :], out.shape)
    for stage in served:
        np.subtract(flow, stage, out=out)
        np.minimum(out, 0.0, out=out)
        np.minimum.accumulate(out, axis=2, out=out)
        flow = np.add(stage, out, out=out)
    return out


def _example() -> tuple:
    """The smallest call of the headroom's types (C-contiguous float64 arrays): compiled with the others."""
    return np.zeros((1, 2)), np.zeros((1, 1, 1, 2)), np.empty((1, 1, 2))


@compiled_loop(interpreted=departures_numpy, example=_example)
def fluid_departures(arrived: np.ndarray, served: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Cumulative departures from the last stage, into ``out`` ``[point, row, time]``: ``arrived`` ``[point, time]``
    the cumulative arrivals, ``served`` ``[stage, point, row, time]`` what each stage (in walking order) could
    have served by each time. Each comparison as ``np.minimum`` makes it (NaN kept; the first argument the
    running minimum), each sum as ``np.add``, so the figures are :func:`departures_numpy`'s."""
    stages, points, rows, steps = served.shape
    lowest = np.zeros(stages)  # each stage's running minimum: the stages in one pass over time, not one each
    for p in range(points):
        for r in range(rows):
            for t in range(steps):
                flow = arrived[p, t]
                for s in range(stages):
                    short = flow - served[s, p, r, t]
                    if not (short < 0.0 or short != short):  # np.minimum(short, 0.0)
                        short = 0.0
                    if t > 0 and (lowest[s] < short or lowest[s] != lowest[s]):  # np.minimum.accumulate
                        short = lowest[s]
                    lowest[s] = short
                    flow = served[s, p, r, t] + short
                out[p, r, t] = flow
    return out


def served_numpy(scale: np.ndarray, mask: np.ndarray, closed: np.ndarray, step: float, out: np.ndarray) -> np.ndarray:
    """:func:`served_curves` on whole arrays: each stage's rate per point over time, nothing while ``closed``, per
    step, summed up (``np.cumsum``: one after another) from 0 at the grid's start."""
    per_s = scale.T[:, :, None] * mask[None, None, :]
    out[:, :, :, 0] = 0.0
    for rate, stage in zip(per_s, out):
        per_step = np.where(closed, 0.0, rate[:, None, :]) * step
        np.cumsum(per_step[:, :, :-1], axis=2, out=stage[:, :, 1:])
    return out


def _served_example() -> tuple:
    """The smallest call of the headroom's types (C-contiguous arrays): compiled with the others."""
    return np.ones((1, 1)), np.ones(2), np.zeros((1, 1, 2), dtype=np.bool_), 1.0, np.empty((1, 1, 1, 2))


@compiled_loop(interpreted=served_numpy, example=_served_example)
def served_curves(scale: np.ndarray, mask: np.ndarray, closed: np.ndarray, step: float, out: np.ndarray) -> np.ndarray:
    """Residents each stage could have served from the grid's start to each time, into ``out`` ``[stage, point,
    row, time]``: ``scale[point, stage]`` (residents a second while open) times ``mask`` (1 while open), nothing
    where ``closed[point, row, time]`` (the set-up), times ``step``, summed one step after another from 0. One pass
    where numpy made five (0.07 s of the Xi'an round's diagnosis), each product and sum as numpy's, so
    :func:`served_numpy`'s figures."""
    stages, points, rows, steps = out.shape
    for s in range(stages):
        for p in range(points):
            for r in range(rows):
                out[s, p, r, 0] = 0.0
                total = 0.0
                for t in range(steps - 1):
                    rate = 0.0 if closed[p, r, t] else scale[p, s] * mask[t]
                    total = rate * step if t == 0 else total + rate * step  # np.cumsum: the first as it is
                    out[s, p, r, t + 1] = total
    return out


def pushed_times_numpy(first_open: np.ndarray, since: np.ndarray, factor: np.ndarray, early: np.ndarray,
                       grid: np.ndarray, day_opens: np.ndarray, day_starts: np.ndarray, day_ends: np.ndarray,
                       ramp: np.ndarray, out: np.ndarray) -> np.ndarray:
    """:func:`pushed_times` on whole arrays: each row's opening time scaled by its ``factor`` and read back into a
    clock time (``advice.plans.clock_at`` with ``start``: a day found by one comparison a day), the grid itself
    where ``early``, the most so far where rounding stepped back, plus ``ramp``."""
    opened = first_open[:, None] + since * factor[:, None]
    day = np.zeros(opened.shape, dtype=np.intp)
    for end in day_ends[:-1]:
        day += opened >= end
    moved = np.where(early, grid, day_opens[day] + opened - day_starts[day])
    if not (moved[:, 1:] >= moved[:, :-1]).all():
        moved = np.maximum.accumulate(moved, axis=1)
    return np.add(moved, ramp, out=out)


def _pushed_example() -> tuple:
    """The smallest call of the headroom's types (C-contiguous arrays): compiled with the others."""
    return (np.zeros(1), np.zeros((1, 2)), np.ones(1), np.zeros((1, 2), dtype=np.bool_), np.zeros(2), np.zeros(1),
            np.zeros(1), np.ones(1), np.zeros(2), np.empty((1, 2)))


@compiled_loop(interpreted=pushed_times_numpy, example=_pushed_example)
def pushed_times(first_open: np.ndarray, since: np.ndarray, factor: np.ndarray, early: np.ndarray, grid: np.ndarray,
                 day_opens: np.ndarray, day_starts: np.ndarray, day_ends: np.ndarray, ramp: np.ndarray,
                 out: np.ndarray) -> np.ndarray:
    """Where a pushed plan moves each grid time, into ``out`` ``[row, time]``: opening time ``first_open[row] +
    since[row, time] * factor[row]`` (seconds of opening hours) as a clock time, on the day whose opening-time end
    (``day_ends``) it has not reached (the days' ``day_opens`` and opening-time starts ``day_starts``); the grid
    time where ``early``; never before the time before it (``np.maximum.accumulate``, NaN kept); plus ``ramp``. One
    pass where numpy made about ten (0.16 s of the Xi'an round's diagnosis), each sum and product as numpy's, so
    :func:`pushed_times_numpy`'s figures: a row already in order is its own running maximum (the twin accumulates
    only when some row steps back), and the ramp (0 first, then above 0) leaves no signed zero behind."""
    rows, steps = since.shape
    days = day_ends.size
    for r in range(rows):
        highest = 0.0
        for t in range(steps):
            if early[r, t]:
                moved = grid[t]
            else:
                opened = first_open[r] + since[r, t] * factor[r]
                day = 0
                for k in range(days - 1):
                    if opened >= day_ends[k]:
                        day += 1
                moved = day_opens[day] + opened - day_starts[day]
            if t > 0 and (highest > moved or highest != highest):  # np.maximum.accumulate (NaN kept)
                moved = highest
            highest = moved
            out[r, t] = moved + ramp[t]
    return out


WALK = 8
"""Points of ``xp`` :func:`rows_interp` steps over one by one from the last found before it bisects."""


def rows_interp_numpy(x: np.ndarray, xp: np.ndarray, fp: np.ndarray, step: float, out: np.ndarray) -> np.ndarray:
    """``np.interp`` row by row in one call, into ``out`` ``[row, x]``: ``x``, ``xp`` (non-decreasing in each row)
    and ``fp`` 2-D, of one row (shared by every row) or of ``out``'s rows; each row lifted ``step`` above the one
    before, so that the rows laid end to end are read by one search."""
    rows = out.shape[0]
    x, xp, fp = (np.broadcast_to(a, (rows, a.shape[1])) for a in (x, xp, fp))
    lift = step * np.arange(rows)[:, None]
    values = np.interp((np.clip(x, xp[:, :1], xp[:, -1:]) + lift).ravel(), (xp + lift).ravel(), fp.ravel())
    out[...] = values.reshape(out.shape)
    return out


def _interp_example() -> tuple:
    """The smallest call of the headroom's types (C-contiguous float64 arrays): compiled with the others."""
    return np.zeros((1, 1)), np.zeros((1, 2)), np.zeros((1, 2)), 1.0, np.empty((1, 1))


@compiled_loop(interpreted=rows_interp_numpy, example=_interp_example)
def rows_interp(x: np.ndarray, xp: np.ndarray, fp: np.ndarray, step: float, out: np.ndarray) -> np.ndarray:
    """:func:`rows_interp_numpy` without its lifted copies of the arrays and its search over all rows: each row's
    values lifted as they are read (the same sums), and searched within the row, where numpy's search over the
    rows laid end to end lands (rows lifted apart by more than a row's span: ``xp`` finite); then ``np.interp``'s
    own arithmetic (the value at a point of ``xp`` that ``x`` falls on, else the slope from it to the next times
    the distance past it; the other way round where that gives NaN), so the same values to the bit."""
    rows, wanted = out.shape
    points = xp.shape[1]
    for r in range(rows):
        xr = x[0 if x.shape[0] == 1 else r]
        xpr = xp[0 if xp.shape[0] == 1 else r]
        fpr = fp[0 if fp.shape[0] == 1 else r]
        lift = step * r
        lowest, highest = xpr[0], xpr[points - 1]
        low = 0
        for i in range(wanted):
            value = xr[i]
            if value != value:  # NaN, read as NaN but for a single point of xp in all (numpy reads its fp there)
                out[r, i] = fpr[0] if rows == 1 and points == 1 else value
                continue
            if value < lowest:  # np.clip
                value = lowest
            if value > highest:
                value = highest
            lifted = value + lift
            # The last point at or below ``lifted`` (always one: clipped), as numpy's search finds it: from the
            # last one found, a few steps on (a row's x mostly grow as its xp do), else by bisection.
            if xpr[low] + lift <= lifted:
                high, walked = points, 0
                while walked < WALK and low + 1 < points and xpr[low + 1] + lift <= lifted:
                    low += 1
                    walked += 1
                if walked < WALK:
                    high = low + 1
            else:
                low, high = 0, low
            while high - low > 1:
                middle = (low + high) // 2
                if xpr[middle] + lift <= lifted:
                    low = middle
                else:
                    high = middle
            at = xpr[low] + lift
            if low == points - 1 or at == lifted:
                out[r, i] = fpr[low]
                continue
            slope = (fpr[low + 1] - fpr[low]) / ((xpr[low + 1] + lift) - at)
            read = slope * (lifted - at) + fpr[low]
            if read != read:  # NaN: from the next point, or the value both points share
                read = slope * (lifted - (xpr[low + 1] + lift)) + fpr[low + 1]
                if read != read and fpr[low] == fpr[low + 1]:
                    read = fpr[low]
            out[r, i] = read
    return out
