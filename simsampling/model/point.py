"""The SimPy model of one sampling point: each resident walks the point's flow, stage by stage.

Each resident is a SimPy process that reads as the sequence of its stages
(``Flow``, from ``simsampling.stages``): it waits for the opening, goes through
each stage of the main flow in turn (``serve_pool.py``: a pool of servers in one
line; ``serve_stations.py``: the swab stations and the registrars paired with
them), and is either swabbed, gives up in a line (reneging), or is diverted
after a stage to a side stage (an isolation area) and leaves from there
unswabbed. Staff closures block servers and stations; door-to-door teams, if
any, visit households during opening hours.

Opening hours: a resident arriving before its day's opening (the first one
delayed by the site's set-up) waits in line and is let in, in arrival order,
when the point opens; one arriving after its day's closing is turned away;
everyone admitted is served, however late.

Hot-path rules: all random numbers come pre-drawn (``ResidentDraws``), and
timestamps go into plain lists; anything that can be derived from the log
afterwards (queue lengths, utilisation) is not tracked during the run.
"""

from __future__ import annotations

import math
from typing import Union

import numpy as np
import simpy

from ..draws import HomeDraws, ResidentDraws
from ..log import BALKED, DIVERTED, RENEGED, ClosureLog, EventLog, HomeLog, TubeLog
from ..scenario.schema import Clock, Point
from ..staffing import StaffPlan, staff_plan
from ..stages import REGISTRATION, STATIONS
from .residents import Residents
from .serve_pool import PoolStage
from .serve_stations import Stations


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
    closes = np.array([close for _, close in open_hours])
    admitted = np.flatnonzero(draws.arrival_s <= closes[draws.days]).tolist() if n else []
    start_time = min(0.0, arrival[0]) if n else 0.0
    env = simpy.Environment(initial_time=start_time)
    # Staff closures are scheduled first: a station closed at an opening takes nobody then.
    closing_times = [env.timeout(delay_until(start_time, max(start_time, c.start_s))) for c in plan.closures]
    # One event per opening, scheduled now: residents waiting for it resume in arrival order.
    openings = [env.timeout(delay_until(start_time, max(start_time, open_s))) for open_s, _ in open_hours]
    opens_at = [open_s for open_s, _ in open_hours]
    day_close = [close for _, close in open_hours]

    flow = point.flow
    names = flow.names
    prioritised = point.green_channel is not None or bool(plan.closures)
    server = simpy.PriorityResource if prioritised else simpy.Resource
    residents = Residents(env, draws, len(names))
    timeout = env.timeout

    # Each stage served by its serving module: one Stations for the swab (and the registrars
    # paired with its stations), a pool of servers in one line for every other stage.
    index = {name: number for number, name in enumerate(names)}
    registration = index.get("registration")
    stations = Stations(residents, point, draws, index["swab"], registration, server, prioritised, day_close)
    served_by = {}
    for stage in flow.stages:
        if stage.serving == STATIONS:
            served_by[stage.name] = stations
        elif stage.serving == REGISTRATION and point.paired_registration:
            served_by[stage.name] = stations
        else:
            served_by[stage.name] = PoolStage(residents, index[stage.name], point.servers(stage.name),
                                              draws.service_s[stage.name].tolist(), server, side=stage.side)
    tubes = stations.tubes
    if tubes is not None:
        tubes.admit(admitted)
        if tubes.grouped:
            residents.on_leaving = tubes.gone_before_group
    visits = {name: served_by[name].register if served_by[name] is stations and name == "registration" else served_by[name].visit
              for name in names}
    # Per stage, where its routes lead each resident (None: it has none).
    routes = {stage.name: (draws.divert[stage.name].tolist(), [index[route.to] for route in stage.routes])
              for stage in flow.stages if stage.routes}
    main = [(visits[stage.name], routes.get(stage.name)) for stage in flow.main]

    threshold = draws.balk_threshold.tolist() if draws.balk_threshold is not None else None
    returns = draws.balk_returns.tolist() if threshold is not None else None
    return_s = draws.balk_return_s.tolist() if threshold is not None else None
    patience = residents.patience

    def resident(i: int):
        """Resident i: looks at the line, waits for the opening, then walks the main flow."""
        day = residents.day[i]
        if threshold is not None:
            while residents.waiting > threshold[i]:
                residents.balks[i] += 1
                residents.arrived_at[i] = env.now
                if residents.balks[i] > 1 or not returns[i] or env.now + return_s[i] > day_close[day]:
                    residents.leave(i, BALKED, 0)  # gone for good
                    return
                yield timeout(return_s[i])
        residents.arrived_at[i] = env.now  # the model's own clock: exact waits of zero
        residents.waiting += 1
        give_up = residents.give_up[i] = timeout(patience[i]) if patience is not None else None
        if env.now < opens_at[day]:
            yield openings[day] if give_up is None else openings[day] | give_up
            if env.now < opens_at[day]:
                residents.leave(i, RENEGED, 0)
                return
        for visit, ways in main:
            if not (yield from visit(i)):
                return
            if ways is not None and ways[0][i] >= 0:
                yield from diverted(i, ways[1][ways[0][i]])
                return

    def diverted(i: int, side: int):
        """Resident i goes through side stage ``side`` (and on along its routes), then leaves unswabbed."""
        residents.divert(i)
        while True:
            yield from visits[names[side]](i)
            ways = routes.get(names[side])
            if ways is None or ways[0][i] < 0:
                break
            side = ways[1][ways[0][i]]
        residents.leave(i, DIVERTED, side)

    # Staff closures: a slot stops taking residents, finishes the one it has, then stays closed.
    closure_rows: list[tuple[str, int, float, float, float, str]] = []
    staffed = {stage.role: served_by[stage.name] for stage in flow.stages}

    def closure(c, due):
        yield due
        stage = staffed[c.role]
        closing = stage.closing(c)
        if closing is not None:
            yield closing
        resource = stage.slot_resource(c.slot)
        if resource is not None:
            hold = resource.request(priority=-1)
            yield hold
        began = env.now
        if c.reason == "break":
            yield timeout(c.length_s)
        elif math.isinf(c.end_s):
            closure_rows.append((c.role, c.slot, c.start_s, began, c.end_s, c.reason))
            return  # closed for the rest of the round
        elif c.end_s > env.now:
            yield timeout(delay_until(env.now, c.end_s))
        closure_rows.append((c.role, c.slot, c.start_s, began, env.now, c.reason))
        if resource is not None:
            resource.release(hold)
        stage.reopen(c.slot)

    def source():
        for i in admitted:
            if arrival[i] > env.now:
                yield timeout(delay_until(env.now, arrival[i]))
            env.process(resident(i))

    for c, due in zip(plan.closures, closing_times):
        env.process(closure(c, due))
    env.process(source())
    home = _start_home_teams(env, point, draws.home, open_hours, openings) if draws.home is not None else None
    env.run()

    return point_log(
        point, hours, draws, replication, plan,
        start={name: np.asarray(residents.start[number]) for number, name in enumerate(names)},
        end={name: np.asarray(residents.end[number]) for number, name in enumerate(names)},
        arrival_s=np.asarray(residents.arrived_at),
        station=np.asarray(residents.station, dtype=np.int32),
        left=np.asarray(residents.left, dtype=np.int8),
        left_s=np.asarray(residents.left_s),
        left_stage=np.asarray(residents.left_stage, dtype=np.int8),
        balks=np.asarray(residents.balks, dtype=np.int8),
        closures=ClosureLog.of(closure_rows),
        home=home() if home is not None else None,
        pool_ratio=tubes.ratio if tubes is not None else 0,
        tube=np.asarray(tubes.tube_of, dtype=np.int32) if tubes is not None else None,
        tubes=_tube_log(tubes.station, tubes.opened, tubes.sealed_times(), tubes.last, tubes.tube_of) if tubes is not None else None,
    )


