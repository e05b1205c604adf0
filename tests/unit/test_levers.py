"""Levers as data (advice/levers.py), the arrival-plan proof (advice/feasibility.py), the staffing
search's state machine (experiment/optimise.py), how effects are judged and named: no simulation."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from simsampling.advice.feasibility import deadline_check
from simsampling.advice.impact import Effect, judge, rank
from simsampling.advice.levers import (
    KNOB,
    StageServers,
    apply_lever,
    scheduled_staff_hours,
    levers,
    staffed_knobs,
    unit_cost_staff_hours,
    with_values,
)
from simsampling.advice.moves import town_of
from simsampling.advice.plans import plan_span_h, plan_window
from simsampling.advice.targets import Targets
from simsampling.experiment.optimise import Evaluation, StaffingSearch, fewest_successes
from simsampling.labels import kpi_label, short_names
from simsampling.scenario import load_scenario, validate_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.fixture(scope="module")
def demo():
    return load_scenario(SCENARIOS / "one-point-demo.yaml")


@pytest.fixture(scope="module")
def rush():
    return load_scenario(SCENARIOS / "one-point-morning-rush.yaml")


@pytest.fixture(scope="module")
def rota():
    return load_scenario(SCENARIOS / "summer-heat-rota.yaml")


LEVER = {lever.name: lever for lever in levers(load_scenario(SCENARIOS / "one-point-demo.yaml"))}
"""The demo's levers: those of the three stages, the QR share and the calling plan."""


def test_every_lever_is_described_once_with_a_knob_and_a_step():
    assert list(LEVER) == ["tent+1", "tent-1", "checker+1", "checker-1", "desk+1", "desk-1", "qr+0.1", "calls-1h"]
    assert {lever.knob.stage for lever in LEVER.values()} == {"swab", "temperature", "registration", "arrivals"}
    assert all(lever.describe()["label"] == lever.label for lever in LEVER.values())


def test_a_layout_has_a_lever_per_stage_with_servers_of_its_own():
    layout = load_scenario(SCENARIOS / "health-code-and-isolation.yaml")
    found = {lever.name: lever for lever in levers(layout)}
    assert list(found) == ["tent+1", "tent-1", "health_code+1", "health_code-1", "checker+1", "checker-1", "desk+1",
                           "desk-1", "qr+0.1", "calls-1h"]  # in flow order; no lever for the isolation tent (a side stage)
    assert found["health_code+1"].label == "one more health-code checker"
    assert [knob.name for knob in staffed_knobs(layout)] == ["tents", "health_code", "temperature", "registration"]
    changed, (change,) = apply_lever(layout, found["health_code-1"])
    assert change.describe() == "health-code checkers 2 → 1" and changed.points[0].servers("health_code") == 1
    assert "side stage" in StageServers("isolation").why_not(layout, layout.points[0])
    # A plain stage staffed by its own count: the count follows the knob.
    data = layout.model_dump(mode="json", exclude_none=True)
    data["points"][0]["staff"] = {"health_code": 2}
    more, _ = apply_lever(validate_scenario(data), found["health_code+1"])
    assert more.points[0].staff.count("health_code") == 3 and more.points[0].servers("health_code") == 3


def test_one_more_tent_brings_its_paired_registrar(demo):
    changed, (change,) = apply_lever(demo, LEVER["tent+1"])
    assert (change.before, change.after) == (4, 5) and change.describe() == "tents 4 → 5"
    assert changed.points[0].tents == 5
    # sampler and paired registrar, 15 opening hours each
    assert scheduled_staff_hours(changed.points[0], changed) - scheduled_staff_hours(demo.points[0], demo) == 30
    assert unit_cost_staff_hours(KNOB["tents"], demo, demo.points[0]) == 30


def test_desks_and_checkers_are_their_own_knobs_only_where_the_stage_has_its_own_servers(demo, rush):
    assert "paired with the stations" in apply_lever(demo, LEVER["desk+1"])[1][0].reason
    changed, (change,) = apply_lever(rush, LEVER["desk+1"])
    assert changed.points[0].stages.registration.servers == 5 and changed.points[0].tents == 4
    assert unit_cost_staff_hours(StageServers("registration"), rush, rush.points[0]) == 6  # one registrar, 07:00-13:00
    assert "already at the fewest" in apply_lever(demo, LEVER["checker-1"])[1][0].reason
    walk_in = load_scenario(SCENARIOS / "walk-in-swab-only.yaml")
    assert [lever.name for lever in levers(walk_in)] == ["tent+1", "tent-1", "qr+0.1", "calls-1h"]  # no temperature stage
    reasons = {lever.name: apply_lever(walk_in, lever)[1][0].reason for lever in LEVER.values()}
    assert reasons["checker+1"] == "the point has no temperature stage"
    assert "walk in" in reasons["calls-1h"] and reasons["tent+1"] is None


