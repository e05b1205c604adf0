"""The SimPy model of one sampling point: residents walking temperature -> registration -> swab.

Each resident is a SimPy process; stations and staff are resources. Layouts:

* registration ``per_tent``: a registrar paired with each swab station. The
  resident keeps the registrar until that station's sampler is free, so the
  registrar serves the next resident while the previous one is swabbed.
* registration ``N``: a pool of N desks in one line feeding all stations.
* queue ``shared``: one line, the next free station takes the head of it.
* queue ``per_tent``: a line per station; a resident joins the shortest one
  (residents of that station not yet swabbed; ties go to the lower number).

Opening hours: a resident arriving before its day's opening (the first one
delayed by the site's set-up) waits in line and is let in, in arrival order,
when the point opens; one arriving after its day's closing is turned away;
everyone admitted is served, however late. Door-to-door teams, if any, visit
households during opening hours.

Hot-path rules: all random numbers come pre-drawn (``ResidentDraws``), and
timestamps go into plain lists; anything that can be derived from the log
afterwards (queue lengths, utilisation) is not tracked during the run.
"""

from __future__ import annotations

import math
from typing import Union

import numpy as np
import simpy
from simpy.resources.resource import SortedQueue
from simpy.resources.store import StoreGet

from ..draws import HomeDraws, ResidentDraws
from ..log import BALKED, RENEGED, STAGE_ORDER, STAYED, ClosureLog, EventLog, HomeLog, TubeLog
from ..scenario.schema import Clock, Point
from ..staffing import staff_plan


def delay_until(now: float, target: float) -> float:
    """The smallest delay that brings SimPy's clock to ``target`` or just past it.

    SimPy computes ``now + delay``; in floating point ``now + (target - now)``
    can fall one rounding step short of ``target`` (and landing exactly is not
    always possible), which would serve a resident a hair before arriving or
    open a station a hair early. The clock lands at most one ulp late instead.
    """
    delay = target - now
    while now + delay < target:
        delay = math.nextafter(delay, math.inf)
    return delay


def opening_hours(hours: list[tuple[float, float]], setup_s: float) -> list[tuple[float, float]]:
    """Each day's (open, close) at the point: the first opening waits for the set-up."""
    first_open, first_close = hours[0]
    return [(first_open + setup_s, first_close)] + list(hours[1:])


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


