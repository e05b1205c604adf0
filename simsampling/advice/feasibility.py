"""What no staffing can change: the arrival plan's bound on when a point can finish.

A resident admitted at time t (arriving by its day's closing) is sampled after t, unless it
leaves the line (balking, reneging). So at a point where nobody leaves, a replication's
finish is at least its last admitted arrival, whatever the stations, desks or staff. With
the replications a search will run (the same seed: the same arrivals, common random
numbers), this says before any simulation how many of them can meet a deadline at all;
when even that many cannot establish the confidence asked, the deadline is out of reach of
any staffing: the calling plan (or the walk-in window) sets the finish, not capacity.

:func:`deadline_check` proves it per point and says in words which field to change: the
calling plan's end (found by shortening the plan until enough replications can make it)
or the deadline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..draws import draw_residents
from ..log import day_clock
from ..scenario.schema import DAY_S, CallingArrivals, Point, PoissonArrivals, Scenario, SlotArrivals, clock_seconds
from .levers import KNOB, with_values
from .plans import calls_window

SHORTEN_STEP_H = 0.5
"""The calling plan's end is suggested to the half hour."""
MARGIN_SD = 4.0
"""A plan whose latest window ends this many lateness standard deviations (plus an hour) before
the deadline cannot be late by arrivals: it is not drawn."""


@dataclass(frozen=True)
class DeadlineCheck:
    """Whether the arrivals of a point leave a deadline within reach, and what to change if not."""

    point_id: str
    replications: int
    can_meet: int
    """Replications whose last admitted arrival is by the deadline: no staffing does better."""
    needed: int
    last_arrival_h: float
    """Mean over replications of the last admitted arrival, hours from the first opening."""
    reason: str = ""
    """In words, naming the field to change (empty when within reach)."""

    @property
    def within_reach(self) -> bool:
        return self.can_meet >= self.needed


def last_admitted_arrivals_h(scenario: Scenario, point: Point, replications: int) -> Optional[np.ndarray]:
    """Per replication, the last arrival admitted at the point (hours from the first opening; NaN: none).

    None when residents may leave the line (balking or reneging): then no bound is proved.
    """
    if point.balking is not None or point.reneging is not None:
        return None
    closes = np.array([close for _, close in scenario.hours])
    out = np.full(replications, np.nan)
    for replication in range(replications):
        draws = draw_residents(scenario, point, replication)
        admitted = draws.arrival_s[draws.arrival_s <= closes[draws.days]] if draws.count else draws.arrival_s
        if admitted.size:
            out[replication] = (admitted.max() - scenario.clock.open_s) / 3600.0
    return out


def _can_meet(last: np.ndarray, deadline_h: float) -> int:
    return int(np.count_nonzero(~(last > deadline_h + 1e-9)))


def _latest_window(scenario: Scenario, point: Point) -> tuple[float, str, str]:
    """The end of the plan's latest arrival window (seconds since midnight of day 0), its field and what it is."""
    arrivals = scenario.arrivals_for(point)
    index = scenario.points.index(point)
    where = "arrivals" if point.arrivals is None or point.arrivals == scenario.arrivals else f"points[{index}].arrivals"
    windows: list[tuple[float, str, str]] = []
    if isinstance(arrivals, SlotArrivals):
        k = max(range(len(arrivals.slots)), key=lambda i: (arrivals.slots[i].day, clock_seconds(arrivals.slots[i].end)))
        slot = arrivals.slots[k]
        windows.append((slot.day * DAY_S + clock_seconds(slot.end), f"{where}.slots[{k}].end", "the last calling slot"))
    elif isinstance(arrivals, CallingArrivals):
        end = calls_window(arrivals, scenario.hours, point.population)[1]
        windows.append((end, f"{where}.gap_min", "the last call (building by building)"))
    else:
        end = clock_seconds(arrivals.end) if arrivals.end else scenario.clock.close_s
        windows.append(((scenario.round.days - 1) * DAY_S + end, f"{where}.end", "walk-ins"))
    if not isinstance(arrivals, PoissonArrivals) and arrivals.mop_up is not None:
        mop = arrivals.mop_up
        windows.append((mop.day * DAY_S + clock_seconds(mop.end), f"{where}.mop_up.end", "the mop-up window"))
    return max(windows)


def _clock(seconds: float) -> str:
    return day_clock(round(seconds / 60.0) * 60.0)


