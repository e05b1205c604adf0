"""numpy's ``SeedSequence`` for the package's streams, in plain integers and shared by a point's streams.

A stream is ``PCG64(SeedSequence(entropy=seed, spawn_key=(replication, point, stream)))``
(``simsampling.random``). ``SeedSequence`` turns its key into 32-bit words (the seed's,
padded to four, then each number of the spawn key in turn), mixes the first four into a
pool of four words and then every further word into the pool, one after the other, with
hash constants that depend only on the step; PCG64 is seeded with the pool hashed out into
four 64-bit words. The pool after the seed, the replication and the point is the same for
every stream of the point: mixed once, only the stream's own words (one for a numbered
stream, three for a named one) are mixed for each stream. numpy builds the whole sequence
per stream, about 20 microseconds, here about a third of that; the state is the same to the
bit (tests/unit/test_seeding.py compares them on random keys).

This module mirrors numpy's ``numpy/random/bit_generator.pyx`` (``SeedSequence``:
``mix_entropy``, ``generate_state``, ``hashmix``, ``mix``), which has kept these constants
since numpy 1.17; the tests hold it to the installed numpy.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.random.bit_generator import ISpawnableSeedSequence

MASK = 0xFFFFFFFF
INIT_A = 0x43B0D7E5
MULT_A = 0x931E8875
INIT_B = 0x8B51F9DD
MULT_B = 0x58F38DED
MIX_MULT_L = 0xCA01F9DD
MIX_MULT_R = 0x4973F715
XSHIFT = 16
POOL = 4


def words(value: int) -> list[int]:
    """A non-negative integer as numpy's seeding reads it: 32-bit words, least significant first ([0] for 0)."""
    if value < 0:
        raise ValueError("seeds and keys are non-negative")
    out = []
    while value:
        out.append(value & MASK)
        value >>= 32
    return out or [0]


def _constants(init: int, mult: int, count: int) -> list[tuple[int, int]]:
    """The hash constant before and after each step: hashing ``value`` at a step is
    ``value ^= before; value *= after; value ^= value >> 16`` (the constants follow the step, not the values)."""
    out, const = [], init
    for _ in range(count):
        after = (const * mult) & MASK
        out.append((const, after))
        const = after
    return out


_MIX = _constants(INIT_A, MULT_A, 64)
"""The mixing steps' constants: 4 + 12 for the pool, then 4 for each further word (grown on demand)."""
_OUT = _constants(INIT_B, MULT_B, 8)
"""The constants hashing the pool out into the eight 32-bit words of PCG64's four 64-bit words."""


def _mix_constants(upto: int) -> list[tuple[int, int]]:
    global _MIX
    if upto > len(_MIX):
        _MIX = _constants(INIT_A, MULT_A, 2 * upto)
    return _MIX


def mixed(seed: int, spawn_key: tuple[int, ...]) -> tuple[tuple[int, int, int, int], int]:
    """The pool of ``SeedSequence(entropy=seed, spawn_key=spawn_key)`` once mixed, and the steps taken.

    ``SeedSequence.get_assembled_entropy`` and ``mix_entropy`` with a pool of four words:
    the seed's words, padded to four when there is a spawn key, then the spawn key's.
    """
    pool, step = _seed_pool(seed)
    more = [word for number in spawn_key for word in words(number)]
    return mix_in(pool, step, more)


@lru_cache(maxsize=64)
def _seed_pool(seed: int) -> tuple[tuple[int, int, int, int], int]:
    """The pool once the seed's words are mixed (the same for every key of a seed)."""
    entropy = words(seed)
    if len(entropy) < POOL:  # padded with zeros when there is a spawn key, hashmix(0) where numpy runs out of words without one
        entropy += [0] * (POOL - len(entropy))
    constants = _mix_constants(POOL * POOL)
    pool = []
    for step in range(POOL):
        before, after = constants[step]
        value = ((entropy[step] ^ before) * after) & MASK
        pool.append(value ^ (value >> XSHIFT))
    step = POOL
    for source in range(POOL):
        for target in range(POOL):
            if source != target:
                before, after = constants[step]
                step += 1
                value = ((pool[source] ^ before) * after) & MASK
                value ^= value >> XSHIFT
                result = (MIX_MULT_L * pool[target] - MIX_MULT_R * value) & MASK
                pool[target] = result ^ (result >> XSHIFT)
    return mix_in((pool[0], pool[1], pool[2], pool[3]), step, entropy[POOL:])