def test_rota_shifts_follow_their_knob(rota):
    point = rota.points[0]
    more = apply_lever(rota, LEVER["tent+1"])[0].points[0]
    samplers = [s.count for s in more.staff.rota if s.role == "sampler"]
    assert samplers == [s.count + 1 for s in point.staff.rota if s.role == "sampler"]
    fewer = apply_lever(rota, LEVER["checker-1"])[0].points[0]
    assert fewer.stages.temperature.servers == 1
    assert [s.count for s in fewer.staff.rota if s.role == "temperature"] == [1]
    # two shifts of 7 h for the sampler, the paired registrar follows the sampler: 28 staff-hours
    assert unit_cost_staff_hours(KNOB["tents"], rota, point) == 28


def test_qr_share_is_clamped_at_one(demo):
    data = demo.model_dump(mode="json", exclude_none=True)
    data["points"][0]["stages"]["registration"]["qr_share"] = 0.95
    high = validate_scenario(data)
    assert apply_lever(high, LEVER["qr+0.1"])[0].points[0].stages.registration.qr_share == 1.0
    data["points"][0]["stages"]["registration"]["qr_share"] = 1.0
    assert "already" in apply_lever(validate_scenario(data), LEVER["qr+0.1"])[1][0].reason


def test_the_calling_plan_lever_is_the_plans_shortening_towards_its_first_call(demo):
    knob = KNOB["calling_span"]
    assert knob.value(demo, demo.points[0]) == 14
    shorter = apply_lever(demo, LEVER["calls-1h"])[0].points[0].arrivals
    assert [(s.start, s.end) for s in shorter.slots][0][0] == "07:00" and shorter.slots[-1].end == "20:00"
    assert [s.share for s in shorter.slots] == [s.share for s in demo.arrivals.slots]
    # Building by building with a mop-up that ends last: the whole plan ends an opening hour earlier, mop-up included.
    beibei = load_scenario(SCENARIOS / "beibei-district.yaml")
    point = beibei.points[0]
    moved = with_values(beibei, {point.id: {"calling_span": knob.value(beibei, point) - 1.0}}, only=[point.id])
    calls, after = beibei.arrivals_for(point), moved.points[0].arrivals
    assert plan_span_h(after, beibei.hours, point.population) == pytest.approx(
        plan_span_h(calls, beibei.hours, point.population) - 1.0, abs=1 / 60)
    assert plan_window(after, beibei.hours, point.population)[1] == pytest.approx(
        plan_window(calls, beibei.hours, point.population)[1] - 3600.0, abs=60.0)


def test_with_values_sets_several_knobs_and_keeps_other_points(rush):
    changed = with_values(rush, {"tjx-01": {"tents": 6, "registration": 2, "temperature": 3}})
    point = changed.points[0]
    assert (point.stations, point.stages.registration.servers, point.stages.temperature.servers) == (6, 2, 3)


def test_the_arrivals_prove_a_deadline_before_the_last_slot_out_of_reach(demo):
    point = demo.points[0]
    check = deadline_check(demo, point, 12.0, 29, 29)
    assert not check.within_reach and check.can_meet == 0
    assert "arrivals.slots[3].end" in check.reason and "21:00" in check.reason and "19:00" in check.reason
    assert "end the calling plan by 18:30" in check.reason and "--deadline" in check.reason
    assert deadline_check(demo, point, 15.0, 29, 29) is None or deadline_check(demo, point, 15.0, 29, 29).within_reach


def test_no_proof_where_residents_may_leave(rota):
    assert deadline_check(rota, rota.points[0], 5.0, 29, 29) is None  # balking and reneging


def test_fewest_successes():
    assert fewest_successes(29, 0.9, 0.95) == 29
    assert fewest_successes(46, 0.9, 0.95) == 45
    assert fewest_successes(5, 0.9, 0.95) == 6  # cannot pass at all


def _evaluation(values: dict, passed: bool, waiting: dict) -> Evaluation:
    return Evaluation(1, "search", "p", int(values["tents"]), 29, 1, 29 if passed else 0, 0.9 if passed else 0.0,
                      passed, 1.0, 1.0, 1.0, 1.0, 0.0, {} if passed else {"wait": 29}, dict(values), 0.0,
                      float(sum(values.values())), waiting)


def test_the_search_raises_the_bottleneck_then_brings_each_knob_down():
    """Passes iff tents >= 5 and temperature >= 2: the waiting sits where servers are short."""
    search = StaffingSearch("p", ["tents", "temperature"], minimum={"tents": 1, "temperature": 1},
                            start={"tents": 2, "temperature": 1}, cap={"tents": 40, "temperature": 40},
                            serves={"tents": ("swab", "registration"), "temperature": ("temperature",)})
    tried = []
    while not search.done:
        values = search.candidate()
        tried.append((values["tents"], values["temperature"]))
        waiting = {"swab": max(0, 5 - values["tents"]) * 100.0, "temperature": max(0, 2 - values["temperature"]) * 50.0}
        search.record(_evaluation(values, values["tents"] >= 5 and values["temperature"] >= 2, waiting))
    assert search.answer.values == {"tents": 5, "temperature": 2}
    assert (4, 2) in tried and (5, 1) in tried  # one fewer of each was evaluated and failed
    assert tried[:3] == [(2, 1), (3, 1), (5, 1)]  # the bottleneck (swab) first, galloping


