"""simsampling.model.fast against the SimPy model: the same timestamps, to the last bit.

The fast engine replays SimPy's event order (see the docstring of
``simsampling/model/fast.py``), so the two logs are compared exactly, not
within a tolerance: every timestamp array, the station of each resident,
``served`` and the arrival times the model recorded. (``assert_same_logs``
also runs the 1e-9 s ``assert_allclose`` of the specification, which an exact
match implies.)

Ties are where the engines could part: the random scenarios therefore favour
them, with ``fixed`` and ``empirical`` service times (zero included), households
arriving together with no lateness, early arrivals let in at a (delayed)
opening, several days, and both queue layouts with every registration layout;
``dense_ties`` goes further, with hand-made draws on a 5-second grid where
nearly every event shares its instant. These tests were checked to fail on
engines that break one of SimPy's ordering rules (heap before ring at an
instant, process starts not URGENT, a release or a zero-length service not
deferred, ties in join-the-shortest-line to the highest station, the store
handing out the station freed last, the source landing on an arrival without
``delay_until``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simsampling.draws import ResidentDraws, draw_residents
from simsampling.log import EventLog
from simsampling.model import simulate_point
from simsampling.model.fast import JIT, fast_scope, simulate_point_fast
from simsampling.scenario import load_scenario, validate_scenario
from simsampling.scenario.schema import DAY_S

try:  # pytest puts tests/ on sys.path (tests/ has no __init__.py)
    from unit.test_model_invariants import small_scenario_data
except ImportError:  # pragma: no cover - run from the repository root under another import mode
    from tests.unit.test_model_invariants import small_scenario_data

H = 3600.0
NAN = np.nan


# ------------------------------------------------------------------ comparing logs


def assert_same_logs(fast: EventLog, ref: EventLog) -> None:
    """Every per-resident field of the two logs is equal (NaN equal to NaN), and so are the point's."""
    assert fast.stages == ref.stages
    for stage in ref.stages:
        for name, got, want in (("start", fast.start[stage], ref.start[stage]), ("end", fast.end[stage], ref.end[stage])):
            np.testing.assert_allclose(got, want, atol=1e-9, rtol=0, equal_nan=True, err_msg=f"{stage} {name}")
            np.testing.assert_array_equal(got, want, err_msg=f"{stage} {name}: within 1e-9 s but not bit-identical")
    np.testing.assert_array_equal(fast.arrival_s, ref.arrival_s, err_msg="arrival_s")
    np.testing.assert_array_equal(fast.station, ref.station, err_msg="station")
    np.testing.assert_array_equal(fast.served, ref.served, err_msg="served")
    assert fast.station.dtype == ref.station.dtype and fast.served.dtype == ref.served.dtype
    for name in ("resident", "qr", "day", "left", "left_s", "left_stage", "balks"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(ref, name), err_msg=name)
    for name in ("point_id", "replication", "open_s", "close_s", "population", "no_show", "servers", "hours", "setup_s",
                 "not_called", "pool_ratio", "waiting_capacity", "plan", "home", "tube", "tubes", "overhead_s", "priority"):
        assert getattr(fast, name) == getattr(ref, name), name
    assert fast.closures.role.size == 0 and ref.closures.role.size == 0


def both(point, hours, draws, replication=0):
    return simulate_point_fast(point, hours, draws, replication), simulate_point(point, hours, draws, replication)


# ------------------------------------------------------------------ random scenarios, ties favoured


def tied_durations(low: float, high: float):
    """Service times that tie often: fixed (zero included) or a few empirical values, sometimes continuous."""
    mid = round((low + high) / 2)
    return st.one_of(
        st.builds(lambda v: {"dist": "fixed", "value": v}, st.sampled_from([0.0, low, high, mid])),
        st.builds(lambda v: {"dist": "empirical", "values": v}, st.lists(st.sampled_from([0.0, low, mid, high]), min_size=1, max_size=3)),
        st.builds(lambda m: {"dist": "exponential", "mean": m}, st.floats(low, high)),
    )


