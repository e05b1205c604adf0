"""The fast engine: a stage served by a pool of servers in one line (``stages.POOL``), as
``model/serve_pool.py`` serves it: ask for any server (priority residents first), be served,
free it; a resident whose patience runs out leaves the line (not in a side stage)."""

from __future__ import annotations

from ...log import RENEGED
from .compiled import INLINE, njit
from .lines import GRANTED, RF, await_grant, enqueue, grant, release
from .records import ASK, DONE, SERVED, WAITED
from .walk import after_stage, begin_service, leave, lost_patience


@njit(**INLINE)
def pool_step(r, s, phase, now, walk, layout, out, work, future, tail, first, waiting, mask, reneging, green, classes, diverts):
    """Resident r at pool stage s, from ``phase`` to its next wait. Returns its next step, whether it
    goes on at once (no wait), the ring's tail, the first future event and the count waiting for a swab."""
    rs, rf = work.rs, work.rf
    resource = layout.resource[s]
    patient = not layout.side[s]
    if phase == ASK:
        if reneging and patient:
            rf[r * RF + GRANTED] = 0
        enqueue(2 * resource + (walk.rank[r] if green else 0), r, work.q_head, work.q_tail, rs)
        tail = grant(resource, work.res, work.b_next, work.q_head, work.q_tail, rs, rf, reneging, classes, work.ring, tail, mask)
        if patient:
            tail = await_grant(r, rf, reneging, work.ring, tail, mask)
        return (s << 4) | WAITED, False, tail, first, waiting
    if phase == WAITED:
        if patient and lost_patience(r, rf, reneging):
            leave(r, RENEGED, s, now, out, rs)
            return DONE, False, tail, first, waiting - 1
        tail, first = begin_service(r, s, now, walk, out, work, future, tail, first, mask)
        return (s << 4) | SERVED, False, tail, first, waiting
    out.end[s, r] = now  # SERVED
    tail = release(resource, work.res, work.ring, tail, mask)
    step, waiting = after_stage(r, s, now, walk, layout, out, rs, waiting, diverts)
    return step, step != DONE, tail, first, waiting
