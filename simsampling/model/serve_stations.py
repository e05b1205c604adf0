"""SimPy: the swab stations (``stages.STATIONS``) and the registrars paired with them (``stages.REGISTRATION``).

Layouts:

* ``queue: shared``: one line; the head of it takes the station free the
  longest (a :class:`StationPool`). ``queue: per_tent``: a line per station,
  joined at the shortest (residents of that station not yet swabbed; ties go
  to the lower number; with priorities or staff closures, open stations first).
* registration ``per_tent``: a registrar paired with each station. The
  resident takes a station at registration and keeps its registrar until the
  station's sampler is free, so the registrar serves the next resident while
  the previous one is swabbed.
* Lanes: the green channel's dedicated stations (numbered first) serve only
  priority residents, then the reserved stations (``swab.reserved``) only the
  residents drawn for them; everyone else uses the other stations. Each lane
  has its own shared line or its own stations' lines.
* Pooled tubes: each station fills one tube at a time; with group entry,
  residents go in by groups of the pool size (or by household), one tube per
  group.
"""

from __future__ import annotations

import math
from typing import Optional

import simpy
from simpy.resources.resource import SortedQueue
from simpy.resources.store import StoreGet

from ..draws import ResidentDraws
from ..scenario.schema import Point
from ..staffing import Closure
from ..stages.swab import lane_of, lanes
from .residents import Residents


class StationPool(simpy.Store):
    """Free stations of one shared line, handed to the head of the line.

    The station free longest goes first. A station being closed is parked
    when it comes back (its resident done) instead of being handed out, and
    with ``prioritised`` the line's priority residents are served first.
    """

    def __init__(self, env: simpy.Environment, stations, prioritised: bool = False):
        super().__init__(env)
        self.items.extend(stations)
        if prioritised:
            self.get_queue = SortedQueue()
        self.closing: dict[int, simpy.Event] = {}

    def get(self, priority: int = 0) -> "PoolGet":  # type: ignore[override]
        return PoolGet(self, priority)

    def close(self, station: int) -> simpy.Event:
        """An event that fires once ``station`` is out of circulation (now, if it is free)."""
        parked = self._env.event()
        if station in self.items:
            self.items.remove(station)
            parked.succeed()
        else:
            self.closing[station] = parked
        return parked

    def _do_put(self, event):
        parked = self.closing.pop(event.item, None)
        if parked is None:
            return super()._do_put(event)
        parked.succeed()
        event.succeed()
        return None


class PoolGet(StoreGet):
    """A request for a station, ordered by (priority, time asked) in a prioritised line."""

    def __init__(self, pool: StationPool, priority: int):
        self.key = (priority, pool._env.now)
        super().__init__(pool)


