"""simsampling.staffing: rotas turned into on-duty counts, closures and relief, checked by hand."""

from __future__ import annotations

import math

from simsampling.scenario import validate_scenario
from simsampling.staffing import staff_plan

H = 3600.0
M = 60.0
DAY = [(8 * H, 12 * H)]


def point(tents=3, staff=None, stages=None, queue="shared"):
    data = {"id": "p", "population": 10, "tents": tents, "queue": queue, "stages": stages or {"swab": {}}}
    if staff is not None:
        data["staff"] = staff
    scenario = validate_scenario({"name": "t", "round": {"days": 2}, "points": [data], "arrivals": {"kind": "poisson", "rate_per_hour": 1}})
    return scenario.points[0]


def test_no_staff_plan_means_every_station_staffed_all_day_and_no_closures():
    plan = staff_plan(point(), DAY)
    assert plan.closures == []
    assert plan.scheduled_s() == {"sampler": 3 * 4 * H, "relief": 0.0, "marshal": 0.0}


def test_fewer_samplers_than_stations_close_the_last_stations_to_the_end():
    plan = staff_plan(point(staff={"samplers": 1}), DAY)
    assert [(c.slot, c.start_s, c.end_s, c.reason) for c in plan.closures] == [
        (1, 8 * H, math.inf, "off_duty"),
        (2, 8 * H, math.inf, "off_duty"),
    ]


def test_a_station_unstaffed_overnight_is_one_closure_across_the_night():
    hours = [(8 * H, 12 * H), (24 * H + 8 * H, 24 * H + 12 * H)]
    rota = [{"role": "sampler", "count": 1, "start": "08:00", "end": "12:00"},
            {"role": "sampler", "count": 1, "start": "08:00", "end": "10:00", "day": 0}]
    plan = staff_plan(point(tents=2, staff={"rota": rota}), hours)
    assert [(c.slot, c.start_s, c.end_s) for c in plan.closures] == [(1, 10 * H, math.inf)]
    assert plan.scheduled_s()["sampler"] == (4 + 2 + 4) * H


def test_overlapping_shifts_add_up():
    rota = [{"role": "sampler", "count": 2, "start": "08:00", "end": "11:00"},
            {"role": "sampler", "count": 1, "start": "10:00", "end": "12:00"}]
    plan = staff_plan(point(staff={"rota": rota}), DAY)
    assert plan.duty["sampler"].pieces == [(8 * H, 10 * H, 2), (10 * H, 11 * H, 3), (11 * H, 12 * H, 1)]
    closed = sorted((c.slot, c.start_s, c.end_s) for c in plan.closures)
    assert closed == [(1, 11 * H, math.inf), (2, 8 * H, 10 * H), (2, 11 * H, math.inf)]


def test_breaks_are_staggered_by_station_and_fit_inside_the_day():
    plan = staff_plan(point(staff={"breaks": {"every_min": 90, "length_min": 20}}), DAY)
    starts = [(c.slot, (c.start_s - 8 * H) / M, c.length_s / M) for c in plan.closures]
    # Station k: first break after 90 min plus k x 20 min; then 90 min on, 20 off; all end by 12:00.
    assert starts == [(0, 90, 20), (1, 110, 20), (2, 130, 20), (0, 200, 20), (1, 220, 20)]


def test_one_relief_covers_breaks_that_follow_each_other():
    staff = {"relief": 1, "breaks": {"every_min": 90, "length_min": 20}}
    plan = staff_plan(point(staff=staff), DAY)
    assert plan.closures == [] and len(plan.covered_breaks) == 5


def test_relief_cannot_be_in_two_places_at_once():
    staff = {"relief": 1, "breaks": {"every_min": 90, "length_min": 20, "stagger_min": 0}}
    plan = staff_plan(point(staff=staff), DAY)
    # Three stations break together twice: the relief takes station 0's each time.
    assert [c.slot for c in plan.covered_breaks] == [0, 0]
    assert [c.slot for c in plan.closures] == [1, 2, 1, 2]


def test_desks_and_entrance_follow_their_own_counts():
    stages = {"temperature": {"servers": 2}, "registration": {"servers": 3}, "swab": {}}
    plan = staff_plan(point(staff={"registrars": 2, "temperature": 1, "marshals": 2}, stages=stages), DAY)
    assert sorted((c.role, c.slot) for c in plan.closures) == [("registrar", 2), ("temperature", 1)]
    assert plan.scheduled_s()["marshal"] == 2 * 4 * H


def test_staff_that_do_not_fit_the_layout_are_refused():
    import pytest

    from simsampling.scenario import ScenarioError

    with pytest.raises(ScenarioError, match="staff.registrars: registrars are paired"):
        point(staff={"registrars": 2}, stages={"registration": {}, "swab": {}})
    with pytest.raises(ScenarioError, match="no temperature stage"):
        point(staff={"rota": [{"role": "temperature", "count": 1, "start": "08:00", "end": "09:00"}]})


def test_a_role_given_both_as_a_count_and_in_the_rota_is_refused():
    import pytest

    from simsampling.scenario import ScenarioError

    rota = [{"role": "sampler", "count": 1, "start": "08:00", "end": "09:00"}]
    with pytest.raises(ScenarioError, match="staff.samplers: role sampler is also in the rota"):
        point(staff={"samplers": 2, "rota": rota})


def test_points_without_staff_share_the_plan_made_for_their_stages_servers_and_hours():
    """A point without staff gets the plan ``Staff()`` would make it (the same duty and closures), shared with every
    such point of the same stages, servers and hours; another layout or other hours get their own. The staff-seconds
    within windows, found once per plan, are handed out as copies (callers add to theirs)."""
    from simsampling.staffing import NO_STAFF, _plan, serving_roles

    desks = {"swab": {}, "registration": {"servers": "per_tent"}, "temperature": {"servers": 2}}
    hours = [(8 * H, 12 * H), (24 * H + 8 * H, 24 * H + 12 * H)]
    for stages in (None, desks):
        one, other = point(stages=stages), point(stages=stages)
        plan = staff_plan(one, hours)
        serving = serving_roles(one)
        fresh = _plan(NO_STAFF, serving, tuple(one.servers(stage) for stage in serving), one.stations, hours)
        assert plan == fresh and plan.closures == fresh.closures and plan.duty == fresh.duty
        assert staff_plan(other, [tuple(day) for day in hours]) is plan
        assert staff_plan(point(tents=4, stages=stages), hours) is not plan and staff_plan(one, hours[:1]) is not plan
        windows = [(0.0, 24 * H), (24 * H, 48 * H)]
        scheduled = plan.scheduled_s(windows)
        assert scheduled == {role: duty.seconds_within(windows) for role, duty in plan.duty.items()}
        scheduled["sampler"] += 1.0
        assert plan.scheduled_s(windows) == fresh.scheduled_s(windows) != scheduled
    assert staff_plan(point(staff={"samplers": 1}), hours) is not staff_plan(point(staff={"samplers": 1}), hours)
