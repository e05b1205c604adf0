"""simsampling.arrivals: slot rosters, building-by-building calls, mop-up, lateness and no-shows, walk-ins.

Every draw function takes ``streams`` (stream name -> numpy Generator) and
returns an :class:`ArrivalDraw`: per resident, the arrival (NaN: did not come),
the day it counts for, and whether the calling plan reached the resident.
Statistical checks use fixed seeds and 99.9% intervals.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import stats

from simsampling.arrivals import (
    ArrivalDraw,
    FEW_TIMES,
    call_times,
    calling_arrivals,
    draw_arrivals,
    household_of,
    in_time_order,
    mop_up,
    poisson_arrivals,
    slot_arrivals,
    slot_counts,
    uniform_in_order,
)
from simsampling.random import stream
from simsampling.scenario import ScenarioError, validate_scenario
from simsampling.scenario.schema import DAY_S, CallingArrivals, Clock, MopUp, PoissonArrivals, SlotArrivals, clock_seconds

Z = stats.norm.ppf(0.9995)
H = 3600.0
M = 60.0


def streams(seed: int = 1, replication: int = 0, point_id: str = "p"):
    """The streams of one point in one replication, as draw_residents builds them."""
    return lambda name: stream(seed, replication, point_id, name)


def slots_config(slots, show_up=1.0, lateness=None, mop=None) -> SlotArrivals:
    """``slots``: (start, end, share) or (start, end, share, day)."""
    return SlotArrivals(
        kind="slots",
        show_up=show_up,
        lateness_min=lateness or {"dist": "fixed", "value": 0.0},
        slots=[{"start": s[0], "end": s[1], "share": s[2], "day": s[3] if len(s) > 3 else 0} for s in slots],
        mop_up=mop,
    )


def calling_config(**fields) -> CallingArrivals:
    fields.setdefault("show_up", 1.0)
    fields.setdefault("lateness_min", {"dist": "fixed", "value": 0.0})
    return CallingArrivals(kind="calling", **fields)


def assert_valid_draw(draw: ArrivalDraw, residents: int) -> None:
    """Shapes and dtypes every draw shares; an uncalled resident never arrives.

    The arrays cover the roster's first residents (walk-ins: those who came); the rest were not called.
    """
    assert draw.residents == residents
    assert draw.arrival_s.shape == draw.day.shape == draw.called.shape == (draw.arrival_s.size,)
    assert draw.arrival_s.size <= residents
    assert draw.called.dtype == bool
    assert draw.day.dtype.kind == "i"
    assert np.all(np.isnan(draw.arrival_s[~draw.called]))
    assert draw.no_show + draw.not_called + int(np.count_nonzero(~np.isnan(draw.arrival_s))) == residents


# ------------------------------------------------------------------ slot_counts


@pytest.mark.parametrize(
    "population, shares, expected",
    [
        (10, [0.25, 0.25, 0.5], [3, 2, 5]),  # tie on the remainder: the first slot wins
        (7, [0.5, 0.5], [4, 3]),
        (100, [0.3, 0.35, 0.25, 0.1], [30, 35, 25, 10]),
        (2600, [0.3, 0.35, 0.25, 0.1], [780, 910, 650, 260]),
        (3, [0.45, 0.45, 0.1], [2, 1, 0]),  # remainders .35, .35, .3: one seat left, first tie wins
        (1, [0.2, 0.5, 0.3], [0, 1, 0]),
        (0, [0.6, 0.4], [0, 0]),
        (11, [1 / 3, 1 / 3, 1 / 3], [4, 4, 3]),
        (5, [0.14, 0.16, 0.7], [1, 1, 3]),  # .7 .8 3.5: the two largest remainders
    ],
)
def test_slot_counts_exact_largest_remainder(population, shares, expected):
    counts = slot_counts(population, shares)
    assert counts.dtype.kind == "i"
    assert counts.tolist() == expected


@settings(max_examples=200, deadline=None)
@given(
    population=st.integers(0, 50_000_000),
    weights=st.lists(st.integers(1, 1000), min_size=1, max_size=30),
)
def test_slot_counts_property_largest_remainder(population, weights):
    shares = [w / sum(weights) for w in weights]
    counts = slot_counts(population, shares)
    assert int(counts.sum()) == population
    weights = np.asarray(shares)
    exact = weights / weights.sum() * population  # shares are renormalised (schema tolerance 1e-6)
    extra = counts - np.floor(exact)
    assert set(np.unique(extra)) <= {0, 1}
    # Every slot rounded up has a remainder at least as large as any rounded down.
    remainder = exact - np.floor(exact)
    if extra.any() and (extra == 0).any():
        assert remainder[extra == 1].min() >= remainder[extra == 0].max() - 1e-9


def test_slot_counts_sum_to_population_for_every_schema_valid_share_list():
    # Regression: shares may sum to 1 +- 1e-6; the counts once summed to 5,000,004 and
    # 3,999,999 here, and slot_arrivals then failed with a numpy broadcast error.
    cases = [
        (5_000_000, [("08:00", "09:00", 0.5000004), ("09:00", "10:00", 0.5000004)]),
        (4_000_000, [("08:00", "09:00", 0.9999995)]),
    ]
    for population, slots in cases:
        slots_config(slots)  # the schema accepts these shares
        assert int(slot_counts(population, [share for *_, share in slots]).sum()) == population


def test_slot_arrivals_with_shares_off_by_rounding():
    config = slots_config([("08:00", "09:00", 0.3333333), ("09:00", "10:00", 0.3333333), ("10:00", "11:00", 0.3333333)])
    arrival = slot_arrivals(config, 1000, streams(1)).arrival_s
    assert arrival.size == 1000
    assert [int(((arrival >= h * 3600) & (arrival < (h + 1) * 3600)).sum()) for h in (8, 9, 10)] == [334, 333, 333]


# ------------------------------------------------------------------ slot_arrivals


def test_each_slot_calls_its_exact_share_and_arrivals_stay_within_the_slot():
    slots = [("07:00", "09:00", 0.3), ("10:00", "12:00", 0.35), ("14:00", "18:00", 0.25), ("19:00", "21:00", 0.1)]
    config = slots_config(slots)
    population = 2601
    draw = slot_arrivals(config, population, streams(3))
    assert_valid_draw(draw, population)
    arrival = draw.arrival_s
    assert not np.isnan(arrival).any()
    assert draw.called.all() and draw.no_show == 0 and draw.not_called == 0
    assert np.all(draw.day == 0)
    counts = slot_counts(population, [s for *_, s in slots])
    for (start, end, _), count in zip(slots, counts):
        inside = (arrival >= clock_seconds(start)) & (arrival < clock_seconds(end))
        assert inside.sum() == count
    assert sum(counts) == population


def test_arrivals_are_uniform_within_a_slot():
    config = slots_config([("08:00", "10:00", 1.0)])
    arrival = slot_arrivals(config, 20_000, streams(1)).arrival_s
    assert stats.kstest(arrival, stats.uniform(8 * 3600, 2 * 3600).cdf).pvalue > 0.001


@pytest.mark.parametrize(
    "lateness, low_min, high_min",
    [
        ({"dist": "fixed", "value": 5.0}, 5.0, 5.0),
        ({"dist": "fixed", "value": -12.5}, -12.5, -12.5),
        ({"dist": "uniform", "low": -10.0, "high": 20.0}, -10.0, 20.0),
        ({"dist": "triangular", "low": -3.0, "mode": 0.0, "high": 30.0}, -3.0, 30.0),
    ],
)
def test_arrival_is_within_slot_plus_lateness_minutes(lateness, low_min, high_min):
    slots = [("08:00", "09:00", 0.5), ("12:00", "13:00", 0.5)]
    config = slots_config(slots, lateness=lateness)
    arrival = slot_arrivals(config, 5000, streams(9, 2, "x")).arrival_s
    in_first = (arrival >= 8 * 3600 + 60 * low_min) & (arrival <= 9 * 3600 + 60 * high_min)
    in_second = (arrival >= 12 * 3600 + 60 * low_min) & (arrival <= 13 * 3600 + 60 * high_min)
    assert np.all(in_first | in_second)
    assert in_first.sum() == 2500 and in_second.sum() == 2500


def test_lateness_is_signed_and_in_minutes():
    config = slots_config([("08:00", "08:01", 1.0)], lateness={"dist": "normal", "mean": -3.0, "sd": 10.0})
    arrival = slot_arrivals(config, 50_000, streams(4)).arrival_s
    lateness_min = (arrival - 8 * 3600 - 30) / 60.0  # slot midpoint
    assert_close = Z * 10.0 / math.sqrt(arrival.size) + 0.01
    assert abs(lateness_min.mean() - (-3.0)) <= assert_close
    assert (arrival < 8 * 3600).mean() > 0.3  # early arrivals are kept


@pytest.mark.parametrize("show_up", [0.0, 0.3, 0.95, 1.0])
def test_no_show_share_is_near_one_minus_show_up(show_up):
    config = slots_config([("08:00", "12:00", 1.0)], show_up=show_up)
    n = 20_000
    draw = slot_arrivals(config, n, streams(5, 1))
    missing = np.isnan(draw.arrival_s).mean()
    p = 1.0 - show_up
    if p in (0.0, 1.0):
        assert missing == p
    else:
        assert abs(missing - p) <= Z * math.sqrt(p * (1 - p) / n)
    # Everyone in a slot roster is called: whoever is missing is a no-show.
    assert draw.called.all() and draw.not_called == 0
    assert draw.no_show == int(np.isnan(draw.arrival_s).sum())


def test_no_shows_do_not_change_who_comes_when():
    """Show-up has its own stream: lowering it only removes residents."""
    full = slot_arrivals(slots_config([("08:00", "12:00", 1.0)], show_up=1.0), 3000, streams(7)).arrival_s
    some = slot_arrivals(slots_config([("08:00", "12:00", 1.0)], show_up=0.6), 3000, streams(7)).arrival_s
    came = ~np.isnan(some)
    assert 0 < came.sum() < 3000
    np.testing.assert_array_equal(some[came], full[came])


def test_slot_arrivals_are_reproducible_and_vary_with_replication():
    config = slots_config([("08:00", "12:00", 0.5), ("13:00", "14:00", 0.5)], show_up=0.9)
    a = slot_arrivals(config, 500, streams(1, 0))
    b = slot_arrivals(config, 500, streams(1, 0))
    for name in ("arrival_s", "day", "called"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.arrival_s, slot_arrivals(config, 500, streams(1, 1)).arrival_s, equal_nan=True)


def test_zero_population_gives_no_arrivals():
    draw = slot_arrivals(slots_config([("08:00", "09:00", 1.0)]), 0, streams(1))
    assert_valid_draw(draw, 0)
    assert draw.no_show == 0 and draw.not_called == 0


def test_slots_on_later_days_carry_their_day_and_fall_in_that_day():
    slots = [("08:00", "10:00", 0.5, 0), ("08:00", "10:00", 0.3, 1), ("14:00", "15:00", 0.2, 2)]
    config = slots_config(slots)
    population = 1001
    draw = slot_arrivals(config, population, streams(2))
    assert_valid_draw(draw, population)
    counts = slot_counts(population, [s[2] for s in slots])
    for (start, end, _, day), count in zip(slots, counts):
        mine = draw.day == day
        assert mine.sum() == count
        arrival = draw.arrival_s[mine]
        assert np.all(arrival >= day * DAY_S + clock_seconds(start))
        assert np.all(arrival < day * DAY_S + clock_seconds(end))


def test_a_late_arrival_keeps_the_day_of_its_slot():
    """Lateness can carry an arrival past midnight: it still counts for its slot's day (and is turned away)."""
    config = slots_config([("22:00", "23:00", 1.0, 0)], lateness={"dist": "fixed", "value": 90.0})
    draw = slot_arrivals(config, 200, streams(3))
    assert np.all(draw.day == 0)
    assert np.all(draw.arrival_s >= 23.5 * H) and np.all(draw.arrival_s < 24.5 * H)
    assert np.any(draw.arrival_s >= DAY_S)


