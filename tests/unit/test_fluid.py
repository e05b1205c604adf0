"""The fluid's compiled loops against their numpy twins (which run while they are interpreted): the same
departures, readings and pushed times to the bit, on curves as the headroom makes them and on any values (NaN,
infinities, signed zeros)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from simsampling.advice.plans import clock_at, day_edges, opening_time
from simsampling.metrics import fluid_departures, pushed_times, rows_interp, rows_interp_numpy, served_curves
from simsampling.metrics.fluid import departures_numpy, pushed_times_numpy, served_numpy

ANY = st.one_of(st.floats(-50, 50, width=16), st.sampled_from([0.0, -0.0, np.nan, np.inf, -np.inf]))


@st.composite
def fluids(draw, curves: bool) -> tuple[np.ndarray, np.ndarray]:
    """(arrived ``[point, time]``, served ``[stage, point, row, time]``): cumulative curves (``curves``), or any values."""
    stages, points, rows, steps = (draw(st.integers(1, high)) for high in (3, 3, 3, 40))

    def values(shape: tuple) -> np.ndarray:
        size = int(np.prod(shape))
        if curves:  # counts in whole and half residents: ties and flat stretches are common
            steps_made = np.array(draw(st.lists(st.integers(0, 6), min_size=size, max_size=size)), dtype=float) / 2.0
            return np.cumsum(steps_made.reshape(shape), axis=-1)
        return np.array(draw(st.lists(ANY, min_size=size, max_size=size)), dtype=float).reshape(shape)

    return values((points, steps)), values((stages, points, rows, steps))


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Every value the same to the bit (signed zeros told apart), any NaN alike (a NaN's payload is no figure)."""
    canonical = [np.where(np.isnan(x), np.nan, x) for x in (a, b)]
    return a.shape == b.shape and canonical[0].tobytes() == canonical[1].tobytes()


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # infinities less infinities, on purpose
@settings(max_examples=150, deadline=None)
@given(st.one_of(fluids(curves=True), fluids(curves=False)))
@example((np.array([[0.0, -0.0, 1.0]]), np.array([[[[0.0, 0.0, 0.5]]]])))  # signed zeros
@example((np.array([[np.nan, 1.0, 2.0]]), np.array([[[[1.0, np.nan, 3.0]]], [[[0.0, 1.0, np.inf]]]])))  # NaN kept
def test_the_compiled_departures_are_numpys_to_the_bit(fluid):
    arrived, served = fluid
    out_shape = served.shape[1:]
    want = departures_numpy(arrived, served, np.empty(out_shape))
    assert same_bits(fluid_departures(arrived, served, np.empty(out_shape)), want)
    assert same_bits(fluid_departures.__wrapped__(arrived, served, np.empty(out_shape)), want)  # the loop as Python


def test_departures_follow_the_slowest_stage_and_never_pass_the_arrivals():
    """Ten arrive at once; the first stage could serve four a step, the second two: two leave a step."""
    arrived = np.array([[0.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0]])
    served = np.array([[[np.arange(8) * 4.0]], [[np.arange(8) * 2.0]]])
    left = fluid_departures(arrived, served, np.empty((1, 1, 8)))
    assert left.tolist() == [[[0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 10.0, 10.0]]]


@st.composite
def readings(draw) -> tuple:
    """(x, xp, fp, rows) as the headroom reads curves: each of one row (shared) or of ``rows``; ``xp`` cumulative
    (ties and flat stretches), ``x`` on, between and outside its points or NaN, ``fp`` any values."""
    rows, wanted, points = draw(st.integers(1, 4)), draw(st.integers(1, 30)), draw(st.integers(1, 40))

    def of(width: int, values) -> np.ndarray:
        height = draw(st.sampled_from([1, rows]))
        return np.array(draw(st.lists(values, min_size=height * width, max_size=height * width)), dtype=float).reshape(height, width)

    xp = np.cumsum(of(points, st.sampled_from([0.0, 0.5, 1.0, 3.0, 1e5])), axis=1) - draw(st.sampled_from([0.0, 7.5]))
    x = of(wanted, st.one_of(st.floats(-20, 2e5, width=32), st.sampled_from([np.nan, -np.inf, np.inf, -0.0, 1.0, 3.5])))
    return x, xp, of(points, ANY), rows


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # infinities less infinities, on purpose
@settings(max_examples=200, deadline=None)
@given(readings())
@example((np.array([[0.0, 1.0, 2.0]]), np.array([[0.0, 1.0, 1.0, 2.0]]), np.array([[0.0, np.inf, -np.inf, 1.0]]), 2))
@example((np.array([[-0.0, 5.0]]), np.array([[0.0, 0.0], [3.0, 3.0]]), np.array([[np.nan, 1.0]]), 2))
def test_rows_read_in_their_own_row_are_numpys_reading_of_all_rows_to_the_bit(reading):
    x, xp, fp, rows = reading
    step = float(xp.max() - xp.min()) + 1.0
    want = rows_interp_numpy(x, xp, fp, step, np.empty((rows, x.shape[1])))
    assert same_bits(rows_interp(x, xp, fp, step, np.empty((rows, x.shape[1]))), want)
    assert same_bits(rows_interp.__wrapped__(x, xp, fp, step, np.empty((rows, x.shape[1]))), want)  # the loop as Python


