"""A fast exact engine for one sampling point, beside the SimPy model of ``model/point.py``.

``simulate_point_fast`` takes the same :class:`ResidentDraws` as
``simulate_point`` and returns the same :class:`EventLog`, with the same
timestamps to the last bit, some fifty times faster (benchmarks/engine_speed.py).
The SimPy model stays the reference; ``fast_scope`` says which points this
engine can run (and, when it cannot, why), so that a caller can fall back to
SimPy.

Scope (phase 1)
---------------
Stages temperature (a FIFO pool of servers) -> registration (a registrar paired
with each station, desks, or none) -> swab; ``queue: shared`` or ``per_tent``;
any arrival plan; several days, the set-up delay, early arrivals waiting for the
opening, late ones turned away. Out of scope: pooled tubes (``pooling`` or a
``chain``), door-to-door teams (``home``), ``green_channel``, ``balking``,
``reneging``, ``disinfection_s`` and staff plans that close a station, desk or
entrance server.

Why an event replay, not formulas
---------------------------------
Each stage alone is a recursion (start = max(ready, earliest free server)), but
a paired registrar is held until its station's sampler is free, join-the-
shortest-line depends on who is in which line at the instant of choosing, and
SimPy orders simultaneous events by the order in which it scheduled them.
Simultaneous events are common here: every early arrival is let in at the
opening at once, a household arrives together, ``fixed`` and ``empirical``
service times end together, zero service times chain within one instant. To
agree with SimPy on every tie, the engine orders events exactly as SimPy does:
it is a small discrete-event kernel specialised to this model, compiled with
numba, in which each resident is a state machine that runs, like the SimPy
process of ``model/point.py``, from one ``yield`` to the next.

SimPy's rules reproduced (SimPy 4.1: ``simpy.core``, ``simpy.resources``)
-----------------------------------------------------------------------
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
4. ``Store`` (the shared line's free stations): ``put`` appends the station at
   once, and the head of the waiting residents gets it when the Put event is
   processed; ``get`` hands the head of the waiting residents the station free
   the longest, at once, if there is one.
5. A timeout lands at ``now + delay``, one floating-point addition as SimPy
   computes it; the arrival source waits ``delay_until(now, arrival)``.
6. One opening timeout per day, scheduled before anything else; the residents
   waiting for it resume in the order they began to wait, each running until
   its next ``yield`` before the next one resumes.

SimPy also schedules events with no effect here (a process's end, a Request's
callback on the empty queue of releases); they are left out, which does not
change the relative order of the others.

Ties
----
With these rules every simultaneous event is processed in SimPy's order, so no
tie case is left to chance within the scope: residents let in together at an
opening, a resident arriving at the instant another leaves a server, services
ending together (``fixed``, ``empirical``), zero-length services chaining
within one instant, households arriving together, join-the-shortest-line
choices made at the instant a line shortens. tests/validation/test_fast_engine.py
compares both engines bit for bit on random scenarios built to tie. The rules
are SimPy 4.1's; a SimPy release that changed them would show there.

Data structures
---------------
* Future events: a binary heap keyed by (time, scheduling number) holding the
  timeouts (services, the source's next arrival, the openings).
* Events at the current instant: all of them were scheduled after every heap
  event of that instant, so they need no heap: two FIFO rings, one for process
  starts (URGENT), one for the rest (grants, releases, puts, zero-length
  services). Order of processing: URGENT ring, heap events at ``now``, NORMAL
  ring, then the heap's next instant.
* Resources (entrance servers, desks, each station's sampler and registrar):
  a capacity, a count of users and a FIFO of waiting residents as a linked list
  (``queue_next``: a resident waits in one queue at a time).
* The shared line's store: a ring of free station numbers (the station free
  the longest first) and a FIFO of waiting residents.
* Join-the-shortest-line: ``line[k]``, residents assigned to station k and not
  yet swabbed; the first minimum wins, as ``min`` does in ``model/point.py``.

If numba is not installed the same functions run as plain Python: still
exact, but only about as fast as SimPy; ``JIT`` tells which.
"""

