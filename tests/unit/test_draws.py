"""simsampling.draws: every random quantity of a point's residents, drawn up front."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simsampling.arrivals import draw_arrivals, household_of
from simsampling.draws import draw_residents
from simsampling.random import roster_sample, sample, stream
from simsampling.scenario import validate_scenario
from simsampling.scenario.schema import DAY_S

FIELDS = ("resident", "arrival_s", "qr", "temperature_s", "registration_s", "swab_s")


def value(d, name):
    """A field of the draws; ``<stage>_s`` is that stage's service times (empty if the point has none)."""
    stage = name.removesuffix("_s")
    if name.endswith("_s") and name != "arrival_s":
        return d.service_s.get(stage, np.zeros(0))
    return getattr(d, name)


def scenario(show_up=0.9, seed=42, tents=4, extra_points=(), stages=None, arrivals=None, population=800):
    point = {"id": "p", "population": population, "tents": tents}
    if stages is not None:
        point["stages"] = stages
    return validate_scenario(
        {
            "name": "draws",
            "seed": seed,
            "points": [point, *extra_points],
            "arrivals": arrivals
            or {
                "kind": "slots",
                "show_up": show_up,
                "lateness_min": {"dist": "normal", "mean": 0, "sd": 10},
                "slots": [{"start": "08:00", "end": "10:00", "share": 0.6}, {"start": "14:00", "end": "16:00", "share": 0.4}],
            },
        }
    )


def assert_same_draws(a, b):
    for name in FIELDS:
        np.testing.assert_array_equal(value(a, name), value(b, name), err_msg=name)
    assert a.no_show == b.no_show


def test_same_seed_gives_identical_arrays():
    s = scenario()
    assert_same_draws(draw_residents(s, s.points[0], 0), draw_residents(s, s.points[0], 0))
    # Rebuilt from an equal but distinct scenario object as a worker would.
    t = scenario()
    assert_same_draws(draw_residents(s, s.points[0], 3), draw_residents(t, t.points[0], 3))


@pytest.mark.parametrize("change", [{"seed": 43}, {"replication": 1}])
def test_other_seed_or_replication_gives_other_draws(change):
    s = scenario(seed=change.get("seed", 42))
    a = draw_residents(scenario(), scenario().points[0], 0)
    b = draw_residents(s, s.points[0], change.get("replication", 0))
    assert not np.array_equal(a.service_s["swab"][:50], b.service_s["swab"][:50])
    assert not np.array_equal(a.arrival_s[:50], b.arrival_s[:50])


def test_residents_in_arrival_order_with_unique_identities():
    s = scenario()
    d = draw_residents(s, s.points[0], 0)
    assert np.all(np.diff(d.arrival_s) >= 0)
    assert not np.isnan(d.arrival_s).any()
    assert d.resident.dtype == np.int64
    assert np.unique(d.resident).size == d.count
    assert d.resident.min() >= 0 and d.resident.max() < 800
    assert d.count + d.no_show == 800
    for name in ("qr", "temperature_s", "registration_s", "swab_s"):
        assert value(d, name).shape == (d.count,)
    assert list(d.service_s) == ["temperature", "registration", "swab"]  # flow order
    assert all(np.all(times > 0) for times in d.service_s.values())


def test_absent_stages_have_empty_arrays():
    s = scenario(stages={"swab": {}})
    d = draw_residents(s, s.points[0], 0)
    assert list(d.service_s) == ["swab"]
    assert d.qr.shape == (d.count,) and not d.qr.any()
    assert d.service_s["swab"].shape == (d.count,)


def test_registration_time_is_the_qr_or_the_manual_draw():
    stages = {
        "registration": {"qr_share": 0.7, "service_s": {"qr": {"dist": "fixed", "value": 8}, "manual": {"dist": "fixed", "value": 60}}},
        "swab": {},
    }
    s = scenario(stages=stages, show_up=1.0, population=4000)
    d = draw_residents(s, s.points[0], 0)
    np.testing.assert_array_equal(d.service_s["registration"], np.where(d.qr, 8.0, 60.0))
    assert abs(d.qr.mean() - 0.7) < 0.03


