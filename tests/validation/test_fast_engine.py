"""simsampling.model.fast against the SimPy model: the same timestamps, to the last bit.

The fast engine replays SimPy's event order (see the docstring of
``simsampling/model/fast/__init__.py``), so the two logs are compared exactly, not
within a tolerance: every timestamp array, the station of each resident,
``served``, the arrival times the model recorded, who balked or reneged (when,
where, how often), the closure log row by row in SimPy's order, and the
door-to-door teams' log. (``assert_same_logs`` also runs the 1e-9 s
``assert_allclose`` of the specification, which an exact match implies.)

Ties are where the engines could part: the random scenarios therefore favour
them, with ``fixed`` and ``empirical`` service times (zero included), households
arriving together with no lateness, early arrivals let in at a (delayed)
opening, several days, and both queue layouts with every registration layout;
staff plans close slots on the hour or half hour, when services end and
residents arrive; balking thresholds, return delays and patience are fixed or
empirical too. ``dense_ties`` and ``dense_people`` go further, with hand-made
draws on a coarse grid where nearly every event shares its instant: arrivals,
service ends, openings, closures, breaks, balkers' returns and residents'
patience running out. The phase-1 tests were checked to fail on engines that
break one of SimPy's ordering rules (heap before ring at an instant, process
starts not URGENT, a release or a zero-length service not deferred, ties in
join-the-shortest-line to the highest station, the store handing out the
station freed last, the source landing on an arrival without ``delay_until``);
those of phase 2 on engines that grant a closure's blocker behind the waiting
residents, park a station being closed into the free list, resume a reneging
resident directly instead of through its condition, or let a priority resident
queue behind the others.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simsampling.draws import HomeDraws, ResidentDraws, draw_residents
from simsampling.log import BALKED, RENEGED, EventLog
from simsampling.model import simulate_point
from simsampling.model.fast import JIT, fast_scope, simulate_point_fast
from simsampling.scenario import load_scenario, validate_scenario
from simsampling.scenario.schema import DAY_S

try:  # pytest puts tests/ on sys.path (tests/ has no __init__.py)
    from unit.test_model_invariants import people_scenarios, small_scenario_data, stage_times
except ImportError:  # pragma: no cover - run from the repository root under another import mode
    from tests.unit.test_model_invariants import people_scenarios, small_scenario_data, stage_times

H = 3600.0
NAN = np.nan


# ------------------------------------------------------------------ comparing logs


def assert_same_array(got, want, what: str) -> None:
    if want is None:
        assert got is None, what
        return
    assert got is not None, what
    np.testing.assert_array_equal(got, want, err_msg=what)
    assert np.asarray(got).dtype == np.asarray(want).dtype, what


def assert_same_logs(fast: EventLog, ref: EventLog) -> None:
    """Every per-resident field of the two logs is equal (NaN equal to NaN), and so are the point's."""
    assert fast.stages == ref.stages and fast.sources == ref.sources
    for stage in ref.stages:
        for name, got, want in (("start", fast.start[stage], ref.start[stage]), ("end", fast.end[stage], ref.end[stage])):
            np.testing.assert_allclose(got, want, atol=1e-9, rtol=0, equal_nan=True, err_msg=f"{stage} {name}")
            np.testing.assert_array_equal(got, want, err_msg=f"{stage} {name}: within 1e-9 s but not bit-identical")
    for name in ("arrival_s", "station", "served", "resident", "qr", "day", "left", "left_s", "left_stage", "balks",
                 "priority", "overhead_s", "infected", "recall_s"):
        assert_same_array(getattr(fast, name), getattr(ref, name), name)
    for name in ("point_id", "replication", "open_s", "close_s", "population", "no_show", "servers", "hours", "setup_s",
                 "not_called", "pool_ratio", "waiting_capacity", "plan", "tube", "tubes"):
        assert getattr(fast, name) == getattr(ref, name), name
    # The closure log: the same rows, in the order SimPy recorded them.
    for name in ("role", "slot", "scheduled_s", "start_s", "end_s", "reason"):
        assert_same_array(getattr(fast.closures, name), getattr(ref.closures, name), f"closures.{name}")
    if ref.home is None:
        assert fast.home is None
    else:
        for name in ("resident", "household", "team", "start_s", "end_s"):
            assert_same_array(getattr(fast.home, name), getattr(ref.home, name), f"home.{name}")
        assert (fast.home.teams, fast.home.team_size) == (ref.home.teams, ref.home.team_size)


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
        # The laws `simsampling fit` writes: drawn before the model, like every other law.
        st.builds(lambda k, m: {"dist": "gamma", "shape": k, "scale": m / k}, st.sampled_from([0.5, 2.0, 8.0]), st.floats(low, high)),
        st.builds(lambda k, m: {"dist": "weibull", "shape": k, "scale": m}, st.sampled_from([0.8, 1.5, 4.0]), st.floats(low, high)),
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
        point["staff"] = {"marshals": draw(st.integers(0, 3)), "relief": draw(st.integers(0, 2))}
    if draw(st.booleans()):
        point["waiting_area"] = {"length_m": draw(st.floats(1, 100))}
    return data


