"""What the SimPy model knows about each resident as it walks a point, and the one way it waits in a line.

Every stage's serving module (``serve_pool.py``, ``serve_stations.py``) shares
one :class:`Residents`: the timestamps it records per stage, the residents'
priority and patience, the count of those waiting (what a balking resident
sees) and :meth:`Residents.queue`, the single helper for standing in a line:
wait for a server (or a station) or for patience to run out, and on giving up
cancel the request and leave.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import simpy

from ..draws import ResidentDraws
from ..log import DIVERTED, RENEGED, STAYED


class Residents:
    """Per-resident state of one run of a point (lists, for speed), and the way out of a line.

    ``start[s]`` / ``end[s]`` are the timestamps at stage index ``s`` (flow order);
    ``asks[i]`` the keywords of resident i's requests (its priority, if any);
    ``give_up[i]`` its patience timeout once it has arrived (reneging only).
    """

    def __init__(self, env: simpy.Environment, draws: ResidentDraws, stages: int, on_leaving: Optional[Callable[[int], None]] = None):
        n = draws.count
        nan = math.nan
        self.env = env
        self.timeout = env.timeout
        self.start = [[nan] * n for _ in range(stages)]
        self.end = [[nan] * n for _ in range(stages)]
        self.arrived_at = draws.arrival_s.tolist()
        self.day = draws.days.tolist()
        self.station = [-1] * n
        self.left = [STAYED] * n
        self.left_s = [nan] * n
        self.left_stage = [-1] * n
        self.balks = [0] * n
        self.waiting = 0  # residents at the point not yet at a swab station: the line an arrival sees
        if draws.priority is not None:
            self.vip = draws.priority.tolist()
            self.asks = [{"priority": 0} if v else {"priority": 1} for v in self.vip]
        else:
            self.vip = [False] * n
            self.asks = [{}] * n
        self.patience = draws.patience_s.tolist() if draws.patience_s is not None else None
        self.give_up: list[Optional[simpy.Event]] = [None] * n
        self.on_leaving = on_leaving
        """Called with a resident who leaves before its swab (a household waiting for it goes in)."""

    def queue(self, i: int, request: simpy.Event, stage: int, then: Optional[Callable[[], None]] = None,
              off_line: Optional[Callable[[], None]] = None, patient: bool = True):
        """Stand in a line until ``request`` (a server's request, a station pool's get) is granted:
        True. A resident whose patience runs out first cancels it, steps out of its station's line
        (``off_line``) and leaves the point from ``stage``: False. ``then()`` runs as the wait ends,
        whatever its outcome (a paired registrar is free once the resident moves on).
        ``patient=False``: no giving up (a diverted resident in a side area)."""
        give_up = self.give_up[i] if patient else None
        if give_up is None:
            yield request
            if then is not None:
                then()
            return True
        yield request | give_up
        if then is not None:
            then()
        if request.triggered:
            return True
        request.cancel()
        if off_line is not None:
            off_line()
        self.leave(i, RENEGED, stage)
        return False

    def leave(self, i: int, fate: int, stage: int) -> None:
        """Resident i leaves the point unswabbed now, from ``stage``: balked (before joining any
        line), reneged (from a line) or diverted (from the last side stage it went through)."""
        self.left[i] = fate
        self.left_s[i] = self.env.now
        self.left_stage[i] = stage
        if fate == RENEGED:
            self.waiting -= 1
        if fate != DIVERTED and self.on_leaving is not None:
            self.on_leaving(i)

    def divert(self, i: int) -> None:
        """Resident i is sent to a side stage: it no longer waits for a swab."""
        self.waiting -= 1
        if self.on_leaving is not None:
            self.on_leaving(i)
