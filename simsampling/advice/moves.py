"""Moves inside a town: which points can give a station (with its staff) to which.

A point can give one (a donor) when the impact view judged its ``tent-1`` a saving: with
one tent fewer its p90 wait and its finish stay within the targets, with confidence (it
has idle stations and slack). A point should take one (a recipient) when it misses a target
and its ``tent+1`` helps: the ranked KPI drops significantly. Within each town, recipients,
the most helped first, take a station from a donor, the least harmed first; each point
gives or takes at most one (a first step: run the advice again on the moved scenario for
the next). The staff-hours of the district hardly change: a tent's staff move with it.

Towns: a point's ``town`` field, or else its id without the trailing number (``tsh-07`` ->
``tsh``); points whose id carries no number form one group, the whole district.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from ..scenario.schema import Point

_NUMBERED = re.compile(r"^(.*?)[-_.]?\d+$")


def town_of(point: Point) -> str:
    """The point's town: its ``town`` field, else its id less the trailing number ("" when there is none)."""
    if point.town:
        return point.town
    match = _NUMBERED.match(point.id)
    return match.group(1) if match and match.group(1) else ""


def town_label(town: str) -> str:
    return town or "the district"


@dataclass
class Move:
    """One station from ``donor`` to ``recipient``, with each side's measured effect (impact Effects)."""

    town: str
    donor: str
    recipient: str
    give: Any
    """The ``tent-1`` effect at the donor."""
    take: Any
    """The ``tent+1`` effect at the recipient."""
    sentence: str = ""

    @property
    def staff_hours(self) -> float:
        return self.give.cost + self.take.cost

    def as_dict(self) -> dict[str, Any]:
        return {"town": self.town, "from": self.donor, "to": self.recipient,
                "from_deltas": self.give.deltas, "to_deltas": self.take.deltas,
                "staff_hours_change": self.staff_hours, "sentence": self.sentence}


def town_moves(points: Sequence[Point], effects: Iterable[Any], missing: set[str]) -> list[Move]:
    """Moves of one station between points of a town (see the module doc); ``missing``: points missing a target."""
    by = {(e.point_id, e.lever.name): e for e in effects}
    towns: dict[str, list[Point]] = {}
    for point in points:
        towns.setdefault(town_of(point), []).append(point)
    moves = []
    for town, members in towns.items():
        donors = [by[(p.id, "tent-1")] for p in members if (p.id, "tent-1") in by and p.id not in missing
                  and by[(p.id, "tent-1")].verdict == "saves"]
        takers = [by[(p.id, "tent+1")] for p in members if (p.id, "tent+1") in by and p.id in missing
                  and by[(p.id, "tent+1")].verdict == "helps"]
        donors.sort(key=lambda e: (-e.improvement, e.point_id))  # the least harmed first
        takers.sort(key=lambda e: (-e.improvement, e.point_id))  # the most helped first
        for take, give in zip(takers, donors):
            moves.append(Move(town, give.point_id, take.point_id, give, take))
    return moves