fast_scenarios = fast_scenario_data().map(validate_scenario)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=fast_scenarios, replication=st.integers(0, 5))
def test_same_log_as_simpy_on_random_small_scenarios(scenario, replication):
    point = scenario.points[0]
    assert fast_scope(point, scenario) is None
    draws = draw_residents(scenario, point, replication)
    assert_same_logs(*both(point, scenario.hours, draws, replication))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=small_scenario_data(), replication=st.integers(0, 5))
def test_same_log_as_simpy_on_the_invariant_tests_scenarios(data, replication):
    scenario = validate_scenario(data)
    point = scenario.points[0]
    draws = draw_residents(scenario, point, replication)
    assert_same_logs(*both(point, scenario.clock, draws, replication))


def tied_minutes(values):
    """A duration in minutes that ties: fixed or empirical over a few round values."""
    return st.one_of(
        st.builds(lambda v: {"dist": "fixed", "value": v}, st.sampled_from(values)),
        st.builds(lambda v: {"dist": "empirical", "values": v}, st.lists(st.sampled_from(values), min_size=1, max_size=3)),
    )


@st.composite
def fast_people_data(draw):
    """``fast_scenario_data`` with staff plans that close slots, balking, reneging, green channels,
    disinfection and door-to-door teams, their times on round values so that they tie."""
    data = draw(fast_scenario_data())
    point = data["points"][0]
    stages = point["stages"]
    open_h, close_h = (int(data["clock"][key][:2]) for key in ("open", "close"))
    stations = point["tents"] if stages["swab"]["servers"] == "per_tent" else stages["swab"]["servers"]
    staff = {"relief": draw(st.integers(0, 2))}
    if draw(st.booleans()):
        staff["breaks"] = {"every_min": draw(st.sampled_from([10, 20, 30, 45, 60])), "length_min": draw(st.sampled_from([1, 5, 10, 15])),
                           "stagger_min": draw(st.sampled_from([0, 5, 10]))}
    roles = ["sampler"] + [role for role, stage in (("registrar", "registration"), ("temperature", "temperature"))
                           if stage in stages and not (stage == "registration" and stages[stage]["servers"] == "per_tent")]
    marks = [f"{m // 2:02d}:{30 * (m % 2):02d}" for m in range(open_h * 2, close_h * 2 + 1)]  # on the hour or half hour
    if draw(st.booleans()):
        staff["rota"] = []
        for _ in range(draw(st.integers(1, 4))):
            start = draw(st.integers(0, len(marks) - 2))
            end = draw(st.integers(start + 1, len(marks) - 1))
            staff["rota"].append({"role": draw(st.sampled_from(roles)), "count": draw(st.integers(0, stations + 1)),
                                  "start": marks[start], "end": marks[end]})
    else:
        staff["samplers"] = draw(st.integers(0, stations + 1))
    in_rota = {shift["role"] for shift in staff.get("rota", [])}
    if "registrar" in roles and "registrar" not in in_rota and draw(st.booleans()):
        staff["registrars"] = draw(st.integers(0, stages["registration"]["servers"]))
    if "temperature" in roles and "temperature" not in in_rota and draw(st.booleans()):
        staff["temperature"] = draw(st.integers(0, stages["temperature"]["servers"]))
    if draw(st.booleans()):
        point["staff"] = staff
    if draw(st.booleans()):
        point["balking"] = {"threshold": draw(tied_minutes([0, 1, 2, 3, 5, 10])), "return_share": draw(st.sampled_from([0.0, 0.5, 1.0])),
                            "return_after_min": draw(tied_minutes([0, 0.5, 1, 5, 30]))}
    if draw(st.booleans()):
        point["reneging"] = {"patience_min": draw(tied_minutes([0, 0.5, 1, 5, 15, 60]))}
    if draw(st.booleans()):
        channel = "dedicated" if stations > 1 and draw(st.booleans()) else "priority"
        point["green_channel"] = {"share": draw(st.sampled_from([0.1, 0.5, 0.9])), "channel": channel,
                                  "stations": draw(st.integers(1, max(1, stations - 1))), "service_factor": draw(st.sampled_from([1.0, 2.0]))}
    if draw(st.booleans()):
        stages["swab"]["disinfection_s"] = draw(tied_durations(5, 15))
    if draw(st.booleans()):
        point["home"] = {"share": draw(st.sampled_from([0.05, 0.3])), "teams": draw(st.integers(1, 3)), "household_size": draw(st.floats(1, 3)),
                         "travel_min": draw(tied_minutes([0, 1, 5, 30])), "service_min": draw(tied_minutes([0, 1, 2])),
                         "ppe_change_min": draw(tied_minutes([0, 1, 15]))}
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=fast_people_data(), replication=st.integers(0, 5))
def test_same_log_as_simpy_with_staff_plans_and_resident_behaviour(data, replication):
    same_log_for(data, replication)