def simulate_point(
    point: Point, hours: Union[list[tuple[float, float]], Clock], draws: ResidentDraws, replication: int = 0
) -> EventLog:
    """Run one point for one replication and return its event log.

    ``hours`` is each day's (open, close) in seconds since midnight of day 0
    (a :class:`Clock` stands for a one-day round).
    """
    if isinstance(hours, Clock):
        hours = hours.hours(1)
    open_hours = opening_hours(hours, draws.setup_s)
    plan = staff_plan(point, hours)
    n = draws.count
    arrival = draws.arrival_s.tolist()
    day_of = draws.days.tolist()
    closes = np.array([close for _, close in open_hours])
    admitted = draws.arrival_s <= closes[draws.days] if n else np.zeros(0, dtype=bool)
    start_time = min(0.0, arrival[0]) if n else 0.0
    env = simpy.Environment(initial_time=start_time)
    # Staff closures are scheduled first: a station closed at an opening takes nobody then.
    closing_times = [env.timeout(delay_until(start_time, max(start_time, c.start_s))) for c in plan.closures]
    # One event per opening, scheduled now: residents waiting for it resume in arrival order.
    openings = [env.timeout(delay_until(start_time, max(start_time, open_s))) for open_s, _ in open_hours]
    opens_at = [open_s for open_s, _ in open_hours]
    day_close = [close for _, close in open_hours]
    stations = point.stations
    stages = point.stages
    nan = math.nan

    temp = stages.temperature is not None
    reg = stages.registration is not None
    paired = point.paired_registration
    shared = point.queue == "shared"
    first_stage = STAGE_ORDER.index(stages_present(point)[0])
    REG, SWAB = STAGE_ORDER.index("registration"), STAGE_ORDER.index("swab")

    temp_s = draws.temperature_s.tolist()
    reg_s = draws.registration_s.tolist()
    swab_s = draws.swab_s.tolist()
    t_start = [nan] * n
    t_end = [nan] * n
    r_start = [nan] * n
    r_end = [nan] * n
    s_start = [nan] * n
    s_end = [nan] * n
    station_of = [-1] * n
    arrived_at = arrival[:]
    left = [STAYED] * n
    left_s = [nan] * n
    left_stage = [-1] * n
    balks = [0] * n

    # Resident behaviour and priority, all pre-drawn; None when the point does not model it.
    green = point.green_channel
    prioritised = green is not None or bool(plan.closures)
    Server = simpy.PriorityResource if prioritised else simpy.Resource
    if green is not None:
        vip = draws.priority.tolist()
        asks = [{"priority": 0} if v else {"priority": 1} for v in vip]
    else:
        vip = [False] * n
        asks = [{}] * n
    threshold = draws.balk_threshold.tolist() if draws.balk_threshold is not None else None
    returns = draws.balk_returns.tolist() if threshold is not None else None
    return_s = draws.balk_return_s.tolist() if threshold is not None else None
    patience = draws.patience_s.tolist() if draws.patience_s is not None else None
    disinfect = draws.disinfection_s.tolist() if draws.disinfection_s is not None else None
    waiting = [0]  # residents at the point not yet at a swab station: the line an arrival sees

    if temp:
        temp_res = Server(env, stages.temperature.servers)
    if reg and not paired:
        desks = Server(env, stages.registration.servers)
    samplers = [Server(env, 1) for _ in range(stations)]
    if paired:
        registrars = [Server(env, 1) for _ in range(stations)]
    # Stations of the green channel serve only priority residents.
    dedicated = list(range(green.stations)) if green is not None and green.channel == "dedicated" else []
    groups = [dedicated, list(range(len(dedicated), stations))] if dedicated else [list(range(stations))] * 2
    if shared:
        pools = [StationPool(env, group, prioritised) for group in groups] if dedicated else [StationPool(env, groups[0], prioritised)] * 2
        pool_of_station = {k: pools[0] if k < len(dedicated) else pools[1] for k in range(stations)}
    timeout = env.timeout
    line = [0] * stations  # residents assigned to each station and not yet swabbed
    closed = [False] * stations
    drained: dict[int, simpy.Event] = {}

    # Pooled tubes: each station fills one tube at a time.
    pooling = draws.pooling
    pooled = pooling is not None
    ratio = pooling.ratio if pooled else 0
    seal_after = pooling.seal_after_min * 60.0 if pooled else 0.0
    handling = draws.tube_handling_s.tolist() if pooled else []
    tube_of = [-1] * n
    fill = [0] * stations  # swabs in the station's open tube
    open_tube = [-1] * stations
    tube_station: list[int] = []
    tube_opened: list[float] = []
    tube_sealed: list[float] = []
    tube_day: list[int] = []
    tube_last: list[float] = []  # end of the tube's last swab so far

    # Group entry: residents go to a station by groups of the pool size, one tube per group;
    # by household (sealed compounds), each household's members make groups of their own.
    grouped = pooled and (pooling.group_entry or pooling.by_household)
    household = draws.household.tolist() if pooled and pooling.by_household else None
    to_join: dict[int, int] = {}  # per household: admitted members not yet in a group or gone
    if household is not None:
        for i in np.flatnonzero(admitted).tolist():
            to_join[household[i]] = to_join.get(household[i], 0) + 1
    open_groups: dict[int, dict] = {}
    swabbed = {}

    def join_group(i: int, day: int):
        key = household[i] if household is not None else 0
        group = open_groups.get(key)
        if group is None:
            group = open_groups[key] = {"key": key, "members": [], "closed": False}
            env.process(group_timer(group, day))
        group["members"].append(i)
        swabbed[i] = env.event()
        if household is not None:
            to_join[key] -= 1
        if len(group["members"]) == ratio or (household is not None and not to_join[key]):
            close_group(group)
        yield swabbed[i]

    def gone_before_group(i: int) -> None:
        """A household member who left: the rest of the household need not wait for it."""
        if household is not None:
            key = household[i]
            to_join[key] -= 1
            group = open_groups.get(key)
            if group is not None and not to_join[key]:
                close_group(group)

    def close_group(group: dict) -> None:
        if not group["closed"]:
            group["closed"] = True
            del open_groups[group["key"]]
            env.process(swab_group(group))

    def group_timer(group: dict, day: int):
        """A group that does not fill goes in after ``seal_after_min``, or at the closing."""
        until = min(env.now + seal_after, day_close[day])
        yield timeout(max(0.0, until - env.now))
        close_group(group)

    def swab_group(group: dict):
        k = yield pools[1].get()
        members = group["members"]
        tube = len(tube_opened)
        tube_station.append(k)
        tube_opened.append(env.now)
        tube_sealed.append(nan)
        tube_day.append(day_of[members[0]])
        tube_last.append(env.now)
        for i in members:
            waiting[0] -= 1
            s_start[i] = env.now
            station_of[i] = k
            tube_of[i] = tube
            yield timeout(swab_s[i])
            s_end[i] = env.now
            swabbed.pop(i).succeed()
            if disinfect is not None:
                yield timeout(disinfect[i])
        tube_last[tube] = env.now
        yield timeout(handling[members[-1]])  # barcode and sealing: the sampler's work
        tube_sealed[tube] = env.now
        pools[1].put(k)

    def idle_seal(tube: int) -> float:
        """When a tube left open is sealed: at its time limit or its day's closing, not mid-swab."""
        return max(min(tube_opened[tube] + seal_after, day_close[tube_day[tube]]), tube_last[tube])

    def choose_station(i: int) -> int:
        """The shortest line among open stations of the resident's group (all closed: any)."""
        group = groups[0] if vip[i] else groups[1]
        k = min(group, key=lambda k: (closed[k], line[k])) if prioritised else min(group, key=line.__getitem__)
        line[k] += 1
        return k

    def off_line(k: int) -> None:
        line[k] -= 1
        if not line[k] and k in drained:
            drained.pop(k).succeed()

    def leave(i: int, stage: int) -> None:
        left[i] = RENEGED
        left_s[i] = env.now
        left_stage[i] = stage
        waiting[0] -= 1
        if grouped:
            gone_before_group(i)

    def resident(i):
        day = day_of[i]
        ask = asks[i]
        if threshold is not None:
            while waiting[0] > threshold[i]:
                balks[i] += 1
                arrived_at[i] = env.now
                if balks[i] > 1 or not returns[i] or env.now + return_s[i] > day_close[day]:
                    left[i] = BALKED  # gone for good
                    left_s[i] = env.now
                    left_stage[i] = first_stage
                    if grouped:
                        gone_before_group(i)
                    return
                yield timeout(return_s[i])
        arrived_at[i] = env.now  # the model's own clock: exact waits of zero
        waiting[0] += 1
        give_up = timeout(patience[i]) if patience is not None else None
        if env.now < opens_at[day]:
            yield openings[day] if give_up is None else openings[day] | give_up
            if env.now < opens_at[day]:
                leave(i, first_stage)
                return
        if temp:
            request = temp_res.request(**ask)
            yield request if give_up is None else request | give_up
            if give_up is not None and not request.triggered:
                request.cancel()
                leave(i, 0)
                return
            t_start[i] = env.now
            yield timeout(temp_s[i])
            t_end[i] = env.now
            temp_res.release(request)
        if paired:
            if shared:
                pool = pools[0] if vip[i] else pools[1]
                taken = pool.get(**ask)
                yield taken if give_up is None else taken | give_up
                if give_up is not None and not taken.triggered:
                    taken.cancel()
                    leave(i, REG)
                    return
                k = taken.value
                registrar = None
            else:
                k = choose_station(i)
                registrar = registrars[k]
                held = registrar.request(**ask)
                yield held if give_up is None else held | give_up
                if give_up is not None and not held.triggered:
                    held.cancel()
                    off_line(k)
                    leave(i, REG)
                    return
            r_start[i] = env.now
            yield timeout(reg_s[i])
            r_end[i] = env.now
            sampler = samplers[k]
            request = sampler.request(**ask)
            yield request if give_up is None else request | give_up
            # The registrar is free once the resident moves to the swab chair (or leaves).
            if registrar is None:
                pool.put(k)
            else:
                registrar.release(held)
            if give_up is not None and not request.triggered:
                request.cancel()
                off_line(k)
                leave(i, SWAB)
                return
        else:
            if reg:
                desk = desks.request(**ask)
                yield desk if give_up is None else desk | give_up
                if give_up is not None and not desk.triggered:
                    desk.cancel()
                    leave(i, REG)
                    return
                r_start[i] = env.now
                yield timeout(reg_s[i])
                r_end[i] = env.now
                desks.release(desk)
            if grouped:
                yield from join_group(i, day)
                return
            if shared:
                pool = pools[0] if vip[i] else pools[1]
                taken = pool.get(**ask)
                yield taken if give_up is None else taken | give_up
                if give_up is not None and not taken.triggered:
                    taken.cancel()
                    leave(i, SWAB)
                    return
                k = taken.value
                sampler = None
            else:
                k = choose_station(i)
                sampler = samplers[k]
                request = sampler.request(**ask)
                yield request if give_up is None else request | give_up
                if give_up is not None and not request.triggered:
                    request.cancel()
                    off_line(k)
                    leave(i, SWAB)
                    return
        waiting[0] -= 1
        s_start[i] = env.now
        station_of[i] = k
        if pooled:
            tube = open_tube[k]
            if fill[k] and (env.now - tube_opened[tube] > seal_after or tube_day[tube] < day):
                # Open too long, or from an earlier day: sealed while the station stood idle.
                tube_sealed[tube] = idle_seal(tube)
                fill[k] = 0
            if not fill[k]:
                open_tube[k] = len(tube_opened)
                tube_station.append(k)
                tube_opened.append(env.now)
                tube_sealed.append(nan)
                tube_day.append(day)
                tube_last.append(env.now)
            tube_of[i] = open_tube[k]
            fill[k] += 1
        yield timeout(swab_s[i])
        s_end[i] = env.now
        if pooled:
            tube_last[open_tube[k]] = env.now
        if pooled and fill[k] == ratio:
            yield timeout(handling[i])  # barcode and sealing: the sampler's work
            tube_sealed[open_tube[k]] = env.now
            fill[k] = 0
        if disinfect is not None:
            yield timeout(disinfect[i])  # hands or gloves, before the next resident
        off_line(k)
        if sampler is None:
            pool.put(k)
        else:
            sampler.release(request)

    # Staff closures: a slot stops taking residents, finishes the one it has, then stays closed.
    closure_rows: list[tuple[str, int, float, float, float, str]] = []

    def closure(c, due):
        yield due
        k = c.slot
        if c.role == "sampler":
            closed[k] = True
            if shared:
                yield pool_of_station[k].close(k)
            elif c.reason == "off_duty" and line[k]:
                drained[k] = env.event()  # the sampler leaving at the end of a shift serves its line out
                yield drained[k]
            resource = samplers[k] if (paired or not shared) else None
        else:
            resource = temp_res if c.role == "temperature" else desks
        if resource is not None:
            hold = resource.request(priority=-1)
            yield hold
        began = env.now
        if c.reason == "break":
            yield timeout(c.length_s)
        elif math.isinf(c.end_s):
            closure_rows.append((c.role, k, c.start_s, began, c.end_s, c.reason))
            return  # closed for the rest of the round
        elif c.end_s > env.now:
            yield timeout(delay_until(env.now, c.end_s))
        closure_rows.append((c.role, k, c.start_s, began, env.now, c.reason))
        if resource is not None:
            resource.release(hold)
        if c.role == "sampler":
            closed[k] = False
            if shared:
                pool_of_station[k].put(k)

    def source():
        for i in np.flatnonzero(admitted).tolist():
            if arrival[i] > env.now:
                yield timeout(delay_until(env.now, arrival[i]))
            env.process(resident(i))

    for c, due in zip(plan.closures, closing_times):
        env.process(closure(c, due))
    env.process(source())
    home = _start_home_teams(env, point, draws.home, open_hours, openings) if draws.home is not None else None
    env.run()

    finish = np.asarray(s_end)
    served = ~np.isnan(finish) if n else np.zeros(0, dtype=bool)
    log = EventLog(
        point_id=point.id,
        replication=replication,
        open_s=hours[0][0],
        close_s=hours[-1][1],
        population=point.population,
        no_show=draws.no_show,
        servers={s: point.servers(s) for s in ("temperature", "registration", "swab") if getattr(stages, s) is not None},
        resident=draws.resident,
        arrival_s=np.asarray(arrived_at),
        qr=draws.qr,
        served=served,
        station=np.asarray(station_of, dtype=np.int32),
        day=draws.days,
        hours=list(hours),
        setup_s=draws.setup_s,
        not_called=draws.not_called,
        home=home() if home is not None else None,
        pool_ratio=ratio,
        tube=np.asarray(tube_of, dtype=np.int32) if pooled else None,
        tubes=_tube_log(tube_station, tube_opened, [s if s == s else idle_seal(t) for t, s in enumerate(tube_sealed)], tube_last, tube_of)
        if pooled
        else None,
        infected=draws.infected,
        recall_s=draws.recall_s,
        left=np.asarray(left, dtype=np.int8),
        left_s=np.asarray(left_s),
        left_stage=np.asarray(left_stage, dtype=np.int8),
        balks=np.asarray(balks, dtype=np.int8),
        priority=draws.priority,
        overhead_s=np.where(served, draws.disinfection_s, 0.0) if disinfect is not None else None,
        closures=ClosureLog.of(closure_rows),
        plan=plan,
        waiting_capacity=point.waiting_area.capacity if point.waiting_area is not None else None,
    )
    if temp:
        log.start["temperature"], log.end["temperature"] = np.asarray(t_start), np.asarray(t_end)
    if reg:
        log.start["registration"], log.end["registration"] = np.asarray(r_start), np.asarray(r_end)
    log.start["swab"], log.end["swab"] = np.asarray(s_start), finish
    return log


