"""The fast engine: door-to-door teams, replayed apart from the residents.

Door-to-door teams share nothing with the residents but the opening events,
which they only wait on: their events interleave with the residents' without
changing the relative order of either. ``home_replay`` therefore replays the
teams alone, with the same openings scheduled first and the same start time.
"""

from __future__ import annotations

import numpy as np

from ...draws import ResidentDraws
from ...log import HomeLog
from ...scenario.schema import Point
from .compiled import njit
from .events import OPENING, RESIDENT, future_events, future_first, future_push, next_event, schedule
from .records import floats

TEAM_LOOP, TEAM_TRAVELLED, TEAM_SAMPLED, TEAM_DONE = 0, 1, 2, 3


@njit(cache=True)
def home_replay(teams, starts, travel_s, service_s, ppe_s, opens_at, closes_at, opening_time, start_time, fi, ft, fb, fs, fbuf):
    """model.point's ``_start_home_teams``: each team takes the next household while the point is open.

    The teams share only the household roster and the opening events with the rest
    of the point, so their event order among themselves is SimPy's with or without
    the residents' events interleaved: team starts (URGENT) at the start time, the
    openings scheduled first, timeouts in scheduling order. ``starts[h]`` is the first
    member of household h (``starts[-1]``: the member count). ``fi`` to ``fbuf``: empty future events
    for teams + days + 1 (``events.future_events``). Returns (team, start, end).
    """
    households = starts.size - 1
    members = starts[households]
    start = np.full(members, np.nan)
    end = np.full(members, np.nan)
    team_of = np.full(members, -1, dtype=np.int32)
    state = np.zeros(teams, dtype=np.int64)
    day = np.zeros(teams, dtype=np.int64)
    household = np.zeros(teams, dtype=np.int64)
    member = np.zeros(teams, dtype=np.int64)
    days = opens_at.size
    o_head = np.full(days, -1, dtype=np.int64)
    o_tail = np.full(days, -1, dtype=np.int64)
    open_next = np.full(teams, -1, dtype=np.int64)
    for d in range(days):
        future_push(opening_time[d], d * 8 + OPENING, fi, ft, fb, fs, fbuf)
    first = future_first(fi, ft, fb, fs)
    ring_size = 1
    while ring_size < teams + 1:
        ring_size *= 2
    ring = np.empty(ring_size, dtype=np.int64)  # each team has at most one pending event
    mask = ring_size - 1
    head = 0
    tail = 0
    started = 0  # teams started (URGENT at the start time)
    taken = 0  # households taken from the roster
    now = start_time
    while True:
        if started < teams:
            event = started * 8 + RESIDENT
            started += 1
        else:
            event, now, head, first = next_event(first, now, head, tail, ring, mask, fi, ft, fb, fs)
            if event < 0:
                break
        if event & 7 == OPENING:
            t = o_head[event >> 3]
            o_head[event >> 3] = -1
            chained = True
        else:
            t = event >> 3
            chained = False
        while t >= 0:
            following = open_next[t] if chained else -1
            step = state[t]
            while True:
                if step == TEAM_LOOP:
                    if taken == households:
                        state[t] = TEAM_DONE
                        break
                    while day[t] < days and now >= closes_at[day[t]]:
                        day[t] += 1
                    if day[t] == days:
                        state[t] = TEAM_DONE  # the round is over: the households left are not visited
                        break
                    if now < opens_at[day[t]]:
                        d = day[t]
                        open_next[t] = -1
                        if o_head[d] < 0:
                            o_head[d] = t
                        else:
                            open_next[o_tail[d]] = t
                        o_tail[d] = t
                        break
                    household[t] = taken
                    taken += 1
                    done = now + travel_s[household[t]]
                    state[t] = TEAM_TRAVELLED
                elif step == TEAM_TRAVELLED:
                    m = starts[household[t]]
                    member[t] = m
                    start[m] = now
                    done = now + service_s[m]
                    state[t] = TEAM_SAMPLED
                else:  # TEAM_SAMPLED
                    m = member[t]
                    end[m] = now
                    team_of[m] = t
                    m += 1
                    if m < starts[household[t] + 1]:
                        member[t] = m
                        start[m] = now
                        done = now + service_s[m]
                    else:
                        done = now + ppe_s[household[t]]
                        state[t] = TEAM_LOOP
                tail, first = schedule(done, now, t * 8 + RESIDENT, ring, tail, mask, fi, ft, fb, fs, fbuf, first)
                break
            t = following
    return team_of, start, end


def home_log(point: Point, draws: ResidentDraws, open_hours, opening_time: np.ndarray, start_time: float) -> HomeLog:
    """The door-to-door teams' log, as model.point's ``_start_home_teams`` builds it."""
    home = draws.home
    count = home.resident.size
    if count == 0:  # nobody to visit: home_replay's empty arrays, without its call
        team, start, end = np.full(0, -1, dtype=np.int32), np.full(0, np.nan), np.full(0, np.nan)
    else:
        team, start, end = _replayed(point, home, open_hours, opening_time, start_time)
    return HomeLog(
        resident=home.resident,
        household=home.household,
        team=team,
        start_s=start,
        end_s=end,
        teams=point.home.teams,
        team_size=point.home.team_size,
    )


def _replayed(point: Point, home, open_hours, opening_time: np.ndarray, start_time: float) -> tuple:
    """``home_replay`` of a point's residents sampled at home (at least one)."""
    first = np.concatenate([[0], np.flatnonzero(np.diff(home.household)) + 1, [home.resident.size]])
    return home_replay(
        point.home.teams,
        first.astype(np.int64),
        floats(home.travel_s),
        floats(home.service_s),
        floats(home.ppe_s),
        np.array([open_s for open_s, _ in open_hours]),
        np.array([close for _, close in open_hours]),
        opening_time,
        start_time,
        *future_events(point.home.teams + len(open_hours) + 1),
    )
