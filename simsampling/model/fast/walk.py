"""The fast engine: a resident leaving, and where it goes after a stage (on along the flow, or to a side stage)."""

from __future__ import annotations

from ...log import DIVERTED
from .compiled import INLINE, njit
from .lines import RS, STATE
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
