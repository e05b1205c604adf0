"""The fast engine: a resident leaving, and where it goes after a stage (on along the flow, or to a side stage)."""

from __future__ import annotations

from ...log import DIVERTED
from .compiled import INLINE, njit
from .events import RESIDENT, schedule
from .lines import DEAD, GRANTED, RF, RS, STATE
from .records import ASK, DONE


@njit(**INLINE)
def leave(r, fate, stage, now, out, rs):
    """The resident leaves the point without a swab (``fate``: BALKED, RENEGED or DIVERTED) at ``now``, from ``stage``."""
    out.left[r] = fate
    out.left_s[r] = now
    out.left_stage[r] = stage
    rs[r * RS + STATE] = DONE


@njit(**INLINE)
def after_stage(r, s, now, walk, layout, out, rs, waiting, diverts):
    """Resident r is done at stage s: on to the next stage of the flow, or to the side stage its route
    sends it to (it no longer waits for a swab), or, after a side stage, away. Returns its step and
    the count of residents waiting for a swab."""
    if diverts:
        to = int(walk.route[s, r])
        if to >= 0:
            if not layout.side[s]:
                waiting -= 1
            return (to << 4) | ASK, waiting
        if layout.side[s]:
            leave(r, DIVERTED, s, now, out, rs)
            return DONE, waiting
    return ((s + 1) << 4) | ASK, waiting


@njit(**INLINE)
def lost_patience(r, rf, reneging):
    """Whether resident r's wait in a line ended with its patience rather than a grant; if so it is
    gone from the line (dropped when it reaches the head)."""
    if reneging and not rf[r * RF + GRANTED]:
        rf[r * RF + DEAD] = 1
        return True
    return False


@njit(**INLINE)
def begin_service(r, s, now, walk, out, work, future, tail, first, mask):
    """Resident r starts its service at stage s now; its end is a timeout. Returns the ring's tail and the first future event."""
    out.start[s, r] = now
    return schedule(now + walk.service[s, r], now, r * 8 + RESIDENT, work.ring, tail, mask,
                    future.fi, future.ft, future.fb, future.fs, future.fbuf, first)
