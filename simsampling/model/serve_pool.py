"""SimPy: a stage served by a pool of servers in one line (``stages.POOL``).

The entrance checks, registration desks, any plain stage and the side stages
(isolation...) are served this way: a resident asks for any free server, in
order of arrival (priority residents first when there is a green channel),
is served for its drawn time and frees the server for the next one.
"""

from __future__ import annotations

from typing import Optional

import simpy

from ..staffing import Closure
from .residents import Residents


class PoolStage:
    """``servers`` servers of stage number ``index``, in one line; ``side``: no giving up there."""

    def __init__(self, residents: Residents, index: int, servers: int, service_s: list[float], server: type, side: bool = False):
        self.residents = residents
        self.index = index
        self.resource = server(residents.env, servers)
        self.service_s = service_s
        self.start = residents.start[index]
        self.end = residents.end[index]
        self.patient = not side

    def visit(self, i: int):
        """Resident i through this stage; False if it gave up in the line."""
        residents = self.residents
        request = self.resource.request(**residents.asks[i])
        if self.patient and residents.give_up[i] is not None:
            if not (yield from residents.queue(i, request, self.index)):
                return False
        else:  # no patience to run out: Residents.queue's wait, without its generator (most residents)
            yield request
        env = residents.env
        self.start[i] = env.now
        yield residents.timeout(self.service_s[i])
        self.end[i] = env.now
        self.resource.release(request)
        return True

    # Staff closures (``model.point``'s closure process): a slot is one server of the pool.

    def closing(self, closure: Closure) -> Optional[simpy.Event]:
        """Nothing to wait for before blocking a server: the blocker queues ahead of every resident."""
        return None

    def slot_resource(self, slot: int) -> simpy.Resource:
        return self.resource

    def reopen(self, slot: int) -> None:
        """The blocker's release gives the server back."""
