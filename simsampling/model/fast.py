"""A fast exact engine for one sampling point, beside the SimPy model of ``model/point.py``.

``simulate_point_fast`` takes the same :class:`ResidentDraws` as
``simulate_point`` and returns the same :class:`EventLog`, with the same
timestamps to the last bit, about a hundred times faster
(benchmarks/engine_speed.py). The SimPy model stays the reference;
``fast_scope`` says which points this engine can run (and, when it cannot,
why), so that a caller can fall back to SimPy.

Scope (phase 2)
---------------
Everything ``model/point.py`` simulates except pooled tubes: stages
temperature (a FIFO pool of servers) -> registration (a registrar paired with
each station, desks, or none) -> swab; ``queue: shared`` or ``per_tent``
(join-the-shortest-line); any arrival plan; several days, the set-up delay,
early arrivals waiting for the opening, late ones turned away; staff plans
that close stations, desks and entrance servers (rota off-duty spells,
samplers fewer than stations, breaks not covered by relief), with the same
closure log; balking on the line seen at arrival, with one return; reneging;
the green channel (priority or dedicated stations); disinfection; door-to-door
teams. Out of scope: pooled tubes (``pooling``, or a ``chain``, which pools
every point).

Why an event replay, not formulas
---------------------------------
Each stage alone is a recursion (start = max(ready, earliest free server)), but
a paired registrar is held until its station's sampler is free,
join-the-shortest-line depends on who is in which line at the instant of
choosing, a closing station waits for its resident, and SimPy orders
simultaneous events by the order in which it scheduled them. Simultaneous
events are common here: every early arrival is let in at the opening at once,
a household arrives together, ``fixed`` and ``empirical`` service times end
together, zero service times chain within one instant, rotas and breaks fall
on round times. To agree with SimPy on every tie, the engine orders events
exactly as SimPy does: it is a small discrete-event kernel specialised to this
model, compiled with numba, in which each resident and each staff closure is a
state machine that runs, like its SimPy process in ``model/point.py``, from
one ``yield`` to the next.

SimPy's rules reproduced (SimPy 4.1: ``simpy.core``, ``simpy.events``, ``simpy.resources``)
---------------------------------------------------------------------------------------
1. Events are processed by (time, priority, scheduling order). Starting a
   process is URGENT (before every NORMAL event at the same time); everything
   else is NORMAL.
2. A process resumes when the event it waits for is *processed*: a request
   granted at once is still a zero-delay event, behind the events already
   scheduled for that instant.
3. ``Resource.request`` joins the queue, then grants the *head* of the queue if
   a slot is free (``_trigger_put`` stops after the first request: ``_do_put``
   returns None). ``release`` frees the slot at once, but a waiting request is
   granted only when the Release event is processed, one per release.
4. With staff closures or a green channel every resource is a
   ``PriorityResource``: its queue is kept sorted by (priority, time of
   request) with a stable sort, so a closure's blocker (priority -1) goes
   before every resident, priority residents (0) before the others (1), and
   requests of one priority keep their order. Three FIFO lines per resource.
5. ``Store`` (a shared line's ``StationPool``): ``put`` appends the station at
   once, and the head of the waiting residents gets it when the Put event is
   processed; ``get`` hands the head the station free the longest, at once, if
   there is one. ``close`` removes a free station (the closure resumes one
   event later) or marks it, and the station is then parked when it comes
   back: the parking is scheduled before the Put event, which still runs.
6. A timeout lands at ``now + delay``, one floating-point addition as SimPy
   computes it; the arrival source waits ``delay_until(now, arrival)``, and so
   does a closure waiting for the end of an off-duty spell.
7. The closures' start timeouts are scheduled first, then one opening timeout
   per day, before anything else; the residents waiting for an opening resume
   in the order they began to wait, each running until its next ``yield``
   before the next one resumes.
8. A closure of a per-station line at the end of a shift waits for its line to
   drain: the ``drained`` event is scheduled when the last resident leaves the
   line, before that resident's release (one waiting closure per station: a
   later one replaces it, as the dict entry does).
9. Reneging: a resident waits on ``event | give_up``. The condition is
   scheduled when the first of the two is *processed* (or at once if the
   patience timeout already was), and the resident resumes one event later;
   then it is served if its request was *triggered* (granted, even if not yet
   processed), else it cancels the request and leaves.
10. Balking reads the ``waiting`` counter (residents at the point not yet at a
   swab station) when the resident's process starts, and again after its
   return timeout.

SimPy also schedules events with no effect here (a process's end, a Request's
callback on the empty queue of releases, a patience timeout nobody waits on
any more); those that change nothing are left out, which does not change the
relative order of the others.

Door-to-door teams share nothing with the residents but the opening events,
which they only wait on: their events interleave with the residents' without
changing the relative order of either. ``_home_replay`` therefore replays the
teams alone, with the same openings scheduled first and the same start time.

Ties
----
With these rules every simultaneous event is processed in SimPy's order, so no
tie case is left out of the scope: residents let in together at an opening, a
resident arriving at the instant another leaves a server, services ending
together, zero-length services chaining within one instant, households
arriving together, join-the-shortest-line choices made at the instant a line
shortens, a closure due at an opening or at the instant its station is freed,
a break ending as a resident arrives, balkers coming back and patience running
out at such instants. tests/validation/test_fast_engine.py compares both
engines bit for bit on random scenarios built to tie. The rules are SimPy
4.1's; a SimPy release that changed them would show there.

Data structures
---------------
* Future events (timeouts): a calendar in front of a radix heap. Timeouts
  due within 512 s of the last event taken out (services, most of them) go
  into the calendar's half-second slots, each a list sorted by time, of equal
  times first scheduled first; the others (closures, openings, patience,
  returns) into a radix heap: every timeout is scheduled no earlier than the
  last event taken out (time never goes back), so events go into buckets by
  the highest bit in which the float's order-preserving 64-bit key differs
  from the last key taken; buckets are FIFO lists. The first event is the
  earlier of the two heads by (time, scheduling number), SimPy's order. (With
  the radix heap alone, spreading its buckets took a quarter of the replay;
  the calendar made the tandem of benchmarks/speed_record.py about a fifth
  faster.) The source's next arrival is kept apart (with its scheduling number
  for ties).
* Events at the current instant: all of them were scheduled after every future
  event of that instant, so they need no heap: a FIFO of process starts
  (URGENT) and a ring of the rest (grants, releases, puts, zero-length
  timeouts). Order of processing: URGENT, future events at ``now``, the ring,
  then the next instant. Should the ring ever come close to full, the run
  stops and starts again with a larger one.
* Resources: a capacity, a count of users and per priority class a FIFO of
  waiting residents as a linked list (a resident waits in one line at a time);
  residents who reneged are dropped when they reach the head.
* A shared line's pool: a ring of free station numbers (free longest first).
* Join-the-shortest-line: per station the residents assigned to it and not yet
  swabbed, and whether it is closed; the first minimum of (closed, line) wins,
  as ``min`` does in ``model/point.py``.
* The kernel allocates nothing and is compiled without numba's runtime
  (``_nrt=False``): with it, the reference counting around the helper calls
  took more time than the replay itself.

If numba is not installed (or ``NUMBA_DISABLE_JIT`` is set) the same
functions run as plain Python: still exact, but slower than SimPy; ``JIT``
tells which.
"""