# ------------------------------------------------------------------ households


@pytest.mark.parametrize("mean_size, seed", [(1.0, 1), (1.5, 2), (2.6, 3), (7.0, 4)])
def test_households_are_runs_of_the_roster_of_at_least_one_member(mean_size, seed):
    residents = 50_000
    household = household_of(residents, mean_size, np.random.default_rng(seed))
    assert household.shape == (residents,)
    assert household.dtype.kind == "i"
    # Roster order: household numbers start at 0 and go up by 0 or 1 from one resident to the next.
    assert household[0] == 0
    assert set(np.unique(np.diff(household)).tolist()) <= {0, 1}
    sizes = np.bincount(household)
    assert sizes.min() >= 1
    if mean_size == 1.0:
        np.testing.assert_array_equal(household, np.arange(residents))


@pytest.mark.parametrize("mean_size, seed", [(1.5, 5), (2.6, 6), (4.0, 7)])
def test_household_sizes_average_the_configured_size(mean_size, seed):
    household = household_of(200_000, mean_size, np.random.default_rng(seed))
    sizes = np.bincount(household)[:-1]  # the last household may be cut short by the roster's end
    # Sizes are 1 + Poisson(mean - 1): mean ``mean_size``, variance ``mean_size - 1``.
    assert abs(sizes.mean() - mean_size) <= Z * math.sqrt((mean_size - 1) / sizes.size)
    assert abs(sizes.var(ddof=1) - (mean_size - 1)) <= 0.05 * (mean_size - 1)