from __future__ import annotations

import math
from typing import Optional, Union

import numpy as np

from ..draws import ResidentDraws
from ..log import ClosureLog, EventLog
from ..scenario.schema import Clock, Point, Scenario
from ..staffing import StaffPlan, staff_plan
from .point import delay_until, opening_hours

try:
    from numba import njit

    JIT = True
except ImportError:  # pragma: no cover - numba is a dependency; plain Python stays exact
    JIT = False

    def njit(*args, **kwargs):
        if args and callable(args[0]):
            return args[0]
        return lambda function: function


# ---------------------------------------------------------------------------- scope


def out_of_scope(point: Point, plan: StaffPlan, draws: Optional[ResidentDraws] = None) -> Optional[str]:
    """Why the fast engine cannot run this point (None: it can).

    ``draws``, when given, are checked too (pooled tubes come with the scenario's chain).
    """
    reasons = []
    if point.pooling is not None or (draws is not None and draws.pooling is not None):
        reasons.append("pooled tubes (pooling)")
    if point.home is not None:
        reasons.append("door-to-door teams (home)")
    if point.green_channel is not None:
        reasons.append("green_channel")
    if point.balking is not None:
        reasons.append("balking")
    if point.reneging is not None:
        reasons.append("reneging")
    if point.stages.swab.disinfection_s is not None:
        reasons.append("disinfection_s")
    if plan.closures:
        roles = sorted({c.role for c in plan.closures})
        reasons.append(f"a staff plan that closes slots ({len(plan.closures)} closures of {', '.join(roles)})")
    return "; ".join(reasons) if reasons else None


def fast_scope(point: Point, scenario: Scenario) -> Optional[str]:
    """None if ``simulate_point_fast`` can run ``point`` of ``scenario``, else the reason it cannot."""
    reason = out_of_scope(point, staff_plan(point, scenario.hours))
    if scenario.pooling_for(point) is not None and point.pooling is None:
        chain = "pooled tubes (the scenario's sample chain pools every point)"
        reason = chain if reason is None else f"{chain}; {reason}"
    return reason


# ---------------------------------------------------------------------------- the kernel

# An event is one int64: ``argument * 8 + kind``.
RESIDENT, SOURCE, OPENING, RELEASE, PUT = 0, 1, 2, 3, 4
# Where a resident's process stands (what it waits for when resumed).
STARTED, OPENED, TEMPERATURE, TEMPERATURE_END, TO_REGISTRATION = 0, 1, 2, 3, 4
REGISTRATION, REGISTRATION_END, SAMPLER, TO_SWAB, SWAB, SWAB_END, DONE = 5, 6, 7, 8, 9, 10, 11
# Registration layouts.
NO_REGISTRATION, DESKS, PAIRED = 0, 1, 2
# Resources: entrance servers, desks, then each station's sampler, then each station's registrar.
TEMP_RES, DESK_RES, FIRST_SAMPLER = 0, 1, 2


@njit(cache=True)
def _heap_push(h_time, h_order, h_event, size, time, order, event):
    """Add an event to the heap of future events, keyed by (time, scheduling order); returns the new size."""
    j = size
    while j > 0:
        parent = (j - 1) >> 1
        pt = h_time[parent]
        if pt < time or (pt == time and h_order[parent] < order):
            break
        h_time[j] = pt
        h_order[j] = h_order[parent]
        h_event[j] = h_event[parent]
        j = parent
    h_time[j] = time
    h_order[j] = order
    h_event[j] = event
    return size + 1