from __future__ import annotations

import math
from typing import Optional, Union

import numpy as np

from ..draws import ResidentDraws
from ..jit import configure_cache
from ..log import BALKED, RENEGED, STAGE_ORDER, ClosureLog, EventLog, HomeLog
from ..scenario.schema import Clock, Point, Scenario
from ..staffing import staff_plan
from .point import delay_until, opening_hours, stages_present

configure_cache()  # before numba: a read-only install caches in the user's cache folder
try:
    from numba import config, njit

    JIT = not config.DISABLE_JIT
except ImportError:  # pragma: no cover - numba is a dependency; plain Python stays exact
    JIT = False

    def njit(*args, **kwargs):
        if args and callable(args[0]):
            return args[0]
        return lambda function: function


def _bit_counts():
    """Counts of leading and trailing zero bits of an int64: numba's intrinsics, or the same counted bit by bit."""
    if JIT:
        try:
            from numba.cpython.unsafe.numbers import leading_zeros, trailing_zeros

            return leading_zeros, trailing_zeros
        except ImportError:  # pragma: no cover - a numba that moved them
            pass

    def leading_zeros(x):
        if x < 0:
            return 0
        count = 64
        while x:
            x >>= 1
            count -= 1
        return count

    def trailing_zeros(x):
        count = 0
        while not (x >> count) & 1:
            count += 1
        return count

    return (njit(inline="always")(leading_zeros), njit(inline="always")(trailing_zeros)) if JIT else (leading_zeros, trailing_zeros)


leading_zeros, trailing_zeros = _bit_counts()


# ---------------------------------------------------------------------------- scope


def out_of_scope(point: Point, draws: Optional[ResidentDraws] = None) -> Optional[str]:
    """Why the fast engine cannot run this point (None: it can). Every staff plan is in scope.

    ``draws``, when given, are checked too (pooled tubes come with the scenario's chain).
    """
    if point.pooling is not None or (draws is not None and draws.pooling is not None):
        return "pooled tubes (pooling)"
    return None


def fast_scope(point: Point, scenario: Scenario) -> Optional[str]:
    """None if ``simulate_point_fast`` can run ``point`` of ``scenario``, else the reason it cannot."""
    reason = out_of_scope(point)
    if scenario.pooling_for(point) is not None and point.pooling is None:
        reason = "pooled tubes (the scenario's sample chain pools every point)"
    return reason


# ---------------------------------------------------------------------------- the kernel

# An event is one int64: ``argument * 8 + kind``.
RESIDENT, SOURCE, OPENING, RELEASE, PUT, CLOSURE, GIVE_UP, WAKE = 0, 1, 2, 3, 4, 5, 6, 7
# Where a resident's process stands (what it waits for when resumed).
STARTED, OPENED, TEMPERATURE, TEMPERATURE_END, TO_REGISTRATION, REGISTRATION, REGISTRATION_END = 0, 1, 2, 3, 4, 5, 6
SAMPLER, TO_SWAB, SWAB_WAIT, SWAB, SWAB_END, FREE, DONE = 7, 8, 9, 10, 11, 12, 13
# What a reneging resident's condition (``event | give_up``) waits for besides its patience.
NO_WAIT, OPENING_WAIT, REQUEST_WAIT = 0, 1, 2
# Where a staff closure's process stands.
DUE, PARKED, HELD, ENDED, OVER = 0, 1, 2, 3, 4
# Registration layouts.
NO_REGISTRATION, DESKS, PAIRED = 0, 1, 2
# Resources: entrance servers, desks, then each station's sampler, then each station's registrar.
TEMP_RES, DESK_RES, FIRST_SAMPLER = 0, 1, 2
# Roles of a closure; stage indices (as in log.STAGE_ORDER, for ``left_stage``).
SAMPLER_ROLE, TEMPERATURE_ROLE, REGISTRAR_ROLE = 0, 1, 2
ROLE_CODE = {"sampler": SAMPLER_ROLE, "temperature": TEMPERATURE_ROLE, "registrar": REGISTRAR_ROLE}
STAGE_TEMPERATURE, STAGE_REGISTRATION, STAGE_SWAB = (STAGE_ORDER.index(stage) for stage in ("temperature", "registration", "swab"))


def _no_runtime() -> dict:
    """``_nrt=False`` if this numba still has the option (numba's own, not documented), else nothing."""
    try:
        from numba.core.cpu import CPUTargetOptions

        return {"_nrt": False} if hasattr(CPUTargetOptions, "_nrt") else {}
    except ImportError:  # pragma: no cover - numba missing, or reorganised: compiled with its runtime, slower
        return {}


KERNEL = dict(cache=True, **_no_runtime())
INLINE = dict(KERNEL, inline="always")
"""The kernel and its helpers allocate nothing: the caller passes every array. Without numba's
runtime (``_nrt=False``) no reference counting is compiled in; with it, the counting around each
helper call took more time than the replay itself. The helpers are inlined into the kernel."""

# Columns of the per-resident block ``rs`` (resident r's at 4 r + column): where the process stands, the station it is lined up
# for or holds, the next resident in its waiting line, the next resident waiting for the opening.
STATE, HOLDS, NEXT, OPEN_NEXT = 0, 1, 2, 3
# Columns of the reneging block ``rf``: the current request was granted (SimPy's ``triggered``),
# the resident left its line, its patience timeout was processed, what its condition waits for.
GRANTED, DEAD, GAVE_UP, CWAIT = 0, 1, 2, 3
# Fields of each resource in ``res`` (resource i's at 4 i + field): capacity, users, first and last blocker waiting.
CAPACITY, USERS, B_HEAD, B_TAIL = 0, 1, 2, 3
# Fields of each station in ``sta`` (station k's at 4 k + field): line length, closed, closure waiting for the drain, for the parking.
LINE, CLOSED, DRAIN, CLOSING = 0, 1, 2, 3
# Rows of the float block ``times``.
ARRIVED, T_START, T_END, R_START, R_END, S_START, S_END, LEFT_S = 0, 1, 2, 3, 4, 5, 6, 7
# Rows of the int8 block ``fates``.
LEFT, LEFT_STAGE, BALKS = 0, 1, 2
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
def _future_push(time, event, fi, ft, fb, fs, fbuf):
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
def _future_first(fi, ft, fb, fs):
    """The first future event (least time, first scheduled of equals): its node, or -1."""
    c = _slot_first(fb, fs)
    r = _radix_first(fb, fs)
    if c < 0:
        return r
    if r < 0 or ft[c] < ft[r] or (ft[c] == ft[r] and fi[c * 4 + SEQ] < fi[r * 4 + SEQ]):
        return c
    return r


