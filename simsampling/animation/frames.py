"""Where every resident is at each frame: in a line (and its place in it), at a server, leaving.

Read generically from the point's stages in walking order (``<stage>_start_s`` and
``<stage>_end_s`` of persons.csv): a resident stands in the line of a stage from the end
of the stage before (or its arrival) to its start there, or to leaving the line; it is
served from start to end; the lines are those of ``EventLog.line``, so the count of a
line at any moment is the one the time series integrates (timeseries.csv).

A side stage (an isolation tent) is reached from the end of the stage that diverted the
resident, and left unswabbed. A resident who has just left (swabbed, given up, turned
away, diverted) stays visible at the exit, at the entrance or beside the side stages for
``LINGER_S``, so that departures can be seen between frames.
"""

from __future__ import annotations

import bisect
import heapq
import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .scene import Scene

LINGER_S = 60.0
"""Seconds a resident who left stays drawn at the exit (or the entrance, if it gave up)."""

QR, MANUAL, PRIORITY = 0, 1, 2
"""Colour classes of a resident: registered by QR code, manually, or a priority resident (green channel)."""


@dataclass
class Track:
    """The timestamps of one stage for the residents of a scene, and where they wait and are served."""

    name: str
    line: str
    enter: np.ndarray
    start: np.ndarray
    end: np.ndarray
    stood: np.ndarray
    leave: np.ndarray
    server: np.ndarray
    rank: np.ndarray
    """Place in the line's order: priority residents (where they go first) ahead, then by joining time."""
    lane: np.ndarray
    """The station whose line the resident waits in (lines per station)."""


@dataclass
class Residents:
    """The scene's residents as arrays, with one :class:`Track` per stage in walking order."""

    count: int
    colour: np.ndarray
    status: np.ndarray
    arrival: np.ndarray
    tracks: list[Track]
    exit_s: np.ndarray
    """When a sampled resident left the last stage (NaN otherwise)."""
    gave_up_s: np.ndarray
    """When a resident left on seeing the line or left a line (balked, reneged)."""
    turned_s: np.ndarray
    """When a resident not served and not giving up was last seen (turned away, or left when the staff left)."""
    diverted_s: np.ndarray
    """When a diverted resident left its last side stage."""

    @property
    def last_s(self) -> np.ndarray:
        """When each resident leaves the picture."""
        times = np.column_stack([self.arrival, self.exit_s, self.gave_up_s, self.turned_s, self.diverted_s,
                                 *(t.end for t in self.tracks)])
        return np.nanmax(np.where(np.isnan(times), -math.inf, times), axis=1) + LINGER_S


def assign_servers(start: np.ndarray, until: np.ndarray, servers: int, known: Optional[np.ndarray] = None) -> np.ndarray:
    """Server numbers for residents whose log does not say which server they had (``known`` < 0 or absent).

    A resident holds its server from its start to ``until``. Each one without a known
    server, in order of its start, takes the lowest-numbered server free for the whole
    of that time (of residents with a known server and of those given one before); -1
    when none is (the log then disagrees with the flow). When no server is known this
    is the usual greedy interval partitioning, and never fails while no more than
    ``servers`` are in service at once, as in the log.
    """
    number = np.full(start.size, -1, dtype=np.int64) if known is None else known.astype(np.int64).copy()
    until = np.where(np.isnan(until), math.inf, until)
    todo = [i for i in np.argsort(start, kind="stable").tolist() if not math.isnan(start[i]) and number[i] < 0]
    if not (number >= 0).any():
        free = list(range(servers))
        busy: list[tuple[float, int]] = []
        for i in todo:
            while busy and busy[0][0] <= start[i]:
                heapq.heappush(free, heapq.heappop(busy)[1])
            if free:
                number[i] = heapq.heappop(free)
                heapq.heappush(busy, (until[i], int(number[i])))
        return number
    taken: list[list[tuple[float, float]]] = [[] for _ in range(servers)]
    for i in np.flatnonzero(number >= 0).tolist():
        if number[i] < servers:
            bisect.insort(taken[number[i]], (start[i], until[i]))
    for i in todo:
        for k, spans in enumerate(taken):
            at = bisect.bisect(spans, (start[i], until[i]))
            if (at == 0 or spans[at - 1][1] <= start[i]) and (at == len(spans) or spans[at][0] >= until[i]):
                spans.insert(at, (start[i], until[i]))
                number[i] = k
                break
    return number


