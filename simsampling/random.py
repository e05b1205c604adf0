"""Random streams and batched draws from scenario distributions.

Every random quantity has its own stream, keyed by (seed, replication, point id,
stream name) through ``numpy.random.SeedSequence``; a stage's streams are named
after the stage (``simsampling/stages``), so adding a stage to a flow leaves
the draws of every other stage as they were. Because the key does not
depend on anything else in the scenario, two scenarios run with the same seed
see the same residents (common random numbers), a point's draws do not change
when another point is added, and any worker process can rebuild any stream.
"""

from __future__ import annotations

import hashlib
import math
from functools import lru_cache
from typing import Optional

import numpy as np

from . import seeding
from .scenario.distributions import (
    Empirical,
    Exponential,
    Fixed,
    Gamma,
    Lognormal,
    Normal,
    Triangular,
    Uniform,
    Weibull,
)

# Stream numbers are part of the reproducibility contract: append, never reorder.
STREAMS = {
    "show_up": 0,
    "slot": 1,
    "slot_time": 2,
    "lateness": 3,
    "walk_in": 4,
    "qr": 5,
    "temperature": 6,
    "registration_qr": 7,
    "registration_manual": 8,
    "swab": 9,
    "household": 10,
    "mop_up": 11,
    "setup": 12,
    "home": 13,
    "home_household": 14,
    "home_travel": 15,
    "home_service": 16,
    "home_ppe": 17,
    "tube_handling": 18,
    "infection": 19,
    "recall": 20,
    "courier": 21,
    "priority": 22,
    "balk_threshold": 23,
    "balk_return": 24,
    "balk_return_delay": 25,
    "patience": 26,
    "disinfection": 27,
}


NAMED = 2**64
"""Streams not in ``STREAMS`` (the stages added since stages became data, their routes...) are
numbered ``NAMED`` + a 64-bit hash of their name: stable in every process and run, never one
of the numbers above, and independent of which other stages a point has."""


@lru_cache(maxsize=65536)
def point_key(point_id: str) -> int:
    """A stable 64-bit number for a point id (the same in every process and run)."""
    return int.from_bytes(hashlib.blake2b(point_id.encode("utf-8"), digest_size=8).digest(), "little")


@lru_cache(maxsize=4096)
def stream_number(name: str) -> int:
    """The number keying a stream: its fixed number, or for any other name ``NAMED`` + its hash."""
    number = STREAMS.get(name)
    return number if number is not None else NAMED + point_key(name)


def stream(seed: int, replication: int, point_id: str, name: str) -> np.random.Generator:
    """The generator of one named stream of one point in one replication.

    Seeded as ``PCG64(SeedSequence(entropy=seed, spawn_key=(replication, point_key(point_id),
    stream_number(name))))``, the same state to the bit (``seeding``), built in a third of the time.
    """
    return point_streams(seed, replication, point_id)(name)


def point_streams(seed: int, replication: int, point_id: str) -> "PointStreams":
    """The streams of one point in one replication: called with a stream's name, its generator.

    The part of the seeding that the point's streams share is done once (and kept for the
    last few hundred points), so each stream costs its own name's share.
    """
    return _point_streams(seed, replication, point_key(point_id))


class PointStreams:
    """The generators of one point's streams in one replication, by name (``stream``)."""

    __slots__ = ("seed", "replication", "point", "_pool", "_step", "_numbered")

    def __init__(self, seed: int, replication: int, point: int):
        self.seed, self.replication, self.point = seed, replication, point
        self._pool, self._step = seeding.mixed(seed, (replication, point))
        self._numbered = None

    def __call__(self, name: str) -> np.random.Generator:
        number = stream_number(name)
        if number < len(STREAMS):
            # A point asks for about fifteen numbered streams: all of their states made at the first, at once.
            if self._numbered is None:
                self._numbered = seeding.states_of(self._pool, _numbered_table(self._step))
            state = self._numbered[number]
        else:
            state = seeding.hashed_state(self._pool, _hashed_number(self._step, number))
        seeded = seeding.Seeded(self.seed, (self.replication, self.point, number), state)
        return np.random.Generator(np.random.PCG64(seeded))


@lru_cache(maxsize=256)
def _point_streams(seed: int, replication: int, point: int) -> PointStreams:
    return PointStreams(seed, replication, point)


@lru_cache(maxsize=64)
def _numbered_table(step: int) -> np.ndarray:
    """``seeding.one_word_table`` of the numbered streams (``STREAMS``: 0, 1, 2... in order) from ``step`` on."""
    assert sorted(STREAMS.values()) == list(range(len(STREAMS))), "stream numbers are 0..n-1"
    return seeding.one_word_table(step, range(len(STREAMS)))