def same_log_for(data: dict, replication: int) -> None:
    """The scenario's one point, in the fast engine's scope, logs the same on both engines."""
    scenario = validate_scenario(data)
    point = scenario.points[0]
    assert fast_scope(point, scenario) is None
    draws = draw_residents(scenario, point, replication)
    assert_same_logs(*both(point, scenario.hours, draws, replication))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=people_scenarios(), replication=st.integers(0, 3))
def test_same_log_as_simpy_on_the_invariant_tests_people_scenarios(scenario, replication):
    point = scenario.points[0]
    draws = draw_residents(scenario, point, replication)
    assert_same_logs(*both(point, scenario.clock, draws, replication))


PLAIN_NAMES = ("health_code", "id_check", "qr_desk")


@st.composite
def random_flow(draw, stages: dict, stations: int, dedicated: int = 0) -> dict:
    """``stages`` (temperature, registration, swab as drawn) with plain stages put anywhere before
    swab (not between a paired registration and swab), side stages reached by diverts (a chain
    of two, sometimes), and reserved stations; service times that tie often."""
    main = [name for name in stages if name != "swab"]
    paired = stages.get("registration", {}).get("servers") == "per_tent"
    for name in draw(st.lists(st.sampled_from(PLAIN_NAMES), unique=True, max_size=2)):
        last = len(main) - (1 if paired and main and main[-1] == "registration" else 0)
        main.insert(draw(st.integers(0, max(0, last))), name)
        stages[name] = {"servers": draw(st.sampled_from(["per_tent", 1, 2, 3])), "service_s": draw(tied_durations(1, 30))}
        if name == "health_code" and draw(st.booleans()):
            del stages[name]["service_s"]  # the kind's default
    divertible = [name for name in main if not (name == "registration" and paired)]
    sides = draw(st.lists(st.sampled_from(["isolation", "ward"]), unique=True, max_size=2)) if divertible else []
    share = st.sampled_from([0.1, 0.3, 0.5, 1.0])
    for side in sides:
        stages[side] = {"servers": draw(st.sampled_from([1, 2])), "service_s": draw(tied_durations(1, 60))}
    if sides:
        routes = {}
        for name in draw(st.lists(st.sampled_from(divertible), unique=True, min_size=1, max_size=2)):
            routes.setdefault(name, []).append({"share": draw(share), "to": sides[0]})
        if len(sides) == 2:
            source = draw(st.sampled_from(divertible + [sides[0]]))
            routes.setdefault(source, []).append({"share": draw(st.sampled_from([0.1, 0.3])), "to": sides[1]})
        for name, ways in routes.items():
            total = sum(way["share"] for way in ways)
            for way in ways:
                way["share"] = way["share"] / max(total, 1.0)
            stages[name]["divert"] = ways if len(ways) > 1 or draw(st.booleans()) else ways[0]
    if stations > dedicated + 1 and draw(st.booleans()):
        stages["swab"]["reserved"] = {"share": draw(st.sampled_from([0.2, 0.5])), "stations": draw(st.integers(1, stations - dedicated - 1))}
    return {name: stages[name] for name in (*main, "swab", *sides)}