def _line_order(rows: np.ndarray, joined: np.ndarray, priority: Optional[np.ndarray]) -> np.ndarray:
    """Each resident's place in the order of a line: priority residents first (where they go first), then by joining."""
    keys = (rows, joined) if priority is None else (rows, joined, ~priority)
    rank = np.empty(rows.size, dtype=np.int64)
    rank[np.lexsort(keys)] = rows
    return rank


def residents_of(scene: Scene) -> Residents:
    """Every resident's stages as :class:`Track` arrays (generic over the point's flow)."""
    persons = scene.persons
    status = persons["status"]
    count = status.size
    served = status == "sampled"
    reneged = status == "reneged"
    priority = persons["priority"]
    colour = np.where(priority, PRIORITY, np.where(persons["qr"], QR, MANUAL)).astype(np.int8)
    prioritised = scene.flow.get("green_channel") is not None
    stations = max(1, int(scene.flow["stations"]))
    names = [stage["name"] for stage in scene.stages]
    if "left_stage" in persons:  # by name, when persons.csv says it
        left_stage = np.array([names.index(s) if s in names else -1 for s in persons["left_stage"]], dtype=np.int64)
    else:  # the line a resident left is that of the first stage it never started
        starts = np.column_stack([persons[f"{name}_start_s"] for name in names]) if names else np.zeros((count, 0))
        unstarted = np.isnan(starts)
        left_stage = np.where(unstarted.any(axis=1), unstarted.argmax(axis=1), -1)
    rows = np.arange(count)
    tracks: list[Track] = []
    previous_end = persons["arrival_s"]
    stages = scene.stages
    for index, stage in enumerate(stages):
        name = stage["name"]
        start, end = persons[f"{name}_start_s"], persons[f"{name}_end_s"]
        left_here = reneged & (left_stage == index)
        if stage.get("side"):  # reached by a divert from its sources, by those who went there
            previous_end = np.fmax.reduce([persons[f"{source}_end_s"] for source in stage["from"]]) if stage["from"] else previous_end
            stood = np.isfinite(start)
        else:
            stood = served | np.isfinite(start) | left_here
        leave = np.where(left_here, persons["left_s"], start)
        tracks.append(Track(name=name, line=stage["line"], enter=previous_end, start=start, end=end, stood=stood,
                            leave=leave, server=np.full(count, -1, dtype=np.int64), rank=_line_order(rows, previous_end, priority if prioritised else None),
                            lane=np.where(persons["station"] >= 0, persons["station"], rows % stations)))
        previous_end = end
    for index, (stage, track) in enumerate(zip(stages, tracks)):
        # A server is held to the end of its service, or, when the next stage's residents wait at it, until they leave it.
        after = tracks[index + 1] if index + 1 < len(tracks) and tracks[index + 1].line == "at_previous" else None
        until = np.where(np.isfinite(after.leave), after.leave, track.end) if after is not None else track.end
        column = stage.get("server_column")
        known = np.where(np.isfinite(track.start), persons[column], -1) if column else None
        track.server = assign_servers(track.start, until, int(stage["servers"]), known)
    main = [track for track, stage in zip(tracks, stages) if not stage.get("side")]
    last_end = main[-1].end if main else persons["arrival_s"]
    gave_up = (status == "balked") | reneged
    diverted = status == "diverted"
    seen = np.column_stack([persons["arrival_s"], *(t.end for t in tracks)])
    last_seen = np.nanmax(np.where(np.isnan(seen), -math.inf, seen), axis=1)
    turned = ~served & ~gave_up & ~diverted
    return Residents(
        count=count,
        colour=colour,
        status=status,
        arrival=persons["arrival_s"],
        tracks=tracks,
        exit_s=np.where(served, last_end, math.nan),
        gave_up_s=np.where(gave_up, persons["left_s"], math.nan),
        turned_s=np.where(turned & np.isfinite(last_seen), last_seen, math.nan),
        diverted_s=np.where(diverted, persons["left_s"], math.nan),
    )


@dataclass
class Frame:
    """One moment: where each resident on the picture is, and the counts the page prints.

    ``groups`` maps a group of places to the residents in it, front first:
    ``("line", stage)`` a shared line, ``("lane", stage, station)`` a line per station,
    ``("held", stage, server)`` a resident keeping the server of the stage before,
    ``("server", stage, server)`` a resident in service, and ``("exit",)``,
    ``("gave_up",)``, ``("turned",)``, ``("diverted",)`` those who just left (most recent first).
    """

    time_s: float
    groups: dict[tuple, np.ndarray] = field(default_factory=dict)
    waiting: list[int] = field(default_factory=list)
    serving: list[int] = field(default_factory=list)
    arrived: int = 0
    sampled: int = 0
    gave_up: int = 0
    turned: int = 0
    diverted: int = 0
    stations: dict[int, str] = field(default_factory=dict)
    """Stations not serving residents: ``closed_break``, ``closed_off_duty``, ``sealing``, ``disinfection``."""

    @property
    def waiting_total(self) -> int:
        return sum(self.waiting)