@pytest.mark.parametrize("mean_size, seed", [(1.0, 1), (2.6, 3), (7.0, 4)])
def test_household_numbers_are_those_of_earlier_versions(mean_size, seed):
    """Each resident is in the household whose cumulative size first passes its place (as before)."""
    household = household_of(5_000, mean_size, np.random.default_rng(seed))
    sizes = 1 + np.random.default_rng(seed).poisson(mean_size - 1.0, 5_000)
    expected = np.searchsorted(np.cumsum(sizes), np.arange(5_000), side="right")
    assert household.dtype == expected.dtype
    np.testing.assert_array_equal(household, expected)


def test_households_of_an_empty_roster():
    assert household_of(0, 2.6, np.random.default_rng(0)).shape == (0,)


# ------------------------------------------------------------------ call_times

OPEN, CLOSE = 7 * H, 8 * H
TWO_DAYS = [(OPEN, CLOSE), (DAY_S + OPEN, DAY_S + CLOSE)]


@pytest.mark.parametrize(
    "first, gap_min, hours, count, expected",
    [
        # Every 15 minutes within one day; the rest find no opening left.
        (OPEN, 15, [(OPEN, CLOSE)], 6, [7 * H, 7.25 * H, 7.5 * H, 7.75 * H, None, None]),
        # A call that would fall at closing (08:00) moves to the next opening.
        (OPEN, 20, TWO_DAYS, 7, [7 * H, 7 * H + 20 * M, 7 * H + 40 * M, DAY_S + 7 * H, DAY_S + 7 * H + 20 * M,
                                 DAY_S + 7 * H + 40 * M, None]),
        # The next day starts again at opening, not on the previous day's rhythm.
        (7.5 * H, 25, TWO_DAYS, 4, [7.5 * H, 7.5 * H + 25 * M, DAY_S + 7 * H, DAY_S + 7 * H + 25 * M]),
        # A first call before opening waits for it.
        (5 * H, 30, [(OPEN, CLOSE)], 3, [7 * H, 7.5 * H, None]),
        # A first call on day 1 skips day 0.
        (DAY_S + 7.5 * H, 10, TWO_DAYS, 4, [DAY_S + 7.5 * H, DAY_S + 7.5 * H + 10 * M, DAY_S + 7.5 * H + 20 * M, None]),
        # A first call between two days' hours waits for the next opening.
        (12 * H, 30, TWO_DAYS, 3, [DAY_S + 7 * H, DAY_S + 7.5 * H, None]),
        # A gap longer than a day's hours: one call per day.
        (OPEN, 120, TWO_DAYS, 3, [7 * H, DAY_S + 7 * H, None]),
        # Nothing left of the round.
        (9 * H, 5, [(OPEN, CLOSE)], 2, [None, None]),
        (OPEN, 15, TWO_DAYS, 0, []),
    ],
)
def test_call_times_hand_computed(first, gap_min, hours, count, expected):
    times = call_times(first, gap_min * M, hours, count)
    assert times.shape == (count,)
    want = np.array([np.nan if t is None else t for t in expected], dtype=float)
    np.testing.assert_array_equal(times, want)