@st.composite
def fast_flow_data(draw):
    """``fast_people_data`` with a random flow: plain stages (staffed by counts or shifts of their
    own role), side routes and reserved stations."""
    data = draw(fast_people_data())
    point = data["points"][0]
    stations = point["tents"] if point["stages"]["swab"]["servers"] == "per_tent" else point["stages"]["swab"]["servers"]
    green = point.get("green_channel", {})
    dedicated = green.get("stations", 0) if green.get("channel") == "dedicated" else 0
    point["stages"] = draw(random_flow(point["stages"], stations, dedicated))
    staff = point.get("staff")
    if staff is not None:
        for name in point["stages"]:
            if name in PLAIN_NAMES + ("isolation", "ward") and draw(st.booleans()):
                if staff.get("rota") and draw(st.booleans()):
                    staff["rota"].append({"role": name, "count": draw(st.integers(0, 2)), "start": staff["rota"][0]["start"],
                                          "end": staff["rota"][0]["end"]})
                else:
                    staff[name] = draw(st.integers(0, 3))
    return data


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=fast_flow_data(), replication=st.integers(0, 5))
def test_same_log_as_simpy_on_random_flows(data, replication):
    same_log_for(data, replication)


@st.composite
def dense_flows(draw):
    """``dense_people``'s grid of tied instants on a random flow: plain and side stages served in
    0-15 s, every divert and reserved lane drawn by hand, staff closing plain stages too."""
    tents = draw(st.integers(1, 4))
    registration = draw(st.sampled_from([None, "per_tent", 1, 2]))
    base = {"temperature": {"servers": draw(st.integers(1, 2))}} if draw(st.booleans()) else {}
    if registration is not None:
        base["registration"] = {"servers": registration}
    base["swab"] = {}
    green = draw(st.sampled_from([None, "priority", "dedicated"] if tents > 1 else [None, "priority"]))
    stages = draw(random_flow(base, tents, 1 if green == "dedicated" else 0))  # its service times are not drawn: the draws are by hand
    extra = {}
    plain = [name for name in stages if name in PLAIN_NAMES + ("isolation", "ward")]
    if draw(st.booleans()):
        roles = ["sampler"] + plain
        shifts = []
        for _ in range(draw(st.integers(1, 3))):
            start = draw(st.integers(0, 19))
            shifts.append({"role": draw(st.sampled_from(roles)), "count": draw(st.integers(0, 2)), "start": f"07:{start:02d}",
                           "end": f"07:{draw(st.integers(start + 1, 20)):02d}"})
        extra["staff"] = {"rota": shifts}
    if green is not None:
        extra["green_channel"] = {"share": 0.5, "channel": green, "stations": 1}
    point = make_point(tents=tents, stages=stages, queue=draw(st.sampled_from(["shared", "per_tent"])), **extra)
    flow = point.flow
    hours = [(O, O + 1200.0)]
    n = draw(st.integers(0, 50))
    arrival = sorted(O + 15.0 * draw(st.integers(-8, 84)) for _ in range(n))
    grid = st.sampled_from([0.0, 15.0, 30.0, 60.0])
    services = {stage.name: [draw(grid) for _ in range(n)] for stage in flow.stages}
    divert = {stage.name: np.asarray([draw(st.sampled_from([-1] * 3 + list(range(len(stage.routes))))) for _ in range(n)], dtype=np.int8)
              for stage in flow.stages if stage.routes}
    reserved = np.asarray([draw(st.booleans()) for _ in range(n)], dtype=bool) if point.stages.swab.reserved is not None else None
    draws = make_draws(arrival, services.pop("swab"), services=services, divert=divert, reserved=reserved,
                       priority=[draw(st.booleans()) for _ in range(n)] if green is not None else None,
                       patience_s=[draw(st.sampled_from([15.0, 60.0, 300.0])) for _ in range(n)] if draw(st.booleans()) else None)
    return point, hours, draws


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=dense_flows())
def test_same_log_as_simpy_on_random_flows_when_nearly_every_event_is_tied(case):
    assert_same_logs(*both(*case))


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


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=dense_ties())
def test_same_log_as_simpy_when_nearly_every_event_is_tied(case):
    assert_same_logs(*both(*case))