def _active(begin: np.ndarray, end: np.ndarray, t: float) -> np.ndarray:
    """Residents whose interval [begin, end) holds ``t`` (NaN: never)."""
    return (begin <= t) & (t < end)


def _front_first(members: np.ndarray, key: np.ndarray) -> np.ndarray:
    return members[np.argsort(key[members], kind="stable")]


class Totals:
    """Residents arrived, sampled, given up, turned away and diverted by a time, over the whole day."""

    def __init__(self, residents: Residents):
        times = (residents.arrival, residents.exit_s, residents.gave_up_s, residents.turned_s, residents.diverted_s)
        self.sorted = [np.sort(values[~np.isnan(values)]) for values in times]

    def at(self, t: float) -> tuple[int, ...]:
        return tuple(int(np.searchsorted(values, t, side="right")) for values in self.sorted)


def frame_at(residents: Residents, t: float, spells: list[tuple[str, int, float, float, str]],
             totals: Optional[Totals] = None) -> Frame:
    """The picture at time ``t`` (seconds since midnight of day 0); ``totals`` of the whole day when
    ``residents`` is a subset (default: those of ``residents``)."""
    frame = Frame(time_s=t)
    groups = frame.groups
    for index, track in enumerate(residents.tracks):
        waiting = np.flatnonzero(track.stood & _active(track.enter, track.leave, t))
        frame.waiting.append(int(waiting.size))
        if track.line == "shared":
            groups[("line", index)] = _front_first(waiting, track.rank)
        elif track.line == "per_station":
            ordered = waiting[np.lexsort((track.rank[waiting], track.lane[waiting]))]
            for lane in np.unique(track.lane[ordered]).tolist():
                groups[("lane", index, lane)] = ordered[track.lane[ordered] == lane]
        else:  # at_previous: at the server of the stage before, which it keeps
            holding = residents.tracks[index - 1].server[waiting]
            for member, server in zip(waiting.tolist(), holding.tolist()):
                if server >= 0:
                    groups[("held", index - 1, server)] = np.array([member])
        serving = np.flatnonzero(_active(track.start, track.end, t))
        frame.serving.append(int(serving.size))
        for member, server in zip(serving.tolist(), track.server[serving].tolist()):
            if server >= 0:
                groups[("server", index, server)] = np.array([member])
    for name, times in (("exit", residents.exit_s), ("gave_up", residents.gave_up_s), ("turned", residents.turned_s),
                        ("diverted", residents.diverted_s)):
        recent = np.flatnonzero(_active(times, times + LINGER_S, t))
        groups[(name,)] = recent[np.argsort(-times[recent], kind="stable")]
    frame.arrived, frame.sampled, frame.gave_up, frame.turned, frame.diverted = (totals or Totals(residents)).at(t)
    for state, station, begin, end, reason in spells:
        if state != "staffed" and begin <= t < end and station >= 0:
            frame.stations[station] = f"closed_{reason}" if state == "closed" else state
    return frame


def window_residents(residents: Residents, start_s: float, end_s: float) -> np.ndarray:
    """Residents on the picture at some moment of [start_s, end_s]."""
    return np.flatnonzero((residents.arrival <= end_s) & (residents.last_s >= start_s))


def subset(residents: Residents, members: np.ndarray) -> Residents:
    """The same residents' arrays restricted to ``members`` (ranks kept: the order within lines is the whole day's)."""

    def cut(track: Track) -> Track:
        return Track(**{name: (getattr(track, name)[members] if isinstance(getattr(track, name), np.ndarray)
                               else getattr(track, name)) for name in track.__dataclass_fields__})

    return Residents(count=int(members.size), colour=residents.colour[members], status=residents.status[members],
                     arrival=residents.arrival[members], tracks=[cut(t) for t in residents.tracks],
                     exit_s=residents.exit_s[members], gave_up_s=residents.gave_up_s[members],
                     turned_s=residents.turned_s[members], diverted_s=residents.diverted_s[members])


def frame_times(start_s: float, end_s: float, step_s: float) -> np.ndarray:
    """Frames from ``start_s`` to ``end_s`` (included when on the step), every ``step_s``."""
    count = int(math.floor((end_s - start_s) / step_s + 1e-9)) + 1
    return start_s + np.arange(count) * step_s

