"""The fast engine's events: what an event is, and the queue of future events (SimPy's heap, faster).

An event is one int64, ``argument * 8 + kind``. Future events (timeouts) wait in
a calendar of half-second slots (those due within 512 s of the last event taken
out: services, most of them) in front of a radix heap (the others); both give
them back by (time, scheduling number), SimPy's order. Events of the current
instant wait in a ring (``schedule``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .compiled import INLINE, leading_zeros, njit, trailing_zeros

RESIDENT, SOURCE, OPENING, RELEASE, PUT, CLOSURE, GIVE_UP, WAKE = 0, 1, 2, 3, 4, 5, 6, 7
"""Kinds of event: a process resumes (resident, or door-to-door team), the arrival source, a day's
opening, a resource's release, a station pool's put, a staff closure, a resident's patience runs out,
a resident's request processed while its wait is a condition (``request | give_up``)."""

# Future events (a radix heap): the fields of a node (node i's at 4 i + field): key, event, next
# node in its bucket, scheduling sequence number; where each bucket's head, tail and least node
# are in ``fb`` (bucket b's at offset + b); the fields of the heap's state ``fs``: freed nodes,
# the last key taken out, a bit per non-empty bucket 1-64, events scheduled, nodes used.
KEY, EVENT, LINK, SEQ = 0, 1, 2, 3
BUCKETS = 65
HEADS, TAILS, LEASTS = 0, BUCKETS, 2 * BUCKETS
SPARE, LAST, MASK, COUNT, FRESH, CUR, CALENDARED = 0, 1, 2, 3, 4, 5, 6
LOW63 = 0x7FFFFFFFFFFFFFFF
# The calendar in front of the radix heap: SLOTS circular slots of 1 / SLOTS_PER_S seconds each
# (a power of two, so ``time * SLOTS_PER_S`` is exact and slots keep the order of times), whose
# heads, tails and a bit per non-empty slot follow the radix heap's buckets in ``fb``; ``fs``
# holds the absolute slot of the last event taken out (CUR) and the events in the calendar.
SLOTS_PER_S = 2.0
SLOTS = 1024
WORDS = SLOTS // 64
SLOT_HEADS, SLOT_TAILS, SLOT_BITS = 3 * BUCKETS, 3 * BUCKETS + SLOTS, 3 * BUCKETS + 2 * SLOTS
FB_SIZE = SLOT_BITS + WORDS
FS_SIZE = 7
FAR = 2.0**61
"""Slots are int64: times beyond FAR slots (never in a day's run) stay in the radix heap."""


@njit(**INLINE)
def _bucket(x):
    """The radix-heap bucket of a key whose XOR with the last key popped is ``x``: 0 if equal, else 1 + its highest bit."""
    if x == 0:
        return 0
    return 64 - leading_zeros(x)


@njit(**INLINE)
def _file(b, node, fi, fb, fs):
    """Append a node to bucket b, a FIFO linked list, keeping the bucket's least node (the first of equals)."""
    fi[node * 4 + LINK] = -1
    if fb[TAILS + b] < 0:
        fb[HEADS + b] = node
        fb[LEASTS + b] = node
        if b > 0:
            fs[MASK] |= np.int64(1) << (b - 1)
    else:
        fi[(fb[TAILS + b]) * 4 + LINK] = node
        if fi[node * 4 + KEY] < fi[(fb[LEASTS + b]) * 4 + KEY]:
            fb[LEASTS + b] = node
    fb[TAILS + b] = node


@njit(**INLINE)
def future_push(time, event, fi, ft, fb, fs, fbuf):
    """Schedule ``event`` at ``time`` (no earlier than the last event popped); returns its node."""
    node = fs[SPARE]
    if node >= 0:
        fs[SPARE] = fi[node * 4 + LINK]
    else:
        node = fs[FRESH]  # no node freed: one never used
        fs[FRESH] += 1
    fi[node * 4 + EVENT] = event
    fi[node * 4 + SEQ] = fs[COUNT]  # the scheduling order, to compare with the source's next arrival
    fs[COUNT] += 1
    ft[node] = time
    scaled = time * SLOTS_PER_S
    if scaled < fs[CUR] + SLOTS:
        _slot_insert(np.int64(math.floor(scaled)) & (SLOTS - 1), node, fi, ft, fb)
        fs[CALENDARED] += 1
    else:  # the radix heap needs the key: the float's order as an int64
        fbuf[0] = time + 0.0  # -0.0 and 0.0 are one instant: one key
        bits = fbuf.view(np.int64)[0]
        key = bits if bits >= 0 else bits ^ LOW63
        fi[node * 4 + KEY] = key
        _file(_bucket(key ^ fs[LAST]), node, fi, fb, fs)
    return node


@njit(**INLINE)
def _slot_insert(b, node, fi, ft, fb):
    """Put a node in calendar slot b, a linked list sorted by time; of equal times the one scheduled first stays first."""
    time = ft[node]
    head = fb[SLOT_HEADS + b]
    if head < 0:
        fi[node * 4 + LINK] = -1
        fb[SLOT_HEADS + b] = node
        fb[SLOT_TAILS + b] = node
        fb[SLOT_BITS + (b >> 6)] |= np.int64(1) << (b & 63)
    elif time >= ft[fb[SLOT_TAILS + b]]:
        fi[node * 4 + LINK] = -1
        fi[fb[SLOT_TAILS + b] * 4 + LINK] = node
        fb[SLOT_TAILS + b] = node
    elif time < ft[head]:
        fi[node * 4 + LINK] = head
        fb[SLOT_HEADS + b] = node
    else:
        before = head
        while ft[fi[before * 4 + LINK]] <= time:
            before = fi[before * 4 + LINK]
        fi[node * 4 + LINK] = fi[before * 4 + LINK]
        fi[before * 4 + LINK] = node