@njit(cache=True)
def _heap_pop(h_time, h_order, h_event, size):
    """Drop the heap's first event (read by the caller first); returns the new size."""
    size -= 1
    time = h_time[size]
    order = h_order[size]
    event = h_event[size]
    j = 0
    while True:
        child = 2 * j + 1
        if child >= size:
            break
        right = child + 1
        if right < size and (h_time[right] < h_time[child] or (h_time[right] == h_time[child] and h_order[right] < h_order[child])):
            child = right
        if h_time[child] < time or (h_time[child] == time and h_order[child] < order):
            h_time[j] = h_time[child]
            h_order[j] = h_order[child]
            h_event[j] = h_event[child]
            j = child
        else:
            break
    h_time[j] = time
    h_order[j] = order
    h_event[j] = event
    return size


@njit(cache=True)
def _enqueue(queue, resident, q_head, q_tail, queue_next):
    """Put a resident at the back of a waiting line (a linked list)."""
    queue_next[resident] = -1
    if q_head[queue] < 0:
        q_head[queue] = resident
    else:
        queue_next[q_tail[queue]] = resident
    q_tail[queue] = resident


@njit(cache=True)
def _dequeue(queue, q_head, q_tail, queue_next):
    """Take the resident at the head of a waiting line."""
    resident = q_head[queue]
    q_head[queue] = queue_next[resident]
    if q_head[queue] < 0:
        q_tail[queue] = -1
    return resident


@njit(cache=True)
def _grant(res, capacity, users, q_head, q_tail, queue_next, ring, tail, mask):
    """SimPy's ``_trigger_put`` of a Resource: the head of its line gets a free slot (one at most).

    The grant is a zero-delay event: the resident resumes when it is processed. Returns the ring's tail.
    """
    if q_head[res] >= 0 and users[res] < capacity[res]:
        users[res] += 1
        resident = _dequeue(res, q_head, q_tail, queue_next)
        ring[tail & mask] = resident * 8 + RESIDENT
        tail += 1
    return tail


@njit(cache=True)
def _store_grant(line_queue, items, store, q_head, q_tail, queue_next, holds, ring, tail, mask):
    """SimPy's ``_trigger_get`` of the shared line's Store: its head takes the station free the longest.

    ``store`` is [first item, item count]. Returns the ring's tail.
    """
    if q_head[line_queue] >= 0 and store[1] > 0:
        resident = _dequeue(line_queue, q_head, q_tail, queue_next)
        holds[resident] = items[store[0]]
        store[0] = (store[0] + 1) % items.size
        store[1] -= 1
        ring[tail & mask] = resident * 8 + RESIDENT
        tail += 1
    return tail