def point_log(point: Point, hours: list[tuple[float, float]], draws: ResidentDraws, replication: int, plan: StaffPlan,
              **recorded) -> EventLog:
    """The event log of one run of ``point``: what an engine ``recorded`` (per stage ``start`` and
    ``end``, ``arrival_s``, ``station``, how residents left, the closures, the home teams, pooled
    tubes), and what the point, its draws and its staff plan say. Both engines build it here."""
    served = ~np.isnan(recorded["end"]["swab"])
    flow = point.flow
    return EventLog(
        point_id=point.id,
        replication=replication,
        open_s=hours[0][0],
        close_s=hours[-1][1],
        population=point.population,
        no_show=draws.no_show,
        servers={name: point.servers(name) for name in flow.names},
        resident=draws.resident,
        qr=draws.qr,
        served=served,
        day=draws.days,
        hours=list(hours),
        setup_s=draws.setup_s,
        not_called=draws.not_called,
        infected=draws.infected,
        recall_s=draws.recall_s,
        priority=draws.priority,
        overhead_s=np.where(served, draws.disinfection_s, 0.0) if draws.disinfection_s is not None else None,
        plan=plan,
        waiting_capacity=point.waiting_area.capacity if point.waiting_area is not None else None,
        flow=flow.names,
        sources=flow.sources(),
        **recorded,
    )


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