def by_identity(d, name):
    return dict(zip(d.resident.tolist(), value(d, name).tolist()))


def test_common_random_numbers_service_times_do_not_depend_on_show_up():
    """A resident's swab (and every other service) time is the same whatever show_up is."""
    high = draw_residents(scenario(show_up=0.95), scenario().points[0], 2)
    low_s = scenario(show_up=0.5)
    low = draw_residents(low_s, low_s.points[0], 2)
    assert low.count < high.count
    both = set(low.resident.tolist()) & set(high.resident.tolist())
    assert len(both) > 300
    for name in ("swab_s", "temperature_s", "registration_s", "qr", "arrival_s"):
        a, b = by_identity(low, name), by_identity(high, name)
        assert all(a[r] == b[r] for r in both), name


def test_common_random_numbers_across_layouts_and_added_points():
    base = scenario()
    other = scenario(
        tents=9,
        stages={"temperature": {"servers": 3}, "registration": {"servers": 2}, "swab": {"servers": 12}},
        extra_points=({"id": "q", "population": 100, "tents": 1},),
    )
    a = draw_residents(base, base.points[0], 1)
    b = draw_residents(other, other.points[0], 1)
    assert_same_draws(a, b)


def test_common_random_numbers_swab_time_does_not_depend_on_stages_present():
    with_all = scenario()
    swab_only = scenario(stages={"swab": {}})
    a = draw_residents(with_all, with_all.points[0], 0)
    b = draw_residents(swab_only, swab_only.points[0], 0)
    np.testing.assert_array_equal(a.resident, b.resident)
    np.testing.assert_array_equal(a.service_s["swab"], b.service_s["swab"])


def test_adding_a_stage_leaves_every_other_stage_draws_unchanged():
    """Streams are keyed by stage name: a health-code check, an ID desk and an isolation tent added
    to the demo flow leave each resident's arrival, QR and temperature, registration and swab
    times as they were (common random numbers across layouts)."""
    plain = scenario()
    wider = scenario(stages={
        "health_code": {},
        "temperature": {"divert": {"share": 0.1, "to": "isolation"}},
        "id_check": {"servers": 2, "service_s": {"dist": "exponential", "mean": 20}},
        "registration": {},
        "swab": {},
        "isolation": {"service_s": {"dist": "fixed", "value": 600}},
    })
    a = draw_residents(plain, plain.points[0], 1)
    b = draw_residents(wider, wider.points[0], 1)
    assert_same_draws(a, b)
    assert list(b.service_s) == ["health_code", "temperature", "id_check", "registration", "swab", "isolation"]
    assert not np.array_equal(b.service_s["id_check"][:100], b.service_s["health_code"][:100])
    np.testing.assert_array_equal(b.service_s["isolation"], 600.0)
    # A plain stage's draws are its own: the same under any other name is another stream.
    renamed = scenario(stages={"id_desk": {"servers": 2, "service_s": {"dist": "exponential", "mean": 20}}, "swab": {}})
    assert not np.array_equal(draw_residents(renamed, renamed.points[0], 1).service_s["id_desk"], b.service_s["id_check"])


def test_a_divert_takes_its_share_and_a_larger_share_keeps_those_diverted():
    def routes(share, second=0.0):
        divert = [{"share": share, "to": "isolation"}] + ([{"share": second, "to": "ward"}] if second else [])
        stages = {"temperature": {"divert": divert}, "swab": {}, "isolation": {"service_s": {"dist": "fixed", "value": 60}}}
        if second:
            stages["ward"] = {"service_s": {"dist": "fixed", "value": 60}}
        s = scenario(stages=stages, show_up=1.0, population=20_000)
        return draw_residents(s, s.points[0], 0).divert["temperature"]

    small, large, two = routes(0.05), routes(0.2), routes(0.05, 0.1)
    assert small.dtype == np.int8 and set(np.unique(small).tolist()) == {-1, 0}
    assert abs((small == 0).mean() - 0.05) < 0.006 and abs((large == 0).mean() - 0.2) < 0.012
    assert np.all(large[small == 0] == 0)  # raising the share keeps every diverted resident diverted
    np.testing.assert_array_equal(two == 0, small == 0)  # a second route leaves the first as it was
    assert abs((two == 1).mean() - 0.1) < 0.008