@st.composite
def fast_scenario_data(draw):
    """``small_scenario_data`` of the invariant tests, with ties, more days, a set-up and household calls."""
    data = draw(small_scenario_data())
    point = data["points"][0]
    stages = point["stages"]
    if draw(st.booleans()):  # tie-prone service times
        stages["swab"]["service_s"] = draw(tied_durations(5, 90))
        if "temperature" in stages:
            stages["temperature"]["service_s"] = draw(tied_durations(1, 10))
        if "registration" in stages:
            stages["registration"]["service_s"] = {"qr": draw(tied_durations(2, 15)), "manual": draw(tied_durations(20, 90))}
    open_h, close_h = (int(data["clock"][key][:2]) for key in ("open", "close"))
    days = draw(st.integers(1, 3))
    data["round"] = {"days": days}
    if draw(st.booleans()):
        data["points"][0]["setup_min"] = draw(st.sampled_from([{"dist": "fixed", "value": 20.0}, {"dist": "uniform", "low": 0, "high": 90}]))
    arrivals = data["arrivals"]
    if arrivals["kind"] == "slots":
        for slot in arrivals["slots"]:
            slot["day"] = draw(st.integers(0, days - 1))
    if draw(st.booleans()):
        # Households called together; no lateness: whole batches arrive at the same instant.
        lateness = draw(st.sampled_from([{"dist": "fixed", "value": 0.0}, {"dist": "fixed", "value": -20.0}, {"dist": "normal", "mean": 0, "sd": 10}]))
        data["arrivals"] = {
            "kind": "calling",
            "batch_households": draw(st.integers(1, 20)),
            "gap_min": draw(st.sampled_from([1.0, 5.0, 15.0, 0.5])),
            "household_size": draw(st.floats(1, 4)),
            "start": f"{draw(st.integers(open_h, close_h - 1)):02d}:00",
            "day": draw(st.integers(0, days - 1)),
            "show_up": draw(st.floats(0.5, 1)),
            "lateness_min": lateness,
        }
    if draw(st.booleans()):
        # Staff plans that close nothing stay in scope: marshals, relief without breaks, extra samplers.
        point["staff"] = {"marshals": draw(st.integers(0, 3)), "relief": draw(st.integers(0, 2))}
    if draw(st.booleans()):
        point["waiting_area"] = {"length_m": draw(st.floats(1, 100))}
    return data


fast_scenarios = fast_scenario_data().map(validate_scenario)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=fast_scenarios, replication=st.integers(0, 5))
def test_same_log_as_simpy_on_random_small_scenarios(scenario, replication):
    point = scenario.points[0]
    assert fast_scope(point, scenario) is None
    draws = draw_residents(scenario, point, replication)
    assert_same_logs(*both(point, scenario.hours, draws, replication))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=small_scenario_data(), replication=st.integers(0, 5))
def test_same_log_as_simpy_on_the_invariant_tests_scenarios(data, replication):
    scenario = validate_scenario(data)
    point = scenario.points[0]
    draws = draw_residents(scenario, point, replication)
    assert_same_logs(*both(point, scenario.clock, draws, replication))


@st.composite
def dense_ties(draw):
    """A point and hand-made draws on a coarse grid: arrivals every few seconds, service times of 0-15 s.

    Nearly every event shares its instant with others: arrivals with service ends,
    service ends with each other, openings with arrivals, zero-length services.
    """
    registration = draw(st.sampled_from([None, "per_tent", 1, 2]))
    stages = {"swab": {}}
    if draw(st.booleans()):
        stages["temperature"] = {"servers": draw(st.integers(1, 2))}
    if registration is not None:
        stages["registration"] = {"servers": registration}
    point = make_point(tents=draw(st.integers(1, 3)), stages=stages, queue=draw(st.sampled_from(["shared", "per_tent"])))
    days = draw(st.integers(1, 2))
    opening = draw(st.sampled_from([0.0, O]))  # at midnight, early arrivals come before the clock's zero
    hours = [(d * DAY_S + opening, d * DAY_S + opening + 300.0) for d in range(days)]
    n = draw(st.integers(0, 40))
    day = sorted(draw(st.lists(st.integers(0, days - 1), min_size=n, max_size=n)))
    # Arrivals from 100 s before to 100 s after each day's opening hours, on a 5-second grid.
    arrival = [d * DAY_S + opening + 5.0 * draw(st.integers(-20, 80)) for d in day]
    order = np.argsort(arrival, kind="stable")
    grid = st.sampled_from([0.0, 5.0, 10.0, 15.0])
    services = lambda present: [draw(grid) for _ in range(n)] if present else None  # noqa: E731
    draws = make_draws(
        np.asarray(arrival)[order],
        services(True),
        temperature=services("temperature" in stages),
        registration=services(registration is not None),
        day=np.asarray(day)[order],
        setup_s=draw(st.sampled_from([0.0, 10.0, 25.0])),
    )
    return point, hours, draws


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=dense_ties())
def test_same_log_as_simpy_when_nearly_every_event_is_tied(case):
    assert_same_logs(*both(*case))