@njit(**INLINE)
def _future_pop(first, fi, ft, fb, fs):
    """Remove the first future event (``_future_first``), from the calendar or the radix heap."""
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
def _enqueue(queue, r, q_head, q_tail, rs):
    """Put a resident at the back of a waiting line (a linked list)."""
    rs[r * 4 + NEXT] = -1
    if q_head[queue] < 0:
        q_head[queue] = r
    else:
        rs[(q_tail[queue]) * 4 + NEXT] = r
    q_tail[queue] = r


@njit(**INLINE)
def _line_head(queue, q_head, q_tail, rs, rf, reneging):
    """The first resident of a waiting line still in it (residents who reneged are dropped), or -1."""
    r = q_head[queue]
    if reneging:
        while r >= 0 and rf[r * 4 + DEAD]:
            r = rs[r * 4 + NEXT]
        q_head[queue] = r
        if r < 0:
            q_tail[queue] = -1
    return r


@njit(**INLINE)
def _grant(resource, res, b_next, q_head, q_tail, rs, rf, reneging, classes, wake, ring, tail, mask):
    """SimPy's ``_trigger_put`` of a (Priority)Resource: the head of its line gets a free slot (one at most).

    The line is sorted by (priority, time of request): a closure's blocker (priority -1)
    first, then the residents of priority class 0, then those of class 1, each FIFO.
    The grant is a zero-delay event: the closure or resident resumes when it is
    processed (``wake``: RESIDENT, or WAKE for a resident whose wait is a condition).
    Returns the ring's tail.
    """
    if res[resource * 4 + USERS] >= res[resource * 4 + CAPACITY]:
        return tail
    c = res[resource * 4 + B_HEAD]
    if c >= 0:
        following = b_next[c]
        res[resource * 4 + B_HEAD] = following
        if following < 0:
            res[resource * 4 + B_TAIL] = -1
        res[resource * 4 + USERS] += 1
        ring[tail & mask] = c * 8 + CLOSURE
        return tail + 1
    for queue in range(2 * resource, 2 * resource + classes):
        r = _line_head(queue, q_head, q_tail, rs, rf, reneging)
        if r >= 0:
            following = rs[r * 4 + NEXT]
            q_head[queue] = following
            if following < 0:
                q_tail[queue] = -1
            res[resource * 4 + USERS] += 1
            if reneging:
                rf[r * 4 + GRANTED] = 1
            ring[tail & mask] = r * 8 + wake
            return tail + 1
    return tail


@njit(**INLINE)
def _store_grant(pool, first_pool_queue, items, pool_span, slots, q_head, q_tail, rs, rf, reneging, classes, wake, ring, tail, mask):
    """SimPy's ``_trigger_get`` of a shared line's StationPool: its head takes the station free the longest.

    ``pool_span`` holds each pool's first item and item count. Returns the ring's tail.
    """
    if pool_span[pool * 2 + 1] == 0:
        return tail
    for queue in range(2 * (first_pool_queue + pool), 2 * (first_pool_queue + pool) + classes):
        r = _line_head(queue, q_head, q_tail, rs, rf, reneging)
        if r >= 0:
            following = rs[r * 4 + NEXT]
            q_head[queue] = following
            if following < 0:
                q_tail[queue] = -1
            rs[r * 4 + HOLDS] = items[pool * slots + (pool_span[pool * 2 + 0] & (slots - 1))]
            pool_span[pool * 2 + 0] += 1
            pool_span[pool * 2 + 1] -= 1
            if reneging:
                rf[r * 4 + GRANTED] = 1
            ring[tail & mask] = r * 8 + wake
            return tail + 1
    return tail


@njit(**INLINE)
def _pool_put(k, pool, sta, items, pool_span, slots, ring, tail, mask):
    """``StationPool.put(k)``: a station back in its pool, or parked if a closure waits for it.

    Schedules the parking (the closure resumes) and the Put event. Returns the ring's tail.
    """
    c = sta[k * 4 + CLOSING]
    if c >= 0:
        sta[k * 4 + CLOSING] = -1
        ring[tail & mask] = c * 8 + CLOSURE
        tail += 1
    else:
        items[pool * slots + ((pool_span[pool * 2 + 0] + pool_span[pool * 2 + 1]) & (slots - 1))] = k
        pool_span[pool * 2 + 1] += 1
    ring[tail & mask] = pool * 8 + PUT
    return tail + 1


@njit(**INLINE)
def _off_line(k, sta, ring, tail, mask):
    """``off_line``: one resident fewer for station k; its line drained, a waiting closure resumes."""
    sta[k * 4 + LINE] -= 1
    if sta[k * 4 + LINE] == 0 and sta[k * 4 + DRAIN] >= 0:
        ring[tail & mask] = sta[k * 4 + DRAIN] * 8 + CLOSURE
        sta[k * 4 + DRAIN] = -1
        return tail + 1
    return tail


@njit(**INLINE)
def _await_grant(r, rf, reneging, ring, tail, mask):
    """After a request, a reneging resident waits on ``request | give_up``: met at once if its patience ran out.

    Returns the ring's tail.
    """
    if reneging:
        if rf[r * 4 + GAVE_UP]:
            ring[tail & mask] = r * 8 + RESIDENT
            return tail + 1
        rf[r * 4 + CWAIT] = REQUEST_WAIT
    return tail


@njit(**INLINE)
def _leave(r, fate, stage, now, times, fates, rs):
    """The resident leaves the point without a swab (``fate``: BALKED or RENEGED) at ``now``, from ``stage``."""
    fates[LEFT, r] = fate
    times[LEFT_S, r] = now
    fates[LEFT_STAGE, r] = stage
    rs[r * 4 + STATE] = DONE


@njit(**INLINE)
def _choose_station(rank, dedicated, stations, sta):
    """``choose_station``: the shortest line among open stations of the resident's group, lowest on ties."""
    lo = 0
    hi = stations
    if dedicated > 0:
        if rank == 0:
            hi = dedicated
        else:
            lo = dedicated
    k = lo
    for j in range(lo + 1, hi):
        if sta[j * 4 + CLOSED] < sta[k * 4 + CLOSED] or (sta[j * 4 + CLOSED] == sta[k * 4 + CLOSED] and sta[j * 4 + LINE] < sta[k * 4 + LINE]):
            k = j
    sta[k * 4 + LINE] += 1
    return k