def mix_in(pool: tuple[int, ...], step: int, more) -> tuple[tuple[int, int, int, int], int]:
    """The pool of ``mixed`` after mixing in further words (the rest of a spawn key), and the steps taken."""
    more = tuple(more)
    return hashed_pool(pool, hashed_words(step, more)), step + POOL * len(more)


@lru_cache(maxsize=256)
def flat_constants(step: int, count: int) -> tuple[int, ...]:
    """The hash constants (before, after, ...) of mixing ``count`` words into the pool from ``step`` on."""
    constants = _mix_constants(step + POOL * count)
    return tuple(value for pair in constants[step : step + POOL * count] for value in pair)


_OUT_FLAT = tuple(value for pair in _OUT for value in pair)


def state(pool) -> np.ndarray:
    """``generate_state(4, np.uint64)`` of a mixed pool: what PCG64 is seeded with."""
    p0, p1, p2, p3 = pool
    b0, a0, b1, a1, b2, a2, b3, a3, b4, a4, b5, a5, b6, a6, b7, a7 = _OUT_FLAT
    x0 = ((p0 ^ b0) * a0) & MASK
    x1 = ((p1 ^ b1) * a1) & MASK
    x2 = ((p2 ^ b2) * a2) & MASK
    x3 = ((p3 ^ b3) * a3) & MASK
    x4 = ((p0 ^ b4) * a4) & MASK
    x5 = ((p1 ^ b5) * a5) & MASK
    x6 = ((p2 ^ b6) * a6) & MASK
    x7 = ((p3 ^ b7) * a7) & MASK
    return np.array(
        [
            (x0 ^ (x0 >> 16)) | ((x1 ^ (x1 >> 16)) << 32),
            (x2 ^ (x2 >> 16)) | ((x3 ^ (x3 >> 16)) << 32),
            (x4 ^ (x4 >> 16)) | ((x5 ^ (x5 >> 16)) << 32),
            (x6 ^ (x6 >> 16)) | ((x7 ^ (x7 >> 16)) << 32),
        ],
        dtype=np.uint64,
    )


def hashed_words(step: int, more: tuple[int, ...]) -> tuple[int, ...]:
    """What mixing ``more`` into a pool from ``step`` on takes from the words alone, whatever the pool: each word
    hashed with each pool word's constants (SeedSequence.mix_entropy's hash of the word), four values a word. A stream's words are
    the same at every point (and mixed at the same step): hashed once (``random`` keeps them), not at every point."""
    constants = flat_constants(step, len(more))
    hashed = []
    at = 0
    for word in more:
        for _ in range(POOL):
            value = ((word ^ constants[at]) * constants[at + 1]) & MASK
            hashed.append(value ^ (value >> 16))
            at += 2
    return tuple(hashed)


def hashed_state(pool, hashed: tuple[int, ...]) -> np.ndarray:
    """``state`` of the pool after mixing in words already hashed (``hashed_words`` from the pool's step)."""
    return state(hashed_pool(pool, hashed))


def hashed_pool(pool, hashed: tuple[int, ...]) -> tuple[int, int, int, int]:
    """The pool after mixing in words already hashed (``hashed_words``): SeedSequence.mix_entropy's last loop, the
    part that depends on the pool, unrolled over its four words."""
    p0, p1, p2, p3 = pool
    left, right = MIX_MULT_L, MIX_MULT_R
    for at in range(0, len(hashed), POOL):
        result = (left * p0 - right * hashed[at]) & MASK
        p0 = result ^ (result >> 16)
        result = (left * p1 - right * hashed[at + 1]) & MASK
        p1 = result ^ (result >> 16)
        result = (left * p2 - right * hashed[at + 2]) & MASK
        p2 = result ^ (result >> 16)
        result = (left * p3 - right * hashed[at + 3]) & MASK
        p3 = result ^ (result >> 16)
    return p0, p1, p2, p3


