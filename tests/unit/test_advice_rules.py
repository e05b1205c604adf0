"""The diagnosis' rules, measures and words, each on a case whose answer is known by hand."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from simsampling.advice.diagnosis import Evidence, classify
from simsampling.advice.headroom import Fluids, Headroom, Push, _bracket, _Reading, _rows_interp, _search, _whole
from simsampling.advice.ranking import concern_of
from simsampling.advice.sentences import evidence_text, headroom_sentence, stage_words
from simsampling.log import EventLog
from simsampling.metrics import busy_period, staff_seconds, staffed_days, station_timeline, waiting_before_opening_s
from simsampling.scenario import load_scenario, validate_scenario
from simsampling.scenario.schema import DAY_S

TARGET = 15.0


def swab_log(arrival, start, end, open_s=0.0, close_s=3600.0, servers=1) -> EventLog:
    arrival = np.asarray(arrival, dtype=float)
    n = arrival.size
    log = EventLog(point_id="p", replication=0, open_s=open_s, close_s=close_s, population=n, no_show=0,
                   servers={"swab": servers}, resident=np.arange(n), arrival_s=arrival, qr=np.zeros(n, dtype=bool),
                   served=np.ones(n, dtype=bool), station=np.zeros(n, dtype=np.int32))
    log.start["swab"] = np.asarray(start, dtype=float)
    log.end["swab"] = np.asarray(end, dtype=float)
    return log


# ------------------------------------------------------------------ measures (metrics)


def test_busy_period_of_three_residents_at_one_station():
    # All arrive at the opening, ten minutes each: two wait ten minutes, then one.
    period = busy_period(swab_log([0.0, 0.0, 0.0], [0.0, 600.0, 1200.0], [600.0, 1200.0, 1800.0]), "swab")
    assert (period.start_s, period.end_s) == (0.0, 1200.0)
    assert period.busy_s == period.duty_s == 1200.0  # the station served throughout
    assert period.waiting_s == pytest.approx(2 * 600.0 + 600.0)


def test_no_busy_period_without_a_line():
    period = busy_period(swab_log([0.0, 900.0], [0.0, 900.0], [300.0, 1200.0]), "swab")
    assert np.isnan(period.start_s) and period.duty_s == 0.0


def test_waiting_before_the_opening_counts_only_until_the_opening():
    log = swab_log([40.0, 90.0, 200.0], [100.0, 130.0, 200.0], [130.0, 160.0, 230.0], open_s=100.0)
    assert waiting_before_opening_s(log) == pytest.approx(60.0 + 10.0)


def test_a_day_nobody_comes_is_not_staffed():
    log = swab_log([10.0, 20.0], [10.0, 20.0], [15.0, 25.0], close_s=100.0)
    log.hours = [(0.0, 100.0), (DAY_S, DAY_S + 100.0)]
    assert staffed_days(log) == [0]
    assert staff_seconds(log)["sampler"] == pytest.approx(100.0)
    assert station_timeline(log).staffed == [(0.0, 100.0)]


# ------------------------------------------------------------------ limited_by


def evidence(**changes) -> Evidence:
    values = dict(plan="slots", plan_end_s=0.0, last_arrival_s=0.0, last_swab_s=60.0, finish_s=60.0, drain_min=1.0,
                  p90_wait_min=2.0, overtime_min=0.0, last_closing_s=0.0, waiting_at_closing=0.0, not_called=0.0,
                  never_walked_in=0.0, home_unserved=0.0, turned_away=0.0, left_the_line=0.0, roster=100.0,
                  arrived=100.0, sampled_total=100.0)
    return Evidence(**{**values, **changes})


def test_the_evidence_names_a_mop_up_that_ends_after_the_calls():
    hour = 3600.0
    called = evidence(plan="calling", calls_end_s=20.75 * hour, plan_end_s=23 * hour, last_arrival_s=22.9 * hour,
                      last_swab_s=22.95 * hour)
    text = evidence_text(SimpleNamespace(limited_by="arrivals", evidence=called))
    assert text.startswith("the last call comes about 20:45, the mop-up until 23:00, the last arrival 22:54")
    slots = evidence(calls_end_s=21 * hour, plan_end_s=21 * hour, last_arrival_s=21.2 * hour, last_swab_s=21.25 * hour)
    assert "mop-up" not in evidence_text(SimpleNamespace(limited_by="arrivals", evidence=slots))


@pytest.mark.parametrize("changes, limit, rule", [
    ({}, "arrivals", "within_target"),
    ({"p90_wait_min": TARGET}, "arrivals", "within_target"),  # at the target is within it
    ({"p90_wait_min": TARGET + 0.1}, "capacity", "p90_wait_over_target"),
    ({"drain_min": TARGET + 1}, "capacity", "slow_drain"),
    ({"left_the_line": 0.5}, "capacity", "left_the_line"),
    ({"never_walked_in": 5000.0}, "arrivals", "within_target"),  # walk-ins fewer than the roster: demand, not hours
    ({"not_called": 0.5, "p90_wait_min": 60.0}, "hours", "not_called"),  # hours before capacity
    ({"overtime_min": TARGET + 1}, "hours", "overtime_over_target"),
    ({"overtime_min": TARGET}, "arrivals", "within_target"),
    ({"turned_away": 3.0}, "hours", "turned_away"),
    ({"home_unserved": 1.0}, "hours", "home_unserved"),
])
def test_limited_by_rules(changes, limit, rule):
    limited_by, rules = classify(evidence(**changes), TARGET)
    assert limited_by == limit and rule in rules


# ------------------------------------------------------------------ the fluid model and the searches


def one_station(copies: int = 1, service_s: float = 60.0, staffed: bool = False):
    staff = {"staff": {"rota": [{"role": "sampler", "count": 1, "start": "08:00", "end": "20:00"}]}} if staffed else {}
    scenario = validate_scenario({"name": "fluid", "clock": {"open": "08:00", "close": "20:00"},
                                  "arrivals": {"kind": "poisson", "rate_per_hour": 10.0},
                                  "points": [{"id": "p", "population": 1000, "tents": 1, **staff, "stages": {
                                      "swab": {"service_s": {"dist": "fixed", "value": service_s}}}}]})
    return Fluids.of(scenario.points * copies, scenario, np.arange(7 * 3600.0, 36 * 3600.0, 60.0))


def test_fluid_waits_of_a_crowd_at_the_opening_are_its_place_over_the_rate():
    # 120 residents at 08:00, one a minute: the resident at place k waits k minutes; the p90 is 0.9 x 120.
    fluid = one_station()
    arrived = np.where(fluid.grid >= 8 * 3600.0, 120.0, 0.0)
    assert fluid.p90_wait_min(arrived[None, :])[0] == pytest.approx(0.9 * 120, abs=1.0)


def test_fluid_has_no_wait_below_capacity_and_counts_the_wait_for_the_opening():
    fluid = one_station(copies=2)
    steady = np.clip((fluid.grid - 8 * 3600.0) / 120.0, 0.0, 300.0)  # one every two minutes
    early = np.where(fluid.grid >= 7.5 * 3600.0, 1.0, 0.0) * 10  # ten come at 07:30: half an hour, then their turn
    waits = fluid.p90_wait_min(np.array([steady, early]))
    assert waits[0] == pytest.approx(0.0, abs=1.0)
    assert waits[1] == pytest.approx(30 + 0.9 * 10, abs=1.5)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("staffed", [False, True])  # a staff plan's rates: servers on duty over the mean time
@pytest.mark.parametrize("service_s", [0.0, 5e-324])
def test_a_stage_of_no_time_or_of_a_subnormal_time_limits_nothing(service_s: float, staffed: bool):
    # 1 / 5e-324 overflows: its rate is capped as a stage of no time's, not inf x 0 = NaN while closed.
    fluid = one_station(service_s=service_s, staffed=staffed)
    crowd = np.where(fluid.grid >= 8 * 3600.0, 120.0, 0.0)
    assert fluid.p90_wait_min(crowd[None, :])[0] <= 1.0  # within a step of the grid (a minute)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("left", [None, 0.0])
def test_a_reading_found_once_reads_as_interpolation_does_to_the_bit(seed: int, left):
    # Points of xp repeated, x on them, between them, outside them or NaN, fp with infinities and NaN.
    rng = np.random.default_rng(seed)
    xp = np.sort(np.round(rng.uniform(-100.0, 1e5, 30), seed % 3))
    xp[5] = xp[4]
    x = np.concatenate([rng.uniform(xp[0] - 50.0, xp[-1] + 50.0, 40), xp[rng.integers(0, xp.size, 10)],
                        [-np.inf, np.inf, np.nan, xp[0], xp[-1]]])
    fp = np.cumsum(rng.uniform(0.0, 10.0, (4, xp.size)), axis=1)
    fp[0, 10], fp[1, :], fp[2, 0], fp[3, 20:22] = np.inf, np.inf, np.nan, -np.inf
    read, interpolated = _Reading.of(x, xp, 4, left=left)(fp), _rows_interp(x, xp, fp, left=left)
    assert np.array_equal(read, interpolated, equal_nan=True)
    assert np.array_equal(np.signbit(read), np.signbit(interpolated))


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("left", [None, 0.0])
def test_a_reading_of_whole_seconds_found_in_one_row_reads_every_row_as_interpolation_does(seed: int, left):
    # A city's grid and admitted times: whole seconds (the nights -inf, clipped), so each row's lifted search is the
    # first row's, moved on; points of xp repeated, x on them, between them and outside them.
    rng = np.random.default_rng(seed)
    xp = np.sort(rng.integers(-3000, 200000, 30).astype(float))
    xp[5] = xp[4]
    x = np.concatenate([rng.integers(int(xp[0]) - 50, int(xp[-1]) + 50, 40).astype(float), xp[rng.integers(0, xp.size, 10)],
                        [-np.inf, np.inf, xp[0], xp[-1], -0.0]])
    rows = 1 + seed % 5
    fp = np.cumsum(rng.uniform(0.0, 10.0, (rows, xp.size)), axis=1)
    fp[0, 10], fp[-1, 20:22] = np.inf, -np.inf
    assert _whole(x, xp, rows) and not _whole(np.append(x, np.nan), xp, rows) and not _whole(x + 0.5, xp, rows)
    read, interpolated = _Reading.of(x, xp, rows, left=left)(fp), _rows_interp(x, xp, fp, left=left)
    assert np.array_equal(read, interpolated, equal_nan=True)
    assert np.array_equal(np.signbit(read), np.signbit(interpolated))


def test_bisection_and_bracket_find_the_crossing_of_a_growing_wait():
    p90 = lambda push: 2 * push ** 2  # noqa: E731  crosses 8 min at a push of 2
    push = Push("calling_plan", None, [], 0, now=0.0, low=-1.0, high=5.0)
    # Three points at once: one crossing at 2, one never within the target, one always within it.
    waits = lambda value: np.array([p90(value[0]), 20.0, 0.0])  # noqa: E731
    value, at_least = _search(waits, [push] * 3, 8.0, np.array([0.0, 20.0, 0.0]), steps=9)
    assert value[0] == pytest.approx(2.0, abs=5.0 / 2 ** 9) and not at_least[0]
    assert np.isnan(value[1]) and not at_least[1]  # even the gentlest plan fails
    assert value[2] == 5.0 and at_least[2]  # even the hardest passes
    good, bad = _bracket(p90, 1.2, -1.0, 5.0, 8.0, 0.1, 0.25)
    assert good <= 2.0 < bad and bad - good <= 0.5 + 1e-9
    assert _bracket(p90, 1.98, -1.0, 5.0, 8.0, 0.1, 0.25) == (1.93, 2.03)  # a close guess: two tries
    assert _bracket(lambda push: 20.0, 1.0, -1.0, 5.0, 8.0, 0.1, 0.25) == (None, None)
    assert _bracket(lambda push: 0.0, 1.0, -1.0, 5.0, 8.0, 0.1, 0.25) == (5.0, None)


# ------------------------------------------------------------------ ranking and words


def test_concerns_rank_late_then_overflow_then_long_waits():
    def point(limited_by="arrivals", p90=2.0, area=None):
        waiting_area = SimpleNamespace(capacity=area) if area else None
        return SimpleNamespace(limited_by=limited_by, evidence=SimpleNamespace(p90_wait_min=p90),
                               point=SimpleNamespace(waiting_area=waiting_area))

    def kpis(finish=10.0, peak=20.0):
        return {"finish_h": {"mean": finish}, "queue_max": {"total": {"mean": peak}}}

    assert concern_of(point(), kpis(finish=12.5), 12.0, TARGET) == ("late", 0.5)
    assert concern_of(point("hours"), kpis(), 12.0, TARGET)[0] == "late"
    assert concern_of(point(p90=40.0, area=10), kpis(peak=30.0), 12.0, TARGET) == ("overflow", 3.0)
    assert concern_of(point(p90=40.0, area=100), kpis(peak=30.0), 12.0, TARGET) == ("long_wait", 40.0)
    assert concern_of(point(p90=4.0), kpis(), 12.0, TARGET) == ("none", 4.0)


def test_every_stage_has_words_from_the_levers_even_one_not_described():
    scenarios = Path(__file__).resolve().parents[2] / "scenarios"
    rush, demo = (load_scenario(scenarios / f"{name}.yaml") for name in ("one-point-morning-rush", "one-point-demo"))
    desks = stage_words("registration", rush.points[0], rush)
    assert (desks.name, desks.servers) == ("the registration stage", "registration desks")
    assert desks.lever == "try one more registration desk or QR share up by 0.1"
    paired = stage_words("registration", demo.points[0], demo)
    assert paired.servers == "registrars at the stations" and paired.lever == (
        "try one more tent with its staff or QR share up by 0.1")
    assert stage_words("swab", demo.points[0], demo).servers == "sampling stations"
    unknown = stage_words("fever_check")
    assert unknown.servers == "fever check servers" and "fever check" in unknown.lever


def test_headroom_words_follow_its_sign_and_reach():
    base = dict(kind="calling_plan", target_min=TARGET, p90_now_min=1.0, plan_end_s=75600.0)
    assert "could end 1 h 30 min earlier (by 19:30)" in headroom_sentence(Headroom(**base, hours=1.5, end_at_target_s=70200.0), TARGET)
    ranged = Headroom(**base, hours=0.5, end_at_target_s=73800.0, method="simulation", precision=0.5)
    assert "could end 30 min to 1 h 00 min earlier (at least by 20:30)" in headroom_sentence(ranged, TARGET)
    assert "must end 45 min later" in headroom_sentence(Headroom(**base, hours=-0.75, end_at_target_s=78300.0), TARGET)
    assert "add capacity" in headroom_sentence(Headroom(**base, reachable=False), TARGET)
    walk_in = Headroom("walk_in_rate", TARGET, 1.0, factor=1.25, rate_per_hour=480.0, method="simulation")
    assert "1.25 times as fast (480 an hour)" in headroom_sentence(walk_in, TARGET)