@njit(cache=True)
def _replay(arrival, day, admitted, opens_at, opening_time, start_time, temp_s, reg_s, swab_s, temp_servers, registration, desks, stations, shared):
    """Run the point: every admitted resident through its stages, in SimPy's event order.

    Returns (arrived, temperature start, end, registration start, end, swab start, end, station);
    NaN and -1 for residents turned away.
    """
    n = arrival.size
    nan = np.nan
    arrived = arrival.copy()
    t_start = np.full(n, nan)
    t_end = np.full(n, nan)
    r_start = np.full(n, nan)
    r_end = np.full(n, nan)
    s_start = np.full(n, nan)
    s_end = np.full(n, nan)
    station = np.full(n, -1, dtype=np.int32)
    state = np.zeros(n, dtype=np.int64)
    holds = np.full(n, -1, dtype=np.int64)  # the station (or registrar-station) a resident is lined up for or holds

    # Resources and their waiting lines; the last line is the shared Store's.
    first_registrar = FIRST_SAMPLER + stations
    line_queue = first_registrar + stations
    capacity = np.ones(line_queue + 1, dtype=np.int64)
    capacity[TEMP_RES] = temp_servers
    capacity[DESK_RES] = desks
    users = np.zeros(line_queue + 1, dtype=np.int64)
    q_head = np.full(line_queue + 1, -1, dtype=np.int64)
    q_tail = np.full(line_queue + 1, -1, dtype=np.int64)
    queue_next = np.full(n, -1, dtype=np.int64)
    line = np.zeros(stations, dtype=np.int64)  # per_tent: residents assigned to a station, not yet swabbed
    items = np.arange(stations)  # the Store: free stations, the one free longest first
    store = np.zeros(2, dtype=np.int64)
    if shared:
        store[1] = stations

    # Residents waiting for each day's opening, in the order they began to wait.
    days = opens_at.size
    o_head = np.full(days, -1, dtype=np.int64)
    o_tail = np.full(days, -1, dtype=np.int64)
    open_next = np.full(n, -1, dtype=np.int64)

    # Future events, then the two rings of events at the current instant.
    heap_size = n + days + 2
    h_time = np.empty(heap_size)
    h_order = np.empty(heap_size, dtype=np.int64)
    h_event = np.empty(heap_size, dtype=np.int64)
    size = 0
    order = 0
    for d in range(days):
        size = _heap_push(h_time, h_order, h_event, size, opening_time[d], order, d * 8 + OPENING)
        order += 1
    urgent = np.empty(admitted.size + 1, dtype=np.int64)  # process starts: each resident once, and the source
    u_head = 0
    u_tail = 1
    urgent[0] = SOURCE
    # Pending events at one instant: one resume per resident, plus at most three releases or puts each.
    ring_size = 16
    while ring_size < 4 * n + 16:
        ring_size *= 2
    ring = np.empty(ring_size, dtype=np.int64)
    mask = ring_size - 1
    head = 0
    tail = 0

    now = start_time
    source = 0  # the next admitted resident the source will start
    while True:
        if u_head < u_tail:
            event = urgent[u_head]
            u_head += 1
        elif size > 0 and h_time[0] == now:
            event = h_event[0]
            size = _heap_pop(h_time, h_order, h_event, size)
        elif head < tail:
            event = ring[head & mask]
            head += 1
        elif size > 0:
            now = h_time[0]
            event = h_event[0]
            size = _heap_pop(h_time, h_order, h_event, size)
        else:
            break
        kind = event & 7
        argument = event >> 3

        if kind == SOURCE:
            # model.point's source(): start everyone due by now, then sleep until the next arrival.
            while source < admitted.size:
                i = admitted[source]
                if arrival[i] > now:
                    delay = arrival[i] - now
                    while now + delay < arrival[i]:
                        delay = np.nextafter(delay, np.inf)
                    size = _heap_push(h_time, h_order, h_event, size, now + delay, order, SOURCE)
                    order += 1
                    break
                urgent[u_tail] = i * 8 + RESIDENT
                u_tail += 1
                source += 1
            continue
        if kind == RELEASE:
            tail = _grant(argument, capacity, users, q_head, q_tail, queue_next, ring, tail, mask)
            continue
        if kind == PUT:
            tail = _store_grant(line_queue, items, store, q_head, q_tail, queue_next, holds, ring, tail, mask)
            continue

        # Residents to resume: one, or at an opening everyone waiting for it, one after the other.
        if kind == RESIDENT:
            r = argument
            chained = False
        else:
            r = o_head[argument]
            o_head[argument] = -1
            chained = True
        while r >= 0:
            following = open_next[r] if chained else -1
            step = state[r]
            # The resident's process, from where it waited to its next yield (break).
            while True:
                if step == STARTED:
                    arrived[r] = now
                    d = day[r]
                    if now < opens_at[d]:
                        open_next[r] = -1
                        if o_head[d] < 0:
                            o_head[d] = r
                        else:
                            open_next[o_tail[d]] = r
                        o_tail[d] = r
                        state[r] = OPENED
                        break
                    step = OPENED
                elif step == OPENED:
                    if temp_servers > 0:
                        _enqueue(TEMP_RES, r, q_head, q_tail, queue_next)
                        tail = _grant(TEMP_RES, capacity, users, q_head, q_tail, queue_next, ring, tail, mask)
                        state[r] = TEMPERATURE
                        break
                    step = TO_REGISTRATION
                elif step == TEMPERATURE:
                    t_start[r] = now
                    done = now + temp_s[r]
                    if done == now:
                        ring[tail & mask] = r * 8 + RESIDENT
                        tail += 1
                    else:
                        size = _heap_push(h_time, h_order, h_event, size, done, order, r * 8 + RESIDENT)
                        order += 1
                    state[r] = TEMPERATURE_END
                    break
                elif step == TEMPERATURE_END:
                    t_end[r] = now
                    users[TEMP_RES] -= 1
                    ring[tail & mask] = TEMP_RES * 8 + RELEASE
                    tail += 1
                    step = TO_REGISTRATION
                elif step == TO_REGISTRATION:
                    if registration == PAIRED:
                        if shared:
                            _enqueue(line_queue, r, q_head, q_tail, queue_next)
                            tail = _store_grant(line_queue, items, store, q_head, q_tail, queue_next, holds, ring, tail, mask)
                        else:
                            k = 0
                            for j in range(1, stations):
                                if line[j] < line[k]:
                                    k = j
                            line[k] += 1
                            holds[r] = k
                            _enqueue(first_registrar + k, r, q_head, q_tail, queue_next)
                            tail = _grant(first_registrar + k, capacity, users, q_head, q_tail, queue_next, ring, tail, mask)
                        state[r] = REGISTRATION
                        break
                    if registration == DESKS:
                        _enqueue(DESK_RES, r, q_head, q_tail, queue_next)
                        tail = _grant(DESK_RES, capacity, users, q_head, q_tail, queue_next, ring, tail, mask)
                        state[r] = REGISTRATION
                        break
                    step = TO_SWAB
                elif step == REGISTRATION:
                    r_start[r] = now
                    done = now + reg_s[r]
                    if done == now:
                        ring[tail & mask] = r * 8 + RESIDENT
                        tail += 1
                    else:
                        size = _heap_push(h_time, h_order, h_event, size, done, order, r * 8 + RESIDENT)
                        order += 1
                    state[r] = REGISTRATION_END
                    break
                elif step == REGISTRATION_END:
                    r_end[r] = now
                    if registration == PAIRED:
                        # Wait with the registrar for this station's sampler.
                        sampler = FIRST_SAMPLER + holds[r]
                        _enqueue(sampler, r, q_head, q_tail, queue_next)
                        tail = _grant(sampler, capacity, users, q_head, q_tail, queue_next, ring, tail, mask)
                        state[r] = SAMPLER
                        break
                    users[DESK_RES] -= 1
                    ring[tail & mask] = DESK_RES * 8 + RELEASE
                    tail += 1
                    step = TO_SWAB
                elif step == SAMPLER:
                    # Paired: in the swab chair, the registrar (or registrar-station of the shared line) is free.
                    if shared:
                        items[(store[0] + store[1]) % items.size] = holds[r]
                        store[1] += 1
                        ring[tail & mask] = PUT
                    else:
                        users[first_registrar + holds[r]] -= 1
                        ring[tail & mask] = (first_registrar + holds[r]) * 8 + RELEASE
                    tail += 1
                    step = SWAB
                elif step == TO_SWAB:
                    if shared:
                        _enqueue(line_queue, r, q_head, q_tail, queue_next)
                        tail = _store_grant(line_queue, items, store, q_head, q_tail, queue_next, holds, ring, tail, mask)
                    else:
                        k = 0
                        for j in range(1, stations):
                            if line[j] < line[k]:
                                k = j
                        line[k] += 1
                        holds[r] = k
                        _enqueue(FIRST_SAMPLER + k, r, q_head, q_tail, queue_next)
                        tail = _grant(FIRST_SAMPLER + k, capacity, users, q_head, q_tail, queue_next, ring, tail, mask)
                    state[r] = SWAB
                    break
                elif step == SWAB:
                    s_start[r] = now
                    station[r] = holds[r]
                    done = now + swab_s[r]
                    if done == now:
                        ring[tail & mask] = r * 8 + RESIDENT
                        tail += 1
                    else:
                        size = _heap_push(h_time, h_order, h_event, size, done, order, r * 8 + RESIDENT)
                        order += 1
                    state[r] = SWAB_END
                    break
                else:  # SWAB_END
                    s_end[r] = now
                    k = holds[r]
                    line[k] -= 1
                    if shared and registration != PAIRED:
                        items[(store[0] + store[1]) % items.size] = k
                        store[1] += 1
                        ring[tail & mask] = PUT
                    else:
                        users[FIRST_SAMPLER + k] -= 1
                        ring[tail & mask] = (FIRST_SAMPLER + k) * 8 + RELEASE
                    tail += 1
                    state[r] = DONE
                    break
            r = following
    return arrived, t_start, t_end, r_start, r_end, s_start, s_end, station