@settings(max_examples=300, deadline=None)
@given(
    open_min=st.integers(0, 23 * 60),
    length_min=st.integers(1, 24 * 60),
    days=st.integers(1, 4),
    first_min=st.integers(-60, 5 * 24 * 60),
    gap_min=st.integers(1, 24 * 60),
    count=st.integers(0, 300),
)
def test_call_times_fall_within_opening_hours_in_order(open_min, length_min, days, first_min, gap_min, count):
    close_min = min(open_min + length_min, 24 * 60)
    hours = [(d * DAY_S + open_min * M, d * DAY_S + close_min * M) for d in range(days)]
    first, gap = first_min * M, gap_min * M
    times = call_times(first, gap, hours, count)
    called = ~np.isnan(times)
    # Calls that found no opening are the last ones.
    assert np.all(called[: called.sum()]) and not called[called.sum() :].any()
    got = times[called]
    if got.size == 0:
        assert count == 0 or first >= hours[-1][1]
        return
    assert np.all(got >= first)
    assert np.all(np.diff(got) > 0)
    day = np.floor(got / DAY_S).astype(int)
    opens = np.array([o for o, _ in hours])[day]
    closes = np.array([c for _, c in hours])[day]
    assert np.all((got >= opens) & (got < closes))
    # Within a day the calls are exactly one gap apart; a new day starts at opening (or at the first call).
    same_day = np.diff(day) == 0
    np.testing.assert_array_equal(np.diff(got)[same_day], gap)
    new_day = np.concatenate([[True], ~same_day])
    np.testing.assert_array_equal(got[new_day], np.maximum(opens[new_day], first))
    # No call was dropped while there was room for it: a day's calls stop only at its closing.
    last_of_day = np.concatenate([~same_day, [True]])
    assert np.all(got[last_of_day][:-1] + gap >= closes[last_of_day][:-1])
    assert np.all(np.diff(np.unique(day)) == 1)  # no day skipped once calling started
    if called.sum() < count:
        assert got[-1] + gap >= closes[-1] and day[-1] == days - 1


def test_no_call_falls_at_closing_whatever_the_rounding_of_the_gap():
    gap = 4.1 * M
    assert gap != 246.0  # not exact: the bug needs an inexact gap
    times = call_times(OPEN, gap, [(OPEN, OPEN + 41 * M)], 12)
    got = times[~np.isnan(times)]
    assert np.all(got < OPEN + 41 * M)
    assert got.size == 10  # 07:00, 07:04.1, ..., 07:36.9; 07:41 is the closing


@pytest.mark.parametrize("gap_s", [5e-324, 2.96e-322, 1e-300])
def test_a_gap_of_almost_nothing_calls_everyone_at_the_opening(gap_s):
    """A fuzzed calling plan with a gap of 5e-324 minutes: (closing - opening) / gap is infinite, which
    math.ceil refused (OverflowError) for a scenario that validates."""
    times = call_times(OPEN, gap_s, [(OPEN, OPEN + 41 * M)], 5)
    assert np.all(times >= OPEN) and np.all(times < OPEN + 41 * M)
    assert np.all(np.diff(times) >= 0)


# ------------------------------------------------------------------ calling_arrivals


def test_calling_hand_checked_single_member_households():
    """household_size 1: each resident is a household, batches of 3 every 20 minutes from 07:00."""
    config = calling_config(batch_households=3, gap_min=20, household_size=1.0)
    draw = calling_arrivals(config, 10, TWO_DAYS, streams(1))
    assert_valid_draw(draw, 10)
    calls = [7 * H] * 3 + [7 * H + 20 * M] * 3 + [7 * H + 40 * M] * 3 + [DAY_S + 7 * H]  # 08:00 is closing
    np.testing.assert_array_equal(draw.arrival_s, calls)
    np.testing.assert_array_equal(draw.day, [0] * 9 + [1])
    assert draw.called.all() and draw.no_show == 0 and draw.not_called == 0