@st.composite
def pushes(draw) -> tuple:
    """(hours, the arguments of :func:`pushed_times` but ``day_opens``, ``day_starts``, ``day_ends``) as the
    headroom's pushes make them: days of opening hours, a grid over them, rows with a first call, a factor (steps
    back where it is large, ties at the days' ends, NaN or infinities now and then) and the ramp."""
    days = draw(st.integers(1, 3))
    hours = []
    for day in range(days):
        open_s = day * 86400.0 + draw(st.sampled_from([0.0, 25200.0, 43200.0]))
        hours.append((open_s, open_s + draw(st.sampled_from([3600.0, 21600.0, 43200.0]))))
    rows, steps = draw(st.integers(1, 4)), draw(st.integers(1, 40))
    grid = np.sort(np.array(draw(st.lists(st.floats(0.0, days * 86400.0, width=32), min_size=steps, max_size=steps))))
    first = np.array(draw(st.lists(st.floats(0.0, days * 86400.0, width=32), min_size=rows, max_size=rows)))
    factor = np.array(draw(st.lists(st.one_of(st.floats(0.0, 5.0), st.sampled_from([0.02, 1.0, np.nan, np.inf, -1.0])),
                                    min_size=rows, max_size=rows)))
    first_open = opening_time(hours, first)
    since = opening_time(hours, grid)[None, :] - first_open[:, None]
    early = grid[None, :] <= first[:, None]
    return hours, first_open, since, factor, early, grid, np.arange(steps) * 1e-6


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # infinities times zero, on purpose
@settings(max_examples=200, deadline=None)
@given(pushes())
def test_the_compiled_pushed_times_are_numpys_and_the_plans_clock_to_the_bit(push):
    hours, first_open, since, factor, early, grid, ramp = push
    args = (first_open, since, factor, early, grid, *day_edges(hours), ramp)
    want = pushed_times_numpy(*args, np.empty(since.shape))
    assert same_bits(pushed_times(*args, np.empty(since.shape)), want)
    assert same_bits(pushed_times.__wrapped__(*args, np.empty(since.shape)), want)  # the loop as Python
    # The twin is the headroom's former way: the opening times read back by ``clock_at``, the most so far, the ramp.
    moved = np.where(early, grid, clock_at(hours, first_open[:, None] + since * factor[:, None], start=True))
    if not (moved[:, 1:] >= moved[:, :-1]).all():
        moved = np.maximum.accumulate(moved, axis=1)
    assert same_bits(moved + ramp, want)
    # Each row is its own running maximum, a NaN carried to its end: the headroom reads its span at its ends.
    assert same_bits(np.array([want[:, -1].max() - want[:, 0].min()]), np.array([want.max() - want.min()]))


@st.composite
def capacities(draw) -> tuple:
    """(scale ``[point, stage]``, mask, closed ``[point, row, time]``, step) as :class:`Fluids` makes them, or any
    rates (NaN, infinities, signed zeros)."""
    stages, points, rows, steps = (draw(st.integers(1, high)) for high in (3, 3, 3, 40))
    rates = st.one_of(st.floats(0.0, 1e6), ANY)
    scale = np.array(draw(st.lists(rates, min_size=points * stages, max_size=points * stages))).reshape(points, stages)
    mask = np.array(draw(st.lists(st.sampled_from([0.0, 1.0, -0.0]), min_size=steps, max_size=steps)))
    closed = np.array(draw(st.lists(st.booleans(), min_size=points * rows * steps, max_size=points * rows * steps)))
    return scale, mask, closed.reshape(points, rows, steps), draw(st.sampled_from([60.0, 300.0, 0.5])), stages


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # infinities times zero, on purpose
@settings(max_examples=200, deadline=None)
@given(capacities())
def test_the_compiled_served_curves_are_numpys_to_the_bit(capacity):
    scale, mask, closed, step, stages = capacity
    shape = (stages,) + closed.shape
    want = served_numpy(scale, mask, closed, step, np.empty(shape))
    assert same_bits(served_curves(scale, mask, closed, step, np.empty(shape)), want)
    assert same_bits(served_curves.__wrapped__(scale, mask, closed, step, np.empty(shape)), want)  # the loop as Python