@njit(**INLINE)
def _line_up(r, cls, first_resource, shared, pools, dedicated, stations, first_pool_queue, sta, items, pool_span,
             slots, res, b_next, q_head, q_tail, rs, rf, reneging, classes, wake, ring, tail, mask):
    """A resident asks for a station: from the shared line's pool (its group's), or by joining the
    shortest line, one resource per station from ``first_resource`` (samplers or paired registrars).

    Returns the ring's tail.
    """
    if shared:
        pool = cls if pools == 2 else 0
        _enqueue(2 * (first_pool_queue + pool) + cls, r, q_head, q_tail, rs)
        return _store_grant(pool, first_pool_queue, items, pool_span, slots, q_head, q_tail, rs, rf, reneging, classes, wake, ring, tail, mask)
    k = _choose_station(cls, dedicated, stations, sta)
    rs[r * 4 + HOLDS] = k
    _enqueue(2 * (first_resource + k) + cls, r, q_head, q_tail, rs)
    return _grant(first_resource + k, res, b_next, q_head, q_tail, rs, rf, reneging, classes, wake, ring, tail, mask)


@njit(**INLINE)
def _schedule(done, now, event, ring, tail, mask, fi, ft, fb, fs, fbuf, first):
    """A timeout: at ``now`` it joins the ring of the current instant, later the future events.

    Returns the ring's tail and the first future event.
    """
    if done == now:
        ring[tail & mask] = event
        return tail + 1, first
    node = _future_push(done, event, fi, ft, fb, fs, fbuf)
    if first < 0 or done < ft[first]:
        first = node
    return tail, first