def test_points_of_a_scenario_draw_independently():
    s = scenario(extra_points=({"id": "q", "population": 800, "tents": 4},))
    a, b = draw_residents(s, s.points[0], 0), draw_residents(s, s.points[1], 0)
    assert not np.array_equal(a.service_s["swab"][:100], b.service_s["swab"][:100])


def test_poisson_walk_ins_are_identities_in_arrival_order():
    s = scenario(arrivals={"kind": "poisson", "rate_per_hour": 30}, population=1000)
    d = draw_residents(s, s.points[0], 0)
    np.testing.assert_array_equal(d.resident, np.arange(d.count))
    assert d.no_show == 0  # docs/scenario-format.md: walk-ins who never come are not no-shows
    capped_s = scenario(arrivals={"kind": "poisson", "rate_per_hour": 30}, population=100)
    capped = draw_residents(capped_s, capped_s.points[0], 0)
    assert capped.count == 100
    np.testing.assert_array_equal(capped.arrival_s, d.arrival_s[:100])
    np.testing.assert_array_equal(capped.service_s["swab"], d.service_s["swab"][:100])


def test_empty_point():
    s = scenario(population=0)
    d = draw_residents(s, s.points[0], 0)
    assert d.count == 0 and d.no_show == 0
    assert all(value(d, f).size == 0 for f in FIELDS)