# ---------------------------------------------------------------------------- the engine


def simulate_point_fast(
    point: Point, hours: Union[list[tuple[float, float]], Clock], draws: ResidentDraws, replication: int = 0
) -> EventLog:
    """Run one point for one replication; the same log as ``simulate_point``, computed without SimPy.

    Raises ValueError for a point outside the engine's scope (see ``fast_scope``).
    """
    if isinstance(hours, Clock):
        hours = hours.hours(1)
    plan = staff_plan(point, hours)
    reason = out_of_scope(point, plan, draws)
    if reason is not None:
        raise ValueError(f"point {point.id}: the fast engine cannot simulate {reason}; use simulate_point")
    open_hours = opening_hours(hours, draws.setup_s)
    n = draws.count
    arrival = np.ascontiguousarray(draws.arrival_s, dtype=np.float64)
    closes = np.array([close for _, close in open_hours])
    admitted = np.flatnonzero(draws.arrival_s <= closes[draws.days]) if n else np.zeros(0, dtype=np.int64)
    # The same floats as model.point: the clock starts at the first arrival (or midnight), and
    # each day's opening is a timeout scheduled from there.
    start_time = min(0.0, float(arrival[0])) if n else 0.0
    opening_time = np.array([start_time + delay_until(start_time, max(start_time, open_s)) for open_s, _ in open_hours])
    opens_at = np.array([open_s for open_s, _ in open_hours])
    stages = point.stages
    registration = NO_REGISTRATION if stages.registration is None else PAIRED if point.paired_registration else DESKS
    floats = lambda values: np.ascontiguousarray(values, dtype=np.float64)  # noqa: E731
    arrived, t_start, t_end, r_start, r_end, s_start, s_end, station = _replay(
        arrival,
        np.ascontiguousarray(draws.days, dtype=np.int64),
        admitted.astype(np.int64),
        opens_at,
        opening_time,
        start_time,
        floats(draws.temperature_s),
        floats(draws.registration_s),
        floats(draws.swab_s),
        stages.temperature.servers if stages.temperature is not None else 0,
        registration,
        point.servers("registration") if registration == DESKS else 0,
        point.stations,
        point.queue == "shared",
    )
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
        home=None,
        pool_ratio=0,
        tube=None,
        tubes=None,
        infected=draws.infected,
        recall_s=draws.recall_s,
        left=np.zeros(n, dtype=np.int8),
        left_s=np.full(n, math.nan),
        left_stage=np.full(n, -1, dtype=np.int8),
        balks=np.zeros(n, dtype=np.int8),
        priority=draws.priority,
        overhead_s=None,
        closures=ClosureLog.of([]),
        plan=plan,
        waiting_capacity=point.waiting_area.capacity if point.waiting_area is not None else None,
    )
    if stages.temperature is not None:
        log.start["temperature"], log.end["temperature"] = t_start, t_end
    if stages.registration is not None:
        log.start["registration"], log.end["registration"] = r_start, r_end
    log.start["swab"], log.end["swab"] = s_start, s_end
    return log