@njit(**KERNEL)
def _replay(arrival, day, admitted, opens_at, opening_time, day_close, start_time,
            temp_s, reg_s, swab_s, disinfect_s, temp_servers, registration, desks, stations, shared,
            rank, dedicated, threshold, returns, return_s, patience, first_stage,
            c_role, c_slot, c_due, c_end, c_length, c_break,
            times, station, fates, rs, rf, res, q_head, q_tail, b_next, sta, items, pool_span, slots,
            c_state, c_began, row_closure, row_times, o_head, o_tail, fi, ft, fb, fs, fbuf, urgent, ring):
    """Run the point: every admitted resident through its stages, and every staff closure, in SimPy's event order.

    Features are on when their arrays are non-empty: ``disinfect_s`` (disinfection),
    ``threshold`` (balking), ``patience`` (reneging), ``c_role`` (closures), ``rank``
    (a green channel: each resident's priority class, 0 priority, 1 other), with
    ``dedicated`` the green channel's own stations (0: none).

    Writes the per-resident results into ``times`` (arrived, temperature start, end,
    registration start, end, swab start, end, left_s), ``station`` and ``fates`` (left,
    left_stage, balks), prefilled for residents never served; and the closure rows
    (closure, began, ended), in the order SimPy records them, into ``row_closure`` and
    ``row_times``. The other arrays are the caller's workspace, initialised as
    ``_workspace`` does. Returns the closure rows written, or -1 if the ring of
    pending events came close to full (run again with a larger ``ring``).
    """
    disinfect = disinfect_s.size > 0
    balking = threshold.size > 0
    reneging = patience.size > 0
    closures = c_role.size
    paired = registration == PAIRED
    wake = WAKE if reneging else RESIDENT
    green = rank.size > 0
    classes = 2 if green else 1
    first_registrar = FIRST_SAMPLER + stations
    first_pool_queue = first_registrar + stations
    pools = 2 if dedicated > 0 else 1
    t_start = times[T_START]
    t_end = times[T_END]
    r_start = times[R_START]
    r_end = times[R_END]
    s_start = times[S_START]
    s_end = times[S_END]
    waiting = 0  # residents at the point not yet at a swab station: the line an arrival sees
    rows = 0

    # Future events: closures first, then the openings, as model.point schedules them.
    for c in range(closures):
        _future_push(c_due[c], c * 8 + CLOSURE, fi, ft, fb, fs, fbuf)
    for d in range(opens_at.size):
        _future_push(opening_time[d], d * 8 + OPENING, fi, ft, fb, fs, fbuf)
    first = _future_first(fi, ft, fb, fs)
    # Process starts (URGENT): each resident once, and the source.
    u_head = 0
    u_tail = 1
    urgent[0] = SOURCE
    # The source's next arrival, kept apart from the radix heap, if it sleeps.
    source_due = False
    source_time = 0.0
    source_seq = 0
    # Zero-delay events at the current instant (NORMAL), in a ring; should it come close to
    # full, the run stops and the caller runs it again with a larger one.
    mask = ring.size - 1
    head = 0
    tail = 0
    overflow = False

    now = start_time
    source = 0  # the next admitted resident the source will start
    while True:
        if tail - head + 16 > ring.size:
            overflow = True
            break
        if u_head < u_tail:
            event = urgent[u_head]
            u_head += 1
        else:
            # The first future event (the source's next arrival, or the radix heap's first) if it is
            # due now, or if nothing else is; else the ring.
            if source_due and (first < 0 or source_time < ft[first] or (source_time == ft[first] and source_seq < fi[first * 4 + SEQ])):
                if source_time == now or head == tail:
                    now = source_time
                    source_due = False
                    event = SOURCE
                else:
                    event = ring[head & mask]
                    head += 1
            elif first >= 0 and (ft[first] == now or head == tail):
                now = ft[first]
                event = fi[first * 4 + EVENT]
                _future_pop(first, fi, ft, fb, fs)
                first = _future_first(fi, ft, fb, fs)
            elif head < tail:
                event = ring[head & mask]
                head += 1
            else:
                break
        kind = event & 7
        argument = event >> 3

        if kind == RESIDENT or (kind == OPENING and not reneging):
            # Residents to resume: one, or at an opening everyone waiting for it, one after the other.
            if kind == OPENING:
                r = o_head[argument]
                o_head[argument] = -1
                chained = True
            else:
                r = argument
                chained = False
            while r >= 0:
                if tail - head + 16 > ring.size:
                    overflow = True
                    break
                following = rs[r * 4 + OPEN_NEXT] if chained else -1
                step = rs[r * 4 + STATE]
                # The resident's process, from where it waited to its next yield (break).
                while True:
                    if step == STARTED:
                        d = day[r]
                        if balking and waiting > threshold[r]:
                            fates[BALKS, r] += 1
                            times[ARRIVED, r] = now
                            if fates[BALKS, r] > 1 or not returns[r] or now + return_s[r] > day_close[d]:
                                _leave(r, BALKED, first_stage, now, times, fates, rs)  # gone for good
                                break
                            # Back later, to look at the line again.
                            tail, first = _schedule(now + return_s[r], now, r * 8 + RESIDENT, ring, tail, mask, fi, ft, fb, fs, fbuf, first)
                            break
                        times[ARRIVED, r] = now
                        waiting += 1
                        if reneging:
                            tail, first = _schedule(now + patience[r], now, r * 8 + GIVE_UP, ring, tail, mask, fi, ft, fb, fs, fbuf, first)
                        if now < opens_at[d]:
                            rs[r * 4 + OPEN_NEXT] = -1
                            if o_head[d] < 0:
                                o_head[d] = r
                            else:
                                rs[(o_tail[d]) * 4 + OPEN_NEXT] = r
                            o_tail[d] = r
                            if reneging:
                                rf[r * 4 + CWAIT] = OPENING_WAIT
                            rs[r * 4 + STATE] = OPENED
                            break
                        step = OPENED
                    elif step == OPENED:
                        if reneging and now < opens_at[day[r]]:
                            _leave(r, RENEGED, first_stage, now, times, fates, rs)
                            waiting -= 1
                            break
                        if temp_servers > 0:
                            if reneging:
                                rf[r * 4 + GRANTED] = 0
                            _enqueue(2 * TEMP_RES + (rank[r] if green else 0), r, q_head, q_tail, rs)
                            tail = _grant(TEMP_RES, res, b_next, q_head, q_tail, rs, rf, reneging, classes, wake, ring, tail, mask)
                            tail = _await_grant(r, rf, reneging, ring, tail, mask)
                            rs[r * 4 + STATE] = TEMPERATURE
                            break
                        step = TO_REGISTRATION
                    elif step == TEMPERATURE:
                        if reneging and not rf[r * 4 + GRANTED]:
                            rf[r * 4 + DEAD] = 1
                            _leave(r, RENEGED, STAGE_TEMPERATURE, now, times, fates, rs)
                            waiting -= 1
                            break
                        t_start[r] = now
                        tail, first = _schedule(now + temp_s[r], now, r * 8 + RESIDENT, ring, tail, mask, fi, ft, fb, fs, fbuf, first)
                        rs[r * 4 + STATE] = TEMPERATURE_END
                        break
                    elif step == TEMPERATURE_END:
                        t_end[r] = now
                        res[TEMP_RES * 4 + USERS] -= 1
                        ring[tail & mask] = TEMP_RES * 8 + RELEASE
                        tail += 1
                        step = TO_REGISTRATION
                    elif step == TO_REGISTRATION:
                        if registration == NO_REGISTRATION:
                            step = TO_SWAB
                            continue
                        if reneging:
                            rf[r * 4 + GRANTED] = 0
                        cls = rank[r] if green else 0
                        if registration == DESKS:
                            _enqueue(2 * DESK_RES + cls, r, q_head, q_tail, rs)
                            tail = _grant(DESK_RES, res, b_next, q_head, q_tail, rs, rf, reneging, classes, wake, ring, tail, mask)
                        else:
                            tail = _line_up(r, cls, first_registrar, shared, pools, dedicated, stations, first_pool_queue, sta, items, pool_span,
                                            slots, res, b_next, q_head, q_tail, rs, rf, reneging, classes, wake, ring, tail, mask)
                        tail = _await_grant(r, rf, reneging, ring, tail, mask)
                        rs[r * 4 + STATE] = REGISTRATION
                        break
                    elif step == REGISTRATION:
                        if reneging and not rf[r * 4 + GRANTED]:
                            rf[r * 4 + DEAD] = 1
                            if paired and not shared:
                                tail = _off_line(rs[r * 4 + HOLDS], sta, ring, tail, mask)
                            _leave(r, RENEGED, STAGE_REGISTRATION, now, times, fates, rs)
                            waiting -= 1
                            break
                        r_start[r] = now
                        tail, first = _schedule(now + reg_s[r], now, r * 8 + RESIDENT, ring, tail, mask, fi, ft, fb, fs, fbuf, first)
                        rs[r * 4 + STATE] = REGISTRATION_END
                        break
                    elif step == REGISTRATION_END:
                        r_end[r] = now
                        if paired:
                            # Wait with the registrar for this station's sampler.
                            if reneging:
                                rf[r * 4 + GRANTED] = 0
                            sampler = FIRST_SAMPLER + rs[r * 4 + HOLDS]
                            _enqueue(2 * sampler + (rank[r] if green else 0), r, q_head, q_tail, rs)
                            tail = _grant(sampler, res, b_next, q_head, q_tail, rs, rf, reneging, classes, wake, ring, tail, mask)
                            tail = _await_grant(r, rf, reneging, ring, tail, mask)
                            rs[r * 4 + STATE] = SAMPLER
                            break
                        res[DESK_RES * 4 + USERS] -= 1
                        ring[tail & mask] = DESK_RES * 8 + RELEASE
                        tail += 1
                        step = TO_SWAB
                    elif step == SAMPLER:
                        # Paired: in the swab chair (or leaving), the registrar (or registrar-station) is free.
                        k = rs[r * 4 + HOLDS]
                        if shared:
                            tail = _pool_put(k, 1 if (pools == 2 and k >= dedicated) else 0, sta, items, pool_span, slots, ring, tail, mask)
                        else:
                            res[(first_registrar + k) * 4 + USERS] -= 1
                            ring[tail & mask] = (first_registrar + k) * 8 + RELEASE
                            tail += 1
                        if reneging and not rf[r * 4 + GRANTED]:
                            rf[r * 4 + DEAD] = 1
                            tail = _off_line(k, sta, ring, tail, mask)
                            _leave(r, RENEGED, STAGE_SWAB, now, times, fates, rs)
                            waiting -= 1
                            break
                        step = SWAB
                    elif step == TO_SWAB:
                        if reneging:
                            rf[r * 4 + GRANTED] = 0
                        cls = rank[r] if green else 0
                        tail = _line_up(r, cls, FIRST_SAMPLER, shared, pools, dedicated, stations, first_pool_queue, sta, items, pool_span,
                                        slots, res, b_next, q_head, q_tail, rs, rf, reneging, classes, wake, ring, tail, mask)
                        tail = _await_grant(r, rf, reneging, ring, tail, mask)
                        rs[r * 4 + STATE] = SWAB_WAIT
                        break
                    elif step == SWAB_WAIT:
                        if reneging and not rf[r * 4 + GRANTED]:
                            rf[r * 4 + DEAD] = 1
                            if not shared:
                                tail = _off_line(rs[r * 4 + HOLDS], sta, ring, tail, mask)
                            _leave(r, RENEGED, STAGE_SWAB, now, times, fates, rs)
                            waiting -= 1
                            break
                        step = SWAB
                    elif step == SWAB:
                        waiting -= 1
                        s_start[r] = now
                        station[r] = rs[r * 4 + HOLDS]
                        tail, first = _schedule(now + swab_s[r], now, r * 8 + RESIDENT, ring, tail, mask, fi, ft, fb, fs, fbuf, first)
                        rs[r * 4 + STATE] = SWAB_END
                        break
                    elif step == SWAB_END:
                        s_end[r] = now
                        if disinfect:
                            # Hands or gloves, before the next resident: the station stays taken.
                            tail, first = _schedule(now + disinfect_s[r], now, r * 8 + RESIDENT, ring, tail, mask, fi, ft, fb, fs, fbuf, first)
                            rs[r * 4 + STATE] = FREE
                            break
                        step = FREE
                    else:  # FREE
                        k = rs[r * 4 + HOLDS]
                        tail = _off_line(k, sta, ring, tail, mask)
                        if shared and not paired:
                            tail = _pool_put(k, 1 if (pools == 2 and k >= dedicated) else 0, sta, items, pool_span, slots, ring, tail, mask)
                        else:
                            res[(FIRST_SAMPLER + k) * 4 + USERS] -= 1
                            ring[tail & mask] = (FIRST_SAMPLER + k) * 8 + RELEASE
                            tail += 1
                        rs[r * 4 + STATE] = DONE
                        break
                r = following
            if overflow:
                break
        elif kind == SOURCE:
            # model.point's source(): start everyone due by now, then sleep until the next arrival.
            while source < admitted.size:
                i = admitted[source]
                if arrival[i] > now:
                    delay = arrival[i] - now
                    while now + delay < arrival[i]:
                        delay = np.nextafter(delay, np.inf)
                    source_due = True
                    source_time = now + delay
                    source_seq = fs[COUNT]
                    fs[COUNT] += 1
                    break
                urgent[u_tail] = i * 8 + RESIDENT
                u_tail += 1
                source += 1
        elif kind == RELEASE:
            tail = _grant(argument, res, b_next, q_head, q_tail, rs, rf, reneging, classes, wake, ring, tail, mask)
        elif kind == PUT:
            tail = _store_grant(argument, first_pool_queue, items, pool_span, slots, q_head, q_tail, rs, rf, reneging, classes, wake, ring, tail, mask)
        elif kind == GIVE_UP:
            # The patience timeout: a pending condition on it is met (the resident resumes when it is processed).
            rf[argument * 4 + GAVE_UP] = 1
            if rf[argument * 4 + CWAIT] != NO_WAIT:
                rf[argument * 4 + CWAIT] = NO_WAIT
                ring[tail & mask] = argument * 8 + RESIDENT
                tail += 1
        elif kind == WAKE:
            # A reneging resident's request (or get) processed: its condition is met, unless patience came first.
            if rf[argument * 4 + CWAIT] == REQUEST_WAIT:
                rf[argument * 4 + CWAIT] = NO_WAIT
                ring[tail & mask] = argument * 8 + RESIDENT
                tail += 1
        elif kind == OPENING:
            # Reneging: each waiting resident's condition ``opening | give_up`` is met, in the order they began to wait.
            r = o_head[argument]
            o_head[argument] = -1
            while r >= 0:
                if tail - head + 16 > ring.size:
                    overflow = True
                    break
                if rf[r * 4 + CWAIT] == OPENING_WAIT:
                    rf[r * 4 + CWAIT] = NO_WAIT
                    ring[tail & mask] = r * 8 + RESIDENT
                    tail += 1
                r = rs[r * 4 + OPEN_NEXT]
            if overflow:
                break
        else:  # CLOSURE
            # model.point's closure(): a slot stops taking residents, finishes the one it has, then stays closed.
            c = argument
            k = c_slot[c]
            role = c_role[c]
            if role == SAMPLER_ROLE:
                resource = FIRST_SAMPLER + k if (paired or not shared) else -1
            elif role == TEMPERATURE_ROLE:
                resource = TEMP_RES
            else:
                resource = DESK_RES
            pool = 1 if (pools == 2 and k >= dedicated) else 0
            step = c_state[c]
            while True:
                if step == DUE:
                    if role == SAMPLER_ROLE:
                        sta[k * 4 + CLOSED] = 1
                        if shared:
                            # StationPool.close: parked now if free, else when its resident gives it back.
                            found = -1
                            for j in range(pool_span[pool * 2 + 1]):
                                if items[pool * slots + ((pool_span[pool * 2 + 0] + j) & (slots - 1))] == k:
                                    found = j
                                    break
                            if found >= 0:
                                for j in range(found, pool_span[pool * 2 + 1] - 1):
                                    items[pool * slots + ((pool_span[pool * 2 + 0] + j) & (slots - 1))] = items[pool * slots + ((pool_span[pool * 2 + 0] + j + 1) & (slots - 1))]
                                pool_span[pool * 2 + 1] -= 1
                                ring[tail & mask] = c * 8 + CLOSURE
                                tail += 1
                            else:
                                sta[k * 4 + CLOSING] = c
                            c_state[c] = PARKED
                            break
                        if not c_break[c] and sta[k * 4 + LINE] != 0:
                            sta[k * 4 + DRAIN] = c  # the sampler leaving at the end of a shift serves its line out
                            c_state[c] = PARKED
                            break
                    step = PARKED
                elif step == PARKED:
                    if resource >= 0:
                        b_next[c] = -1
                        if res[resource * 4 + B_HEAD] < 0:
                            res[resource * 4 + B_HEAD] = c
                        else:
                            b_next[res[resource * 4 + B_TAIL]] = c
                        res[resource * 4 + B_TAIL] = c
                        tail = _grant(resource, res, b_next, q_head, q_tail, rs, rf, reneging, classes, wake, ring, tail, mask)
                        c_state[c] = HELD
                        break
                    step = HELD
                elif step == HELD:
                    c_began[c] = now
                    if c_break[c]:
                        done = now + c_length[c]
                    elif math.isinf(c_end[c]):
                        row_closure[rows] = c
                        row_times[0, rows] = now
                        row_times[1, rows] = c_end[c]
                        rows += 1
                        c_state[c] = OVER
                        break  # closed for the rest of the round
                    elif c_end[c] > now:
                        delay = c_end[c] - now
                        while now + delay < c_end[c]:
                            delay = np.nextafter(delay, np.inf)
                        done = now + delay
                    else:
                        step = ENDED
                        continue
                    tail, first = _schedule(done, now, c * 8 + CLOSURE, ring, tail, mask, fi, ft, fb, fs, fbuf, first)
                    c_state[c] = ENDED
                    break
                else:  # ENDED
                    row_closure[rows] = c
                    row_times[0, rows] = c_began[c]
                    row_times[1, rows] = now
                    rows += 1
                    if resource >= 0:
                        res[resource * 4 + USERS] -= 1
                        ring[tail & mask] = resource * 8 + RELEASE
                        tail += 1
                    if role == SAMPLER_ROLE:
                        sta[k * 4 + CLOSED] = 0
                        if shared:
                            tail = _pool_put(k, pool, sta, items, pool_span, slots, ring, tail, mask)
                    c_state[c] = OVER
                    break
    return -1 if overflow else rows


