"""When residents arrive at a point: calling slots, building-by-building calls, or walk-ins.

Arrivals are drawn for every resident who is to come to the point (the roster
less those sampled at home), indexed by their place in the roster, so a
resident keeps the same identity whatever the layout under comparison. Each
arrival carries the day it belongs to: a resident arriving after that day's
closing is turned away; one arriving before its opening waits in line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional, Union

import numpy as np

from .random import sample
from .scenario.schema import DAY_S, CallingArrivals, MopUp, PoissonArrivals, SlotArrivals, clock_seconds

Streams = Callable[[str], np.random.Generator]
Hours = list[tuple[float, float]]


@dataclass(frozen=True)
class ArrivalDraw:
    """Per resident: arrival time (NaN: did not come), the day it counts for, whether called.

    The arrays cover the first ``arrival_s.size`` residents of a roster of ``roster``
    (None: exactly those); the others were never called. Walk-ins cover only those who
    came, so a large catchment costs what its arrivals cost, not its roster.
    """

    arrival_s: np.ndarray
    day: np.ndarray
    called: np.ndarray
    household: Optional[np.ndarray] = None
    roster: Optional[int] = None

    @property
    def residents(self) -> int:
        """Residents of the roster, covered by the arrays or not."""
        return self.arrival_s.size if self.roster is None else self.roster

    @property
    def no_show(self) -> int:
        """Residents called who never came."""
        return int(np.count_nonzero(self.called & np.isnan(self.arrival_s)))

    @property
    def not_called(self) -> int:
        """Residents the calling plan never reached before the round ended."""
        return int(np.count_nonzero(~self.called)) + self.residents - self.arrival_s.size


def slot_counts(population: int, shares: list[float]) -> np.ndarray:
    """Residents called in each slot: shares of the roster, rounded by largest remainder."""
    weights = np.asarray(shares, dtype=float)
    exact = weights / weights.sum() * population  # shares sum to 1 within 1e-6: make it exact
    counts = np.floor(exact).astype(np.int64)
    short = population - int(counts.sum())
    if short > 0:
        order = np.argsort(-(exact - counts), kind="stable")
        counts[order[:short]] += 1
    return counts


def slot_arrivals(config: SlotArrivals, residents: int, streams: Streams) -> ArrivalDraw:
    """Each slot calls its share of the roster exactly (as a roster does); who is in
    which slot is a random permutation; within its slot a resident is called at a
    uniform time and arrives after its own lateness, if it shows up at all."""
    counts = slot_counts(residents, [slot.share for slot in config.slots])
    slot_of = streams("slot").permutation(np.repeat(np.arange(len(config.slots)), counts))
    starts = np.array([slot.day * DAY_S + clock_seconds(slot.start) for slot in config.slots])
    lengths = np.array([clock_seconds(slot.end) - clock_seconds(slot.start) for slot in config.slots])
    days = np.array([slot.day for slot in config.slots], dtype=np.int16)
    called_at = starts[slot_of] + streams("slot_time").random(residents) * lengths[slot_of]
    arrival = called_at + 60.0 * sample(config.lateness_min, streams("lateness"), residents, signed=True)
    shows = streams("show_up").random(residents) < config.show_up
    return ArrivalDraw(np.where(shows, arrival, np.nan), days[slot_of], np.ones(residents, dtype=bool))


def household_of(residents: int, mean_size: float, rng: np.random.Generator) -> np.ndarray:
    """Household number of each resident in roster order: sizes 1 + Poisson(mean - 1).

    The sizes are the first of ``rng.poisson(mean - 1, residents)`` (a household of at least
    one per resident is always enough), drawn in parts only until they house the roster: numpy
    draws a Poisson array value after value from the stream, so the parts are that array's
    first values and the households the same (about ``residents / mean`` draws instead of
    ``residents``). ``rng`` is left after the last size drawn.
    """
    if residents == 0:
        return np.zeros(0, dtype=np.int64)
    lam = mean_size - 1.0
    parts, housed, drawn = [], 0, 0
    while housed < residents:
        left = residents - housed
        # The households the rest needs, a little more; never past `residents` sizes in all.
        count = min(residents - drawn, int(left / mean_size * 1.05) + 32)
        sizes = 1 + rng.poisson(lam, count)
        parts.append(sizes)
        housed += int(sizes.sum())
        drawn += count
    sizes = parts[0] if len(parts) == 1 else np.concatenate(parts)
    return np.repeat(np.arange(sizes.size), sizes)[:residents]


def call_times(first_s: float, gap_s: float, hours: Hours, count: int) -> np.ndarray:
    """Times of ``count`` calls every ``gap_s`` from ``first_s``, only while a point is open.

    A call that would fall at or after a day's closing moves to the next
    opening; calls that find no opening left in the round are NaN.
    """
    times = np.full(count, np.nan)
    done = 0
    for open_s, close_s in hours:
        if done == count or close_s <= first_s:
            continue
        start = max(open_s, first_s)
        fits = (close_s - start) / gap_s  # infinite for a gap of a few denormal seconds: no ceil of it
        fit = count - done if fits >= count - done else max(0, math.ceil(fits))
        while fit and start + gap_s * (fit - 1) >= close_s:  # rounding must not call at closing
            fit -= 1
        times[done : done + fit] = start + gap_s * np.arange(fit)
        done += fit
    return times


def calling_arrivals(config: CallingArrivals, residents: int, hours: Hours, streams: Streams) -> ArrivalDraw:
    """Households called in batches, building by building, in roster order.

    A household arrives together after one lateness draw; each member shows up
    on its own. Residents of batches that find no opening left are not called.
    """
    household = household_of(residents, config.household_size, streams("household"))
    households = int(household[-1]) + 1 if residents else 0
    batch = np.arange(households) // config.batch_households
    batches = int(batch[-1]) + 1 if households else 0
    open_s = hours[config.day][0]
    first = config.day * DAY_S + clock_seconds(config.start) if config.start else open_s
    called_at = call_times(first, config.gap_min * 60.0, hours, batches)[batch]
    lateness = 60.0 * sample(config.lateness_min, streams("lateness"), households, signed=True)
    day = np.floor((called_at - hours[0][0]) / DAY_S)
    reached = ~np.isnan(called_at)  # per household; each resident's values then gathered once
    called = reached[household]
    shows = streams("show_up").random(residents) < config.show_up
    arrival = np.where(shows & called, (called_at + lateness)[household], np.nan)
    return ArrivalDraw(arrival, np.where(reached, day, 0).astype(np.int16)[household], called, household)


def poisson_arrivals(config: PoissonArrivals, residents: int, hours: Hours, streams: Streams) -> ArrivalDraw:
    """Walk-ins at a constant rate over each day's window, at most ``residents`` in all.

    The k-th walk-in of the round is resident k; residents who never come are
    not counted as no-shows (they were never called), nor covered by the arrays.
    """
    rng = streams("walk_in")
    times, days = [], []
    for day, (open_s, close_s) in enumerate(hours):
        start = day * DAY_S + clock_seconds(config.start) if config.start else open_s
        end = day * DAY_S + clock_seconds(config.end) if config.end else close_s
        count = rng.poisson(config.rate_per_hour * (end - start) / 3600.0)
        times.append(uniform_in_order(rng.uniform(start, end, count), start, end))
        days.append(np.full(count, day, dtype=np.int16))
    came = np.concatenate(times)[:residents]
    return ArrivalDraw(came, np.concatenate(days)[: came.size], np.ones(came.size, dtype=bool), roster=residents)


def uniform_in_order(times: np.ndarray, start: float, end: float) -> np.ndarray:
    """``np.sort(times)`` of times drawn uniformly over [start, end), in about half its time.

    They are first put in 65,536 buckets of the window, which numpy orders by radix (16-bit
    keys) in one pass; nearly sorted then, a stable sort finishes them in a pass or two.
    The values are np.sort's (a sort of values: the same whatever sorted them first; times in a
    window from midnight on hold no -0.0, which sorts may place either side of 0.0).
    """
    scale = 65535.0 / (end - start) if end > start else math.inf
    if times.size < 2 or not math.isfinite(scale):
        return np.sort(times)
    buckets = np.clip((times - start) * scale, 0.0, 65535.0).astype(np.uint16)
    return np.sort(times[np.argsort(buckets, kind="stable")], kind="stable")


FEW_TIMES = 512
"""Times up to which ``in_time_order`` sorts them at once: the buckets' passes cost more than they save (26
times: 12.6 us against 1.1; 600: 20 against 8.6; 2,600: 36 against 120)."""


def in_time_order(times: np.ndarray) -> np.ndarray:
    """``np.argsort(times, kind="stable")`` of times without NaN, in about half its time (a Xi'an point's
    called residents: 40 us of 80).

    The times are first put in 65,536 buckets of their range, which numpy orders by radix (16-bit keys) in one
    pass; nearly sorted then, a stable sort finishes them. The same permutation: a bucket is a non-decreasing
    function of the time, so equal times share a bucket and keep their order through both stable sorts.
    """
    if times.size < FEW_TIMES:
        return np.argsort(times, kind="stable")
    low, high = float(times.min()), float(times.max())
    span = high - low  # NaN with a NaN time, infinite with an infinite one or a range beyond float64's
    scale = 65535.0 / span if 0.0 < span < math.inf else math.inf
    if not math.isfinite(scale):
        return np.argsort(times, kind="stable")
    buckets = np.clip((times - low) * scale, 0.0, 65535.0).astype(np.uint16)
    first = np.argsort(buckets, kind="stable")
    return first[np.argsort(times[first], kind="stable")]


def mop_up(draw: ArrivalDraw, config: MopUp, streams: Streams) -> ArrivalDraw:
    """A ``share`` of those who missed their turn come, at a uniform time in the window."""
    rng = streams("mop_up")
    missed = draw.called & np.isnan(draw.arrival_s)
    comes = missed & (rng.random(missed.size) < config.share)
    start = config.day * DAY_S + clock_seconds(config.start)
    length = clock_seconds(config.end) - clock_seconds(config.start)
    when = start + rng.random(missed.size) * length
    return ArrivalDraw(
        np.where(comes, when, draw.arrival_s),
        np.where(comes, config.day, draw.day).astype(np.int16),
        draw.called,
        draw.household,
    )


def draw_arrivals(
    config: Union[SlotArrivals, PoissonArrivals, CallingArrivals], residents: int, hours: Hours, streams: Streams
) -> ArrivalDraw:
    """Arrivals of ``residents`` roster members under a calling plan, with its mop-up."""
    if isinstance(config, SlotArrivals):
        draw = slot_arrivals(config, residents, streams)
    elif isinstance(config, CallingArrivals):
        draw = calling_arrivals(config, residents, hours, streams)
    else:
        return poisson_arrivals(config, residents, hours, streams)
    if config.mop_up is not None:
        draw = mop_up(draw, config.mop_up, streams)
    # The round starts at midnight of day 0: nobody queues before it (a point opening at
    # 00:00 with early arrivals), so the series from midnight hold every wait.
    return ArrivalDraw(np.maximum(draw.arrival_s, 0.0), draw.day, draw.called, draw.household)
