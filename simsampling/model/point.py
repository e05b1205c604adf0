"""The SimPy model of one sampling point: residents walking temperature -> registration -> swab.

Each resident is a SimPy process; stations and staff are resources. Layouts:

* registration ``per_tent``: a registrar paired with each swab station. The
  resident keeps the registrar until that station's sampler is free, so the
  registrar serves the next resident while the previous one is swabbed.
* registration ``N``: a pool of N desks in one line feeding all stations.
* queue ``shared``: one line, the next free station takes the head of it.
* queue ``per_tent``: a line per station; a resident joins the shortest one
  (residents of that station not yet swabbed; ties go to the lower number).

Every server is closed until opening (early arrivals queue in order); nobody
enters after closing, and everyone already inside is served.

Hot-path rules: all random numbers come pre-drawn (``ResidentDraws``), and
timestamps go into plain lists; anything that can be derived from the log
afterwards (queue lengths, utilisation) is not tracked during the run.
"""

from __future__ import annotations

import math

import numpy as np
import simpy

from ..draws import ResidentDraws
from ..log import EventLog
from ..scenario.schema import Clock, Point


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


def simulate_point(point: Point, clock: Clock, draws: ResidentDraws, replication: int = 0) -> EventLog:
    """Run one point for one replication and return its event log."""
    n = draws.count
    arrival = draws.arrival_s.tolist()
    admitted = int(np.searchsorted(draws.arrival_s, clock.close_s, side="right"))
    start_time = min(0.0, arrival[0]) if n else 0.0
    env = simpy.Environment(initial_time=start_time)
    stations = point.stations
    stages = point.stages
    nan = math.nan

    temp = stages.temperature is not None
    reg = stages.registration is not None
    paired = point.paired_registration
    shared = point.queue == "shared"

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

    resources: list[simpy.Resource] = []  # closed until opening
    stores: list[tuple[simpy.Store, int]] = []
    if temp:
        temp_res = simpy.Resource(env, stages.temperature.servers)
        resources.append(temp_res)
    if reg and not paired:
        desks = simpy.Resource(env, stages.registration.servers)
        resources.append(desks)
    samplers = [simpy.Resource(env, 1) for _ in range(stations)]
    if paired:
        registrars = [simpy.Resource(env, 1) for _ in range(stations)]
    if shared:
        # One line for all stations; a Store of station numbers tells which one.
        free_stations = simpy.Store(env)
        stores.append((free_stations, stations))
        if not paired:
            resources.extend(samplers)
    else:
        resources.extend(samplers)
        if paired:
            resources.extend(registrars)
    timeout = env.timeout
    line = [0] * stations  # residents assigned to each station and not yet swabbed

    def opening():
        held = [(res, [res.request() for _ in range(res.capacity)]) for res in resources]
        if clock.open_s > env.now:
            yield timeout(delay_until(env.now, clock.open_s))
        for res, requests in held:
            for request in requests:
                res.release(request)
        for store, count in stores:
            for item in range(count):
                store.put(item)

    def choose_station() -> int:
        k = min(range(stations), key=line.__getitem__)
        line[k] += 1
        return k

    def resident(i):
        arrived_at[i] = env.now  # the model's own clock: exact waits of zero
        if temp:
            request = temp_res.request()
            yield request
            t_start[i] = env.now
            yield timeout(temp_s[i])
            t_end[i] = env.now
            temp_res.release(request)
        if paired:
            if shared:
                k = yield free_stations.get()
                registrar = None
            else:
                k = choose_station()
                registrar = registrars[k]
                held = registrar.request()
                yield held
            r_start[i] = env.now
            yield timeout(reg_s[i])
            r_end[i] = env.now
            sampler = samplers[k]
            request = sampler.request()
            yield request
            # The registrar is free once the resident moves to the swab chair.
            if registrar is None:
                free_stations.put(k)
            else:
                registrar.release(held)
        else:
            if reg:
                desk = desks.request()
                yield desk
                r_start[i] = env.now
                yield timeout(reg_s[i])
                r_end[i] = env.now
                desks.release(desk)
            if shared:
                k = yield free_stations.get()
                sampler = None
            else:
                k = choose_station()
                sampler = samplers[k]
                request = sampler.request()
                yield request
        s_start[i] = env.now
        station_of[i] = k
        yield timeout(swab_s[i])
        s_end[i] = env.now
        line[k] -= 1
        if sampler is None:
            free_stations.put(k)
        else:
            sampler.release(request)

    def source():
        for i in range(admitted):
            if arrival[i] > env.now:
                yield timeout(delay_until(env.now, arrival[i]))
            env.process(resident(i))

    env.process(opening())
    env.process(source())
    env.run()

    served = np.zeros(n, dtype=bool)
    served[:admitted] = True
    log = EventLog(
        point_id=point.id,
        replication=replication,
        open_s=clock.open_s,
        close_s=clock.close_s,
        population=point.population,
        no_show=draws.no_show,
        servers={s: point.servers(s) for s in ("temperature", "registration", "swab") if getattr(stages, s) is not None},
        resident=draws.resident,
        arrival_s=np.asarray(arrived_at),
        qr=draws.qr,
        served=served,
        station=np.asarray(station_of, dtype=np.int32),
    )
    if temp:
        log.start["temperature"], log.end["temperature"] = np.asarray(t_start), np.asarray(t_end)
    if reg:
        log.start["registration"], log.end["registration"] = np.asarray(r_start), np.asarray(r_end)
    log.start["swab"], log.end["swab"] = np.asarray(s_start), np.asarray(s_end)
    return log
