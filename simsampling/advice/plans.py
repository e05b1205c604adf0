"""Arrival plans made shorter or busier: the changes headroom tries and the calling-plan lever makes.

The one implementation of shortening a calling plan: ``advice.levers`` (the
``calling_span`` knob, the ``calls-1h`` lever, ``optimise --calling-span``),
``advice.feasibility`` and ``advice.headroom`` all go through it.

A calling plan (time slots, or building-by-building calls with their mop-up) is
**compressed in opening time**: every time the plan names (slot edges, the
first call, the mop-up window) is moved towards the plan's first call so that
the plan's last window ends ``by_h`` hours of opening time earlier, and each
gap between calls shrinks by the same factor. The same residents are called in
the same order, only faster; nights do not count (a two-day plan shortened by
three hours ends three opening hours earlier, not three clock hours), and a
negative ``by_h`` stretches the plan, up to the round's last closing. Lateness
and show-up are the residents', not the plan's: they do not change.

Walk-ins have no plan to shorten: their rate is scaled instead.

The plan's end is the end of its last window: the last slot's end, the last
call (for a calling plan, the *expected* last call: the number of batches
depends on the households drawn), or the mop-up's end, whichever is later.
Slot times are whole minutes in a scenario, so compressed slots are rounded to
the minute (a slot that would span a night is split in two, its share split by
length).
"""

from __future__ import annotations

import math
from typing import Optional, Union

import numpy as np

from ..scenario.schema import DAY_S, CallingArrivals, PoissonArrivals, Point, Scenario, SlotArrivals, clock_seconds

Arrivals = Union[SlotArrivals, PoissonArrivals, CallingArrivals]
Hours = list[tuple[float, float]]
MINUTE = 60.0
SMALLEST_FACTOR = 0.02
"""A plan is compressed to at least this share of its span (a shorter one is not a plan)."""


# ------------------------------------------------------------------ opening time


def _number(value) -> bool:
    """Whether ``value`` is one number (``np.ndim(value) == 0``), a float or int told without numpy's call: a
    city's diagnosis asks tens of thousands of times."""
    return isinstance(value, (float, int)) or np.ndim(value) == 0


def opening_time(hours: Hours, when_s):
    """Seconds of opening hours from the first opening up to ``when_s`` (nights do not count).

    ``when_s`` may be a number or an array (then an array of the same shape).
    """
    if _number(when_s):  # a number: plain arithmetic, a call costs microseconds
        return sum(min(max(float(when_s) - open_s, 0.0), close_s - open_s) for open_s, close_s in hours)
    when = np.asarray(when_s, dtype=float)
    return sum(np.clip(when - open_s, 0.0, close_s - open_s) for open_s, close_s in hours)


def clock_at(hours: Hours, opened_s, start: bool = False):
    """The time at which ``opened_s`` seconds of opening hours have passed (inverse of :func:`opening_time`).

    At a day's end the closing is returned, or with ``start`` the next opening
    (a window that starts there starts the next morning). Beyond the round's
    hours the last day continues. A number or an array.
    """
    if _number(opened_s):  # a number: walk the days
        opened, passed = float(opened_s), 0.0
        for day, (open_s, close_s) in enumerate(hours):
            length = close_s - open_s
            if day == len(hours) - 1 or opened < passed + length or (opened == passed + length and not start):
                return open_s + opened - passed
            passed += length
    opened = np.asarray(opened_s, dtype=float)
    opens, starts, ends = day_edges(hours)
    # Each time's day: the days that end before it (at a day's end: with ``start``, that day too). A comparison
    # a day, not a search: a round has a few days (MAX_DAYS), and the headroom's search asks for a city at a time.
    day = np.zeros(opened.shape, dtype=np.intp)
    for end in ends[:-1]:
        day += (opened >= end) if start else (opened > end)
    when = opens[day] + opened - starts[day]
    return float(when) if when.ndim == 0 else when