# ---------------------------------------------------------------------------- door-to-door teams

TEAM_LOOP, TEAM_TRAVELLED, TEAM_SAMPLED, TEAM_DONE = 0, 1, 2, 3


@njit(cache=True)
def _home_replay(teams, starts, travel_s, service_s, ppe_s, opens_at, closes_at, opening_time, start_time, fi, ft, fb, fs, fbuf):
    """model.point's ``_start_home_teams``: each team takes the next household while the point is open.

    The teams share only the household roster and the opening events with the rest
    of the point, so their event order among themselves is SimPy's with or without
    the residents' events interleaved: team starts (URGENT) at the start time, the
    openings scheduled first, timeouts in scheduling order. ``starts[h]`` is the first
    member of household h (``starts[-1]``: the member count). ``fi`` to ``fbuf``: empty future events
    for teams + days + 1 (``_future_events``). Returns (team, start, end).
    """
    households = starts.size - 1
    members = starts[households]
    start = np.full(members, np.nan)
    end = np.full(members, np.nan)
    team_of = np.full(members, -1, dtype=np.int32)
    state = np.zeros(teams, dtype=np.int64)
    day = np.zeros(teams, dtype=np.int64)
    household = np.zeros(teams, dtype=np.int64)
    member = np.zeros(teams, dtype=np.int64)
    days = opens_at.size
    o_head = np.full(days, -1, dtype=np.int64)
    o_tail = np.full(days, -1, dtype=np.int64)
    open_next = np.full(teams, -1, dtype=np.int64)
    for d in range(days):
        _future_push(opening_time[d], d * 8 + OPENING, fi, ft, fb, fs, fbuf)
    first = _future_first(fi, ft, fb, fs)
    ring_size = 1
    while ring_size < teams + 1:
        ring_size *= 2
    ring = np.empty(ring_size, dtype=np.int64)  # each team has at most one pending event
    mask = ring_size - 1
    head = 0
    tail = 0
    started = 0  # teams started (URGENT at the start time)
    taken = 0  # households taken from the roster
    now = start_time
    while True:
        if started < teams:
            event = started * 8 + RESIDENT
            started += 1
        elif first >= 0 and (ft[first] == now or head == tail):
            now = ft[first]
            event = fi[first * 4 + EVENT]
            _future_pop(first, fi, ft, fb, fs)
            first = _future_first(fi, ft, fb, fs)
        elif head < tail:
            event = ring[head & mask]
            head += 1
        else:
            break
        if event & 7 == OPENING:
            t = o_head[event >> 3]
            o_head[event >> 3] = -1
            chained = True
        else:
            t = event >> 3
            chained = False
        while t >= 0:
            following = open_next[t] if chained else -1
            step = state[t]
            while True:
                if step == TEAM_LOOP:
                    if taken == households:
                        state[t] = TEAM_DONE
                        break
                    while day[t] < days and now >= closes_at[day[t]]:
                        day[t] += 1
                    if day[t] == days:
                        state[t] = TEAM_DONE  # the round is over: the households left are not visited
                        break
                    if now < opens_at[day[t]]:
                        d = day[t]
                        open_next[t] = -1
                        if o_head[d] < 0:
                            o_head[d] = t
                        else:
                            open_next[o_tail[d]] = t
                        o_tail[d] = t
                        break
                    household[t] = taken
                    taken += 1
                    done = now + travel_s[household[t]]
                    state[t] = TEAM_TRAVELLED
                elif step == TEAM_TRAVELLED:
                    m = starts[household[t]]
                    member[t] = m
                    start[m] = now
                    done = now + service_s[m]
                    state[t] = TEAM_SAMPLED
                else:  # TEAM_SAMPLED
                    m = member[t]
                    end[m] = now
                    team_of[m] = t
                    m += 1
                    if m < starts[household[t] + 1]:
                        member[t] = m
                        start[m] = now
                        done = now + service_s[m]
                    else:
                        done = now + ppe_s[household[t]]
                        state[t] = TEAM_LOOP
                tail, first = _schedule(done, now, t * 8 + RESIDENT, ring, tail, mask, fi, ft, fb, fs, fbuf, first)
                break
            t = following
    return team_of, start, end


