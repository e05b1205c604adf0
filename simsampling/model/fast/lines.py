"""The fast engine's lines: residents waiting for a server or a station, as SimPy's resources hold them.

Layouts of the workspace blocks (numbers of columns, the offsets of their fields):

* ``rs``, per resident (resident r's at ``RS * r``): where its process stands (a stage and a
  phase, ``stage << 4 | phase``), the station it is lined up for or holds, the next resident in
  its waiting line, the next resident waiting for the opening;
* ``rf``, per resident, with reneging only: its current request was granted (SimPy's
  ``triggered``), it left its line, its patience ran out, what its condition waits for;
* ``res``, per resource (resource i's at ``RES * i``): capacity, users, the first and last staff
  closure waiting to block a server, and the kind of event that wakes a resident granted it
  (RESIDENT, or WAKE when its wait is a condition on its patience);
* ``sta``, per station: residents in its line, closed, the closure waiting for the line to drain,
  the closure waiting for the station to come back (to park it).

Resources: a pool of servers per stage served that way, then each station's sampler, then each
station's paired registrar. Each resource has a waiting line per priority class (queue
``2 * resource + class``), and so has each lane's station pool (a shared line) after them.
"""

from __future__ import annotations

from .compiled import INLINE, njit
from .events import CLOSURE, PUT, RELEASE, RESIDENT

RS = 4
STATE, HOLDS, NEXT, OPEN_NEXT = 0, 1, 2, 3
RF = 4
GRANTED, DEAD, GAVE_UP, CWAIT = 0, 1, 2, 3
NO_WAIT, OPENING_WAIT, REQUEST_WAIT = 0, 1, 2
"""What a reneging resident's condition (``event | give_up``) waits for besides its patience."""
RES = 5
CAPACITY, USERS, B_HEAD, B_TAIL, WAKEUP = 0, 1, 2, 3, 4
STA = 4
LINE, CLOSED, DRAIN, CLOSING = 0, 1, 2, 3
LANES = 3
"""Station lanes: everyone else's stations, the green channel's dedicated ones, the reserved ones."""


@njit(**INLINE)
def append(queue, r, heads, tails, rs, link):
    """Put a resident at the back of a linked list of residents chained through field ``link``."""
    rs[r * RS + link] = -1
    if heads[queue] < 0:
        heads[queue] = r
    else:
        rs[(tails[queue]) * RS + link] = r
    tails[queue] = r


@njit(**INLINE)
def enqueue(queue, r, q_head, q_tail, rs):
    """Put a resident at the back of a waiting line."""
    append(queue, r, q_head, q_tail, rs, NEXT)


@njit(**INLINE)
def unlink_head(queue, r, q_head, q_tail, rs):
    """Take resident ``r``, the head of a waiting line, out of it."""
    following = rs[r * RS + NEXT]
    q_head[queue] = following
    if following < 0:
        q_tail[queue] = -1


@njit(**INLINE)
def line_head(queue, q_head, q_tail, rs, rf, reneging):
    """The first resident of a waiting line still in it (residents who reneged are dropped), or -1."""
    r = q_head[queue]
    if reneging:
        while r >= 0 and rf[r * RF + DEAD]:
            r = rs[r * RS + NEXT]
        q_head[queue] = r
        if r < 0:
            q_tail[queue] = -1
    return r


@njit(**INLINE)
def grant(resource, res, b_next, q_head, q_tail, rs, rf, reneging, classes, ring, tail, mask):
    """SimPy's ``_trigger_put`` of a (Priority)Resource: the head of its line gets a free slot (one at most).

    The line is sorted by (priority, time of request): a closure's blocker (priority -1)
    first, then the residents of priority class 0, then those of class 1, each FIFO.
    The grant is a zero-delay event: the closure or resident resumes when it is
    processed (as the resource's WAKEUP says). Returns the ring's tail.
    """
    if res[resource * RES + USERS] >= res[resource * RES + CAPACITY]:
        return tail
    c = res[resource * RES + B_HEAD]
    if c >= 0:
        following = b_next[c]
        res[resource * RES + B_HEAD] = following
        if following < 0:
            res[resource * RES + B_TAIL] = -1
        res[resource * RES + USERS] += 1
        ring[tail & mask] = c * 8 + CLOSURE
        return tail + 1
    for queue in range(2 * resource, 2 * resource + classes):
        r = line_head(queue, q_head, q_tail, rs, rf, reneging)
        if r >= 0:
            unlink_head(queue, r, q_head, q_tail, rs)
            res[resource * RES + USERS] += 1
            if reneging:
                rf[r * RF + GRANTED] = 1
            ring[tail & mask] = r * 8 + res[resource * RES + WAKEUP]
            return tail + 1
    return tail


