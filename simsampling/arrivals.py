"""When residents arrive at a point: calling slots with lateness and no-shows, or walk-ins.

Arrival times are drawn for every member of the point's population, so a
resident keeps the same identity (and the same service draws) whatever the
layout under comparison.
"""

from __future__ import annotations

import numpy as np

from .random import sample, stream
from .scenario.schema import Clock, PoissonArrivals, SlotArrivals, clock_seconds, poisson_window


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


def slot_arrivals(config: SlotArrivals, population: int, seed: int, replication: int, point_id: str) -> np.ndarray:
    """Arrival time (seconds since midnight) of each resident; NaN for a no-show.

    Each slot calls its share of the roster (exactly, as a roster does); who is
    in which slot is a random permutation; within its slot a resident is called
    at a uniform time and arrives after its lateness.
    """
    rng = lambda name: stream(seed, replication, point_id, name)  # noqa: E731
    counts = slot_counts(population, [slot.share for slot in config.slots])
    slot_of = rng("slot").permutation(np.repeat(np.arange(len(config.slots)), counts))
    starts = np.array([clock_seconds(s.start) for s in config.slots])
    lengths = np.array([clock_seconds(s.end) for s in config.slots]) - starts
    called = starts[slot_of] + rng("slot_time").random(population) * lengths[slot_of]
    arrival = called + 60.0 * sample(config.lateness_min, rng("lateness"), population, signed=True)
    shows = rng("show_up").random(population) < config.show_up
    return np.where(shows, arrival, np.nan)


def poisson_arrivals(config: PoissonArrivals, clock: Clock, population: int, seed: int, replication: int, point_id: str) -> np.ndarray:
    """Walk-in times of a homogeneous Poisson process over the window, at most ``population``."""
    rng = stream(seed, replication, point_id, "walk_in")
    start, end = poisson_window(config, clock)
    count = rng.poisson(config.rate_per_hour * (end - start) / 3600.0)
    times = np.sort(rng.uniform(start, end, count))
    return times[:population]


def draw_arrivals(config, clock: Clock, population: int, seed: int, replication: int, point_id: str) -> np.ndarray:
    """Arrival time per resident identity (NaN: did not come)."""
    if isinstance(config, SlotArrivals):
        return slot_arrivals(config, population, seed, replication, point_id)
    return poisson_arrivals(config, clock, population, seed, replication, point_id)