# ---------------------------------------------------------------------------- the engine

EMPTY_F = np.zeros(0)
RING_SIZE = 4096
"""Pending events at one instant the kernel's ring holds at first (a power of two)."""
EMPTY_I = np.zeros(0, dtype=np.int64)
EMPTY_B = np.zeros(0, dtype=np.bool_)
EMPTY_RANK = np.zeros(0, dtype=np.int8)


def dispatchers(home: bool = False) -> list:
    """numba's dispatchers of the kernels a run uses (the door-to-door teams' with ``home``), to ask whether they are cached."""
    return [_replay, _home_replay] if home else [_replay]


def _floats(values) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.float64)


def simulate_point_fast(
    point: Point, hours: Union[list[tuple[float, float]], Clock], draws: ResidentDraws, replication: int = 0
) -> EventLog:
    """Run one point for one replication; the same log as ``simulate_point``, computed without SimPy.

    Raises ValueError for a point outside the engine's scope (see ``fast_scope``).
    """
    if isinstance(hours, Clock):
        hours = hours.hours(1)
    reason = out_of_scope(point, draws)
    if reason is not None:
        raise ValueError(f"point {point.id}: the fast engine cannot simulate {reason}; use simulate_point")
    plan = staff_plan(point, hours)
    open_hours = opening_hours(hours, draws.setup_s)
    n = draws.count
    arrival = _floats(draws.arrival_s)
    days = draws.days
    opens_at = np.array([open_s for open_s, _ in open_hours])
    closes = np.array([close for _, close in open_hours])
    admitted = np.flatnonzero(arrival <= closes[days]) if n else EMPTY_I
    # The same floats as model.point: the clock starts at the first arrival (or midnight), and
    # each closure and opening is a timeout scheduled from there.
    start_time = min(0.0, float(arrival[0])) if n else 0.0
    due = lambda at: start_time + delay_until(start_time, max(start_time, at))  # noqa: E731
    opening_time = np.array([due(open_s) for open_s in opens_at.tolist()])
    closures = plan.closures
    stages = point.stages
    registration = NO_REGISTRATION if stages.registration is None else PAIRED if point.paired_registration else DESKS
    temp_servers = stages.temperature.servers if stages.temperature is not None else 0
    desks = point.servers("registration") if registration == DESKS else 0
    shared = point.queue == "shared"
    green = point.green_channel
    rank = (~draws.priority).astype(np.int8) if green is not None else EMPTY_RANK  # priority class: 0 priority, 1 other
    dedicated = green.stations if green is not None and green.channel == "dedicated" else 0
    first_stage = STAGE_ORDER.index(stages_present(point)[0])
    balking = draws.balk_threshold is not None
    reneging = draws.patience_s is not None
    arguments = (
        arrival,
        days.astype(np.int64),
        admitted,
        opens_at,
        opening_time,
        closes,
        start_time,
        _floats(draws.temperature_s),
        _floats(draws.registration_s),
        _floats(draws.swab_s),
        _floats(draws.disinfection_s) if draws.disinfection_s is not None else EMPTY_F,
        temp_servers,
        registration,
        desks,
        point.stations,
        shared,
        rank,
        dedicated,
        _floats(draws.balk_threshold) if balking else EMPTY_F,
        np.ascontiguousarray(draws.balk_returns, dtype=np.bool_) if balking else EMPTY_B,
        _floats(draws.balk_return_s) if balking else EMPTY_F,
        _floats(draws.patience_s) if reneging else EMPTY_F,
        first_stage,
        np.array([ROLE_CODE[c.role] for c in closures], dtype=np.int64),
        np.array([c.slot for c in closures], dtype=np.int64),
        np.array([due(c.start_s) for c in closures], dtype=np.float64),
        np.array([c.end_s for c in closures], dtype=np.float64),
        np.array([c.length_s for c in closures], dtype=np.float64),
        np.array([c.reason == "break" for c in closures], dtype=np.bool_),
    )
    # With reneging, everyone let in together at an opening has an event pending at that instant.
    ring_size = RING_SIZE
    if reneging and admitted.size:
        early = int(np.count_nonzero(arrival[admitted] < opens_at[days[admitted]]))
        while ring_size < 2 * early + 64:
            ring_size *= 2
    while True:
        work = _workspace(n, arrival, admitted.size, temp_servers, desks, point.stations, dedicated, shared, len(closures),
                          opens_at.size, reneging, ring_size)
        rows = _replay(*arguments, *work)
        if rows >= 0:
            break
        ring_size *= 16  # more events at one instant than the ring holds: run again with a larger one
    times, station, fates = work[0], work[1], work[2]
    row_closure, row_times = work[15][:rows], work[16][:, :rows]
    arrived, t_start, t_end, r_start, r_end, s_start, s_end, left_s = times
    left, left_stage, balks = fates
    served = ~np.isnan(s_end)
    log = EventLog(
        point_id=point.id,
        replication=replication,
        open_s=hours[0][0],
        close_s=hours[-1][1],
        population=point.population,
        no_show=draws.no_show,
        servers={s: point.servers(s) for s in ("temperature", "registration", "swab") if getattr(stages, s) is not None},
        resident=draws.resident,
        arrival_s=arrived,
        qr=draws.qr,
        served=served,
        station=station,
        day=draws.days,
        hours=list(hours),
        setup_s=draws.setup_s,
        not_called=draws.not_called,
        home=_home_log(point, draws, open_hours, opening_time, start_time) if draws.home is not None else None,
        pool_ratio=0,
        tube=None,
        tubes=None,
        infected=draws.infected,
        recall_s=draws.recall_s,
        left=left,
        left_s=left_s,
        left_stage=left_stage,
        balks=balks,
        priority=draws.priority,
        overhead_s=np.where(served, draws.disinfection_s, 0.0) if draws.disinfection_s is not None else None,
        closures=ClosureLog.of([(closures[c].role, closures[c].slot, closures[c].start_s, began, ended, closures[c].reason)
                                for c, began, ended in zip(row_closure.tolist(), row_times[0].tolist(), row_times[1].tolist())]),
        plan=plan,
        waiting_capacity=point.waiting_area.capacity if point.waiting_area is not None else None,
    )
    if stages.temperature is not None:
        log.start["temperature"], log.end["temperature"] = t_start, t_end
    if stages.registration is not None:
        log.start["registration"], log.end["registration"] = r_start, r_end
    log.start["swab"], log.end["swab"] = s_start, s_end
    return log