@st.composite
def dense_people(draw):
    """``dense_ties`` with staff plans, balking, reneging, a green channel and disinfection, all on a 15-second grid.

    Opening hours of 20 minutes; rota shifts and breaks on minute marks, when
    residents arrive and services end; balkers come back, and patience runs
    out, on the same grid.
    """
    tents = draw(st.integers(1, 3))
    registration = draw(st.sampled_from([None, "per_tent", 1, 2]))
    stages = {"swab": {}}
    if draw(st.booleans()):
        stages["temperature"] = {"servers": draw(st.integers(1, 2))}
    if registration is not None:
        stages["registration"] = {"servers": registration}
    roles = ["sampler"] + (["temperature"] if "temperature" in stages else []) + (["registrar"] if registration in (1, 2) else [])
    staff = {"relief": draw(st.integers(0, 1))}
    if draw(st.booleans()):
        staff["breaks"] = {"every_min": draw(st.sampled_from([1, 2, 3])), "length_min": draw(st.sampled_from([0.5, 1, 2])),
                           "stagger_min": draw(st.sampled_from([0, 0.5, 1]))}
    shape = draw(st.sampled_from(["rota", "shift change", "counts"]))
    if shape == "rota":
        staff["rota"] = []
        for _ in range(draw(st.integers(1, 4))):
            start = draw(st.integers(0, 19))
            end = draw(st.integers(start + 1, 20))
            staff["rota"].append({"role": draw(st.sampled_from(roles)), "count": draw(st.integers(0, tents)),
                                  "start": f"07:{start:02d}", "end": f"07:{end:02d}"})
    elif shape == "shift change":
        # Samplers leave mid-way with their lines still full: a closing station serves its line out first.
        change = draw(st.integers(2, 12))
        staff["rota"] = [{"role": "sampler", "count": tents, "start": "07:00", "end": f"07:{change:02d}"},
                         {"role": "sampler", "count": draw(st.integers(0, tents - 1)), "start": f"07:{change:02d}", "end": "07:20"}]
    else:
        staff["samplers"] = draw(st.integers(0, tents))
    extra = {"staff": staff}
    green = draw(st.sampled_from([None, "priority", "dedicated"] if tents > 1 else [None, "priority"]))
    if green is not None:
        extra["green_channel"] = {"share": 0.5, "channel": green, "stations": 1}
    point = make_point(tents=tents, stages=stages, queue=draw(st.sampled_from(["shared", "per_tent"])), **extra)
    days = draw(st.integers(1, 2))
    hours = [(d * DAY_S + O, d * DAY_S + O + 1200.0) for d in range(days)]
    n = draw(st.integers(0, 60))
    day = sorted(draw(st.lists(st.integers(0, days - 1), min_size=n, max_size=n)))
    arrival = [d * DAY_S + O + 15.0 * draw(st.integers(-8, 84)) for d in day]
    order = np.argsort(arrival, kind="stable")
    grid = st.sampled_from([0.0, 15.0, 30.0, 60.0, 120.0])  # busy enough for lines to be still full when shifts end
    services = lambda present, values=grid: [draw(values) for _ in range(n)] if present else None  # noqa: E731
    balking = draw(st.booleans())
    draws = make_draws(
        np.asarray(arrival)[order],
        services(True),
        temperature=services("temperature" in stages),
        registration=services(registration is not None),
        day=np.asarray(day)[order],
        setup_s=draw(st.sampled_from([0.0, 30.0])),
        priority=np.asarray(services(True, st.booleans()), dtype=bool) if green is not None else None,
        disinfection_s=services(draw(st.booleans()), st.sampled_from([0.0, 15.0])),
        balk_threshold=services(balking, st.sampled_from([0.0, 1.0, 2.0, 3.0])),
        balk_returns=np.asarray(services(balking, st.booleans()), dtype=bool) if balking else None,
        balk_return_s=services(balking, st.sampled_from([0.0, 15.0, 60.0, 300.0])),
        patience_s=services(draw(st.booleans()), st.sampled_from([0.0, 15.0, 30.0, 60.0, 300.0])),
    )
    return point, hours, draws


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=dense_people())
def test_same_log_as_simpy_with_staff_and_behaviour_when_nearly_every_event_is_tied(case):
    assert_same_logs(*both(*case))


@st.composite
def dense_home(draw):
    """Door-to-door teams on a 30-second grid: visits ending together, at openings and closings."""
    teams = draw(st.integers(1, 4))
    point = make_point(home={"share": 0.5, "teams": teams})
    days = draw(st.integers(1, 2))
    hours = [(d * DAY_S + O, d * DAY_S + O + 600.0) for d in range(days)]
    sizes = draw(st.lists(st.integers(1, 3), max_size=12))
    count = sum(sizes)
    grid = lambda values, size: np.asarray([draw(st.sampled_from(values)) for _ in range(size)], dtype=float)  # noqa: E731
    home = HomeDraws(
        resident=np.arange(count, dtype=np.int64),
        household=np.repeat(np.arange(len(sizes)), sizes).astype(np.int64),
        service_s=grid([0.0, 30.0, 60.0], count),
        travel_s=grid([0.0, 30.0, 120.0], len(sizes)),
        ppe_s=grid([0.0, 30.0, 300.0], len(sizes)),
    )
    early = draw(st.booleans())  # a resident before the opening starts the clock before midnight... or not
    draws = make_draws([O - 60.0] if early else [], [30.0] if early else [], setup_s=draw(st.sampled_from([0.0, 30.0])), home=home)
    return point, hours, draws


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=dense_home())
def test_same_home_log_as_simpy_when_visits_tie(case):
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


