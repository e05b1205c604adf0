"""Who is on duty when: a point's staff plan turned into closures of its stations and desks.

The plan is deterministic (rotas and breaks are schedules, not random), so it
is computed once, before the model runs, and any engine can apply it:

* each serving role (sampler, registrar at desks, temperature checker) has
  numbered slots, one per station, desk or server; slot k is staffed while
  more than k of the role are on duty;
* within opening hours, a slot not staffed is closed (``off_duty``); if it is
  still unstaffed at a day's closing it stays closed until the next opening,
  so only the staff on duty at closing serve the line out;
* samplers' breaks close their station for the break's length, unless a
  relief sampler on duty and free for the whole break takes over (assigned
  first come, first served).

Staff-hours per role are those of the rota; the model adds overtime.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Optional

from .scenario.schema import DAY_S, Point, Staff, StaffShift, clock_seconds
from .stages import staff_count

Hours = list[tuple[float, float]]


@dataclass(frozen=True)
class Closure:
    """A slot of a role taking no new residents from ``start_s``.

    A break (``length_s`` set) lasts its length from when the slot's current
    resident is done; an off-duty spell lasts until ``end_s``.
    """

    role: str
    slot: int
    start_s: float
    end_s: float
    reason: str  # "break" or "off_duty"

    @property
    def length_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Duty:
    """Pieces of a piecewise-constant count of staff on duty: (start, end, count), in time order."""

    pieces: list[tuple[float, float, int]]

    def staffed(self, slot: int) -> list[tuple[float, float]]:
        """Maximal stretches during which more than ``slot`` staff are on duty."""
        stretches: list[tuple[float, float]] = []
        for start, end, count in self.pieces:
            if count <= slot:
                continue
            if stretches and stretches[-1][1] == start:
                stretches[-1] = (stretches[-1][0], end)
            else:
                stretches.append((start, end))
        return stretches

    def count_at(self, time: float) -> int:
        return sum(count for start, end, count in self.pieces if start <= time < end)

    def count_until(self, time: float) -> int:
        """Staff on duty just before ``time`` (those still there at a closing)."""
        return sum(count for start, end, count in self.pieces if start < time <= end)

    @property
    def seconds(self) -> float:
        """Staff-seconds on duty."""
        return sum((end - start) * count for start, end, count in self.pieces)

    def seconds_within(self, windows: list[tuple[float, float]]) -> float:
        """Staff-seconds on duty within the given (start, end) windows."""
        return sum(max(0.0, min(end, high) - max(start, low)) * count
                   for start, end, count in self.pieces for low, high in windows)


@dataclass(frozen=True)
class StaffPlan:
    """A point's duty per role, the closures it implies, and the breaks relief covered."""

    duty: dict[str, Duty]
    closures: list[Closure] = field(default_factory=list)
    covered_breaks: list[Closure] = field(default_factory=list)
    _scheduled: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    """``scheduled_s`` by its windows, found once per plan (a plan without staff is shared by a city's points)."""

    def closures_of(self, role: str) -> list[Closure]:
        return [c for c in self.closures if c.role == role]

    def on_duty_at(self, role: str, time: float) -> int:
        duty = self.duty.get(role)
        return duty.count_at(time) if duty is not None else 0

    def scheduled_s(self, windows: Optional[list[tuple[float, float]]] = None) -> dict[str, float]:
        """Staff-seconds per role by the rota (within ``windows`` only, when given)."""
        if windows is None:
            return {role: duty.seconds for role, duty in self.duty.items()}
        key = tuple(map(tuple, windows))
        found = self._scheduled.get(key)
        if found is None:
            found = self._scheduled[key] = {role: duty.seconds_within(windows) for role, duty in self.duty.items()}
        return dict(found)  # (a copy: callers add to theirs)


def _shift_pieces(shifts: list[StaffShift], days: int) -> Duty:
    """Sum overlapping shifts into pieces of constant count."""
    edges: dict[float, int] = {}
    for shift in shifts:
        for day in range(days) if shift.day is None else [shift.day]:
            start = day * DAY_S + clock_seconds(shift.start)
            end = day * DAY_S + clock_seconds(shift.end)
            edges[start] = edges.get(start, 0) + shift.count
            edges[end] = edges.get(end, 0) - shift.count
    times = sorted(edges)
    pieces, count = [], 0
    for start, end in zip(times, times[1:]):
        count += edges[start]
        if count:
            pieces.append((start, end, count))
    return Duty(pieces)


def _counts(staff: Staff, serving: dict[str, str], servers: dict[str, int], stations: int) -> dict[str, int]:
    """Staff on duty through opening hours per role when no rota says otherwise (``serving``: ``serving_roles``;
    ``servers``: each serving stage's)."""
    counts = {"sampler": stations if staff.samplers is None else staff.samplers, "relief": staff.relief, "marshal": staff.marshals}
    for stage, role in serving.items():
        if role != "sampler":
            given = staff.count(staff_count(stage))
            counts[role] = servers[stage] if given is None else given
    return counts


