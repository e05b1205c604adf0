"""Headroom against bisection by simulation on the plan itself.

The diagnosis estimates how much earlier a calling plan could end (or how much
faster walk-ins could come) before the p90 total wait passes its target, with a
fluid model calibrated on the run (simsampling/advice/headroom.py), and checks
it by simulation where it matters. Here the answer is found the slow way: the
plan is shortened (``plans.shorten_plan``) or the rate scaled, the point run
again with the same seed and replications, and the p90 of the total wait
bisected to within ``BISECTION`` of the crossing. The estimate must agree
within its stated tolerance (``estimate_tolerance``: the larger of 0.25 h or
0.05 of the rate and 10% of the headroom), the check within the precision it
states (the bracket its plans end in).
"""

from __future__ import annotations

import pytest

from simsampling import run_scenario
from simsampling.advice import run_advice, scale_walk_in, shorten_plan, with_point_arrivals
from simsampling.advice.headroom import estimate_tolerance
from simsampling.scenario import validate_scenario

TARGET = 15.0
BISECTION = {"calling_plan": 1.0 / 60.0, "walk_in_rate": 0.005}
"""The bisection by simulation stops within a minute of plan, or half a percent of the rate."""

SLOTS = {
    "name": "slots-ample", "seed": 5, "replications": 3, "clock": {"open": "07:00", "close": "21:00"},
    "arrivals": {"kind": "slots", "slots": [{"start": "07:00", "end": "10:00", "share": 0.5},
                                            {"start": "13:00", "end": "19:00", "share": 0.5}]},
    "points": [{"id": "slots", "population": 1500, "tents": 3}],
}
CALLING = {
    "name": "calling", "seed": 11, "replications": 3, "clock": {"open": "07:00", "close": "23:00"},
    "arrivals": {"kind": "calling", "start": "07:30", "batch_households": 10, "gap_min": 15.0,
                 "mop_up": {"start": "21:00", "end": "23:00", "share": 0.5}},
    "points": [{"id": "calls", "population": 1200, "tents": 2, "setup_min": {"dist": "triangular", "low": 15, "mode": 30, "high": 60},
                "stages": {"temperature": {}, "registration": {"servers": "per_tent", "qr_share": 0.85}, "swab": {}}}],
}
WALK_IN = {
    "name": "walk-in", "seed": 2, "replications": 3, "clock": {"open": "08:00", "close": "18:00"},
    "arrivals": {"kind": "poisson", "rate_per_hour": 200.0},
    "points": [{"id": "booth", "population": 6000, "tents": 3, "stages": {"swab": {"service_s": {"dist": "exponential", "mean": 40}}}}],
}


def bisected(scenario, kind: str, low: float, high: float) -> float:
    """The largest push (hours earlier, or rate factor) whose simulated p90 total wait is within the target."""
    point = scenario.points[0]
    arrivals = scenario.arrivals_for(point)

    def p90(push: float) -> float:
        plan = scale_walk_in(arrivals, push) if kind == "walk_in_rate" else shorten_plan(arrivals, scenario.hours, push,
                                                                                          point.population)
        result = run_scenario(with_point_arrivals(scenario, point, plan), executor="serial", keep_logs=False)
        return result.point_summaries[point.id]["wait_min"]["total"]["p90"]["mean"]

    assert p90(low) <= TARGET < p90(high)
    while high - low > BISECTION[kind]:
        middle = (low + high) / 2
        low, high = (middle, high) if p90(middle) <= TARGET else (low, middle)
    return low


@pytest.mark.parametrize("data, kind, low, high", [
    (SLOTS, "calling_plan", 0.0, 11.0),
    (CALLING, "calling_plan", 0.0, 14.0),
    (WALK_IN, "walk_in_rate", 1.0, 4.0),
], ids=["slots", "calling", "walk-in"])
def test_headroom_agrees_with_bisection_on_the_plan(data, kind, low, high):
    scenario = validate_scenario(data)
    result = run_scenario(scenario, executor="serial")
    estimated = run_advice(result, TARGET, check_by_simulation=False).diagnosis.points[0]
    checked = run_advice(result, TARGET).diagnosis.points[0]
    assert estimated.limited_by == "arrivals"  # ample capacity: the plan sets the finish
    truth = bisected(scenario, kind, low, high)
    estimate = estimated.headroom
    assert estimate.kind == kind and estimate.method == "estimate"
    assert estimate.value == pytest.approx(truth, abs=estimate_tolerance(kind, truth) + BISECTION[kind])
    assert estimate.precision == pytest.approx(estimate_tolerance(kind, estimate.value))
    assert checked.headroom.method == "simulation"  # a small run: its one point is checked
    assert checked.headroom.value == pytest.approx(truth, abs=checked.headroom.precision + BISECTION[kind])
    assert checked.headroom.precision <= estimate_tolerance(kind, truth)