def one_word_table(step: int, numbers) -> np.ndarray:
    """What ``states_of`` needs of one-word stream numbers mixed from ``step`` on: per number, its words hashed
    (``hashed_words``) times the mixing's right multiplier, kept to 32 bits, for each of the state's eight 32-bit
    words (the four pool words twice). The same at every point: made once per step."""
    rows = [hashed_words(step, (number,)) for number in numbers]
    assert all(len(row) == POOL for row in rows), "one word a number: below 2**32"
    table = np.array([(MIX_MULT_R * value) & MASK for row in rows for value in row], dtype="<u4")
    return np.tile(table.reshape(len(rows), POOL), 2)


_OUT_BEFORE = np.array(_OUT_FLAT[0::2], dtype="<u4")
_OUT_AFTER = np.array(_OUT_FLAT[1::2], dtype="<u4")
_SHIFT = np.uint32(XSHIFT)


def states_of(pool, table: np.ndarray) -> np.ndarray:
    """``hashed_state(pool, hashed_words(step, (number,)))`` of every number of a ``one_word_table``, one row
    each: a point's numbered streams seeded in nine numpy operations on all of them, not about 3 us of Python
    each. ``hashed_pool``'s then ``state``'s operations on unsigned 32-bit words, which wrap as their ``& MASK``
    cuts Python's integers; the eight little-endian 32-bit words of a row are its four 64-bit words, low half
    first (tests/unit/test_seeding.py holds the rows to numpy's states)."""
    left = MIX_MULT_L
    pool_words = [(left * word) & MASK for word in pool]
    words32 = np.array(pool_words + pool_words, dtype="<u4") - table
    words32 ^= words32 >> _SHIFT
    words32 ^= _OUT_BEFORE
    words32 *= _OUT_AFTER
    words32 ^= words32 >> _SHIFT
    return words32.view("<u8").astype(np.uint64, copy=False)


def generate_state(seed: int, spawn_key: tuple[int, ...]) -> np.ndarray:
    """``SeedSequence(entropy=seed, spawn_key=spawn_key).generate_state(4, np.uint64)``."""
    return state(mixed(seed, spawn_key)[0])


class Seeded(ISpawnableSeedSequence):
    """A ``SeedSequence`` whose state was computed ahead: PCG64 asks it for four 64-bit words.

    Any other request (another bit generator, ``spawn``) is answered by numpy's own
    ``SeedSequence`` of the same key, so a stream never depends on how it was built.
    """

    __slots__ = ("entropy", "spawn_key", "_state", "_sequence")

    def __init__(self, entropy: int, spawn_key: tuple[int, ...], state64: np.ndarray):
        self.entropy = entropy
        self.spawn_key = spawn_key
        self._state = state64
        self._sequence = None

    def numpy(self) -> np.random.SeedSequence:
        """numpy's ``SeedSequence`` of the same key (made once, when first asked)."""
        if self._sequence is None:
            self._sequence = np.random.SeedSequence(entropy=self.entropy, spawn_key=self.spawn_key)
        return self._sequence

    def generate_state(self, n_words, dtype=np.uint32):
        if n_words == 4 and (dtype is np.uint64 or np.dtype(dtype) == np.uint64):
            return self._state.copy()
        return self.numpy().generate_state(n_words, dtype)

    def spawn(self, n_children: int) -> list[np.random.SeedSequence]:
        return self.numpy().spawn(n_children)

    def __repr__(self) -> str:
        return f"Seeded(entropy={self.entropy!r}, spawn_key={self.spawn_key!r})"