def make_draws(arrival, swab, temperature=None, registration=None, day=None, setup_s=0.0, services=None, divert=None,
               **behaviour) -> ResidentDraws:
    """Hand-made draws: swab (and temperature, registration, or ``services`` of any stages, in flow order) times."""
    n = len(arrival)
    arrays = {name: None if value is None else np.asarray(value, dtype=bool if name in ("priority", "balk_returns", "reserved") else float)
              for name, value in behaviour.items() if name != "home"}
    return ResidentDraws(
        resident=np.arange(n, dtype=np.int64),
        arrival_s=np.asarray(arrival, dtype=float),
        qr=np.zeros(n, dtype=bool),
        service_s=stage_times(swab, **(services if services is not None else {"temperature": temperature, "registration": registration})),
        divert=divert or {},
        no_show=0,
        day=None if day is None else np.asarray(day, dtype=np.int16),
        setup_s=setup_s,
        home=behaviour.get("home"),
        **arrays,
    )


HOURS = [(7 * H, 8 * H)]
O = 7 * H  # the opening
M = 60.0


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


def test_a_full_ring_of_pending_events_runs_again_with_a_larger_one(monkeypatch):
    """30 early residents, 30 entrance servers: at the opening each is granted a server, 30 events
    pending at once. With a ring of 32 the kernel stops and the run starts again with a larger ring."""
    import simsampling.model.fast.engine as fast

    runs = []
    replay = fast.replay
    monkeypatch.setattr(fast, "RING_SIZE", 32)
    monkeypatch.setattr(fast, "replay", lambda *arguments: runs.append(arguments[4].ring.size) or replay(*arguments))
    stages = {"temperature": {"servers": 30}, "swab": {}}
    draws = make_draws([6 * H] * 30, [10.0] * 30, temperature=[5.0] * 30)
    assert_same_logs(*both(make_point(tents=3, stages=stages), HOURS, draws))
    assert runs == [32, 512]


def test_empty_point():
    fast, ref = both(make_point(), HOURS, make_draws([], []))
    assert_same_logs(fast, ref)
    assert fast.arrived == 0 and fast.sampled == 0


def test_a_break_waits_for_the_resident_in_the_chair_and_the_line_waits_for_the_break():
    """One station on a shared line, a 5-minute break every 10 minutes (due 7:10).

    Resident 0 is swabbed 7:08-7:12, so the station is parked when it comes back at
    7:12 and the break runs 7:12-7:17; resident 1 (came 7:09) is swabbed at 7:17.
    """
    point = make_point(staff={"breaks": {"every_min": 10, "length_min": 5}})
    draws = make_draws([O + 8 * M, O + 9 * M], [240.0, 60.0])
    fast, ref = both(point, HOURS, draws)
    assert_same_logs(fast, ref)
    np.testing.assert_array_equal(fast.start["swab"], [O + 8 * M, O + 17 * M])
    rows = fast.closures
    assert rows.role[0] == "sampler" and rows.reason[0] == "break"
    np.testing.assert_array_equal([rows.scheduled_s[0], rows.start_s[0], rows.end_s[0]], [O + 10 * M, O + 12 * M, O + 17 * M])


def test_a_sampler_going_off_duty_serves_its_line_out_first():
    """Two stations with per-station lines; the second sampler's shift ends at 7:30.

    Residents at 7:28 (300 s), 7:28:30 (120 s), 7:29 (60 s), 7:29:30 (60 s): lines 0, 1, 0, 1.
    At 7:30 station 1 closes with two in its line; a resident coming at 7:30:10 goes to
    station 0 (the open one, though its line is as long). Station 1 serves its line out
    (7:28:30-7:30:30, 7:30:30-7:31:30) and is closed from 7:31:30 to the end.
    """
    rota = [{"role": "sampler", "count": 2, "start": "07:00", "end": "07:30"}, {"role": "sampler", "count": 1, "start": "07:30", "end": "08:00"}]
    point = make_point(tents=2, queue="per_tent", staff={"rota": rota})
    arrival = [O + 28 * M, O + 28.5 * M, O + 29 * M, O + 29.5 * M, O + 30 * M + 10]
    draws = make_draws(arrival, [300.0, 120.0, 60.0, 60.0, 60.0])
    fast, ref = both(point, HOURS, draws)
    assert_same_logs(fast, ref)
    np.testing.assert_array_equal(fast.station, [0, 1, 0, 1, 0])
    np.testing.assert_array_equal(fast.start["swab"], [O + 28 * M, O + 28.5 * M, O + 33 * M, O + 30.5 * M, O + 34 * M])
    row = fast.closures.role == "sampler"
    np.testing.assert_array_equal(fast.closures.start_s[row & (fast.closures.slot == 1)], [O + 31.5 * M])
    assert np.isinf(fast.closures.end_s[row & (fast.closures.slot == 1)]).all()