def test_calling_residents_not_reached_in_the_round_are_not_called():
    config = calling_config(batch_households=3, gap_min=20, household_size=1.0)
    draw = calling_arrivals(config, 10, [(OPEN, CLOSE)], streams(1))
    assert_valid_draw(draw, 10)
    np.testing.assert_array_equal(draw.arrival_s[:9], [7 * H] * 3 + [7 * H + 20 * M] * 3 + [7 * H + 40 * M] * 3)
    assert np.isnan(draw.arrival_s[9])
    np.testing.assert_array_equal(draw.called, [True] * 9 + [False])
    assert draw.not_called == 1 and draw.no_show == 0


def test_calling_start_and_day_set_the_first_call():
    config = calling_config(batch_households=2, gap_min=15, household_size=1.0, start="07:30", day=1)
    three_days = TWO_DAYS + [(2 * DAY_S + OPEN, 2 * DAY_S + CLOSE)]
    draw = calling_arrivals(config, 9, three_days, streams(1))
    d1, d2 = DAY_S, 2 * DAY_S
    want = [d1 + 7.5 * H] * 2 + [d1 + 7.75 * H] * 2 + [d2 + 7 * H] * 2 + [d2 + 7.25 * H] * 2 + [d2 + 7.5 * H]
    np.testing.assert_array_equal(draw.arrival_s, want)
    np.testing.assert_array_equal(draw.day, [1] * 4 + [2] * 5)


def test_calling_on_a_later_day_starts_at_its_opening():
    config = calling_config(batch_households=1, gap_min=30, household_size=1.0, day=1)
    draw = calling_arrivals(config, 3, TWO_DAYS, streams(1))
    np.testing.assert_array_equal(draw.arrival_s, [DAY_S + 7 * H, DAY_S + 7.5 * H, np.nan])
    np.testing.assert_array_equal(draw.day[:2], [1, 1])
    np.testing.assert_array_equal(draw.called, [True, True, False])


