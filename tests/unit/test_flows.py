"""simsampling.stages: a point's flow as data, read from the scenario, and walked by the SimPy model."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from simsampling.draws import ResidentDraws, draw_residents
from simsampling.log import DIVERTED
from simsampling.model import simulate_point
from simsampling.report.scenario_yaml import scenario_text
from simsampling.scenario import ScenarioError, validate_scenario
from simsampling.stages import colour, describe, label, role, union

H = 3600.0
O = 7 * H
HOURS = [(O, 8 * H)]
FIXED = {"dist": "fixed", "value": 60}


def scenario(stages, tents=2, **point):
    return validate_scenario({"name": "flows", "points": [{"id": "p", "population": 200, "tents": tents, "stages": stages, **point}],
                              "arrivals": {"kind": "poisson", "rate_per_hour": 60}})


def test_stages_are_walked_in_the_order_written_and_known_names_keep_their_meaning():
    point = scenario({"health_code": {}, "id_check": {"servers": "per_tent", "service_s": FIXED}, "temperature": {"servers": 2},
                      "registration": {"servers": 3}, "swab": {}}, tents=4).points[0]
    flow = point.flow
    assert flow.names == ("health_code", "id_check", "temperature", "registration", "swab")
    assert [stage.role for stage in flow.stages] == ["health_code", "id_check", "temperature", "registrar", "sampler"]
    assert point.stages.health_code.service_s.mean_value == 23 / 3  # the kind's default: triangular 3, 5, 15
    assert point.servers("id_check") == 4 and point.servers("health_code") == 1 and point.servers("registration") == 3
    assert (label("id_check"), label("health_code"), label("swab")) == ("Id check", "Health-code check", "Swab")
    assert colour("id_check").startswith("#") and colour("temperature") == "#e07b39"
    assert describe("isolation").name is None and role("isolation") == "isolation"


def test_the_first_three_stages_alone_walk_as_they_always_did_in_any_written_order():
    """A file of the first versions, or one dumped with sorted keys, walks temperature, registration, swab."""
    written = scenario({"registration": {"servers": 2}, "swab": {}, "temperature": {}}).points[0]
    assert written.flow.names == ("temperature", "registration", "swab")
    # With a stage of another kind, the order written is the flow (here refused: temperature after swab).
    with pytest.raises(ScenarioError, match="temperature must come before swab"):
        scenario({"registration": {"servers": 2}, "swab": {}, "temperature": {}, "id_check": {"service_s": FIXED}})


def test_points_of_one_flow_each_have_its_problems_at_their_own_path():
    """A flow is checked once for every point that has it (stages.flow_problems): each point is told at its path."""
    bad = {"swab": {}, "isolation": {"service_s": FIXED}}
    points = [{"id": name, "population": 100, "tents": 1, "stages": bad} for name in ("a", "b")]
    with pytest.raises(ScenarioError) as raised:
        validate_scenario({"name": "flows", "points": points, "arrivals": {"kind": "poisson", "rate_per_hour": 60}})
    said = [(problem.field, problem.message) for problem in raised.value.problems if "diverts" in problem.message]
    assert said == [(f"points[{index}].stages.isolation", "no stage diverts to isolation: stages after swab are side "
                     "stages, reached by a `divert`") for index in (0, 1)]
    unhashable = {"swab": {}, "isolation": {"service_s": {"dist": "empirical", "values": [30, 60]}}}  # a list inside
    with pytest.raises(ScenarioError, match="no stage diverts to isolation"):
        scenario(unhashable)



def test_points_with_equal_stages_share_one_flow_made_once():
    """Each point validates its own ``stages``; equal ones share one flow, which is the flow of either; a flow with
    an empirical distribution (a list: unhashable) is made for its own point."""
    stages = {"temperature": {}, "registration": {"servers": 2}, "swab": {}}
    s = validate_scenario({"name": "shared", "arrivals": {"kind": "poisson", "rate_per_hour": 60},
                           "points": [{"id": p, "population": 100, "tents": 2, "stages": stages} for p in ("a", "b")]
                           + [{"id": "c", "population": 100, "tents": 2, "stages": {**stages, "registration": {"servers": 3}}}]})
    a, b, c = (point.flow for point in s.points)
    assert s.points[0].stages is not s.points[1].stages and a is b and a is not c
    assert [stage.config for stage in b.stages] == [s.points[1].stages[name] for name in b.names]
    assert c.names == a.names and c["registration"].config.servers == 3
    listed = {**stages, "swab": {"service_s": {"dist": "empirical", "values": [20.0, 30.0]}}}
    e = scenario(listed).points[0]
    assert e.flow is e.flow and e.flow["swab"].config.service_s.values == [20.0, 30.0]

def test_side_stages_come_after_swab_and_know_who_sends_residents_there():
    point = scenario({"temperature": {"divert": [{"share": 0.1, "to": "isolation"}]},
                      "id_check": {"service_s": FIXED, "divert": {"share": 0.2, "to": "isolation"}},
                      "swab": {}, "isolation": {"service_s": FIXED, "divert": {"share": 0.5, "to": "ward"}},
                      "ward": {"servers": 3, "service_s": FIXED}}).points[0]
    flow = point.flow
    assert [stage.name for stage in flow.main] == ["temperature", "id_check", "swab"]
    assert [stage.name for stage in flow.side] == ["isolation", "ward"]
    assert flow.sources() == {"isolation": ("temperature", "id_check"), "ward": ("isolation",)}


def test_the_resolved_scenario_keeps_the_flow_order():
    s = scenario({"health_code": {}, "temperature": {"divert": {"share": 0.01, "to": "isolation"}}, "swab": {},
                  "isolation": {"service_s": FIXED}})
    again = validate_scenario(yaml.safe_load(scenario_text(s)))
    assert again.points[0].flow.names == ("health_code", "temperature", "swab", "isolation")
    assert again == s


def test_union_of_flows_keeps_each_flow_order():
    assert union([("temperature", "swab"), ("health_code", "temperature", "registration", "swab", "isolation"), ("swab",)]) == (
        "health_code", "temperature", "registration", "swab", "isolation")
    assert union([("a", "b"), ("b", "a")]) == ("a", "b")  # a conflict: the order first seen


@pytest.mark.parametrize("flow", [("temperature", "registration", "swab"), ("swab",), ("b", "a", "c"), ("a", "b", "a"), ()])
def test_union_of_one_flow_many_times_is_that_flow_as_a_mixed_union_orders_it(flow):
    """The shortcut for flows all the same (a city's points added up) gives what the ordering gives."""
    for times in (1, 2, 300):
        assert union([flow] * times) == union([flow] * times + [()]) == union(iter([list(flow)] * times))


def test_plain_stages_are_staffed_by_counts_or_shifts_of_their_own_role():
    stages = {"id_check": {"servers": 2, "service_s": FIXED}, "swab": {}}
    assert scenario(stages, staff={"id_check": 1}).points[0].staff.stage_counts == {"id_check": 1}
    scenario(stages, staff={"rota": [{"role": "id_check", "count": 1, "start": "07:00", "end": "12:00"}]})
    with pytest.raises(ScenarioError, match=r"staff.idcheck: is not a known field"):
        scenario(stages, staff={"idcheck": 1})
    with pytest.raises(ScenarioError, match=r"staff.rota\[0\].role: 'ward' is not a role"):
        scenario(stages, staff={"rota": [{"role": "ward", "count": 1, "start": "07:00", "end": "12:00"}]})
    with pytest.raises(ScenarioError, match="role id_check is also in the rota"):
        scenario(stages, staff={"id_check": 1, "rota": [{"role": "id_check", "count": 1, "start": "07:00", "end": "12:00"}]})


def test_reserved_and_dedicated_stations_must_leave_some_for_everyone_else():
    with pytest.raises(ScenarioError, match="1 dedicated and 1 reserved station"):
        scenario({"swab": {"reserved": {"share": 0.1, "stations": 1}}}, green_channel={"share": 0.1, "channel": "dedicated"})
    scenario({"swab": {"reserved": {"share": 0.1, "stations": 1}}}, tents=3, green_channel={"share": 0.1, "channel": "dedicated"})


# ------------------------------------------------------------------ the SimPy model walks the flow


def draws_for(point, arrival, services, **extra) -> ResidentDraws:
    n = len(arrival)
    return ResidentDraws(resident=np.arange(n, dtype=np.int64), arrival_s=np.asarray(arrival, dtype=float), qr=np.zeros(n, dtype=bool),
                         service_s={name: np.asarray(times, dtype=float) for name, times in services.items()}, no_show=0, **extra)


def test_a_plain_stage_is_a_line_of_its_servers():
    """Two ID-check desks of 60 s before one 10 s swab station, three residents at 7:00."""
    point = scenario({"id_check": {"servers": 2, "service_s": FIXED}, "swab": {}}, tents=1).points[0]
    log = simulate_point(point, HOURS, draws_for(point, [O] * 3, {"id_check": [60] * 3, "swab": [10] * 3}))
    np.testing.assert_array_equal(log.start["id_check"], [O, O, O + 60])
    np.testing.assert_array_equal(log.start["swab"], [O + 60, O + 70, O + 120])
    np.testing.assert_array_equal(log.wait("swab"), [0, 10, 0])
    assert log.stages == ("id_check", "swab") and log.servers == {"id_check": 2, "swab": 1}


def test_a_diverted_resident_goes_through_the_side_stage_and_leaves_unswabbed():
    """Residents 1 and 2 are sent to a 10-minute isolation tent (one bed) after the temperature check."""
    point = scenario({"temperature": {"divert": {"share": 0.5, "to": "isolation"}}, "swab": {},
                      "isolation": {"service_s": FIXED}}, tents=1).points[0]
    draws = draws_for(point, [O, O + 1, O + 2, O + 3], {"temperature": [5] * 4, "swab": [30] * 4, "isolation": [600] * 4},
                      divert={"temperature": np.array([-1, 0, 0, -1], dtype=np.int8)})
    log = simulate_point(point, HOURS, draws)
    np.testing.assert_array_equal(log.served, [True, False, False, True])
    np.testing.assert_array_equal(log.left, [0, DIVERTED, DIVERTED, 0])
    np.testing.assert_array_equal(log.start["isolation"], [np.nan, O + 10, O + 610, np.nan])
    np.testing.assert_array_equal(log.left_s[1:3], [O + 610, O + 1210])
    assert [log.stages[k] for k in log.left_stage[1:3]] == ["isolation", "isolation"]
    assert log.status().tolist() == ["sampled", "diverted", "diverted", "sampled"]
    np.testing.assert_array_equal(log.wait("isolation"), [0, 595])  # waits of those who went through it
    np.testing.assert_array_equal(log.line("isolation")[0], [O + 10, O + 15])
    assert log.wait("temperature").size == 4  # the diverted were checked too


def test_reserved_stations_serve_only_their_residents():
    """Three stations, station 0 reserved: residents drawn for it use it alone, everyone else the others."""
    point = scenario({"swab": {"reserved": {"share": 0.3, "stations": 1}}}, tents=3).points[0]
    s = validate_scenario({"name": "r", "points": [point.model_dump(mode="json", exclude_none=True) | {"population": 3000}],
                           "arrivals": {"kind": "poisson", "rate_per_hour": 200}})
    draws = draw_residents(s, s.points[0], 0)
    log = simulate_point(s.points[0], s.hours, draws)
    reserved = draws.reserved[log.served]
    assert 0.25 < draws.reserved.mean() < 0.35
    assert np.all(log.station[log.served][reserved] == 0) and np.all(log.station[log.served][~reserved] > 0)