def test_a_closing_entrance_server_goes_ahead_of_the_residents_waiting():
    """One entrance server, off duty 7:10-7:15; checks of 2 minutes.

    Resident 0 is checked 7:09-7:11; resident 1 (came 7:09:30) waits, but the closure
    (asked at 7:10) takes the server first, at 7:11, until 7:15, when resident 1 is checked.
    """
    rota = [{"role": "temperature", "count": 1, "start": "07:00", "end": "07:10"}, {"role": "temperature", "count": 1, "start": "07:15", "end": "08:00"}]
    stages = {"temperature": {"servers": 1}, "swab": {}}
    point = make_point(tents=2, stages=stages, staff={"rota": rota})
    draws = make_draws([O + 9 * M, O + 9.5 * M], [10.0, 10.0], temperature=[120.0, 120.0])
    fast, ref = both(point, HOURS, draws)
    assert_same_logs(fast, ref)
    np.testing.assert_array_equal(fast.start["temperature"], [O + 9 * M, O + 15 * M])
    np.testing.assert_array_equal([fast.closures.start_s[0], fast.closures.end_s[0]], [O + 11 * M, O + 15 * M])


def test_a_closure_ends_no_earlier_than_its_end_even_when_the_sum_rounds_short(monkeypatch):
    """A closure ending at an arbitrary float, begun at an instant ``now`` for which
    ``now + (end - now)`` rounds below ``end``: both engines wait ``delay_until`` and end a
    hair after ``end`` (rota times are whole minutes, where the sum is exact; the plan is
    made by hand to reach this case)."""
    import dataclasses

    import simsampling.model.fast.engine as fast
    import simsampling.model.point as point_model
    from simsampling.staffing import Closure, staff_plan

    hours = [(3 * H, 11 * H)]
    end = 27875.380484681544
    point = make_point()
    plan = dataclasses.replace(staff_plan(point, hours), closures=[Closure("sampler", 0, 3 * H + 60, end, "off_duty")])
    for module in (fast, point_model):
        monkeypatch.setattr(module, "staff_plan", lambda point, hours: plan)
    draws = make_draws([3 * H, 3 * H + 30], [325.6670255107838, 60.0])  # the first swab ends at 11125.667025510784
    fast_log, ref = both(point, hours, draws)
    assert_same_logs(fast_log, ref)
    now = fast_log.end["swab"][0]
    assert now + (end - now) < end and fast_log.closures.end_s[0] > end and fast_log.start["swab"][1] == fast_log.closures.end_s[0]


