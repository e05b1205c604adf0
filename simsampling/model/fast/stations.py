"""The fast engine: the swab stations (``stages.STATIONS``) and the registrars paired with them
(``stages.REGISTRATION`` with ``servers: per_tent``), as ``model/serve_stations.py`` serves them.

A resident takes a station from its lane's shared line (the station free the longest) or joins
the shortest line of its lane's stations; paired, it takes the station at registration and keeps
the registrar until the sampler is free. Staff closures close a station: a shared line's station
is parked once its resident is done; a per-station line is served out at a shift's end.
"""

from __future__ import annotations

from ...log import RENEGED
from .compiled import INLINE, njit
from .events import CLOSURE, RESIDENT, schedule
from .lines import (
    CLOSED, CLOSING, DRAIN, GRANTED, HOLDS, LINE, RF, RS, STA, await_grant, enqueue, grant, line_up, off_line, pool_put, release,
)
from .records import ASK, DONE, FREE, SAMPLER_WAIT, SERVED, SWAB_START, WAITED
from .walk import begin_service, leave, lost_patience


@njit(**INLINE)
def paired_step(r, s, phase, now, walk, layout, out, work, future, tail, first, waiting, mask, reneging, green, classes, wake):
    """Resident r at a registration paired with the stations (stage s, right before swab), from
    ``phase`` to its next wait; returns as ``pool.pool_step`` does."""
    rs, rf = work.rs, work.rf
    if phase == ASK:
        if reneging:
            rf[r * RF + GRANTED] = 0
        tail = line_up(r, walk.rank[r] if green else 0, walk.lane[r] if walk.lane.size else 0, layout.first_sampler + layout.stations,
                       layout.shared, layout.lane_lo, layout.lane_hi, layout.first_sampler + 2 * layout.stations, work.sta, work.items,
                       work.pool_span, work.slots, work.res, work.b_next, work.q_head, work.q_tail, rs, rf, reneging, classes, wake,
                       work.ring, tail, mask)
        tail = await_grant(r, rf, reneging, work.ring, tail, mask)
        return (s << 4) | WAITED, False, tail, first, waiting
    if phase == WAITED:
        if lost_patience(r, rf, reneging):
            if not layout.shared:
                tail = off_line(rs[r * RS + HOLDS], work.sta, work.ring, tail, mask)
            leave(r, RENEGED, s, now, out, rs)
            return DONE, False, tail, first, waiting - 1
        tail, first = begin_service(r, s, now, walk, out, work, future, tail, first, mask)
        return (s << 4) | SERVED, False, tail, first, waiting
    out.end[s, r] = now  # SERVED: on to the swab, with the registrar
    return ((s + 1) << 4) | ASK, True, tail, first, waiting


@njit(**INLINE)
def swab_step(r, s, phase, now, walk, layout, out, work, future, tail, first, waiting, mask, reneging, green, classes, wake):
    """Resident r at the swab stations (stage s), from ``phase`` to its next wait; returns as
    ``pool.pool_step`` does."""
    rs, rf, sta = work.rs, work.rf, work.sta
    while True:
        if phase == ASK:
            if reneging:
                rf[r * RF + GRANTED] = 0
            cls = walk.rank[r] if green else 0
            if layout.paired:
                # Wait with the registrar for this station's sampler.
                sampler = layout.first_sampler + rs[r * RS + HOLDS]
                enqueue(2 * sampler + cls, r, work.q_head, work.q_tail, rs)
                tail = grant(sampler, work.res, work.b_next, work.q_head, work.q_tail, rs, rf, reneging, classes, work.ring, tail, mask)
                tail = await_grant(r, rf, reneging, work.ring, tail, mask)
                return (s << 4) | SAMPLER_WAIT, False, tail, first, waiting
            tail = line_up(r, cls, walk.lane[r] if walk.lane.size else 0, layout.first_sampler, layout.shared, layout.lane_lo, layout.lane_hi,
                           layout.first_sampler + 2 * layout.stations, sta, work.items, work.pool_span, work.slots, work.res, work.b_next,
                           work.q_head, work.q_tail, rs, rf, reneging, classes, wake, work.ring, tail, mask)
            tail = await_grant(r, rf, reneging, work.ring, tail, mask)
            return (s << 4) | WAITED, False, tail, first, waiting
        if phase == SAMPLER_WAIT:
            # In the swab chair (or leaving): the registrar (or a shared line's registrar-station) is free.
            k = rs[r * RS + HOLDS]
            if layout.shared:
                tail = pool_put(k, layout.station_lane[k], sta, work.items, work.pool_span, work.slots, work.ring, tail, mask)
            else:
                tail = release(layout.first_sampler + layout.stations + k, work.res, work.ring, tail, mask)
            if lost_patience(r, rf, reneging):
                tail = off_line(k, sta, work.ring, tail, mask)
                leave(r, RENEGED, s, now, out, rs)
                return DONE, False, tail, first, waiting - 1
            phase = SWAB_START
        elif phase == WAITED:
            if lost_patience(r, rf, reneging):
                if not layout.shared:
                    tail = off_line(rs[r * RS + HOLDS], sta, work.ring, tail, mask)
                leave(r, RENEGED, s, now, out, rs)
                return DONE, False, tail, first, waiting - 1
            phase = SWAB_START
        elif phase == SWAB_START:
            out.station[r] = rs[r * RS + HOLDS]
            tail, first = begin_service(r, s, now, walk, out, work, future, tail, first, mask)
            return (s << 4) | SERVED, False, tail, first, waiting - 1
        elif phase == SERVED:
            out.end[s, r] = now
            if walk.disinfect.size:
                # Hands or gloves, before the next resident: the station stays taken.
                tail, first = schedule(now + walk.disinfect[r], now, r * 8 + RESIDENT, work.ring, tail, mask,
                                       future.fi, future.ft, future.fb, future.fs, future.fbuf, first)
                return (s << 4) | FREE, False, tail, first, waiting
            phase = FREE
        else:  # FREE
            k = rs[r * RS + HOLDS]
            tail = off_line(k, sta, work.ring, tail, mask)
            if layout.shared and not layout.paired:
                tail = pool_put(k, layout.station_lane[k], sta, work.items, work.pool_span, work.slots, work.ring, tail, mask)
            else:
                tail = release(layout.first_sampler + k, work.res, work.ring, tail, mask)
            return DONE, False, tail, first, waiting


@njit(**INLINE)
def close_station(c, k, layout, work, ring, tail, mask, is_break):
    """A sampler's closure is due: station k stops taking residents. Returns whether the closure must
    wait (a shared line's station still in use is parked when it comes back; a per-station line is
    served out at a shift's end), and the ring's tail."""
    sta, items, pool_span, slots = work.sta, work.items, work.pool_span, work.slots
    sta[k * STA + CLOSED] = 1
    if layout.shared:
        # StationPool.close: parked now if free, else when its resident gives it back.
        pool = layout.station_lane[k]
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
            sta[k * STA + CLOSING] = c
        return True, tail
    if not is_break and sta[k * STA + LINE] != 0:
        sta[k * STA + DRAIN] = c  # the sampler leaving at the end of a shift serves its line out
        return True, tail
    return False, tail


@njit(**INLINE)
def reopen_station(k, layout, work, ring, tail, mask):
    """A sampler back: station k takes residents again (a shared line's goes back to its pool)."""
    work.sta[k * STA + CLOSED] = 0
    if layout.shared:
        tail = pool_put(k, layout.station_lane[k], work.sta, work.items, work.pool_span, work.slots, ring, tail, mask)
    return tail
