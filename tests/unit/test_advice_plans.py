"""Arrival plans made shorter or busier (simsampling/advice/plans.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simsampling.advice.plans import (
    clock_at,
    end_plan_by,
    opening_time,
    plan_window,
    scale_walk_in,
    shorten_plan,
    stretch_room_h,
    with_point_arrivals,
)
from simsampling.scenario import validate_scenario
from simsampling.scenario.schema import DAY_S, CallingArrivals, PoissonArrivals, SlotArrivals, clock_seconds

H = 3600.0
ONE_DAY = [(7 * H, 22 * H)]
TWO_DAYS = [(7 * H, 22 * H), (DAY_S + 7 * H, DAY_S + 22 * H)]


def slots(*windows) -> SlotArrivals:
    return SlotArrivals.model_validate({"kind": "slots", "slots": [
        {"start": start, "end": end, "share": share, "day": day} for day, start, end, share in windows]})


def span_h(arrivals, hours, residents=1000) -> float:
    start, end = plan_window(arrivals, hours, residents)
    return (opening_time(hours, end) - opening_time(hours, start)) / H


@given(st.floats(0, 30 * H, allow_nan=False))
@settings(max_examples=60, deadline=None)
def test_opening_time_and_clock_at_invert_each_other(opened):
    when = clock_at(TWO_DAYS, opened)
    # clock times are around 25,200 s, whose float spacing is 3.6e-12 s: compare to a microsecond
    assert opening_time(TWO_DAYS, when) == pytest.approx(min(opened, 30 * H), abs=1e-6)
    assert any(open_s <= when <= close_s for open_s, close_s in TWO_DAYS) or opened > 30 * H


@pytest.mark.parametrize("days", [1, 2, 3, 14])
@pytest.mark.parametrize("start", [False, True])
def test_clock_at_of_an_array_is_clock_at_of_each_number(days, start):
    # Every day a minute longer than the one before; times at, just before and just after each day's end.
    hours = [(day * DAY_S + 7 * H, day * DAY_S + 21 * H + 60.0 * day) for day in range(days)]
    ends = np.cumsum([close_s - open_s for open_s, close_s in hours])
    opened = np.concatenate([np.random.default_rng(days).uniform(-H, ends[-1] + 2 * H, 200), ends,
                             np.nextafter(ends, -np.inf), np.nextafter(ends, np.inf), [0.0, -H]])
    expected = [clock_at(hours, float(value), start=start) for value in opened]
    assert clock_at(hours, opened[None, :], start=start)[0].tolist() == expected


def test_nights_do_not_count_and_a_window_starting_at_a_closing_starts_next_morning():
    assert opening_time(TWO_DAYS, 23 * H) == opening_time(TWO_DAYS, DAY_S + 7 * H) == 15 * H
    assert clock_at(TWO_DAYS, 15 * H) == 22 * H
    assert clock_at(TWO_DAYS, 15 * H, start=True) == DAY_S + 7 * H


def test_slots_shortened_end_earlier_by_exactly_that_keeping_shares_and_order():
    plan = slots((0, "07:00", "09:00", 0.3), (0, "09:00", "12:00", 0.35), (0, "14:00", "18:00", 0.25),
                 (0, "18:00", "21:00", 0.1))
    shorter = shorten_plan(plan, ONE_DAY, 2.0, 2600)
    assert span_h(shorter, ONE_DAY) == pytest.approx(span_h(plan, ONE_DAY) - 2.0)
    assert [s.share for s in shorter.slots] == [s.share for s in plan.slots]
    starts = [clock_seconds(s.start) for s in shorter.slots]
    assert starts == sorted(starts) and shorter.slots[0].start == "07:00"
    assert shorten_plan(plan, ONE_DAY, 0.0, 2600) == plan


def test_a_slot_pulled_across_a_night_is_split_by_length():
    plan = slots((0, "07:00", "22:00", 0.5), (1, "07:00", "12:00", 0.5))
    shorter = shorten_plan(plan, TWO_DAYS, 3.0, 100)
    assert sum(s.share for s in shorter.slots) == pytest.approx(1.0)
    assert {s.day for s in shorter.slots} == {0, 1}
    assert span_h(shorter, TWO_DAYS) == pytest.approx(20.0 - 3.0, abs=1 / 60)


def test_calling_plan_gaps_shrink_and_the_mop_up_moves_with_the_plan():
    plan = CallingArrivals.model_validate({"kind": "calling", "start": "07:30", "gap_min": 15.0, "batch_households": 20,
                                           "household_size": 2.5, "mop_up": {"start": "21:00", "end": "22:00"}})
    first, end = plan_window(plan, ONE_DAY, 2500)
    assert (first, end) == (7.5 * H, 22 * H)
    shorter = shorten_plan(plan, ONE_DAY, 3.0, 2500)
    factor = (14.5 - 3.0) / 14.5
    assert shorter.gap_min == pytest.approx(15.0 * factor)
    assert clock_seconds(shorter.mop_up.end) == pytest.approx(7.5 * H + 14.5 * H * factor, abs=30)
    assert shorter.start == "07:30"


def test_a_subnormal_gap_compressed_stays_a_gap_a_calling_plan_may_have():
    """The run fuzzer's find: a gap of 5e-324 minutes times a factor below one is 0, which CallingArrivals refuses;
    the diagnosis' check of a shorter plan then failed a scenario that validates."""
    plan = CallingArrivals.model_validate({"kind": "calling", "start": "07:30", "gap_min": 5e-324,
                                           "mop_up": {"start": "21:00", "end": "22:00"}})
    shorter = shorten_plan(plan, ONE_DAY, 10.0, 2500)  # to less than half its span: the gap's product rounds to 0
    assert shorter.gap_min == math.ulp(0.0) > 0
    assert span_h(shorter, ONE_DAY, 2500) == pytest.approx(span_h(plan, ONE_DAY, 2500) - 10.0, abs=1 / 60)