@pytest.mark.parametrize("name", ["one-point-demo", "one-point-morning-rush", "walk-in-swab-only"])
def test_same_log_as_simpy_on_the_shipped_single_points(name):
    scenario = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / f"{name}.yaml")
    for point in scenario.points:
        assert fast_scope(point, scenario) is None
        draws = draw_residents(scenario, point, 0)
        fast, ref = both(point, scenario.hours, draws)
        assert fast.sampled > 1000
        assert_same_logs(fast, ref)


# ------------------------------------------------------------------ hand-computed cases


def make_point(tents=1, stages=None, queue="shared", **extra):
    point = {"id": "p", "population": 100, "tents": tents, "queue": queue, "stages": stages or {"swab": {}}, **extra}
    scenario = validate_scenario({"name": "hand-made", "points": [point], "arrivals": {"kind": "poisson", "rate_per_hour": 1}})
    return scenario.points[0]


def make_draws(arrival, swab, temperature=None, registration=None, day=None, setup_s=0.0) -> ResidentDraws:
    n = len(arrival)
    return ResidentDraws(
        resident=np.arange(n, dtype=np.int64),
        arrival_s=np.asarray(arrival, dtype=float),
        qr=np.zeros(n, dtype=bool),
        temperature_s=np.asarray(temperature if temperature is not None else [], dtype=float),
        registration_s=np.asarray(registration if registration is not None else [], dtype=float),
        swab_s=np.asarray(swab, dtype=float),
        no_show=0,
        day=None if day is None else np.asarray(day, dtype=np.int16),
        setup_s=setup_s,
    )


HOURS = [(7 * H, 8 * H)]
O = 7 * H  # the opening


def test_early_arrivals_enter_at_the_delayed_opening_in_arrival_order():
    """Set-up of 10 min: three early residents, one station, 30 s swabs; the fourth arrives after closing."""
    draws = make_draws([6 * H, 6.5 * H, 6.9 * H, 8 * H + 1], [30.0] * 4, setup_s=600.0)
    fast, ref = both(make_point(), HOURS, draws)
    assert_same_logs(fast, ref)
    o = O + 600
    np.testing.assert_array_equal(fast.start["swab"], [o, o + 30, o + 60, NAN])
    np.testing.assert_array_equal(fast.served, [True, True, True, False])
    np.testing.assert_array_equal(fast.station, [0, 0, 0, -1])


def test_paired_registrar_waits_with_the_resident_for_the_sampler():
    """One station, registrar paired: register 10 s, swab 60 s, three residents at the opening.

    Resident 1 registers 7:00:10-7:00:20 and holds the registrar until the swab of
    resident 0 ends at 7:01:10; only then can resident 2 register.
    """
    stages = {"registration": {"servers": "per_tent"}, "swab": {}}
    draws = make_draws([6 * H] * 3, [60.0] * 3, registration=[10.0] * 3)
    fast, ref = both(make_point(stages=stages), HOURS, draws)
    assert_same_logs(fast, ref)
    np.testing.assert_array_equal(fast.start["registration"], [O, O + 10, O + 70])
    np.testing.assert_array_equal(fast.start["swab"], [O + 10, O + 70, O + 130])


def test_shared_line_goes_to_the_station_free_the_longest():
    """Three stations, swabs of 100, 10, 50 s from the opening: the fourth resident takes
    station 1 (free at 10 s), the fifth station 2 (free at 50 s), the sixth station 1 again
    (free at 60 s) before station 0 (free at 100 s)."""
    draws = make_draws([6 * H] * 6, [100.0, 10.0, 50.0, 50.0, 30.0, 5.0])
    fast, ref = both(make_point(tents=3), HOURS, draws)
    assert_same_logs(fast, ref)
    np.testing.assert_array_equal(fast.station, [0, 1, 2, 1, 2, 1])
    np.testing.assert_array_equal(fast.start["swab"], [O, O, O, O + 10, O + 50, O + 60])


def test_per_tent_lines_join_the_shortest_and_ties_go_to_the_lowest_station():
    """Two stations, per-station lines, four residents at the opening: lines 0,1,0,1."""
    draws = make_draws([6 * H] * 4, [40.0, 10.0, 40.0, 10.0])
    fast, ref = both(make_point(tents=2, queue="per_tent"), HOURS, draws)
    assert_same_logs(fast, ref)
    np.testing.assert_array_equal(fast.station, [0, 1, 0, 1])
    np.testing.assert_array_equal(fast.start["swab"], [O, O, O + 40, O + 10])