@pytest.mark.parametrize("size, batch, gap_min, lateness_min", [(2.6, 20, 15.0, 0.0), (3.5, 7, 10.0, 5.0), (1.8, 1, 3.0, -2.5)])
def test_calling_batches_households_in_roster_order(size, batch, gap_min, lateness_min):
    """With fixed lateness and everyone showing up, resident i arrives at the call of its household's batch."""
    config = calling_config(batch_households=batch, gap_min=gap_min, household_size=size,
                            lateness_min={"dist": "fixed", "value": lateness_min})
    hours = Clock(open="08:00", close="20:00").hours(3)
    residents = 3000
    draw = calling_arrivals(config, residents, hours, streams(11))
    assert_valid_draw(draw, residents)
    household = household_of(residents, size, streams(11)("household"))  # the same stream the plan uses
    batch_of = household // batch
    calls = call_times(hours[0][0], gap_min * M, hours, int(batch_of[-1]) + 1)
    expected = calls[batch_of] + lateness_min * M
    np.testing.assert_array_equal(draw.arrival_s, expected)  # NaN where the round had no call left
    np.testing.assert_array_equal(draw.called, ~np.isnan(calls[batch_of]))
    # A batch holds batch_households households (the last may hold fewer).
    called_households = np.unique(household[draw.called])
    per_call = np.bincount(called_households // batch)
    assert np.all(per_call[:-1] == batch) and 1 <= per_call[-1] <= batch
    np.testing.assert_array_equal(draw.day[draw.called], np.floor((calls[batch_of] - hours[0][0]) / DAY_S)[draw.called])


def test_calling_plan_not_finished_counts_not_called():
    config = calling_config(batch_households=10, gap_min=30, household_size=2.0, show_up=0.8)
    hours = Clock(open="08:00", close="10:00").hours(2)  # 4 calls a day, 8 in all: 80 households
    residents = 1000
    draw = calling_arrivals(config, residents, hours, streams(12))
    assert_valid_draw(draw, residents)
    household = household_of(residents, 2.0, streams(12)("household"))
    reached = household < 80
    np.testing.assert_array_equal(draw.called, reached)
    assert draw.not_called == int((~reached).sum()) > 0
    assert draw.no_show == int(np.isnan(draw.arrival_s[reached]).sum()) > 0
    assert draw.day.dtype == np.int16 and not draw.day[~reached].any()  # a resident never called counts for day 0


def test_a_household_arrives_together():
    config = calling_config(batch_households=5, gap_min=15, household_size=3.0, show_up=0.7,
                            lateness_min={"dist": "normal", "mean": 0, "sd": 10})
    residents = 5000
    hours = Clock(open="07:00", close="22:00").hours(2)
    draw = calling_arrivals(config, residents, hours, streams(13))
    household = household_of(residents, 3.0, streams(13)("household"))
    came = ~np.isnan(draw.arrival_s)
    together = 0
    for h in np.unique(household[came]):
        times = draw.arrival_s[came & (household == h)]
        assert np.all(times == times[0]), f"household {h} arrives at {times}"
        together += times.size > 1
    assert together > 100
    # Households of one batch have their own lateness: arrivals differ within a batch.
    batch0 = came & (household // 5 == 0)
    assert np.unique(draw.arrival_s[batch0]).size > 1


def test_calling_show_up_is_per_member():
    config = calling_config(batch_households=50, gap_min=1, household_size=3.0, show_up=0.6)
    residents = 30_000
    draw = calling_arrivals(config, residents, Clock(open="07:00", close="22:00").hours(1), streams(14))
    assert draw.called.all()
    missing = np.isnan(draw.arrival_s).mean()
    assert abs(missing - 0.4) <= Z * math.sqrt(0.4 * 0.6 / residents)
    household = household_of(residents, 3.0, streams(14)("household"))
    # Some households come only in part.
    partial = [h for h in range(200) if 0 < np.isnan(draw.arrival_s[household == h]).sum() < (household == h).sum()]
    assert partial


def test_calling_day_is_the_day_of_the_call_not_of_the_arrival():
    """A household called at 07:50 that is 20 minutes late arrives after closing: it still counts for day 0."""
    config = calling_config(batch_households=1, gap_min=50, household_size=1.0, lateness_min={"dist": "fixed", "value": 20.0})
    draw = calling_arrivals(config, 3, TWO_DAYS, streams(1))
    np.testing.assert_array_equal(draw.arrival_s, [7 * H + 20 * M, 7 * H + 70 * M, DAY_S + 7 * H + 20 * M])
    np.testing.assert_array_equal(draw.day, [0, 0, 1])


def test_calling_empty_roster():
    draw = calling_arrivals(calling_config(), 0, TWO_DAYS, streams(1))
    assert_valid_draw(draw, 0)


# ------------------------------------------------------------------ mop-up


def hand_draw(arrival, called, day=None) -> ArrivalDraw:
    arrival = np.asarray(arrival, dtype=float)
    return ArrivalDraw(arrival, np.asarray(day if day is not None else np.zeros(arrival.size), dtype=np.int16), np.asarray(called))


def test_mop_up_brings_only_missed_residents_inside_its_window():
    n = 6
    nan = np.nan
    draw = hand_draw([nan, 8 * H, nan, nan, 9 * H, nan], [True, True, True, False, True, False], day=[0, 0, 0, 0, 1, 0])
    config = MopUp(day=1, start="18:00", end="20:00", share=1.0)
    after = mop_up(draw, config, streams(3))
    assert_valid_draw(after, n)
    # The two called no-shows come, in the window of day 1; those who came and those not called do not move.
    for i in (0, 2):
        assert DAY_S + 18 * H <= after.arrival_s[i] < DAY_S + 20 * H
        assert after.day[i] == 1
    np.testing.assert_array_equal(after.arrival_s[[1, 4]], [8 * H, 9 * H])
    np.testing.assert_array_equal(after.day[[1, 4]], [0, 1])
    assert np.isnan(after.arrival_s[[3, 5]]).all()
    np.testing.assert_array_equal(after.called, draw.called)
    assert after.no_show == 0 and after.not_called == 2


@pytest.mark.parametrize("share", [0.0, 0.35, 1.0])
def test_mop_up_share_of_the_missed_come(share):
    plan = slots_config([("08:00", "10:00", 1.0)], show_up=0.5, mop=MopUp(day=0, start="16:00", end="18:00", share=share))
    residents = 20_000
    hours = Clock(open="07:00", close="22:00").hours(1)
    before = slot_arrivals(plan, residents, streams(4))
    after = draw_arrivals(plan, residents, hours, streams(4))
    assert_valid_draw(after, residents)
    missed = np.isnan(before.arrival_s)
    came_late = missed & ~np.isnan(after.arrival_s)
    # Who came on their turn keeps the same arrival; nobody else moves.
    np.testing.assert_array_equal(after.arrival_s[~missed], before.arrival_s[~missed])
    assert np.all((after.arrival_s[came_late] >= 16 * H) & (after.arrival_s[came_late] < 18 * H))
    k, m = int(came_late.sum()), int(missed.sum())
    if share in (0.0, 1.0):
        assert k == share * m
    else:
        assert abs(k / m - share) <= Z * math.sqrt(share * (1 - share) / m)
    assert after.no_show == m - k


def test_mop_up_times_are_uniform_in_the_window():
    draw = hand_draw(np.full(20_000, np.nan), np.ones(20_000, dtype=bool))
    after = mop_up(draw, MopUp(day=2, start="13:00", end="15:30", share=1.0), streams(5))
    assert np.all(after.day == 2)
    start = 2 * DAY_S + 13 * H
    assert stats.kstest(after.arrival_s, stats.uniform(start, 2.5 * H).cdf).pvalue > 0.001


def test_calling_plan_with_mop_up_through_draw_arrivals():
    plan = calling_config(batch_households=5, gap_min=10, household_size=2.0, show_up=0.7,
                          mop_up={"day": 1, "start": "09:00", "end": "11:00", "share": 0.5})
    hours = Clock(open="08:00", close="12:00").hours(2)
    residents = 2000
    plain = calling_arrivals(plan, residents, hours, streams(6))
    after = draw_arrivals(plan, residents, hours, streams(6))
    assert_valid_draw(after, residents)
    moved = after.arrival_s != plain.arrival_s
    moved &= ~(np.isnan(after.arrival_s) & np.isnan(plain.arrival_s))
    assert moved.sum() > 0
    assert np.isnan(plain.arrival_s[moved]).all() and plain.called[moved].all()
    assert np.all(after.day[moved] == 1)
    assert np.all((after.arrival_s[moved] >= DAY_S + 9 * H) & (after.arrival_s[moved] < DAY_S + 11 * H))
    assert after.not_called == plain.not_called


# ------------------------------------------------------------------ Poisson


CLOCK = Clock(open="07:00", close="22:00")
HOURS = CLOCK.hours(1)


def walk_in(rate, start=None, end=None) -> PoissonArrivals:
    return PoissonArrivals(kind="poisson", rate_per_hour=rate, start=start, end=end)


def walked(draw: ArrivalDraw) -> np.ndarray:
    """Arrival times of those who walked in (they come first in the roster)."""
    came = ~np.isnan(draw.arrival_s)
    assert np.all(came[: came.sum()]), "walk-ins are the first residents of the roster"
    return draw.arrival_s[came]


def test_poisson_count_is_capped_at_population():
    draw = poisson_arrivals(walk_in(1000.0), 50, HOURS, streams(1))
    assert_valid_draw(draw, 50)
    times = draw.arrival_s
    assert not np.isnan(times).any()
    assert np.all(np.diff(times) >= 0)
    # The cap keeps the first 50 walk-ins of the uncapped process.
    uncapped = walked(poisson_arrivals(walk_in(1000.0), 100_000, HOURS, streams(1)))
    assert uncapped.size > 10_000
    np.testing.assert_array_equal(times, uncapped[:50])


def test_poisson_zero_population():
    draw = poisson_arrivals(walk_in(100.0), 0, HOURS, streams(1))
    assert_valid_draw(draw, 0)


def test_walk_ins_who_never_come_are_not_no_shows():
    draw = poisson_arrivals(walk_in(10.0), 1000, HOURS, streams(1))
    came = int((~np.isnan(draw.arrival_s)).sum())
    assert 0 < came < 1000
    assert draw.no_show == 0
    assert draw.not_called == 1000 - came
    np.testing.assert_array_equal(draw.called, ~np.isnan(draw.arrival_s))


@pytest.mark.parametrize("start, end", [(None, None), ("09:00", "11:30"), (None, "08:00"), ("21:00", None)])
def test_poisson_times_are_sorted_within_the_window_with_a_poisson_count(start, end):
    rate = 120.0
    times = walked(poisson_arrivals(walk_in(rate, start, end), 100_000, HOURS, streams(2, 3)))
    lo = clock_seconds(start) if start else CLOCK.open_s
    hi = clock_seconds(end) if end else CLOCK.close_s
    assert np.all(np.diff(times) >= 0)
    assert times.size == 0 or (times.min() >= lo and times.max() < hi)
    expected = rate * (hi - lo) / 3600.0
    assert stats.poisson.ppf(0.0005, expected) <= times.size <= stats.poisson.ppf(0.9995, expected)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 70_000), st.integers(0, 2**32 - 1),
       st.sampled_from([(25_200.0, 79_200.0), (0.0, 1e-300), (5.0, 5.0), (0.0, 3 * DAY_S)]))