def _lateness_sd_s(scenario: Scenario, point: Point) -> float:
    arrivals = scenario.arrivals_for(point)
    lateness = getattr(arrivals, "lateness_min", None)
    sd = getattr(lateness, "sd", None)
    return 60.0 * (sd if isinstance(sd, (int, float)) else 30.0)


def deadline_check(scenario: Scenario, point: Point, deadline_h: float, replications: int, needed: int,
                   deadline_field: str = "--deadline", explain: bool = True) -> Optional[DeadlineCheck]:
    """Whether ``needed`` of ``replications`` can meet ``deadline_h`` at ``point`` (None: not provable, or
    clearly within reach so not drawn).

    Out of reach, ``reason`` names the window that ends too late and suggests the latest end of
    the calling plan (to the half hour) that leaves the deadline within reach, and the earliest
    deadline the plan as written allows (``explain`` False: no reason, a quicker answer).
    """
    deadline_s = scenario.clock.open_s + deadline_h * 3600.0
    end_s, field, what = _latest_window(scenario, point)
    if end_s + MARGIN_SD * _lateness_sd_s(scenario, point) + 3600.0 < deadline_s:
        return None
    last = last_admitted_arrivals_h(scenario, point, replications)
    if last is None:
        return None
    can = _can_meet(last, deadline_h)
    mean_last = float(np.nanmean(last)) if np.isfinite(last).any() else math.nan
    check = DeadlineCheck(point.id, replications, can, needed, mean_last)
    if check.within_reach or not explain:
        return check
    late = replications - can
    reason = (f"{what} ends at {_clock(end_s)} ({field})"
              + (f", after the {_clock(deadline_s)} deadline" if end_s > deadline_s else
                 f", and residents still arrive after the {_clock(deadline_s)} deadline")
              + f": in {late} of {replications} replications someone arrives after it (the last at "
              f"{_clock(scenario.clock.open_s + mean_last * 3600.0)} on average), so no staffing can meet the deadline")
    fixes = []
    if what.startswith("the last call"):
        shorter = _shortest_fix(scenario, point, deadline_h, replications, needed)
        if shorter is not None:
            fixes.append(f"end the calling plan by {_clock(shorter)} (optimise --calling-span searches its span)")
    else:  # the mop-up window or walk-ins: they come uniformly until the window ends, without lateness
        by = math.floor((deadline_s - 1800.0) / 1800.0) * 1800.0
        fixes.append(f"end {what} by {_clock(by)}")
    ordered = np.sort(np.where(np.isnan(last), -np.inf, last))
    earliest = ordered[needed - 1] if needed <= replications else math.inf
    if math.isfinite(earliest):
        fixes.append(f"move the deadline ({deadline_field}) to {math.ceil(earliest * 2) / 2:g} h or later")
    if fixes:
        reason += "; " + " or ".join(fixes)
    return DeadlineCheck(point.id, replications, can, needed, mean_last, reason)


def _shortest_fix(scenario: Scenario, point: Point, deadline_h: float, replications: int, needed: int) -> Optional[float]:
    """The latest end of the calling plan (seconds since midnight of day 0) at which ``needed`` replications
    can meet the deadline: the plan shortened by the fewest half hours, found by bisection (None: none does)."""
    knob = KNOB["calling_span"]
    if knob.why_not(scenario, point) is not None:
        return None
    span = knob.value(scenario, point)
    steps = int(math.floor((span - knob.bounds(scenario, point)[0]) / SHORTEN_STEP_H + 1e-9))

    def shortened(k: int) -> tuple[Scenario, Point]:
        variant = with_values(scenario, {point.id: {knob.name: span - k * SHORTEN_STEP_H}}, only=[point.id])
        return variant, variant.points[0]

    def passes(k: int) -> bool:
        variant, moved = shortened(k)
        last = last_admitted_arrivals_h(variant, moved, replications)
        return last is not None and _can_meet(last, deadline_h) >= needed

    if steps < 1 or not passes(steps):
        return None
    low, high = 0, steps  # fails at low (the plan as written), passes at high
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if passes(middle) else (middle, high)
    variant, moved = shortened(high)
    return _latest_window_of_calls(variant, moved)


def _latest_window_of_calls(scenario: Scenario, point: Point) -> float:
    return calls_window(scenario.arrivals_for(point), scenario.hours, point.population)[1]