def stages_present(point: Point) -> list[str]:
    return [s for s in STAGE_ORDER if getattr(point.stages, s) is not None]


def _tube_log(station, opened, sealed, last_swab, tube_of) -> TubeLog:
    tube_of = np.asarray(tube_of, dtype=np.int64)
    used = tube_of >= 0
    return TubeLog(
        station=np.asarray(station, dtype=np.int32),
        opened_s=np.asarray(opened, dtype=float),
        sealed_s=np.asarray(sealed, dtype=float),
        last_swab_s=np.asarray(last_swab, dtype=float),
        members=np.bincount(tube_of[used], minlength=len(opened)),
    )


def _start_home_teams(env: simpy.Environment, point: Point, draws: HomeDraws, open_hours, openings):
    """Door-to-door teams take the next household in roster order while the point is open.

    A team starts a visit only during opening hours (it finishes it even if
    that runs late) and waits for the next opening otherwise. Returns a function
    that builds the :class:`HomeLog` once the run is over.
    """
    members = np.split(np.arange(draws.resident.size), np.flatnonzero(np.diff(draws.household)) + 1) if draws.resident.size else []
    service = draws.service_s.tolist()
    travel = draws.travel_s.tolist()
    ppe = draws.ppe_s.tolist()
    start = [math.nan] * draws.resident.size
    end = [math.nan] * draws.resident.size
    team_of = [-1] * draws.resident.size
    queue = list(range(len(members)))[::-1]  # pop() takes the next household
    timeout = env.timeout

    def team(number: int):
        day = 0
        while queue:
            while day < len(open_hours) and env.now >= open_hours[day][1]:
                day += 1
            if day == len(open_hours):
                return  # the round is over: the households left are not visited
            if env.now < open_hours[day][0]:
                yield openings[day]
                continue
            household = queue.pop()
            yield timeout(travel[household])
            for index in members[household].tolist():
                start[index] = env.now
                yield timeout(service[index])
                end[index] = env.now
                team_of[index] = number
            yield timeout(ppe[household])

    for number in range(point.home.teams):
        env.process(team(number))

    def build() -> HomeLog:
        return HomeLog(
            resident=draws.resident,
            household=draws.household,
            team=np.asarray(team_of, dtype=np.int32),
            start_s=np.asarray(start),
            end_s=np.asarray(end),
            teams=point.home.teams,
            team_size=point.home.team_size,
        )

    return build