def _workspace(n, arrival, admitted, temp_servers, desks, stations, dedicated, shared, closures, days, reneging, ring_size):
    """Every array ``_replay`` writes, in its order: results prefilled for residents never served, then its workspace."""
    times = np.full((8, n), np.nan)
    times[ARRIVED] = arrival
    station = np.full(n, -1, dtype=np.int32)
    fates = np.zeros((3, n), dtype=np.int8)
    fates[LEFT_STAGE] = -1
    rs = np.zeros(4 * n, dtype=np.int64)  # every process STARTED; the other columns are set before use
    rf = np.zeros(4 * n if reneging else 0, dtype=np.int8)
    pools = 2 if dedicated > 0 else 1
    resources = FIRST_SAMPLER + 2 * stations
    res = np.full((resources, 4), -1, dtype=np.int64)
    res[:, CAPACITY] = 1
    res[TEMP_RES, CAPACITY] = temp_servers
    res[DESK_RES, CAPACITY] = desks
    res[:, USERS] = 0
    lines = np.full((2, 2 * (resources + pools)), -1, dtype=np.int64)
    sta = np.zeros((stations, 4), dtype=np.int64)
    sta[:, DRAIN] = -1
    sta[:, CLOSING] = -1
    slots = 1
    while slots < stations:
        slots *= 2
    items = np.zeros(pools * slots, dtype=np.int64)
    pool_span = np.zeros(2 * pools, dtype=np.int64)
    if shared:
        groups = [range(dedicated), range(dedicated, stations)] if pools == 2 else [range(stations)]
        for pool, group in enumerate(groups):
            items[pool * slots:pool * slots + len(group)] = group
            pool_span[pool * 2 + 1] = len(group)
    openings = np.full((2, days), -1, dtype=np.int64)
    heap = 2 * n + closures + days + 2
    return (times, station, fates, rs, rf, res.ravel(), lines[0], lines[1], np.full(closures, -1, dtype=np.int64), sta.ravel(), items, pool_span, slots,
            np.zeros(closures, dtype=np.int64), np.zeros(closures), np.zeros(closures, dtype=np.int64), np.zeros((2, closures)),
            openings[0], openings[1], *_future_events(heap), np.empty(admitted + 1, dtype=np.int64), np.empty(ring_size, dtype=np.int64))


def _future_events(capacity):
    """Empty future events for up to ``capacity`` at once: nodes, their times, buckets and slots, state, a float buffer.

    Nodes are taken as needed, so memory never used is never touched.
    """
    state = np.zeros(FS_SIZE, dtype=np.int64)
    state[SPARE] = -1
    state[LAST] = -LOW63 - 1
    state[CUR] = -(2**62)  # nothing taken out yet: everything goes to the radix heap until the first event is
    buckets = np.full(FB_SIZE, -1, dtype=np.int64)
    buckets[SLOT_BITS:] = 0
    return np.empty(4 * capacity, dtype=np.int64), np.empty(capacity), buckets, state, np.zeros(1)


def _home_log(point: Point, draws: ResidentDraws, open_hours, opening_time: np.ndarray, start_time: float) -> HomeLog:
    """The door-to-door teams' log, as model.point's ``_start_home_teams`` builds it."""
    home = draws.home
    count = home.resident.size
    first = np.concatenate([[0], np.flatnonzero(np.diff(home.household)) + 1, [count]]) if count else np.zeros(1, dtype=np.int64)
    team, start, end = _home_replay(
        point.home.teams,
        first.astype(np.int64),
        _floats(home.travel_s),
        _floats(home.service_s),
        _floats(home.ppe_s),
        np.array([open_s for open_s, _ in open_hours]),
        np.array([close for _, close in open_hours]),
        opening_time,
        start_time,
        *_future_events(point.home.teams + len(open_hours) + 1),
    )
    return HomeLog(
        resident=home.resident,
        household=home.household,
        team=team,
        start_s=start,
        end_s=end,
        teams=point.home.teams,
        team_size=point.home.team_size,
    )
