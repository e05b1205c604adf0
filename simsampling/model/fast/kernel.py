"""The fast engine's kernel: one point's residents and staff closures, replayed in SimPy's event order.

Each resident is a state machine that runs, like its SimPy process in
``model/point.py``, from one ``yield`` to the next: it arrives (balking, patience),
waits for the opening, then walks its flow stage by stage, each stage served by
its serving module (``pool.py``; ``stations.py`` for the stations and the
registrars paired with them). Staff closures are state machines too. The event
order is SimPy's (``simsampling/model/fast/__init__.py`` lists the rules).
"""

from __future__ import annotations

import math

import numpy as np

from ...log import BALKED, RENEGED
from .compiled import KERNEL, njit
from .events import (
    CLOSURE, COUNT, GIVE_UP, OPENING, PUT, RELEASE, RESIDENT, SEQ, SOURCE, WAKE, future_first, future_push, next_event, schedule,
)
from .lines import (
    B_HEAD, B_TAIL, CWAIT, GAVE_UP, NO_WAIT, OPEN_NEXT, OPENING_WAIT, REQUEST_WAIT, RES, RF, RS, STATE, append, grant, release,
    store_grant,
)
from .pool import pool_step
from .records import ASK, OPENED, PAIRED, PHASE, POOL, STARTED
from .stations import close_station, paired_step, reopen_station, swab_step
from .walk import leave

DUE, PARKED, HELD, ENDED, OVER = 0, 1, 2, 3, 4
"""Where a staff closure's process stands."""