class Stations:
    """A point's swab stations (stage number ``swab``), and its paired registrars (stage ``registration``)."""

    def __init__(self, residents: Residents, point: Point, draws: ResidentDraws, swab: int, registration: Optional[int],
                 server: type, prioritised: bool, day_close: list[float]):
        env = residents.env
        self.residents = residents
        self.env = env
        self.swab = swab
        self.registration = registration
        stations = point.stations
        self.stations = stations
        self.paired = point.paired_registration
        self.shared = point.queue == "shared"
        self.prioritised = prioritised
        self.samplers = [server(env, 1) for _ in range(stations)]
        self.registrars = [server(env, 1) for _ in range(stations)] if self.paired else []
        groups = lanes(point)
        self.lane = lane_of(point, draws).tolist()
        self.groups = [list(group) for group in groups]
        if self.shared:
            self.pools = [StationPool(env, group, prioritised) if group or lane == 0 else None for lane, group in enumerate(self.groups)]
            self.pool_of_station = {k: self.pools[lane] for lane, group in enumerate(self.groups) for k in group}
        self.line = [0] * stations  # residents assigned to each station and not yet swabbed
        self.closed = [False] * stations
        self.drained: dict[int, simpy.Event] = {}
        self.swab_s = draws.service_s["swab"].tolist()
        self.reg_s = draws.service_s["registration"].tolist() if registration is not None else []
        self.disinfect = draws.disinfection_s.tolist() if draws.disinfection_s is not None else None
        self.taken: dict[int, tuple[int, Optional[simpy.Event]]] = {}  # paired: the station and registrar held
        self.s_start = residents.start[swab]
        self.s_end = residents.end[swab]
        self.day_close = day_close
        self.tubes = Tubes(self, draws) if draws.pooling is not None else None

    # ------------------------------------------------------------------ residents

    def choose_station(self, i: int) -> int:
        """The shortest line among open stations of the resident's lane (all closed: any)."""
        group = self.groups[self.lane[i]]
        line, closed = self.line, self.closed
        k = min(group, key=lambda k: (closed[k], line[k])) if self.prioritised else min(group, key=line.__getitem__)
        line[k] += 1
        return k

    def off_line(self, k: int) -> None:
        line = self.line
        line[k] -= 1
        if not line[k] and k in self.drained:
            self.drained.pop(k).succeed()

    def take_station(self, i: int, stage: str, servers: list):
        """Resident i takes a station of its lane: from the lane's shared line, or by joining the
        shortest line and requesting that station's server (``servers[k]``). Returns (the
        station, the request held or None from a shared line), or None if it gave up in the line."""
        residents = self.residents
        ask = residents.asks[i]
        stays = residents.give_up[i] is None  # no patience to run out: Residents.queue's wait without its generator
        if self.shared:
            taken = self.pools[self.lane[i]].get(**ask)
            if stays:
                yield taken
            elif not (yield from residents.queue(i, taken, stage)):
                return None
            return taken.value, None
        k = self.choose_station(i)
        request = servers[k].request(**ask)
        if stays:
            yield request
        elif not (yield from residents.queue(i, request, stage, off_line=lambda: self.off_line(k))):
            return None
        return k, request

    def register(self, i: int):
        """Paired registration: resident i takes a station (from its lane's shared line, or the
        shortest line) and registers with its registrar; False if it gave up in the line."""
        residents = self.residents
        taken = yield from self.take_station(i, self.registration, self.registrars)
        if taken is None:
            return False
        self.taken[i] = taken
        residents.start[self.registration][i] = self.env.now
        yield residents.timeout(self.reg_s[i])
        residents.end[self.registration][i] = self.env.now
        return True

    def visit(self, i: int):
        """Resident i swabbed at a station; False if it gave up in the line."""
        residents = self.residents
        ask = residents.asks[i]
        env = self.env
        if self.paired:
            # Waiting with the registrar for this station's sampler; the registrar is free once
            # the resident moves to the swab chair (or leaves).
            k, held = self.taken.pop(i)
            sampler = self.samplers[k]
            request = sampler.request(**ask)
            if self.shared:
                pool = self.pool_of_station[k]
                free = lambda: pool.put(k)  # noqa: E731
            else:
                registrar = self.registrars[k]
                free = lambda: registrar.release(held)  # noqa: E731
            if not (yield from residents.queue(i, request, self.swab, then=free, off_line=lambda: self.off_line(k))):
                return False
        elif self.tubes is not None and self.tubes.grouped:
            yield from self.tubes.join_group(i, residents.day[i])
            return True
        else:
            taken = yield from self.take_station(i, self.swab, self.samplers)
            if taken is None:
                return False
            k, request = taken
            sampler = None if request is None else self.samplers[k]
            pool = self.pools[self.lane[i]] if self.shared else None
        residents.waiting -= 1
        self.s_start[i] = env.now
        residents.station[i] = k
        tubes = self.tubes
        if tubes is not None:
            tubes.fill(i, k, residents.day[i])
        yield residents.timeout(self.swab_s[i])
        self.s_end[i] = env.now
        if tubes is not None:
            yield from tubes.swabbed(i, k)
        if self.disinfect is not None:
            yield residents.timeout(self.disinfect[i])  # hands or gloves, before the next resident
        self.off_line(k)
        if sampler is None:
            pool.put(k)
        else:
            sampler.release(request)
        return True

    # ------------------------------------------------------------------ staff closures (samplers)

    def closing(self, closure: Closure) -> Optional[simpy.Event]:
        """The station stops taking residents: what to wait for before it is out of circulation."""
        k = closure.slot
        self.closed[k] = True
        if self.shared:
            return self.pool_of_station[k].close(k)
        if closure.reason == "off_duty" and self.line[k]:
            self.drained[k] = self.env.event()  # the sampler leaving at the end of a shift serves its line out
            return self.drained[k]
        return None

    def slot_resource(self, slot: int) -> Optional[simpy.Resource]:
        """The sampler to block (a shared line's closed station is parked instead)."""
        return self.samplers[slot] if (self.paired or not self.shared) else None

    def reopen(self, slot: int) -> None:
        self.closed[slot] = False
        if self.shared:
            self.pool_of_station[slot].put(slot)