def test_walk_ins_put_in_order_are_numpys_sort(count, seed, window):
    """Ordered through buckets first, the times are np.sort's to the bit (with ties, a window of a few
    denormal seconds, an empty one, a single time; windows start at or after midnight of day 0)."""
    start, end = window
    times = np.random.default_rng(seed).uniform(start, end, count)
    times[: count // 3] = np.round(times[: count // 3])  # ties
    ordered = uniform_in_order(times, start, end)
    assert ordered.tobytes() == np.sort(times).tobytes()


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 20_000), st.integers(0, 2**32 - 1),
       st.sampled_from([(43_200.0, 86_400.0), (0.0, 1e-300), (5.0, 5.0), (-1e308, 1e308), (0.0, 3 * DAY_S)]),
       st.sampled_from(["none", "ties", "signed_zeros", "infinite"]))
@example(FEW_TIMES - 1, 1, (43_200.0, 86_400.0), "ties")  # sorted at once
@example(FEW_TIMES, 1, (43_200.0, 86_400.0), "ties")  # through the buckets
def test_arrivals_put_in_time_order_are_numpys_stable_argsort(count, seed, window, special):
    """The permutation is np.argsort's stable one, ties kept in their order (many ties, 0.0 and -0.0,
    infinite times, a range of a few denormal seconds, one that overflows, a single time)."""
    low, high = window
    rng = np.random.default_rng(seed)
    times = rng.uniform(low, high, count) if high - low < math.inf else rng.uniform(-1.0, 1.0, count) * 1e308
    if special == "ties":
        times[: count // 2] = times[rng.integers(0, max(count // 10, 1), count // 2)] if count else times[:0]
    elif special == "signed_zeros":
        times[: count // 3] = np.where(rng.random(count // 3) < 0.5, 0.0, -0.0)
    elif special == "infinite":
        times[: count // 4] = np.where(rng.random(count // 4) < 0.5, np.inf, -np.inf)
    rng.shuffle(times)
    assert np.array_equal(in_time_order(times), np.argsort(times, kind="stable"))


def test_poisson_counts_over_replications_have_the_poisson_mean_and_variance():
    rate, hours = 30.0, 15.0
    counts = np.array([walked(poisson_arrivals(walk_in(rate), 10_000, HOURS, streams(11, rep))).size for rep in range(300)])
    mu = rate * hours
    assert abs(counts.mean() - mu) <= Z * math.sqrt(mu / counts.size)
    # Index of dispersion ~ chi2(n-1)/(n-1) for Poisson counts.
    dispersion = counts.var(ddof=1) * (counts.size - 1) / mu
    assert stats.chi2.ppf(0.0005, counts.size - 1) <= dispersion <= stats.chi2.ppf(0.9995, counts.size - 1)


@pytest.mark.parametrize("start, end", [(None, None), ("09:00", "11:30")])
def test_poisson_walk_ins_every_day_of_the_round(start, end):
    rate, days = 60.0, 3
    hours = CLOCK.hours(days)
    draw = poisson_arrivals(walk_in(rate, start, end), 100_000, hours, streams(8))
    assert_valid_draw(draw, 100_000)
    times = walked(draw)
    day = draw.day[: times.size]
    assert np.all(np.diff(times) >= 0)
    np.testing.assert_array_equal(day, np.floor(times / DAY_S))
    lo = clock_seconds(start) if start else CLOCK.open_s
    hi = clock_seconds(end) if end else CLOCK.close_s
    expected = rate * (hi - lo) / H
    for d in range(days):
        mine = times[day == d]
        assert mine.min() >= d * DAY_S + lo and mine.max() < d * DAY_S + hi
        assert stats.poisson.ppf(0.0005, expected) <= mine.size <= stats.poisson.ppf(0.9995, expected)


def test_poisson_cap_keeps_the_first_walk_ins_of_the_round():
    hours = CLOCK.hours(3)
    full = poisson_arrivals(walk_in(20.0), 100_000, hours, streams(9))
    times = walked(full)
    cap = int(np.count_nonzero(full.day[: times.size] == 0)) + 5  # all of day 0 and five of day 1
    capped = poisson_arrivals(walk_in(20.0), cap, hours, streams(9))
    np.testing.assert_array_equal(capped.arrival_s, times[:cap])
    np.testing.assert_array_equal(capped.day, full.day[:cap])
    assert np.all(capped.day[-5:] == 1)


def test_draw_arrivals_dispatches_on_the_kind():
    def same(a: ArrivalDraw, b: ArrivalDraw) -> None:
        for name in ("arrival_s", "day", "called"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)

    slots = slots_config([("08:00", "09:00", 1.0)], show_up=0.5)
    same(draw_arrivals(slots, 100, HOURS, streams(1)), slot_arrivals(slots, 100, streams(1)))
    walk = walk_in(60.0)
    same(draw_arrivals(walk, 100, HOURS, streams(1)), poisson_arrivals(walk, 100, HOURS, streams(1)))
    calling = calling_config(show_up=0.5)
    same(draw_arrivals(calling, 100, HOURS, streams(1)), calling_arrivals(calling, 100, HOURS, streams(1)))


def test_schema_keeps_slots_and_walk_in_windows_inside_opening_hours():
    base = {"name": "s", "clock": {"open": "07:00", "close": "22:00"}, "points": [{"id": "p", "population": 1, "tents": 1}]}
    with pytest.raises(ScenarioError):
        validate_scenario({**base, "arrivals": {"kind": "slots", "slots": [{"start": "06:00", "end": "08:00", "share": 1.0}]}})
    with pytest.raises(ScenarioError):
        validate_scenario({**base, "arrivals": {"kind": "poisson", "rate_per_hour": 1, "end": "23:00"}})
    with pytest.raises(ScenarioError):
        validate_scenario({**base, "arrivals": {"kind": "slots", "slots": [{"start": "08:00", "end": "09:00", "share": 0.9}]}})


def test_schema_keeps_slot_calling_and_mop_up_days_inside_the_round():
    base = {"name": "s", "round": {"days": 2}, "points": [{"id": "p", "population": 1, "tents": 1}]}
    ok = {"kind": "slots", "slots": [{"start": "08:00", "end": "09:00", "share": 1.0, "day": 1}],
          "mop_up": {"day": 1, "start": "18:00", "end": "20:00"}}
    validate_scenario({**base, "arrivals": ok})
    with pytest.raises(ScenarioError, match="day 2 is outside"):
        validate_scenario({**base, "arrivals": {**ok, "slots": [{"start": "08:00", "end": "09:00", "share": 1.0, "day": 2}]}})
    with pytest.raises(ScenarioError, match="day 2 is outside"):
        validate_scenario({**base, "arrivals": {**ok, "mop_up": {"day": 2, "start": "18:00", "end": "20:00"}}})
    with pytest.raises(ScenarioError, match="day 3 is outside"):
        validate_scenario({**base, "arrivals": {"kind": "calling", "day": 3}})