@njit(**INLINE)
def _slot_first(fb, fs):
    """The first node of the first non-empty calendar slot from CUR on (circularly), or -1."""
    if fs[CALENDARED] == 0:
        return -1
    start = fs[CUR] & (SLOTS - 1)
    w = start >> 6
    bits = fb[SLOT_BITS + w] & (np.int64(-1) << (start & 63))
    for _ in range(WORDS + 1):
        if bits != 0:
            return fb[SLOT_HEADS + (w << 6) + trailing_zeros(bits)]
        w = (w + 1) & (WORDS - 1)
        bits = fb[SLOT_BITS + w]
    return -1


@njit(**INLINE)
def _radix_first(fb, fs):
    """The radix heap's first node (least time, first scheduled of equals), or -1."""
    if fb[HEADS + 0] >= 0:
        return fb[HEADS + 0]
    if fs[MASK] == 0:
        return -1
    return fb[LEASTS + trailing_zeros(fs[MASK]) + 1]


@njit(**INLINE)
def future_first(fi, ft, fb, fs):
    """The first future event (least time, first scheduled of equals): its node, or -1."""
    c = _slot_first(fb, fs)
    r = _radix_first(fb, fs)
    if c < 0:
        return r
    if r < 0 or ft[c] < ft[r] or (ft[c] == ft[r] and fi[c * 4 + SEQ] < fi[r * 4 + SEQ]):
        return c
    return r


@njit(**INLINE)
def future_pop(first, fi, ft, fb, fs):
    """Remove the first future event (``future_first``), from the calendar or the radix heap."""
    scaled = min(ft[first] * SLOTS_PER_S, FAR)
    slot = np.int64(math.floor(scaled))
    b = slot & (SLOTS - 1)
    if fb[SLOT_HEADS + b] == first:
        following = fi[first * 4 + LINK]
        fb[SLOT_HEADS + b] = following
        if following < 0:
            fb[SLOT_TAILS + b] = -1
            fb[SLOT_BITS + (b >> 6)] &= ~(np.int64(1) << (b & 63))
        fs[CALENDARED] -= 1
    else:
        _radix_pop(first, fi, fb, fs)
    fs[CUR] = slot
    fi[first * 4 + LINK] = fs[SPARE]
    fs[SPARE] = first


@njit(**INLINE)
def _radix_pop(first, fi, fb, fs):
    """Remove the radix heap's first node: its bucket is spread around its key, it leaves bucket 0."""
    if fb[HEADS + 0] < 0:
        least = fi[first * 4 + KEY]
        b = trailing_zeros(fs[MASK]) + 1
        node = fb[HEADS + b]
        fb[HEADS + b] = -1
        fb[TAILS + b] = -1
        fs[MASK] &= ~(np.int64(1) << (b - 1))
        fs[LAST] = least
        while node >= 0:
            following = fi[node * 4 + LINK]
            _file(_bucket(fi[node * 4 + KEY] ^ least), node, fi, fb, fs)
            node = following
    following = fi[first * 4 + LINK]
    fb[HEADS + 0] = following
    if following < 0:
        fb[TAILS + 0] = -1


@njit(**INLINE)
def next_event(first, now, head, tail, ring, mask, fi, ft, fb, fs):
    """The next event after the urgent ones: the first future event if it is due now or the ring
    of zero-delay events is empty, else the ring's head. Returns (event, now, head, first), the
    event -1 when none is left."""
    event = np.int64(-1)
    if first >= 0 and (ft[first] == now or head == tail):
        now = ft[first]
        event = fi[first * 4 + EVENT]
        future_pop(first, fi, ft, fb, fs)
        first = future_first(fi, ft, fb, fs)
    elif head < tail:
        event = ring[head & mask]
        head += 1
    return event, now, head, first


@njit(**INLINE)
def schedule(done, now, event, ring, tail, mask, fi, ft, fb, fs, fbuf, first):
    """A timeout: at ``now`` it joins the ring of the current instant, later the future events.

    Returns the ring's tail and the first future event.
    """
    if done == now:
        ring[tail & mask] = event
        return tail + 1, first
    node = future_push(done, event, fi, ft, fb, fs, fbuf)
    if first < 0 or done < ft[first]:
        first = node
    return tail, first


class Future(NamedTuple):
    """The queue of future events: nodes (key, event, link, sequence), their times, buckets and
    calendar slots, the queue's state, and a float buffer (for a time's bits)."""

    fi: np.ndarray
    ft: np.ndarray
    fb: np.ndarray
    fs: np.ndarray
    fbuf: np.ndarray


def future_events(capacity) -> Future:
    """Empty future events for up to ``capacity`` at once.

    Nodes are taken as needed, so memory never used is never touched.
    """
    state = np.zeros(FS_SIZE, dtype=np.int64)
    state[SPARE] = -1
    state[LAST] = -LOW63 - 1
    state[CUR] = -(2**62)  # nothing taken out yet: everything goes to the radix heap until the first event is
    buckets = np.full(FB_SIZE, -1, dtype=np.int64)
    buckets[SLOT_BITS:] = 0
    return Future(np.empty(4 * capacity, dtype=np.int64), np.empty(capacity), buckets, state, np.zeros(1))