def test_end_by_a_time_and_how_far_a_plan_can_stretch():
    plan = slots((0, "08:00", "12:00", 1.0))
    assert stretch_room_h(plan, ONE_DAY, 100) == pytest.approx(10.0)
    assert plan_window(end_plan_by(plan, ONE_DAY, 10 * H, 100), ONE_DAY, 100)[1] == 10 * H
    assert plan_window(end_plan_by(plan, ONE_DAY, 22 * H, 100), ONE_DAY, 100)[1] == 22 * H
    with pytest.raises(ValueError, match="past the round's last closing"):
        shorten_plan(plan, ONE_DAY, -10.5, 100)
    with pytest.raises(ValueError, match="cannot end"):
        shorten_plan(plan, ONE_DAY, 4.0, 100)


def test_walk_ins_are_scaled_not_shortened():
    walk_in = PoissonArrivals.model_validate({"kind": "poisson", "rate_per_hour": 100.0})
    assert scale_walk_in(walk_in, 1.5).rate_per_hour == 150.0
    with pytest.raises(ValueError, match="scale their rate"):
        shorten_plan(walk_in, ONE_DAY, 1.0, 100)
    with pytest.raises(ValueError, match="shorten a calling plan"):
        scale_walk_in(slots((0, "08:00", "12:00", 1.0)), 2.0)


def test_a_point_alone_with_new_arrivals_validates_and_keeps_its_id():
    scenario = validate_scenario({"name": "two", "clock": {"open": "07:00", "close": "22:00"}, "arrivals": {
        "kind": "slots", "slots": [{"start": "07:00", "end": "12:00", "share": 1.0}]},
        "points": [{"id": "a", "population": 100, "tents": 1}, {"id": "b", "population": 200, "tents": 2}]})
    point = scenario.points[1]
    alone = with_point_arrivals(scenario, point, shorten_plan(scenario.arrivals_for(point), scenario.hours, 1.0, 200))
    assert [p.id for p in alone.points] == ["b"] and alone.points[0].arrivals.slots[0].end == "11:00"
    assert not math.isnan(alone.deadline_s)