def day_edges(hours: Hours) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each day's opening (a clock time), and the opening time at its opening and at its closing: what
    :func:`clock_at` reads an array of opening times back with (and the headroom's compiled pushes)."""
    lengths = np.array([close_s - open_s for open_s, close_s in hours])
    ends = np.cumsum(lengths)
    return np.array([open_s for open_s, _ in hours]), ends - lengths, ends


# ------------------------------------------------------------------ the plan's span


def expected_batches(config: CallingArrivals, residents: int) -> int:
    """Batches a calling plan makes for a roster, on average (households of mean ``household_size``)."""
    households = residents / config.household_size
    return max(1, math.ceil(households / config.batch_households))


def _first_call_s(config: CallingArrivals, hours: Hours) -> float:
    return config.day * DAY_S + clock_seconds(config.start) if config.start else hours[config.day][0]


def calls_window(arrivals: Arrivals, hours: Hours, residents: int) -> tuple[float, float]:
    """(first call, end of the calls) in seconds since midnight of day 0, the mop-up left out.

    Slots: the first slot's start to the last slot's end; calls: the first call to the
    expected last call (calls skip the nights, as the model's do). Walk-ins: their window on
    the last day (from ``start`` on the first day).
    """
    if isinstance(arrivals, PoissonArrivals):
        first = clock_seconds(arrivals.start) if arrivals.start else hours[0][0]
        last_day = (len(hours) - 1) * DAY_S
        return first, last_day + clock_seconds(arrivals.end) if arrivals.end else hours[-1][1]
    if isinstance(arrivals, SlotArrivals):
        first = min(slot.day * DAY_S + clock_seconds(slot.start) for slot in arrivals.slots)
        return first, max(slot.day * DAY_S + clock_seconds(slot.end) for slot in arrivals.slots)
    first = _first_call_s(arrivals, hours)
    calls = (expected_batches(arrivals, residents) - 1) * arrivals.gap_min * MINUTE
    return first, clock_at(hours, opening_time(hours, first) + calls)


def plan_window(arrivals: Arrivals, hours: Hours, residents: int,
                calls: Optional[tuple[float, float]] = None) -> tuple[float, float]:
    """(first call, end of the plan) in seconds since midnight of day 0: :func:`calls_window` (``calls`` when
    the caller has it), its end moved to the mop-up's end when that is later."""
    first, end = calls if calls is not None else calls_window(arrivals, hours, residents)
    if not isinstance(arrivals, PoissonArrivals) and arrivals.mop_up is not None:
        end = max(end, arrivals.mop_up.day * DAY_S + clock_seconds(arrivals.mop_up.end))
    return first, end


def plan_span_h(arrivals: Arrivals, hours: Hours, residents: int, window: Optional[tuple[float, float]] = None) -> float:
    """Opening hours from the plan's first call to its end (nights do not count): what :func:`shorten_plan` shortens.
    ``window``: the plan's :func:`plan_window` when the caller has it."""
    first, end = window if window is not None else plan_window(arrivals, hours, residents)
    return (opening_time(hours, end) - opening_time(hours, first)) / 3600.0


def shortest_span_h(arrivals: Arrivals, hours: Hours, residents: int) -> float:
    """The shortest span :func:`shorten_plan` compresses the plan to (``SMALLEST_FACTOR`` of its span)."""
    return SMALLEST_FACTOR * plan_span_h(arrivals, hours, residents)


def stretch_room_h(arrivals: Arrivals, hours: Hours, residents: int, window: Optional[tuple[float, float]] = None) -> float:
    """Opening hours between the plan's end and the round's last closing: how far it can be stretched.
    ``window``: the plan's :func:`plan_window` when the caller has it."""
    _, end = window if window is not None else plan_window(arrivals, hours, residents)
    return max(0.0, opening_time(hours, hours[-1][1]) - opening_time(hours, end)) / 3600.0


# ------------------------------------------------------------------ transformations


def shorten_plan(arrivals: Arrivals, hours: Hours, by_h: float, residents: int) -> Arrivals:
    """The calling plan ending ``by_h`` hours of opening time earlier (negative: later), compressed
    towards its first call. Raises ValueError for walk-ins, for a plan too short to compress that
    far, or for one stretched past the round's last closing."""
    if isinstance(arrivals, PoissonArrivals):
        raise ValueError("walk-ins have no calling plan to shorten; scale their rate (scale_walk_in)")
    first, end = plan_window(arrivals, hours, residents)
    start_open, end_open = opening_time(hours, first), opening_time(hours, end)
    span = end_open - start_open
    if by_h == 0:
        return arrivals
    if span <= 0:
        raise ValueError("the calling plan calls everyone at once: there is nothing to shorten")
    factor = (span - by_h * 3600.0) / span
    if factor < SMALLEST_FACTOR:
        raise ValueError(f"the calling plan spans {span / 3600:.2f} opening hours: it cannot end {by_h:g} h earlier")
    if end_open + (factor - 1) * span > opening_time(hours, hours[-1][1]) + 1e-6:
        raise ValueError(f"the calling plan cannot end {-by_h:g} h later: it would run past the round's last closing")

    def moved(when_s: float, start: bool = False) -> float:
        return clock_at(hours, start_open + (opening_time(hours, when_s) - start_open) * factor, start=start)

    data = arrivals.model_dump(mode="json", exclude_none=True)
    if isinstance(arrivals, SlotArrivals):
        data["slots"] = _moved_slots(arrivals, hours, moved)
    else:
        # A gap of a few subnormal minutes would shrink to 0, which no calling plan may have: the smallest gap there is.
        data["gap_min"] = max(arrivals.gap_min * factor, math.ulp(0.0))
    if arrivals.mop_up is not None:
        mop_up = arrivals.mop_up
        begin = moved(mop_up.day * DAY_S + clock_seconds(mop_up.start), start=True)
        finish = moved(mop_up.day * DAY_S + clock_seconds(mop_up.end))
        pieces = _day_pieces(hours, begin, finish)
        day, begin, finish = max(pieces, key=lambda piece: piece[2] - piece[1])  # a window spanning a night: its longer part
        data["mop_up"] = {**data["mop_up"], "day": day, **_clock_pair(begin - day * DAY_S, finish - day * DAY_S, hours[day], day)}
    return type(arrivals).model_validate(data)


def end_plan_by(arrivals: Arrivals, hours: Hours, end_s: float, residents: int) -> Arrivals:
    """The calling plan compressed (or stretched) so that it ends at ``end_s`` (seconds since midnight of day 0)."""
    _, end = plan_window(arrivals, hours, residents)
    return shorten_plan(arrivals, hours, (opening_time(hours, end) - opening_time(hours, end_s)) / 3600.0, residents)


def scale_walk_in(arrivals: Arrivals, factor: float) -> PoissonArrivals:
    """Walk-ins coming ``factor`` times as fast (their window unchanged)."""
    if not isinstance(arrivals, PoissonArrivals):
        raise ValueError("only walk-ins (kind: poisson) have a rate to scale; shorten a calling plan instead")
    if not factor > 0:
        raise ValueError(f"the walk-in rate cannot be scaled by {factor:g}")
    return arrivals.model_copy(update={"rate_per_hour": arrivals.rate_per_hour * factor})


def with_point_arrivals(scenario: Scenario, point: Point, arrivals: Arrivals) -> Scenario:
    """The scenario with ``point`` alone, called by ``arrivals`` (its residents, draws and layout unchanged).

    The sample chain is left out (it does not change a point's queues); a point that
    pooled because of it keeps its pooling. Its residents are the same: draws are keyed
    by the point's id, not by its place in the scenario.
    """
    alone = point.model_copy(update={"arrivals": arrivals, "pooling": scenario.pooling_for(point)})
    return scenario.model_copy(update={"points": [alone], "chain": None})


# ------------------------------------------------------------------ slots


def _day_pieces(hours: Hours, begin_s: float, end_s: float) -> list[tuple[int, float, float]]:
    """(day, begin, end) of the parts of [begin, end) inside each day's opening hours."""
    pieces = []
    for day, (open_s, close_s) in enumerate(hours):
        low, high = max(begin_s, open_s), min(end_s, close_s)
        if high > low or (high == low and begin_s == end_s and open_s <= low <= close_s):
            pieces.append((day, low, high))
    return pieces or [(len(hours) - 1, begin_s, end_s)]


def _clock_text(seconds_in_day: float) -> str:
    minutes = int(round(seconds_in_day / MINUTE))
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _clock_pair(begin: float, end: float, day_hours: tuple[float, float], day: int) -> dict[str, str]:
    """Start and end of a window within one day, whole minutes, at least a minute long, inside its hours."""
    open_s, close_s = (edge - day * DAY_S for edge in day_hours)
    low = min(max(round(begin / MINUTE) * MINUTE, open_s), close_s - MINUTE)
    high = min(max(round(end / MINUTE) * MINUTE, low + MINUTE), close_s)
    return {"start": _clock_text(low), "end": _clock_text(high)}


def _moved_slots(arrivals: SlotArrivals, hours: Hours, moved) -> list[dict]:
    """Each slot moved; a slot that now spans a night becomes one slot per day, its share split by length."""
    slots = []
    for slot in arrivals.slots:
        begin = moved(slot.day * DAY_S + clock_seconds(slot.start), start=True)
        end = moved(slot.day * DAY_S + clock_seconds(slot.end))
        pieces = _day_pieces(hours, begin, max(end, begin))
        total = sum(high - low for _, low, high in pieces)
        for day, low, high in pieces:
            share = slot.share * ((high - low) / total if total > 0 else 1.0 / len(pieces))
            if share > 0:
                slots.append({"day": day, "share": share, **_clock_pair(low - day * DAY_S, high - day * DAY_S, hours[day], day)})
    return slots