def serving_roles(point: Point) -> dict[str, str]:
    """The role serving each stage whose servers are staffed on their own, by stage (a paired
    registrar follows its station's sampler; marshals and relief serve no line)."""
    return {stage.name: stage.role for stage in point.flow.stages if not (stage.name == "registration" and point.paired_registration)}


NO_STAFF = Staff()
"""The staff of a point that says none (frozen, so shared): a ``Staff()`` validated anew, its empty rota
deep-copied, at every point of a city cost about half of its staff plan."""


def staff_plan(point: Point, hours: Hours) -> StaffPlan:
    """The duty, closures and covered breaks of a point over the round's opening hours. A point without staff (a
    city's points) shares the plan of every such point of its stages, servers and hours (``_plan_without_staff``:
    its rota is the opening hours, so these are all it depends on)."""
    serving = serving_roles(point)
    servers = tuple(point.servers(stage) for stage in serving)
    if point.staff is None:
        return _plan_without_staff(tuple(serving.items()), servers, point.stations, tuple(map(tuple, hours)))
    return _plan(point.staff, serving, servers, point.stations, hours)


@functools.lru_cache(maxsize=256)
def _plan_without_staff(serving: tuple[tuple[str, str], ...], servers: tuple[int, ...], stations: int,
                        hours: tuple[tuple[float, float], ...]) -> StaffPlan:
    """The plan of a point without staff (``NO_STAFF``), made once for its stages, servers and hours (plans are
    frozen and read only: shared)."""
    return _plan(NO_STAFF, dict(serving), servers, stations, list(hours))


def _plan(staff: Staff, serving: dict[str, str], servers: tuple[int, ...], stations: int, hours: Hours) -> StaffPlan:
    """``staff_plan`` of a point's staff, serving roles, the servers of each serving stage and its stations."""
    duty = {}
    for role, count in _counts(staff, serving, dict(zip(serving, servers)), stations).items():
        shifts = [s for s in staff.rota if s.role == role]
        duty[role] = _shift_pieces(shifts, len(hours)) if shifts else Duty([(o, c, count) for o, c in hours if count])
    closures: list[Closure] = []
    for (stage, role), slots in zip(serving.items(), servers):
        if role in duty:
            closures += _off_duty(role, duty[role], slots, hours)
    breaks = _breaks(duty["sampler"], stations, staff, hours)
    covered = _relieve(breaks, duty["relief"])
    closures += [b for b in breaks if b not in covered]
    closures.sort(key=lambda c: (c.start_s, c.role, c.slot))
    return StaffPlan(duty=duty, closures=closures, covered_breaks=covered)


def _off_duty(role: str, duty: Duty, slots: int, hours: Hours) -> list[Closure]:
    """Spells within opening hours when a slot is unstaffed; unstaffed at closing runs to the next opening."""
    closures = []
    for slot in range(slots):
        staffed = duty.staffed(slot)
        for day, (open_s, close_s) in enumerate(hours):
            cursor = open_s
            gaps = []
            for start, end in staffed:
                if end <= cursor or start >= close_s:
                    continue
                if start > cursor:
                    gaps.append((cursor, start))
                cursor = max(cursor, end)
            if cursor < close_s:
                reopen = hours[day + 1][0] if day + 1 < len(hours) else math.inf
                gaps.append((cursor, reopen))
            for start, end in gaps:
                if closures and closures[-1].slot == slot and closures[-1].end_s == start:
                    start = closures.pop().start_s  # closed at closing and still at opening: one spell
                closures.append(Closure(role, slot, start, end, "off_duty"))
    return closures


def _breaks(duty: Duty, stations: int, staff: Staff, hours: Hours) -> list[Closure]:
    """Each staffed station's breaks: ``length`` after every ``every`` on duty, staggered by station."""
    config = staff.breaks
    if config is None:
        return []
    every, length, stagger = 60.0 * config.every_min, 60.0 * config.length_min, 60.0 * config.stagger
    breaks = []
    for slot in range(stations):
        for start, end in duty.staffed(slot):
            for open_s, close_s in hours:  # a stretch spanning the night restarts at each opening
                stretch_start, stretch_end = max(start, open_s), min(end, close_s)
                at = stretch_start + every + slot * stagger
                while at + length <= stretch_end:
                    breaks.append(Closure("sampler", slot, at, at + length, "break"))
                    at += length + every
    return sorted(breaks, key=lambda c: (c.start_s, c.slot))


def _relieve(breaks: list[Closure], relief: Duty) -> list[Closure]:
    """Breaks a relief sampler covers: the first relief on duty and free for the whole break."""
    free_from: dict[int, float] = {}
    covered = []
    for closure in breaks:
        for slot in range(max((count for _, _, count in relief.pieces), default=0)):
            on_duty = any(s <= closure.start_s and closure.end_s <= e for s, e in relief.staffed(slot))
            if on_duty and free_from.get(slot, -math.inf) <= closure.start_s:
                free_from[slot] = closure.end_s
                covered.append(closure)
                break
    return covered
