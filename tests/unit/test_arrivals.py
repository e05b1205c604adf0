"""simsampling.arrivals: slot rosters, lateness and no-shows, Poisson walk-ins."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from simsampling.arrivals import draw_arrivals, poisson_arrivals, slot_arrivals, slot_counts
from simsampling.scenario import ScenarioError, validate_scenario
from simsampling.scenario.schema import Clock, PoissonArrivals, SlotArrivals, clock_seconds

Z = stats.norm.ppf(0.9995)


def slots_config(slots, show_up=1.0, lateness=None) -> SlotArrivals:
    return SlotArrivals(
        kind="slots",
        show_up=show_up,
        lateness_min=lateness or {"dist": "fixed", "value": 0.0},
        slots=[{"start": a, "end": b, "share": s} for a, b, s in slots],
    )


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
    arrival = slot_arrivals(config, 1000, 1, 0, "p")
    assert arrival.size == 1000
    assert [int(((arrival >= h * 3600) & (arrival < (h + 1) * 3600)).sum()) for h in (8, 9, 10)] == [334, 333, 333]


# ------------------------------------------------------------------ slot_arrivals


def test_each_slot_calls_its_exact_share_and_arrivals_stay_within_the_slot():
    slots = [("07:00", "09:00", 0.3), ("10:00", "12:00", 0.35), ("14:00", "18:00", 0.25), ("19:00", "21:00", 0.1)]
    config = slots_config(slots)
    population = 2601
    arrival = slot_arrivals(config, population, seed=3, replication=0, point_id="p")
    assert arrival.shape == (population,)
    assert not np.isnan(arrival).any()
    counts = slot_counts(population, [s for *_, s in slots])
    for (start, end, _), count in zip(slots, counts):
        inside = (arrival >= clock_seconds(start)) & (arrival < clock_seconds(end))
        assert inside.sum() == count
    assert sum(counts) == population


def test_arrivals_are_uniform_within_a_slot():
    config = slots_config([("08:00", "10:00", 1.0)])
    arrival = slot_arrivals(config, 20_000, seed=1, replication=0, point_id="p")
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
    arrival = slot_arrivals(config, 5000, seed=9, replication=2, point_id="x")
    in_first = (arrival >= 8 * 3600 + 60 * low_min) & (arrival <= 9 * 3600 + 60 * high_min)
    in_second = (arrival >= 12 * 3600 + 60 * low_min) & (arrival <= 13 * 3600 + 60 * high_min)
    assert np.all(in_first | in_second)
    assert in_first.sum() == 2500 and in_second.sum() == 2500


def test_lateness_is_signed_and_in_minutes():
    config = slots_config([("08:00", "08:01", 1.0)], lateness={"dist": "normal", "mean": -3.0, "sd": 10.0})
    arrival = slot_arrivals(config, 50_000, seed=4, replication=0, point_id="p")
    lateness_min = (arrival - 8 * 3600 - 30) / 60.0  # slot midpoint
    assert_close = Z * 10.0 / math.sqrt(arrival.size) + 0.01
    assert abs(lateness_min.mean() - (-3.0)) <= assert_close
    assert (arrival < 8 * 3600).mean() > 0.3  # early arrivals are kept


@pytest.mark.parametrize("show_up", [0.0, 0.3, 0.95, 1.0])
def test_no_show_share_is_near_one_minus_show_up(show_up):
    config = slots_config([("08:00", "12:00", 1.0)], show_up=show_up)
    n = 20_000
    arrival = slot_arrivals(config, n, seed=5, replication=1, point_id="p")
    missing = np.isnan(arrival).mean()
    p = 1.0 - show_up
    if p in (0.0, 1.0):
        assert missing == p
    else:
        assert abs(missing - p) <= Z * math.sqrt(p * (1 - p) / n)


def test_no_shows_do_not_change_who_comes_when():
    """Show-up has its own stream: lowering it only removes residents."""
    full = slot_arrivals(slots_config([("08:00", "12:00", 1.0)], show_up=1.0), 3000, 7, 0, "p")
    some = slot_arrivals(slots_config([("08:00", "12:00", 1.0)], show_up=0.6), 3000, 7, 0, "p")
    came = ~np.isnan(some)
    np.testing.assert_array_equal(some[came], full[came])


def test_slot_arrivals_are_reproducible_and_vary_with_replication():
    config = slots_config([("08:00", "12:00", 0.5), ("13:00", "14:00", 0.5)], show_up=0.9)
    a = slot_arrivals(config, 500, 1, 0, "p")
    np.testing.assert_array_equal(a, slot_arrivals(config, 500, 1, 0, "p"))
    assert not np.array_equal(a, slot_arrivals(config, 500, 1, 1, "p"), equal_nan=True)


def test_zero_population_gives_no_arrivals():
    assert slot_arrivals(slots_config([("08:00", "09:00", 1.0)]), 0, 1, 0, "p").shape == (0,)


# ------------------------------------------------------------------ Poisson


CLOCK = Clock(open="07:00", close="22:00")


def walk_in(rate, start=None, end=None) -> PoissonArrivals:
    return PoissonArrivals(kind="poisson", rate_per_hour=rate, start=start, end=end)


def test_poisson_count_is_capped_at_population():
    times = poisson_arrivals(walk_in(1000.0), CLOCK, 50, seed=1, replication=0, point_id="p")
    assert times.size == 50
    assert np.all(np.diff(times) >= 0)
    # The cap keeps the first 50 walk-ins of the uncapped process.
    uncapped = poisson_arrivals(walk_in(1000.0), CLOCK, 10**9, seed=1, replication=0, point_id="p")
    np.testing.assert_array_equal(times, uncapped[:50])


def test_poisson_zero_population():
    assert poisson_arrivals(walk_in(100.0), CLOCK, 0, 1, 0, "p").size == 0


@pytest.mark.parametrize("start, end", [(None, None), ("09:00", "11:30"), (None, "08:00"), ("21:00", None)])
def test_poisson_times_are_sorted_within_the_window_with_a_poisson_count(start, end):
    rate = 120.0
    times = poisson_arrivals(walk_in(rate, start, end), CLOCK, 10**7, seed=2, replication=3, point_id="p")
    lo = clock_seconds(start) if start else CLOCK.open_s
    hi = clock_seconds(end) if end else CLOCK.close_s
    assert np.all(np.diff(times) >= 0)
    assert times.size == 0 or (times.min() >= lo and times.max() < hi)
    expected = rate * (hi - lo) / 3600.0
    assert stats.poisson.ppf(0.0005, expected) <= times.size <= stats.poisson.ppf(0.9995, expected)


def test_poisson_counts_over_replications_have_the_poisson_mean_and_variance():
    rate, hours = 30.0, 15.0
    counts = np.array([poisson_arrivals(walk_in(rate), CLOCK, 10**6, 11, rep, "p").size for rep in range(300)])
    mu = rate * hours
    assert abs(counts.mean() - mu) <= Z * math.sqrt(mu / counts.size)
    # Index of dispersion ~ chi2(n-1)/(n-1) for Poisson counts.
    dispersion = counts.var(ddof=1) * (counts.size - 1) / mu
    assert stats.chi2.ppf(0.0005, counts.size - 1) <= dispersion <= stats.chi2.ppf(0.9995, counts.size - 1)


def test_draw_arrivals_dispatches_on_the_kind():
    slots = slots_config([("08:00", "09:00", 1.0)], show_up=0.5)
    np.testing.assert_array_equal(draw_arrivals(slots, CLOCK, 100, 1, 0, "p"), slot_arrivals(slots, 100, 1, 0, "p"))
    walk = walk_in(60.0)
    np.testing.assert_array_equal(draw_arrivals(walk, CLOCK, 100, 1, 0, "p"), poisson_arrivals(walk, CLOCK, 100, 1, 0, "p"))


def test_schema_keeps_slots_and_walk_in_windows_inside_opening_hours():
    base = {"name": "s", "clock": {"open": "07:00", "close": "22:00"}, "points": [{"id": "p", "population": 1, "tents": 1}]}
    with pytest.raises(ScenarioError):
        validate_scenario({**base, "arrivals": {"kind": "slots", "slots": [{"start": "06:00", "end": "08:00", "share": 1.0}]}})
    with pytest.raises(ScenarioError):
        validate_scenario({**base, "arrivals": {"kind": "poisson", "rate_per_hour": 1, "end": "23:00"}})
    with pytest.raises(ScenarioError):
        validate_scenario({**base, "arrivals": {"kind": "slots", "slots": [{"start": "08:00", "end": "09:00", "share": 0.9}]}})
