"""The fast engine from Python: a point's draws and staff plan into the kernel's records, its results into an EventLog."""

from __future__ import annotations

from typing import Union

import numpy as np

from ...draws import ResidentDraws
from ...log import ClosureLog, EventLog
from ...scenario.schema import Clock, Point
from ...staffing import staff_plan
from ...stages import REGISTRATION, STATIONS
from ...stages.swab import lane_of, lanes
from ..point import delay_until, opening_hours, point_log
from .events import RESIDENT, WAKE, future_events
from .home import home_log
from .kernel import replay
from .lines import CAPACITY, CLOSING, DRAIN, LANES, RES, STA, USERS, WAKEUP
from .records import PAIRED, POOL, SWAB, Closures, Layout, Residents, Results, Work, floats
from .scope import out_of_scope

RING_SIZE = 4096
"""Pending events at one instant the kernel's ring holds at first (a power of two)."""
EMPTY_F = np.zeros(0)
EMPTY_I8 = np.zeros(0, dtype=np.int8)
EMPTY_B = np.zeros(0, dtype=np.bool_)
NO_ROUTES = np.zeros((0, 0), dtype=np.int8)


def simulate_point_fast(
    point: Point, hours: Union[list[tuple[float, float]], Clock], draws: ResidentDraws, replication: int = 0
) -> EventLog:
    """Run one point for one replication; the same log as ``simulate_point``, computed without SimPy.

    Raises ValueError for a point outside the engine's scope (see ``fast_scope``).
    """
    if isinstance(hours, Clock):
        hours = hours.hours(1)
    reason = out_of_scope(point, draws)
    if reason is not None:
        raise ValueError(f"point {point.id}: the fast engine cannot simulate {reason}; use simulate_point")
    plan = staff_plan(point, hours)
    open_hours = opening_hours(hours, draws.setup_s)
    n = draws.count
    arrival = floats(draws.arrival_s)
    days = draws.days
    opens_at = np.array([open_s for open_s, _ in open_hours])
    closes = np.array([close for _, close in open_hours])
    admitted = np.flatnonzero(arrival <= closes[days]) if n else np.zeros(0, dtype=np.int64)
    # The same floats as model.point: the clock starts at the first arrival (or midnight), and
    # each closure and opening is a timeout scheduled from there.
    start_time = min(0.0, float(arrival[0])) if n else 0.0
    due = lambda at: start_time + delay_until(start_time, max(start_time, at))  # noqa: E731
    flow = point.flow
    names = flow.names
    index = {name: number for number, name in enumerate(names)}

    # The flow: how each stage serves, and a pool resource for each stage served by one.
    kinds, resources, servers = [], [], []
    for stage in flow.stages:
        if stage.serving == STATIONS:
            kinds.append(SWAB)
        elif stage.serving == REGISTRATION and point.paired_registration:
            kinds.append(PAIRED)
        else:
            kinds.append(POOL)
            resources.append(index[stage.name])
            servers.append(point.servers(stage.name))
    pool_of = {stage: number for number, stage in enumerate(resources)}
    stations = point.stations
    groups = lanes(point)
    has_lanes = any(groups[1:])
    reneging = draws.patience_s is not None
    green = point.green_channel is not None
    layout = Layout(
        opens_at=opens_at,
        opening_time=np.array([due(open_s) for open_s in opens_at.tolist()]),
        day_close=closes,
        start_time=start_time,
        kind=np.array(kinds, dtype=np.int64),
        resource=np.array([pool_of.get(s, -1) for s in range(len(names))], dtype=np.int64),
        side=np.array([stage.side for stage in flow.stages], dtype=np.bool_),
        stations=stations,
        shared=point.queue == "shared",
        paired=point.paired_registration,
        first_sampler=len(resources),
        lane_lo=np.array([group.start if group else 0 for group in groups], dtype=np.int64),
        lane_hi=np.array([group.stop if group else 0 for group in groups], dtype=np.int64),
        station_lane=station_lanes(groups, stations),
    )
    walk = Residents(
        arrival=arrival,
        day=days.astype(np.int64),
        admitted=admitted.astype(np.int64),
        service=_rows([draws.service_s[name] for name in names], n),
        route=_routes(flow, draws, index) if flow.diverts else NO_ROUTES,
        rank=(~draws.priority).astype(np.int8) if green else EMPTY_I8,  # priority class: 0 priority, 1 other
        lane=lane_of(point, draws) if has_lanes else EMPTY_I8,
        disinfect=floats(draws.disinfection_s) if draws.disinfection_s is not None else EMPTY_F,
        threshold=floats(draws.balk_threshold) if draws.balk_threshold is not None else EMPTY_F,
        returns=np.ascontiguousarray(draws.balk_returns, dtype=np.bool_) if draws.balk_threshold is not None else EMPTY_B,
        return_s=floats(draws.balk_return_s) if draws.balk_threshold is not None else EMPTY_F,
        patience=floats(draws.patience_s) if reneging else EMPTY_F,
    )
    closures = plan.closures
    staffed = {stage.role: index[stage.name] for stage in flow.stages if kinds[index[stage.name]] != PAIRED}
    staff = Closures(
        stage=np.array([staffed[c.role] for c in closures], dtype=np.int64),
        slot=np.array([c.slot for c in closures], dtype=np.int64),
        due=np.array([due(c.start_s) for c in closures], dtype=np.float64),
        end=np.array([c.end_s for c in closures], dtype=np.float64),
        length=np.array([c.length_s for c in closures], dtype=np.float64),
        is_break=np.array([c.reason == "break" for c in closures], dtype=np.bool_),
    )
    # With reneging, everyone let in together at an opening has an event pending at that instant.
    ring_size = RING_SIZE
    if reneging and admitted.size:
        early = int(np.count_nonzero(arrival[admitted] < opens_at[days[admitted]]))
        while ring_size < 2 * early + 64:
            ring_size *= 2
    wakes = [RESIDENT if stage.side or not reneging else WAKE for stage in flow.stages if kinds[index[stage.name]] == POOL]
    while True:
        out = results(len(names), n, arrival, len(closures))
        work = workspace(n, admitted.size, servers, wakes, WAKE if reneging else RESIDENT, groups, layout.shared, len(closures),
                         opens_at.size, reneging, ring_size)
        rows = replay(walk, layout, staff, out, work, future_events(2 * n + len(closures) + opens_at.size + 2))
        if rows >= 0:
            break
        ring_size *= 16  # more events at one instant than the ring holds: run again with a larger one
    return point_log(
        point, hours, draws, replication, plan,
        start={name: out.start[number] for number, name in enumerate(names)},
        end={name: out.end[number] for number, name in enumerate(names)},
        arrival_s=out.arrived,
        station=out.station,
        left=out.left,
        left_s=out.left_s,
        left_stage=out.left_stage,
        balks=out.balks,
        closures=ClosureLog.of([(closures[c].role, closures[c].slot, closures[c].start_s, began, ended, closures[c].reason)
                                for c, began, ended in zip(out.row_closure[:rows].tolist(), out.row_times[0, :rows].tolist(),
                                                           out.row_times[1, :rows].tolist())] if rows else []),
        home=home_log(point, draws, open_hours, layout.opening_time, start_time) if draws.home is not None else None,
    )