def test_a_resident_arriving_as_another_leaves_the_entrance_check():
    """One entrance server, 10 s checks; resident 0 at 7:00, resident 1 exactly at 7:00:10, resident 2 at 7:00:05.

    Resident 2 queued first, so it takes the server when resident 0 leaves, at 7:00:10;
    resident 1 arrives at that instant and goes after it, at 7:00:20.
    """
    stages = {"temperature": {"service_s": {"dist": "fixed", "value": 10}}, "swab": {}}
    draws = make_draws([O, O + 5, O + 10], [1.0] * 3, temperature=[10.0] * 3)
    fast, ref = both(make_point(tents=3, stages=stages), HOURS, draws)
    assert_same_logs(fast, ref)
    np.testing.assert_array_equal(fast.start["temperature"], [O, O + 10, O + 20])


def test_zero_service_times_pass_every_stage_in_the_same_instant():
    """Zero-length checks, desks and swabs: everyone is through at the instant it is let in."""
    stages = {"temperature": {"servers": 1}, "registration": {"servers": 2}, "swab": {}}
    draws = make_draws([6 * H, 6 * H, O + 1], [0.0] * 3, temperature=[0.0] * 3, registration=[0.0] * 3)
    fast, ref = both(make_point(tents=2, stages=stages), HOURS, draws)
    assert_same_logs(fast, ref)
    np.testing.assert_array_equal(fast.end["swab"], [O, O, O + 1])


def test_second_day_opening_and_overtime():
    """Two days, 07:00-08:00, one station: a 2-hour swab begun at 07:59 runs past day 0's closing, the
    resident who came at 08:00 sharp (admitted) follows at 09:59, and a day-1 resident who came at
    23:00 the day before starts at day 1's opening."""
    hours = [(d * DAY_S + 7 * H, d * DAY_S + 8 * H) for d in range(2)]
    draws = make_draws([7 * H + 59 * 60, 8 * H, 23 * H], [2 * H, 60.0, 60.0], day=[0, 0, 1])
    fast, ref = both(make_point(), hours, draws)
    assert_same_logs(fast, ref)
    np.testing.assert_array_equal(fast.start["swab"], [7 * H + 59 * 60, 9 * H + 59 * 60, DAY_S + 7 * H])


def test_empty_point():
    fast, ref = both(make_point(), HOURS, make_draws([], []))
    assert_same_logs(fast, ref)
    assert fast.arrived == 0 and fast.sampled == 0


# ------------------------------------------------------------------ scope


def scenario_with(**point_fields):
    point = {"id": "p", "population": 50, "tents": 2, **point_fields}
    return validate_scenario({"name": "scope", "points": [point], "arrivals": {"kind": "poisson", "rate_per_hour": 30}})


@pytest.mark.parametrize(
    "fields, reason",
    [
        ({"pooling": {"ratio": 5}}, "pooled tubes"),
        ({"home": {"share": 0.1}}, "home"),
        ({"green_channel": {"share": 0.1}}, "green_channel"),
        ({"balking": {"threshold": {"dist": "fixed", "value": 5}, "return_share": 0.5}}, "balking"),
        ({"reneging": {"patience_min": {"dist": "fixed", "value": 30}}}, "reneging"),
        ({"stages": {"swab": {"disinfection_s": {"dist": "fixed", "value": 5}}}}, "disinfection_s"),
        ({"staff": {"breaks": {"every_min": 60, "length_min": 10}}}, "closes slots"),
        ({"staff": {"samplers": 1}}, "closes slots"),
    ],
)
def test_points_out_of_scope_are_refused_with_a_reason(fields, reason):
    scenario = scenario_with(**fields)
    point = scenario.points[0]
    found = fast_scope(point, scenario)
    assert found is not None and reason in found
    with pytest.raises(ValueError, match="fast engine cannot simulate"):
        simulate_point_fast(point, scenario.hours, draw_residents(scenario, point, 0))


def test_a_sample_chain_pools_every_point_and_is_out_of_scope():
    scenario = validate_scenario(
        {
            "name": "chain",
            "points": [{"id": "p", "population": 50, "tents": 2}],
            "arrivals": {"kind": "poisson", "rate_per_hour": 30},
            "chain": {"labs": [{"id": "lab"}]},
        }
    )
    assert "pooled tubes" in fast_scope(scenario.points[0], scenario)


def test_points_in_scope():
    for fields in ({}, {"queue": "per_tent"}, {"staff": {"marshals": 2, "relief": 1}}, {"waiting_area": {"length_m": 20}}, {"setup_min": {"dist": "fixed", "value": 30}}):
        scenario = scenario_with(**fields)
        assert fast_scope(scenario.points[0], scenario) is None, fields


def test_compiled():
    """The engine is compiled when numba is installed (plain Python is exact too, but slow)."""
    pytest.importorskip("numba")
    assert JIT