def test_balking_on_the_line_seen_and_coming_back_once():
    """One station, 10-minute swabs; residents balk when more than one is ahead of them.

    Resident 0 is swabbed from 7:00; residents 1 and 2 (7:01, 7:02) see 0 and 1 ahead and
    stay; resident 3 (7:03) sees 2 and comes back 30 minutes later, at 7:33, when nobody is
    ahead; resident 4 (7:04) sees 2 and does not come back.
    """
    draws = make_draws([O, O + M, O + 2 * M, O + 3 * M, O + 4 * M], [600.0] * 5, balk_threshold=[1.0] * 5,
                       balk_returns=[True, True, True, True, False], balk_return_s=[1800.0] * 5)
    fast, ref = both(make_point(), HOURS, draws)
    assert_same_logs(fast, ref)
    np.testing.assert_array_equal(fast.start["swab"], [O, O + 10 * M, O + 20 * M, O + 33 * M, NAN])
    np.testing.assert_array_equal(fast.arrival_s, [O, O + M, O + 2 * M, O + 33 * M, O + 4 * M])
    np.testing.assert_array_equal(fast.balks, [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(fast.left, [0, 0, 0, 0, BALKED])
    assert fast.left_s[4] == O + 4 * M and fast.stages[fast.left_stage[4]] == "swab"


def test_reneging_when_patience_runs_out_in_line():
    """One station, 10-minute swabs: resident 1 (7:01, patience 5 min) leaves at 7:06; resident 2 stays."""
    draws = make_draws([O, O + M, O + 2 * M], [600.0] * 3, patience_s=[3600.0, 300.0, 3600.0])
    fast, ref = both(make_point(), HOURS, draws)
    assert_same_logs(fast, ref)
    np.testing.assert_array_equal(fast.left, [0, RENEGED, 0])
    np.testing.assert_array_equal(fast.left_s, [NAN, O + 6 * M, NAN])
    np.testing.assert_array_equal(fast.start["swab"], [O, NAN, O + 10 * M])


def test_a_resident_reneging_from_a_registrar_line_shortens_it():
    """Two stations, per-station lines, paired registrars; register and swab 60 s each.

    Residents 0, 1, 2 at the opening go to stations 0, 1, 0; resident 2 (patience 30 s)
    leaves at 7:00:30, so resident 3 (7:00:40) finds lines of one and one, and takes station 0.
    """
    stages = {"registration": {"servers": "per_tent"}, "swab": {}}
    draws = make_draws([6 * H] * 3 + [O + 40], [60.0] * 4, registration=[60.0] * 4, patience_s=[3600.0, 3600.0, 30.0, 3600.0])
    fast, ref = both(make_point(tents=2, queue="per_tent", stages=stages), HOURS, draws)
    assert_same_logs(fast, ref)
    np.testing.assert_array_equal(fast.left, [0, 0, RENEGED, 0])
    np.testing.assert_array_equal(fast.station, [0, 1, -1, 0])
    np.testing.assert_array_equal(fast.start["registration"], [O, O, NAN, O + 60])


def test_green_channel_residents_go_ahead_of_the_others():
    """One station, 60 s swabs: resident 2 (priority, 7:00:20) is swabbed before resident 1 (7:00:10)."""
    point = make_point(green_channel={"share": 0.2})
    draws = make_draws([O, O + 10, O + 20], [60.0] * 3, priority=[False, False, True], disinfection_s=[5.0] * 3)
    fast, ref = both(point, HOURS, draws)
    assert_same_logs(fast, ref)
    np.testing.assert_array_equal(fast.start["swab"], [O, O + 130, O + 65])


def test_door_to_door_teams_take_the_next_household_when_free():
    """Two teams from the opening; households of 2, 1 and 2 members; travel 60 s, visits 30 s, PPE 100 s.

    Team 0 visits household 0 (7:01-7:02) and is free at 7:03:40; team 1 visits household 1
    (7:01-7:01:30), is free at 7:03:10 and so takes household 2: 7:04:10-7:05:10.
    """
    home = HomeDraws(resident=np.arange(5, dtype=np.int64), household=np.array([0, 0, 1, 2, 2]), service_s=np.full(5, 30.0),
                     travel_s=np.full(3, 60.0), ppe_s=np.full(3, 100.0))
    fast, ref = both(make_point(home={"share": 0.1, "teams": 2}), HOURS, make_draws([], [], home=home))
    assert_same_logs(fast, ref)
    np.testing.assert_array_equal(fast.home.team, [0, 0, 1, 1, 1])
    np.testing.assert_array_equal(fast.home.start_s, O + np.array([60.0, 90.0, 60.0, 250.0, 280.0]))


# ------------------------------------------------------------------ scope


def scenario_with(**point_fields):
    point = {"id": "p", "population": 50, "tents": 2, **point_fields}
    return validate_scenario({"name": "scope", "points": [point], "arrivals": {"kind": "poisson", "rate_per_hour": 30}})


def test_pooled_tubes_are_refused_with_a_reason():
    scenario = scenario_with(pooling={"ratio": 5})
    point = scenario.points[0]
    assert "pooled tubes" in fast_scope(point, scenario)
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


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"queue": "per_tent"},
        {"staff": {"marshals": 2, "relief": 1}},
        {"waiting_area": {"length_m": 20}},
        {"setup_min": {"dist": "fixed", "value": 30}},
        {"home": {"share": 0.1}},
        {"green_channel": {"share": 0.1}},
        {"balking": {"threshold": {"dist": "fixed", "value": 5}, "return_share": 0.5}},
        {"reneging": {"patience_min": {"dist": "fixed", "value": 30}}},
        {"stages": {"swab": {"disinfection_s": {"dist": "fixed", "value": 5}}}},
        {"staff": {"breaks": {"every_min": 60, "length_min": 10}}},
        {"staff": {"samplers": 1}},
    ],
)
def test_points_in_scope(fields):
    scenario = scenario_with(**fields)
    point = scenario.points[0]
    assert fast_scope(point, scenario) is None, fields
    draws = draw_residents(scenario, point, 0)
    assert_same_logs(*both(point, scenario.hours, draws))


def test_compiled():
    """The engine is compiled when numba is installed (plain Python is exact too, but slow)."""
    pytest.importorskip("numba")
    assert JIT