def station_lanes(groups: list[range], stations: int) -> np.ndarray:
    """Each station's lane: the first whose stations hold it (``lanes`` numbers a lane's stations in one run)."""
    lane_of_station = np.zeros(stations, dtype=np.int64)
    for lane in range(len(groups) - 1, -1, -1):  # the later lanes first, so an earlier lane's claim wins
        group = groups[lane]
        lane_of_station[group.start:group.stop] = lane
    return lane_of_station


def _rows(values: list[np.ndarray], n: int) -> np.ndarray:
    """``np.stack`` of the stages' float64 draws (a few microseconds less than its checks, at every point)."""
    rows = np.empty((len(values), n))
    for number, row in enumerate(values):
        rows[number] = row
    return rows


def _routes(flow, draws: ResidentDraws, index: dict[str, int]) -> np.ndarray:
    """Stages x residents: the stage each resident is diverted to after each stage (-1: none)."""
    route = np.full((len(flow.stages), draws.count), -1, dtype=np.int8)
    for stage in flow.stages:
        if stage.routes:
            chosen = draws.divert[stage.name]
            targets = np.array([index[r.to] for r in stage.routes], dtype=np.int8)
            route[index[stage.name]] = np.where(chosen >= 0, targets[np.maximum(chosen, 0)], -1)
    return route


def results(stages: int, n: int, arrival: np.ndarray, closures: int) -> Results:
    """The kernel's results, prefilled for residents who never get anywhere."""
    return Results(
        start=np.full((stages, n), np.nan),
        end=np.full((stages, n), np.nan),
        arrived=arrival.copy(),
        left_s=np.full(n, np.nan),
        station=np.full(n, -1, dtype=np.int32),
        left=np.zeros(n, dtype=np.int8),
        left_stage=np.full(n, -1, dtype=np.int8),
        balks=np.zeros(n, dtype=np.int8),
        row_closure=np.zeros(closures, dtype=np.int64),
        row_times=np.zeros((2, closures)),
    )


def workspace(n, admitted, servers, wakes, wake, groups, shared, closures, days, reneging, ring_size) -> Work:
    """The kernel's workspace, initialised (``lines.py`` gives the layouts): resources are the stages'
    pools of ``servers`` (a granted resident woken by ``wakes``), then each station's sampler and registrar."""
    stations = groups[0].stop
    resources = len(servers) + 2 * stations
    res = np.full((resources, RES), -1, dtype=np.int64)
    res[:, CAPACITY] = 1
    res[: len(servers), CAPACITY] = servers
    res[:, USERS] = 0
    res[:, WAKEUP] = wake
    res[: len(servers), WAKEUP] = wakes
    lines = np.full((2, 2 * (resources + LANES)), -1, dtype=np.int64)
    sta = np.zeros((stations, STA), dtype=np.int64)
    sta[:, DRAIN] = -1
    sta[:, CLOSING] = -1
    slots = 1
    while slots < stations:
        slots *= 2
    items = np.zeros(LANES * slots, dtype=np.int64)
    pool_span = np.zeros(2 * LANES, dtype=np.int64)
    if shared:
        for lane, group in enumerate(groups):
            items[lane * slots:lane * slots + len(group)] = group
            pool_span[lane * 2 + 1] = len(group)
    openings = np.full((2, days), -1, dtype=np.int64)
    return Work(
        rs=np.zeros(4 * n, dtype=np.int64),  # every process STARTED; the other columns are set before use
        rf=np.zeros(4 * n if reneging else 0, dtype=np.int8),
        res=res.ravel(),
        q_head=lines[0],
        q_tail=lines[1],
        b_next=np.full(closures, -1, dtype=np.int64),
        sta=sta.ravel(),
        items=items,
        pool_span=pool_span,
        slots=slots,
        c_state=np.zeros(closures, dtype=np.int64),
        c_began=np.zeros(closures),
        o_head=openings[0],
        o_tail=openings[1],
        urgent=np.empty(admitted + 1, dtype=np.int64),
        ring=np.empty(ring_size, dtype=np.int64),
    )