def test_a_search_that_stops_improving_gives_up():
    search = StaffingSearch("p", ["tents"], minimum={"tents": 1}, start={"tents": 2}, cap={"tents": 100},
                            serves={"tents": ("swab",)})
    while not search.done:
        search.record(_evaluation(search.candidate(), False, {"swab": 10.0}))
    assert search.phase == "infeasible" and "changed none" in search.why and search.best() is not None


def _effect(lever: str, deltas: dict, after: dict, base: dict) -> Effect:
    leaf = lambda mean, significant=True: {"mean": mean, "ci95": [mean - 0.1, mean + 0.1], "n": 5,  # noqa: E731
                                           "significant": significant}
    return Effect(LEVER[lever], "p", None, baseline={k: {"mean": v, "ci95": None, "n": 5} for k, v in base.items()},
                  after={k: {"mean": v, "ci95": None, "n": 5} for k, v in after.items()},
                  deltas={k: leaf(*v) if isinstance(v, tuple) else leaf(v) for k, v in deltas.items()})


def test_judging_and_ranking():
    targets = Targets(deadline_h=10, max_p90_wait_min=15)
    base = {"finish_h": 9, "wait_min.total.p90": 20}
    desk = _effect("desk+1", {"wait_min.total.p90": -8, "staff_hours": 6}, {"finish_h": 9, "wait_min.total.p90": 12}, base)
    qr = _effect("qr+0.1", {"wait_min.total.p90": -4, "staff_hours": (0, False)}, {"finish_h": 9, "wait_min.total.p90": 16}, base)
    tent = _effect("tent+1", {"wait_min.total.p90": -9, "staff_hours": 30}, {"finish_h": 9, "wait_min.total.p90": 11}, base)
    fewer = _effect("tent-1", {"wait_min.total.p90": 5, "staff_hours": -30}, {"finish_h": 9, "wait_min.total.p90": 25}, base)
    late = _effect("calls-1h", {"wait_min.total.p90": (0.1, False), "finish_h": -1, "staff_hours": (0, False)},
                   {"finish_h": 8, "wait_min.total.p90": 20}, base)
    effects = [tent, fewer, desk, late, qr]
    for effect in effects:
        judge(effect, "wait_min.total.p90", targets)
    assert [e.verdict for e in effects] == ["helps", "harms", "helps", "neutral", "helps"]
    assert qr.score == math.inf and desk.score == pytest.approx(8 / 6) and tent.score == pytest.approx(9 / 30)
    assert [e.lever.name for e in rank(effects)] == ["qr+0.1", "desk+1", "tent+1", "calls-1h", "tent-1"]
    saving = _effect("tent-1", {"wait_min.total.p90": 2, "staff_hours": -30}, {"finish_h": 9, "wait_min.total.p90": 9},
                     {"finish_h": 9, "wait_min.total.p90": 7})
    judge(saving, "wait_min.total.p90", targets)
    assert saving.verdict == "saves" and saving.score == 30


def test_towns_from_the_field_or_the_id(demo):
    beibei = load_scenario(SCENARIOS / "beibei-district.yaml")
    towns = {town_of(p) for p in beibei.points}
    assert len(towns) == 17 and town_of(beibei.points[0]) == "Tiansheng jiedao"
    data = demo.model_dump(mode="json", exclude_none=True)
    for point_id, expected in (("tsh-07", "tsh"), ("xc_0012", "xc"), ("north", "")):
        data["points"][0]["id"] = point_id
        assert town_of(validate_scenario(data).points[0]) == expected


def test_factor_and_kpi_names():
    assert short_names(["points.*.tents", "points.*.stages.temperature.servers"]) == ["tents", "servers"]
    assert short_names(["points.*.stages.temperature.servers", "points.*.stages.registration.servers"]) == [
        "temperature.servers", "registration.servers"]
    assert short_names(["points.0.tents", "points.1.tents"]) == ["points.0.tents", "points.1.tents"]
    assert kpi_label("wait_min.registration.p90") == "registration: wait p90 (min)"
    assert kpi_label("utilization.swab") == "swab utilisation"


def test_a_count_is_written_plural_but_for_one():
    from simsampling.labels import counted

    assert [counted(n, "replication") for n in (0, 1, 2, 4485)] == [
        "0 replications", "1 replication", "2 replications", "4,485 replications"]