class Tubes:
    """Pooled tubes at the stations: each station fills one tube at a time, sealed when full
    (the sampler's handling time), after ``seal_after_min`` or at its day's closing (while idle).

    Group entry: residents go to a station by groups of the pool size, one tube per group;
    by household (sealed compounds), each household's members make groups of their own.
    """

    def __init__(self, stations: Stations, draws: ResidentDraws):
        pooling = draws.pooling
        self.stations = stations
        self.env = stations.env
        self.ratio = pooling.ratio
        self.seal_after = pooling.seal_after_min * 60.0
        self.handling = draws.tube_handling_s.tolist()
        n = draws.count
        self.tube_of = [-1] * n
        self.fill_of = [0] * stations.stations  # swabs in the station's open tube
        self.open_tube = [-1] * stations.stations
        self.station: list[int] = []
        self.opened: list[float] = []
        self.sealed: list[float] = []
        self.day: list[int] = []
        self.last: list[float] = []  # end of the tube's last swab so far
        self.grouped = pooling.group_entry or pooling.by_household
        self.household = draws.household.tolist() if pooling.by_household else None
        self.to_join: dict[int, int] = {}  # per household: admitted members not yet in a group or gone
        self.open_groups: dict[int, dict] = {}
        self.swabbed_event: dict[int, simpy.Event] = {}

    def admit(self, admitted: list[int]) -> None:
        """Count each household's admitted members (by household, a group waits for all of them)."""
        if self.household is not None:
            for i in admitted:
                self.to_join[self.household[i]] = self.to_join.get(self.household[i], 0) + 1

    def new_tube(self, k: int, day: int) -> int:
        tube = len(self.opened)
        self.station.append(k)
        self.opened.append(self.env.now)
        self.sealed.append(math.nan)
        self.day.append(day)
        self.last.append(self.env.now)
        return tube

    def fill(self, i: int, k: int, day: int) -> None:
        """Resident i's swab goes into station k's open tube (a new one if none is open)."""
        tube = self.open_tube[k]
        if self.fill_of[k] and (self.env.now - self.opened[tube] > self.seal_after or self.day[tube] < day):
            # Open too long, or from an earlier day: sealed while the station stood idle.
            self.sealed[tube] = self.idle_seal(tube)
            self.fill_of[k] = 0
        if not self.fill_of[k]:
            self.open_tube[k] = self.new_tube(k, day)
        self.tube_of[i] = self.open_tube[k]
        self.fill_of[k] += 1

    def swabbed(self, i: int, k: int):
        """After resident i's swab: a full tube is sealed, the sampler's work."""
        tube = self.open_tube[k]
        self.last[tube] = self.env.now
        if self.fill_of[k] == self.ratio:
            yield self.env.timeout(self.handling[i])  # barcode and sealing: the sampler's work
            self.sealed[tube] = self.env.now
            self.fill_of[k] = 0

    def idle_seal(self, tube: int) -> float:
        """When a tube left open is sealed: at its time limit or its day's closing, not mid-swab."""
        return max(min(self.opened[tube] + self.seal_after, self.stations.day_close[self.day[tube]]), self.last[tube])

    def join_group(self, i: int, day: int):
        key = self.household[i] if self.household is not None else 0
        group = self.open_groups.get(key)
        if group is None:
            group = self.open_groups[key] = {"key": key, "members": [], "closed": False}
            self.env.process(self.group_timer(group, day))
        group["members"].append(i)
        self.swabbed_event[i] = self.env.event()
        if self.household is not None:
            self.to_join[key] -= 1
        if len(group["members"]) == self.ratio or (self.household is not None and not self.to_join[key]):
            self.close_group(group)
        yield self.swabbed_event[i]

    def gone_before_group(self, i: int) -> None:
        """A household member who left: the rest of the household need not wait for it."""
        if self.household is not None:
            key = self.household[i]
            self.to_join[key] -= 1
            group = self.open_groups.get(key)
            if group is not None and not self.to_join[key]:
                self.close_group(group)

    def close_group(self, group: dict) -> None:
        if not group["closed"]:
            group["closed"] = True
            del self.open_groups[group["key"]]
            self.env.process(self.swab_group(group))

    def group_timer(self, group: dict, day: int):
        """A group that does not fill goes in after ``seal_after_min``, or at the closing."""
        until = min(self.env.now + self.seal_after, self.stations.day_close[day])
        yield self.env.timeout(max(0.0, until - self.env.now))
        self.close_group(group)

    def swab_group(self, group: dict):
        stations = self.stations
        residents = stations.residents
        env = self.env
        pool = stations.pools[0]
        k = yield pool.get()
        members = group["members"]
        tube = self.new_tube(k, residents.day[members[0]])
        for i in members:
            residents.waiting -= 1
            stations.s_start[i] = env.now
            residents.station[i] = k
            self.tube_of[i] = tube
            yield env.timeout(stations.swab_s[i])
            stations.s_end[i] = env.now
            self.swabbed_event.pop(i).succeed()
            if stations.disinfect is not None:
                yield env.timeout(stations.disinfect[i])
        self.last[tube] = env.now
        yield env.timeout(self.handling[members[-1]])  # barcode and sealing: the sampler's work
        self.sealed[tube] = env.now
        pool.put(k)

    def sealed_times(self) -> list[float]:
        """Each tube's sealing, those still open at the end sealed while idle."""
        return [s if s == s else self.idle_seal(t) for t, s in enumerate(self.sealed)]