@lru_cache(maxsize=4096)
def _hashed_number(step: int, number: int) -> tuple[int, ...]:
    """A stream number's words hashed for mixing from ``step`` on (``seeding.hashed_words``): the same at every point."""
    words = tuple(seeding.words(number))
    assert len(words) <= 3, "a stream number is below 2**96"
    return seeding.hashed_words(step, words)


def sample(dist, rng: np.random.Generator, size: int, signed: bool = False) -> np.ndarray:
    """``size`` draws of ``dist`` as float64.

    Durations (``signed=False``) come from a normal truncated at zero, redrawn
    where negative; signed offsets such as lateness keep negative values.
    """
    if isinstance(dist, Fixed):
        return np.full(size, float(dist.value))
    if isinstance(dist, Exponential):
        return rng.exponential(dist.mean, size)
    if isinstance(dist, Lognormal):
        if dist.sd == 0:
            return np.full(size, float(dist.mean))
        ratio = dist.sd / dist.mean
        # (sd / mean) ** 2 overflows for a subnormal mean: log1p(x ** 2) is then 2 log x, taken in logs.
        sigma2 = math.log1p(ratio**2) if ratio < 1e150 else 2.0 * (math.log(dist.sd) - math.log(dist.mean))
        return rng.lognormal(math.log(dist.mean) - sigma2 / 2.0, math.sqrt(sigma2), size)
    if isinstance(dist, Triangular):
        return rng.triangular(dist.low, dist.mode, dist.high, size)
    if isinstance(dist, Uniform):
        return rng.uniform(dist.low, dist.high, size)
    if isinstance(dist, Gamma):
        return rng.gamma(dist.shape, dist.scale, size)
    if isinstance(dist, Weibull):
        return dist.scale * rng.weibull(dist.shape, size)
    if isinstance(dist, Empirical):
        return rng.choice(np.asarray(dist.values, dtype=float), size)
    if isinstance(dist, Normal):
        values = rng.normal(dist.mean, dist.sd, size)
        if not signed:
            _redraw_negative(values, dist, rng)
        return values
    raise TypeError(f"unknown distribution {dist!r}")


def prefix_stable(dist, signed: bool = False) -> bool:
    """Whether the first k of ``sample(dist, rng, n)`` are ``sample(dist, rng, k)`` for every k <= n.

    numpy's Generators fill an array value by value from one stream, so k draws are
    the first k of n; a truncated normal is not, as its redraws follow all n first draws.
    """
    return signed or not isinstance(dist, Normal)


def roster_sample(
    dist, rng: np.random.Generator, roster: int, who: Optional[np.ndarray], signed: bool = False, reach: Optional[int] = None
) -> np.ndarray:
    """``sample(dist, rng, roster)[who]``, drawing only up to the highest resident in ``who`` where that gives the same values.

    Draws indexed by identity in the roster keep common random numbers between
    scenarios; drawing no further than the last resident who came makes a large
    roster with few arrivals (walk-ins from a big catchment) cost its arrivals.
    ``reach``: ``reach_of(who)``, when the caller has it. ``who`` None: the first
    ``reach`` residents in roster order (walk-ins: the k-th to come is resident k),
    taken without indexing.
    """
    size = roster if not prefix_stable(dist, signed) else (reach_of(who) if reach is None else reach)
    return _taken(sample(dist, rng, size, signed), who, reach)


def roster_uniform(rng: np.random.Generator, who: Optional[np.ndarray], reach: Optional[int] = None) -> np.ndarray:
    """``rng.random(roster)[who]``, drawn only up to the highest resident in ``who`` (the same values; ``who``
    None: the first ``reach`` residents in order)."""
    return _taken(rng.random(reach_of(who) if reach is None else reach), who, reach)


def _taken(drawn: np.ndarray, who: Optional[np.ndarray], reach: Optional[int]) -> np.ndarray:
    """The draws of ``who`` (of the first ``reach`` residents when None; a copy if more were drawn)."""
    if who is not None:
        return drawn[who]
    return drawn if drawn.size == reach else drawn[:reach].copy()


def reach_of(who: np.ndarray) -> int:
    """How far into the roster draws indexed by ``who`` must go: its highest resident, plus one (0 for nobody)."""
    return int(who.max()) + 1 if who.size else 0


def _redraw_negative(values: np.ndarray, dist: Normal, rng: np.random.Generator) -> None:
    """Truncate a normal at zero by redrawing the negative draws (schema: mean > 0)."""
    negative = np.flatnonzero(values < 0)
    while negative.size:
        values[negative] = rng.normal(dist.mean, dist.sd, negative.size)
        negative = negative[values[negative] < 0]
