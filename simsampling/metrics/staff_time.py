"""Staff time from a point's log: the span staffed each day, overtime after closing, staff-seconds
per role (rota, overtime, late leaving, door-to-door teams).
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from ..log import EventLog
from ..stages import role
from .compiled import days_and_last_finish
from .durations import DAY


def overtime_by_day_s(log: EventLog) -> list[float]:
    """Seconds each day's last station (swab and disinfection) was busy after that day's closing."""

    def compute() -> list[float]:
        last = _days_seen(log)[2]
        return [max(0.0, float(finish) - close_s) for finish, (_, close_s) in zip(last.tolist(), log.hours)]

    return log.derived("overtime_by_day_s", compute)


def _days_seen(log: EventLog) -> tuple[np.ndarray, bool, np.ndarray]:
    """``days_and_last_finish`` of a point's residents (once per log): the days any came and each day's last
    station free, in one pass."""
    return log.derived("days_seen", lambda: days_and_last_finish(log.day, log.served, log.station_free_s(),
                                                                 np.array([close_s for _, close_s in log.hours], dtype=float)))


def staffed_days(log: EventLog) -> list[int]:
    """The days the point is staffed: those on which residents came (or the first day, if nobody came).

    A day of the round on which nobody is due at the point (a two-day round called
    on the first day only) is not staffed: no staff-hours, no utilisation."""

    def compute() -> list[int]:
        days, counted, _ = _days_seen(log)
        if log.day.size and counted:  # counted in place: the days present, in order, without a set
            return days.tolist()
        return sorted(set(log.day.tolist())) or [0]

    return log.derived("staffed_days", compute)


def staffed_spans(log: EventLog, days: Optional[list[int]] = None) -> list[tuple[float, float]]:
    """Each staffed day's (or each of ``days``') opening and the later of its closing and its last station free."""
    overtime = overtime_by_day_s(log)
    return [(log.hours[day][0], log.hours[day][1] + overtime[day]) for day in (staffed_days(log) if days is None else days)]


def home_team_days(log: EventLog) -> list[int]:
    """Days door-to-door teams work: from the first day to the last on which they started a visit
    (every day of the round if a household was never visited)."""
    home = log.home
    if not home.served.all():
        return list(range(len(log.hours)))
    # ``log.home_days().max()``: a visit's day, floor((start - opening) / DAY) and at least 0, never falls as its start
    # rises, so the latest start's (without an array of days)
    latest = float(np.fmax.reduce(home.start_s, initial=log.open_s))
    return list(range(max(0, math.floor((latest - log.open_s) / DAY)) + 1))


def staffed_span_s(log: EventLog) -> float:
    """Seconds the point is staffed: each staffed day from opening (set-up included) to
    the later of closing and the last swab of that day's residents."""
    return sum(close_s - open_s for open_s, close_s in staffed_spans(log))


def staff_seconds(log: EventLog) -> dict[str, float]:
    """Staff-seconds per role: the rota, plus overtime of those on duty at each closing.

    In the paired layout a registrar works with each staffed station. Door-to-door
    teams count as ``home``. Logs without a staff plan count every server all day.
    """
    overtime = overtime_by_day_s(log)
    if log.plan is None:
        span = staffed_span_s(log)
        roles = {role(stage): count * span for stage, count in log.servers.items()}
    else:
        roles = log.plan.scheduled_s([(day * DAY, (day + 1) * DAY) for day in staffed_days(log)])
        for name, duty in log.plan.duty.items():
            roles[name] += sum(duty.count_until(log.hours[day][1]) * overtime[day] for day in staffed_days(log))
        if log.closures is not None:
            for name, late in log.closures.late_leaving_s().items():
                roles[name] += late
        if "registration" in log.servers and "registrar" not in roles:
            roles["registrar"] = roles["sampler"]
    if log.home is not None:
        span = sum(close_s - open_s for open_s, close_s in staffed_spans(log, home_team_days(log)))
        roles["home"] = log.home.teams * log.home.team_size * span
    return roles