@njit(**INLINE)
def release(resource, res, ring, tail, mask):
    """A server given back: one user fewer now, the next in line granted when the Release is processed."""
    res[resource * RES + USERS] -= 1
    ring[tail & mask] = resource * 8 + RELEASE
    return tail + 1


@njit(**INLINE)
def store_grant(pool, first_pool_queue, items, pool_span, slots, q_head, q_tail, rs, rf, reneging, classes, wake, ring, tail, mask):
    """SimPy's ``_trigger_get`` of a shared line's StationPool: its head takes the station free the longest.

    ``pool_span`` holds each pool's first item and item count. Returns the ring's tail.
    """
    if pool_span[pool * 2 + 1] == 0:
        return tail
    for queue in range(2 * (first_pool_queue + pool), 2 * (first_pool_queue + pool) + classes):
        r = line_head(queue, q_head, q_tail, rs, rf, reneging)
        if r >= 0:
            unlink_head(queue, r, q_head, q_tail, rs)
            rs[r * RS + HOLDS] = items[pool * slots + (pool_span[pool * 2 + 0] & (slots - 1))]
            pool_span[pool * 2 + 0] += 1
            pool_span[pool * 2 + 1] -= 1
            if reneging:
                rf[r * RF + GRANTED] = 1
            ring[tail & mask] = r * 8 + wake
            return tail + 1
    return tail


@njit(**INLINE)
def pool_put(k, pool, sta, items, pool_span, slots, ring, tail, mask):
    """``StationPool.put(k)``: a station back in its pool, or parked if a closure waits for it.

    Schedules the parking (the closure resumes) and the Put event. Returns the ring's tail.
    """
    c = sta[k * STA + CLOSING]
    if c >= 0:
        sta[k * STA + CLOSING] = -1
        ring[tail & mask] = c * 8 + CLOSURE
        tail += 1
    else:
        items[pool * slots + ((pool_span[pool * 2 + 0] + pool_span[pool * 2 + 1]) & (slots - 1))] = k
        pool_span[pool * 2 + 1] += 1
    ring[tail & mask] = pool * 8 + PUT
    return tail + 1


@njit(**INLINE)
def off_line(k, sta, ring, tail, mask):
    """``off_line``: one resident fewer for station k; its line drained, a waiting closure resumes."""
    sta[k * STA + LINE] -= 1
    if sta[k * STA + LINE] == 0 and sta[k * STA + DRAIN] >= 0:
        ring[tail & mask] = sta[k * STA + DRAIN] * 8 + CLOSURE
        sta[k * STA + DRAIN] = -1
        return tail + 1
    return tail


@njit(**INLINE)
def await_grant(r, rf, reneging, ring, tail, mask):
    """After a request, a reneging resident waits on ``request | give_up``: met at once if its patience ran out.

    Returns the ring's tail.
    """
    if reneging:
        if rf[r * RF + GAVE_UP]:
            ring[tail & mask] = r * 8 + RESIDENT
            return tail + 1
        rf[r * RF + CWAIT] = REQUEST_WAIT
    return tail


@njit(**INLINE)
def choose_station(lo, hi, sta):
    """``choose_station``: the shortest line among open stations ``lo`` to ``hi`` (a lane's), lowest on ties."""
    k = lo
    for j in range(lo + 1, hi):
        if sta[j * STA + CLOSED] < sta[k * STA + CLOSED] or (sta[j * STA + CLOSED] == sta[k * STA + CLOSED] and sta[j * STA + LINE] < sta[k * STA + LINE]):
            k = j
    sta[k * STA + LINE] += 1
    return k


@njit(**INLINE)
def line_up(r, cls, lane, first_resource, shared, lane_lo, lane_hi, first_pool_queue, sta, items, pool_span,
            slots, res, b_next, q_head, q_tail, rs, rf, reneging, classes, wake, ring, tail, mask):
    """A resident of ``lane`` asks for a station: from its lane's shared line (a pool), or by joining
    the shortest line of its lane's stations, one resource per station from ``first_resource``
    (samplers or paired registrars). Returns the ring's tail.
    """
    if shared:
        enqueue(2 * (first_pool_queue + lane) + cls, r, q_head, q_tail, rs)
        return store_grant(lane, first_pool_queue, items, pool_span, slots, q_head, q_tail, rs, rf, reneging, classes, wake, ring, tail, mask)
    k = choose_station(lane_lo[lane], lane_hi[lane], sta)
    rs[r * RS + HOLDS] = k
    enqueue(2 * (first_resource + k) + cls, r, q_head, q_tail, rs)
    return grant(first_resource + k, res, b_next, q_head, q_tail, rs, rf, reneging, classes, ring, tail, mask)