@njit(**KERNEL)
def replay(walk, layout, staff, out, work, future):
    """Run the point: every admitted resident through its flow, and every staff closure, in SimPy's event order.

    ``walk`` (records.Residents), ``layout`` (records.Layout) and ``staff`` (records.Closures) are the
    inputs; features are on when their arrays are non-empty (``walk.disinfect``, ``walk.threshold``
    balking, ``walk.patience`` reneging, ``walk.rank`` a green channel, ``walk.lane`` lanes of stations,
    ``walk.route`` side routes). The results go into ``out`` (records.Results), prefilled for residents
    never served; ``work`` and ``future`` are the caller's workspace. Returns the closure rows
    written, or -1 if the ring of pending events came close to full (run again with a larger ring).
    """
    fi, ft, fb, fs, fbuf = future.fi, future.ft, future.fb, future.fs, future.fbuf
    rs, rf, res, ring, urgent = work.rs, work.rf, work.res, work.ring, work.urgent
    o_head, o_tail = work.o_head, work.o_tail
    balking = walk.threshold.size > 0
    reneging = walk.patience.size > 0
    diverts = walk.route.size > 0
    closures = staff.stage.size
    wake = WAKE if reneging else RESIDENT
    green = walk.rank.size > 0
    classes = 2 if green else 1
    first_pool_queue = layout.first_sampler + 2 * layout.stations
    admitted = walk.admitted
    waiting = 0  # residents at the point not yet at a swab station: the line an arrival sees
    rows = 0

    # Future events: closures first, then the openings, as model.point schedules them.
    for c in range(closures):
        future_push(staff.due[c], c * 8 + CLOSURE, fi, ft, fb, fs, fbuf)
    for d in range(layout.opens_at.size):
        future_push(layout.opening_time[d], d * 8 + OPENING, fi, ft, fb, fs, fbuf)
    first = future_first(fi, ft, fb, fs)
    # Process starts (URGENT): each resident once, and the source.
    u_head = 0
    u_tail = 1
    urgent[0] = SOURCE
    # The source's next arrival, kept apart from the future events, if it sleeps.
    source_due = False
    source_time = 0.0
    source_seq = 0
    # Zero-delay events at the current instant (NORMAL), in a ring; should it come close to
    # full, the run stops and the caller runs it again with a larger one.
    mask = ring.size - 1
    head = 0
    tail = 0
    overflow = False

    now = layout.start_time
    source = 0  # the next admitted resident the source will start
    while True:
        if tail - head + 16 > ring.size:
            overflow = True
            break
        if u_head < u_tail:
            event = urgent[u_head]
            u_head += 1
        else:
            # The first future event (the source's next arrival, or the queue's first) if it is
            # due now, or if nothing else is; else the ring.
            if source_due and (first < 0 or source_time < ft[first] or (source_time == ft[first] and source_seq < fi[first * 4 + SEQ])):
                if source_time == now or head == tail:
                    now = source_time
                    source_due = False
                    event = SOURCE
                else:
                    event = ring[head & mask]
                    head += 1
            else:
                event, now, head, first = next_event(first, now, head, tail, ring, mask, fi, ft, fb, fs)
                if event < 0:
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
                following = rs[r * RS + OPEN_NEXT] if chained else -1
                step = rs[r * RS + STATE]
                # The resident's process, from where it waited to its next yield.
                while True:
                    phase = step & PHASE
                    if phase == STARTED:
                        d = walk.day[r]
                        if balking and waiting > walk.threshold[r]:
                            out.balks[r] += 1
                            out.arrived[r] = now
                            if out.balks[r] > 1 or not walk.returns[r] or now + walk.return_s[r] > layout.day_close[d]:
                                leave(r, BALKED, 0, now, out, rs)  # gone for good
                                break
                            # Back later, to look at the line again.
                            tail, first = schedule(now + walk.return_s[r], now, r * 8 + RESIDENT, ring, tail, mask, fi, ft, fb, fs, fbuf, first)
                            break
                        out.arrived[r] = now
                        waiting += 1
                        if reneging:
                            tail, first = schedule(now + walk.patience[r], now, r * 8 + GIVE_UP, ring, tail, mask, fi, ft, fb, fs, fbuf, first)
                        if now < layout.opens_at[d]:
                            append(d, r, o_head, o_tail, rs, OPEN_NEXT)
                            if reneging:
                                rf[r * RF + CWAIT] = OPENING_WAIT
                            rs[r * RS + STATE] = OPENED
                            break
                        step = OPENED
                    elif phase == OPENED:
                        if reneging and now < layout.opens_at[walk.day[r]]:
                            leave(r, RENEGED, 0, now, out, rs)
                            waiting -= 1
                            break
                        step = ASK  # the first stage of the flow
                    else:
                        s = step >> 4
                        how = layout.kind[s]
                        if how == POOL:
                            step, go, tail, first, waiting = pool_step(r, s, phase, now, walk, layout, out, work, future, tail, first,
                                                                       waiting, mask, reneging, green, classes, diverts)
                        elif how == PAIRED:
                            step, go, tail, first, waiting = paired_step(r, s, phase, now, walk, layout, out, work, future, tail, first,
                                                                         waiting, mask, reneging, green, classes, wake)
                        else:
                            step, go, tail, first, waiting = swab_step(r, s, phase, now, walk, layout, out, work, future, tail, first,
                                                                       waiting, mask, reneging, green, classes, wake)
                        if not go:
                            rs[r * RS + STATE] = step
                            break
                r = following
            if overflow:
                break
        elif kind == SOURCE:
            # model.point's source(): start everyone due by now, then sleep until the next arrival.
            while source < admitted.size:
                i = admitted[source]
                if walk.arrival[i] > now:
                    delay = walk.arrival[i] - now
                    while now + delay < walk.arrival[i]:
                        delay = np.nextafter(delay, np.inf)
                    source_due = True
                    source_time = now + delay
                    source_seq = fs[COUNT]  # the scheduling order, as if it were a timeout
                    fs[COUNT] += 1
                    break
                urgent[u_tail] = i * 8 + RESIDENT
                u_tail += 1
                source += 1
        elif kind == RELEASE:
            tail = grant(argument, res, work.b_next, work.q_head, work.q_tail, rs, rf, reneging, classes, ring, tail, mask)
        elif kind == PUT:
            tail = store_grant(argument, first_pool_queue, work.items, work.pool_span, work.slots, work.q_head, work.q_tail, rs, rf,
                               reneging, classes, wake, ring, tail, mask)
        elif kind == GIVE_UP:
            # The patience timeout: a pending condition on it is met (the resident resumes when it is processed).
            rf[argument * RF + GAVE_UP] = 1
            if rf[argument * RF + CWAIT] != NO_WAIT:
                rf[argument * RF + CWAIT] = NO_WAIT
                ring[tail & mask] = argument * 8 + RESIDENT
                tail += 1
        elif kind == WAKE:
            # A reneging resident's request (or get) processed: its condition is met, unless patience came first.
            if rf[argument * RF + CWAIT] == REQUEST_WAIT:
                rf[argument * RF + CWAIT] = NO_WAIT
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
                if rf[r * RF + CWAIT] == OPENING_WAIT:
                    rf[r * RF + CWAIT] = NO_WAIT
                    ring[tail & mask] = r * 8 + RESIDENT
                    tail += 1
                r = rs[r * RS + OPEN_NEXT]
            if overflow:
                break
        else:  # CLOSURE
            # model.point's closure(): a slot stops taking residents, finishes the one it has, then stays closed.
            c = argument
            k = staff.slot[c]
            s = staff.stage[c]
            stations = layout.kind[s] != POOL
            if stations:
                resource = layout.first_sampler + k if (layout.paired or not layout.shared) else -1
            else:
                resource = layout.resource[s]
            step = work.c_state[c]
            while True:
                if step == DUE:
                    if stations:
                        wait, tail = close_station(c, k, layout, work, ring, tail, mask, staff.is_break[c])
                        if wait:
                            work.c_state[c] = PARKED
                            break
                    step = PARKED
                elif step == PARKED:
                    if resource >= 0:
                        work.b_next[c] = -1
                        if res[resource * RES + B_HEAD] < 0:
                            res[resource * RES + B_HEAD] = c
                        else:
                            work.b_next[res[resource * RES + B_TAIL]] = c
                        res[resource * RES + B_TAIL] = c
                        tail = grant(resource, res, work.b_next, work.q_head, work.q_tail, rs, rf, reneging, classes, ring, tail, mask)
                        work.c_state[c] = HELD
                        break
                    step = HELD
                elif step == HELD:
                    work.c_began[c] = now
                    if staff.is_break[c]:
                        done = now + staff.length[c]
                    elif math.isinf(staff.end[c]):
                        out.row_closure[rows] = c
                        out.row_times[0, rows] = now
                        out.row_times[1, rows] = staff.end[c]
                        rows += 1
                        work.c_state[c] = OVER
                        break  # closed for the rest of the round
                    elif staff.end[c] > now:
                        delay = staff.end[c] - now
                        while now + delay < staff.end[c]:
                            delay = np.nextafter(delay, np.inf)
                        done = now + delay
                    else:
                        step = ENDED
                        continue
                    tail, first = schedule(done, now, c * 8 + CLOSURE, ring, tail, mask, fi, ft, fb, fs, fbuf, first)
                    work.c_state[c] = ENDED
                    break
                else:  # ENDED
                    out.row_closure[rows] = c
                    out.row_times[0, rows] = work.c_began[c]
                    out.row_times[1, rows] = now
                    rows += 1
                    if resource >= 0:
                        tail = release(resource, res, ring, tail, mask)
                    if stations:
                        tail = reopen_station(k, layout, work, ring, tail, mask)
                    work.c_state[c] = OVER
                    break
    return -1 if overflow else rows