def test_resident_draws_are_frozen():
    s = scenario()
    d = draw_residents(s, s.points[0], 0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.no_show = 0


# ------------------------------------------------------------------ multi-day rounds, home sampling, set-up


def round_scenario(population=3000, home=None, setup=None, arrivals=None, days=2, seed=5):
    point = {"id": "p", "population": population, "tents": 2}
    if home is not None:
        point["home"] = home
    if setup is not None:
        point["setup_min"] = setup
    return validate_scenario(
        {
            "name": "round",
            "seed": seed,
            "clock": {"open": "08:00", "close": "12:00"},
            "round": {"days": days},
            "points": [point],
            "arrivals": arrivals
            or {
                # 8 calls a day of 10 households of ~2: about 320 of the roster are reached over two days.
                "kind": "calling",
                "batch_households": 10,
                "gap_min": 30,
                "household_size": 2.0,
                "show_up": 0.8,
            },
        }
    )


def test_draws_carry_the_day_of_each_arrival_and_who_was_not_called():
    s = round_scenario()
    d = draw_residents(s, s.points[0], 0)
    assert d.day.shape == (d.count,) and d.days is d.day
    assert set(np.unique(d.day).tolist()) == {0, 1}
    assert np.all(np.diff(d.arrival_s) >= 0)
    np.testing.assert_array_equal(d.day, np.floor(d.arrival_s / DAY_S))  # lateness 0 +- 10 min stays within the day
    assert d.not_called > 0 and d.no_show > 0
    assert d.count + d.no_show + d.not_called == 3000
    assert d.home is None and d.setup_s == 0.0


def test_days_default_to_day_zero_on_hand_made_draws():
    s = scenario()
    d = draw_residents(s, s.points[0], 0)
    made = dataclasses.replace(d, day=None)
    assert made.days.shape == (made.count,) and not made.days.any()


HOME = {
    "share": 0.2,
    "teams": 2,
    "household_size": 1.5,
    "travel_min": {"dist": "fixed", "value": 5},
    "service_min": {"dist": "fixed", "value": 2},
    "ppe_change_min": {"dist": "fixed", "value": 15},
}


def roster_partition(s, replication=0):
    """Identities of the roster arrived / no-show / not called / at home, rebuilt from the point's streams."""
    point = s.points[0]
    streams = lambda name: stream(s.seed, replication, point.id, name)  # noqa: E731
    at_home = streams("home").random(point.population) < point.home.share
    # Called plans call the whole roster; residents sampled at home are then left out.
    draw = draw_arrivals(s.arrivals_for(point), point.population, s.hours, streams)
    came = ~np.isnan(draw.arrival_s)
    away = ~at_home
    return {
        "arrived": set(np.flatnonzero(came & away).tolist()),
        "no_show": set(np.flatnonzero(draw.called & ~came & away).tolist()),
        "not_called": set(np.flatnonzero(~draw.called & away).tolist()),
        "home": set(np.flatnonzero(at_home).tolist()),
    }


def test_home_residents_are_kept_out_of_the_arrivals_and_each_resident_is_in_one_group():
    s = round_scenario(home=HOME)
    d = draw_residents(s, s.points[0], 0)
    home = d.home
    assert home is not None
    population = s.points[0].population
    # Counts: every roster member is exactly one of arrived, no-show, not called, at home.
    assert d.count + d.no_show + d.not_called + home.resident.size == population
    assert d.count > 0 and d.no_show > 0 and d.not_called > 0 and home.resident.size > 0
    assert not set(d.resident.tolist()) & set(home.resident.tolist())
    # Identities: the groups are disjoint and cover the roster, and match the draws.
    groups = roster_partition(s)
    assert sum(len(g) for g in groups.values()) == population
    assert set().union(*groups.values()) == set(range(population))
    assert groups["arrived"] == set(d.resident.tolist())
    assert groups["home"] == set(home.resident.tolist())
    assert len(groups["no_show"]) == d.no_show and len(groups["not_called"]) == d.not_called
    # The home share is drawn per resident.
    share = home.resident.size / population
    assert abs(share - 0.2) <= 3.3 * (0.2 * 0.8 / population) ** 0.5


def test_home_draws_by_household_in_roster_order_in_seconds():
    s = round_scenario(home=HOME)
    d = draw_residents(s, s.points[0], 1)
    home = d.home
    assert np.all(np.diff(home.resident) > 0)  # visiting order is roster order
    streams = lambda name: stream(s.seed, 1, "p", name)  # noqa: E731
    np.testing.assert_array_equal(home.household, household_of(home.resident.size, 1.5, streams("home_household")))
    assert home.households == int(home.household[-1]) + 1
    np.testing.assert_array_equal(home.service_s, np.full(home.resident.size, 120.0))
    np.testing.assert_array_equal(home.travel_s, np.full(home.households, 300.0))
    np.testing.assert_array_equal(home.ppe_s, np.full(home.households, 900.0))


def test_home_service_times_are_per_identity_and_in_seconds():
    home = {**HOME, "service_min": {"dist": "lognormal", "mean": 2, "sd": 0.5}, "travel_min": {"dist": "uniform", "low": 3, "high": 9}}
    s = round_scenario(home=home)
    d = draw_residents(s, s.points[0], 0)
    streams = lambda name: stream(s.seed, 0, "p", name)  # noqa: E731
    per_identity = 60.0 * sample(s.points[0].home.service_min, streams("home_service"), s.points[0].population)
    np.testing.assert_array_equal(d.home.service_s, per_identity[d.home.resident])
    assert np.all((d.home.travel_s >= 180.0) & (d.home.travel_s <= 540.0))
    assert abs(d.home.service_s.mean() - 120.0) < 10.0


def test_no_home_share_means_everyone_is_called_to_the_point():
    s = round_scenario(home={**HOME, "share": 0.0})
    d = draw_residents(s, s.points[0], 0)
    assert d.home.resident.size == 0 and d.home.households == 0
    assert d.count + d.no_show + d.not_called == s.points[0].population
    everyone = round_scenario(home={**HOME, "share": 1.0})
    d = draw_residents(everyone, everyone.points[0], 0)
    assert d.count == 0 and d.no_show == 0 and d.not_called == 0
    np.testing.assert_array_equal(d.home.resident, np.arange(everyone.points[0].population))



@pytest.mark.parametrize("service", [{"dist": "lognormal", "mean": 2, "sd": 0.5}, {"dist": "normal", "mean": 2, "sd": 0.5}])
def test_nobody_at_home_has_the_empty_arrays_drawing_for_nobody_gives(service):
    """A point with nobody sampled at home builds no home stream: its arrays are those drawing for nobody gives
    (dtypes included; a normal's draws run over the whole roster first)."""
    s = round_scenario(home={**HOME, "share": 0.0, "service_min": service})
    point = s.points[0]
    home = draw_residents(s, point, 0).home
    streams = lambda name: stream(s.seed, 0, "p", name)  # noqa: E731
    nobody = np.zeros(0, dtype=np.int64)
    drawn = {
        "resident": nobody,
        "household": household_of(0, point.home.household_size, streams("home_household")),
        "service_s": 60.0 * roster_sample(point.home.service_min, streams("home_service"), point.population, nobody),
        "travel_s": 60.0 * sample(point.home.travel_min, streams("home_travel"), 0),
        "ppe_s": 60.0 * sample(point.home.ppe_change_min, streams("home_ppe"), 0),
    }
    for name, want in drawn.items():
        got = getattr(home, name)
        assert got.dtype == want.dtype and got.shape == want.shape == (0,), name

def test_home_with_walk_ins():
    s = round_scenario(home=HOME, arrivals={"kind": "poisson", "rate_per_hour": 100})
    d = draw_residents(s, s.points[0], 0)
    assert d.no_show == 0
    assert d.count + d.not_called + d.home.resident.size == 3000
    assert not set(d.resident.tolist()) & set(d.home.resident.tolist())


@pytest.mark.parametrize("setup, seconds", [({"dist": "fixed", "value": 12.5}, 750.0), ({"dist": "fixed", "value": 0}, 0.0)])
def test_setup_delay_is_drawn_in_minutes_and_kept_in_seconds(setup, seconds):
    s = round_scenario(setup=setup)
    assert draw_residents(s, s.points[0], 0).setup_s == seconds


def test_random_setup_delay_comes_from_its_own_stream():
    s = round_scenario(setup={"dist": "uniform", "low": 20, "high": 40})
    values = [draw_residents(s, s.points[0], rep).setup_s for rep in range(5)]
    for rep, value in enumerate(values):
        assert value == 60.0 * sample(s.points[0].setup_min, stream(s.seed, rep, "p", "setup"), 1)[0]
        assert 1200.0 <= value <= 2400.0
    assert len(set(values)) == 5
    # The set-up does not change anyone's arrival or service.
    plain = round_scenario()
    assert_same_draws(draw_residents(s, s.points[0], 0), draw_residents(plain, plain.points[0], 0))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 60), st.integers(0, 2**32 - 1), st.sampled_from([0.0, 0.1, 0.5, 1.0]), st.booleans(), st.booleans())
def test_who_came_read_from_the_whole_roster_is_who_came_of_the_members(roster, seed, home_share, in_order, households):
    """``came_of_roster`` (the members' arrivals read from the whole roster's draw) against ``came_of`` of the
    members' own draw, as the draws were made before: the same identities, times, days, households, counts and
    order flag (no one at home, everyone, nobody coming, ties, times in order or not, residents not called)."""
    from simsampling.arrivals import ArrivalDraw
    from simsampling.draws import came_of, came_of_roster

    rng = np.random.default_rng(seed)
    arrival = np.round(rng.uniform(0.0, 600.0, roster) / 30.0) * 30.0  # ties
    if in_order:
        arrival = np.sort(arrival)
    called = rng.random(roster) < 0.9
    arrival[~called | (rng.random(roster) < 0.2)] = np.nan
    draw = ArrivalDraw(arrival, rng.integers(0, 3, roster).astype(np.int16), called,
                       np.sort(rng.integers(0, max(roster // 2, 1), roster)) if households else None)
    away = ~(rng.random(roster) < home_share)
    members = np.flatnonzero(away)
    of_members = ArrivalDraw(draw.arrival_s[members], draw.day[members], draw.called[members],
                             draw.household[members] if households else None)
    got, want = came_of_roster(draw, away), came_of(of_members, members)
    for a, b in zip(got, want):
        if isinstance(b, np.ndarray):
            assert isinstance(a, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
        else:
            assert a == b
