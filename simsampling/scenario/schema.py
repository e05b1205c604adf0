"""The scenario: what a planner writes, validated and immutable.

Field names and meanings are a contract with scenario files (see
docs/scenario-format.md). Defaults that stand for the real world are sourced in
docs/defaults.md. Checks that span several sections (slots inside opening hours,
unique point ids) live in ``Scenario._cross_checks`` and report the exact field
path through :class:`CrossFieldProblems`.
"""

from __future__ import annotations

import functools
import re
from typing import Annotated, Literal, Optional, Union

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from ..stages import ROLES, Stages, flow_of, flow_problems, role as stage_role
from .base import MAX_SERVERS, FrozenModel, Servers, Share
from .distributions import Duration, Lognormal, Normal, Offset, Triangular

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")

MAX_POPULATION = 50_000_000
MAX_DAYS = 14
DAY_S = 86_400.0
MAX_REPLICATIONS = 10_000


@functools.lru_cache(maxsize=2048)
def clock_seconds(hhmm: str) -> float:
    """Seconds since midnight of a validated "HH:MM" time of day (remembered: a city's diagnosis asks for the
    same few times over a hundred thousand times)."""
    hours, minutes = hhmm.split(":")
    return float(int(hours) * 3600 + int(minutes) * 60)


@functools.lru_cache(maxsize=256)
def _day_hours(open_hhmm: str, close_hhmm: str, days: int) -> tuple[tuple[float, float], ...]:
    open_s, close_s = clock_seconds(open_hhmm), clock_seconds(close_hhmm)
    return tuple((day * DAY_S + open_s, day * DAY_S + close_s) for day in range(days))


def _check_hhmm(value: str) -> str:
    if not _HHMM.match(value):
        raise ValueError(f'"{value}" is not a time of day "HH:MM" between 00:00 and 24:00')
    return value


ClockTime = Annotated[str, AfterValidator(_check_hhmm)]
"""A time of day written "HH:MM"; kept as text so a saved scenario reads the same."""

_Model = FrozenModel


class Clock(_Model):
    """Opening hours of every point: no new entries after ``close``."""

    open: ClockTime = "07:00"
    close: ClockTime = "23:00"

    @model_validator(mode="after")
    def _open_before_close(self) -> "Clock":
        if clock_seconds(self.close) <= clock_seconds(self.open):
            raise ValueError(f"close ({self.close}) must be after open ({self.open})")
        return self

    @property
    def open_s(self) -> float:
        return clock_seconds(self.open)

    @property
    def close_s(self) -> float:
        return clock_seconds(self.close)

    def hours(self, days: int) -> list[tuple[float, float]]:
        """(open, close) of each day of the round, in seconds since midnight of day 0 (a new list each call)."""
        return list(_day_hours(self.open, self.close, days))


class Round(_Model):
    """The campaign: how many days the points open, and by when everyone must be sampled."""

    days: Annotated[int, Field(ge=1, le=MAX_DAYS)] = 1
    deadline_h: Optional[Annotated[float, Field(gt=0, le=MAX_DAYS * 24 + 24, allow_inf_nan=False)]] = None


Day = Annotated[int, Field(ge=0, lt=MAX_DAYS)]


class _Window(_Model):
    """A stretch of a day, from ``start`` to ``end`` ("HH:MM")."""

    start: ClockTime
    end: ClockTime

    @model_validator(mode="after")
    def _start_before_end(self):
        if clock_seconds(self.end) <= clock_seconds(self.start):
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        return self


class Slot(_Window):
    share: Annotated[float, Field(gt=0.0, le=1.0, allow_inf_nan=False)]
    day: Day = 0


class MopUp(_Window):
    """A later window for residents who missed their turn: a ``share`` of them come."""

    day: Day = 0
    share: Share = 0.5


class _Called(_Model):
    """What every calling plan shares: who comes, how late, and a mop-up for the rest."""

    show_up: Share = 0.95
    lateness_min: Offset = Normal(dist="normal", mean=0, sd=10)
    mop_up: Optional[MopUp] = None


class SlotArrivals(_Called):
    """Residents called by time slot (from building rosters).

    Each resident shows up with probability ``show_up``, is called in a slot
    drawn by its share, and arrives at a uniform time within it plus lateness.
    """

    kind: Literal["slots"]
    slots: Annotated[list[Slot], Field(min_length=1, max_length=1000)]

    @field_validator("slots")
    @classmethod
    def _shares_sum_to_one(cls, slots: list[Slot]) -> list[Slot]:
        total = sum(slot.share for slot in slots)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"slot shares sum to {total:.6g}, they must sum to 1")
        return slots


class PoissonArrivals(_Model):
    """Walk-ins at a constant rate from ``start`` to ``end`` (default: opening hours).

    Arrivals stop early if the point's whole population has come.
    """

    kind: Literal["poisson"]
    rate_per_hour: Annotated[float, Field(gt=0, le=1_000_000, allow_inf_nan=False)]
    start: Optional[ClockTime] = None
    end: Optional[ClockTime] = None


class CallingArrivals(_Called):
    """Households called by building in turns: a batch every ``gap_min`` while open.

    The roster is split into households (size 1 + Poisson(household_size - 1)),
    households into batches of ``batch_households``; batch k is called at
    ``start`` + k x ``gap_min``, moving to the next opening when a day closes.
    A household arrives together, after its lateness. Households not called
    before the round's last closing are counted as ``not_called``.
    """

    kind: Literal["calling"]
    batch_households: Annotated[int, Field(ge=1, le=100_000)] = 20
    gap_min: Annotated[float, Field(gt=0, le=24 * 60, allow_inf_nan=False)] = 15.0
    household_size: Annotated[float, Field(ge=1, le=50, allow_inf_nan=False)] = 2.6
    start: Optional[ClockTime] = None
    day: Day = 0


Arrivals = Annotated[Union[SlotArrivals, PoissonArrivals, CallingArrivals], Field(discriminator="kind")]


class HomeSampling(_Model):
    """Door-to-door teams for residents who cannot come (elderly, disabled).

    A ``share`` of the roster is sampled at home, by household. A team walks or
    drives to each household, samples its members one by one, then changes
    its protective gear before the next; teams work during opening hours.
    """

    share: Share
    teams: Annotated[int, Field(ge=1, le=10_000)] = 1
    team_size: Annotated[int, Field(ge=1, le=20)] = 2
    household_size: Annotated[float, Field(ge=1, le=50, allow_inf_nan=False)] = 1.5
    travel_min: Duration = Triangular(dist="triangular", low=3, mode=8, high=15)
    service_min: Duration = Lognormal(dist="lognormal", mean=2, sd=0.5)
    ppe_change_min: Duration = Triangular(dist="triangular", low=15, mode=17.5, high=20)


class Pooling(_Model):
    """Pooled tubes at the swab stations: ``ratio`` residents' swabs in one tube.

    A tube is opened at its first swab and sealed when full (the sampler then
    spends ``tube_handling_s`` on barcode and sealing before the next resident),
    or when it has been open ``seal_after_min`` (sealed during the station's idle
    time), or at the end of the day.

    ``group_entry``: residents are let in to the stations by groups of ``ratio``
    (one tube per group, as in Qingdao 2020); a group that does not fill goes in
    after ``seal_after_min`` or at the closing. Needs one shared line and no
    registrar paired with the station.

    ``by_household``: sealed compounds, one tube per household. A household's
    members enter a station together once all of them (those who came and did
    not leave) are through registration; households larger than ``ratio`` fill
    several tubes. Needs households, so a calling plan, and the same layout as
    group entry.
    """

    ratio: Literal[1, 5, 10, 20] = 10
    seal_after_min: Annotated[float, Field(gt=0, le=24 * 60, allow_inf_nan=False)] = 30.0
    tube_handling_s: Duration = Triangular(dist="triangular", low=5, mode=10, high=20)
    group_entry: bool = False
    by_household: bool = False


Role = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
StaffCount = Annotated[int, Field(ge=0, le=MAX_SERVERS)]


class Breaks(_Model):
    """Samplers' breaks and PPE changes: ``length_min`` off after every ``every_min`` on duty.

    Station k's breaks come ``k x stagger_min`` later than station 0's, so one
    relief sampler can walk from station to station (default stagger: one break
    length). A station whose sampler is off takes no new resident (the one in
    the chair is finished first) unless a relief sampler is free to take over.
    """

    every_min: Annotated[float, Field(gt=0, le=24 * 60, allow_inf_nan=False)]
    length_min: Annotated[float, Field(gt=0, le=24 * 60, allow_inf_nan=False)]
    stagger_min: Optional[Annotated[float, Field(ge=0, le=24 * 60, allow_inf_nan=False)]] = None

    @property
    def stagger(self) -> float:
        return self.length_min if self.stagger_min is None else self.stagger_min


class StaffShift(_Window):
    """``count`` staff of one ``role`` on duty from ``start`` to ``end`` (every day, or on ``day``)."""

    role: Role
    count: Annotated[int, Field(ge=0, le=MAX_SERVERS)]
    day: Optional[Day] = None


class Staff(_Model):
    """Who works at a point: counts on duty through opening hours, or an explicit rota.

    Counts: ``samplers`` staff the stations in order (fewer than stations: the
    rest stay closed; default one per station); ``relief`` samplers cover
    breaks; ``registrars`` staff registration desks and ``temperature`` the
    entrance (default one per desk or server); ``marshals`` keep the line in
    order (staff-hours only). In the paired layout a registrar belongs to each
    staffed station. ``rota`` lists shifts; a role that appears in it is on duty
    only in its shifts, whatever its count says. A plain stage's servers are
    staffed by a count named after the stage (``health_code: 2``) or by shifts
    of that role; by default one per server.
    """

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, StaffCount]

    samplers: Optional[Annotated[int, Field(ge=0, le=MAX_SERVERS)]] = None
    relief: Annotated[int, Field(ge=0, le=MAX_SERVERS)] = 0
    registrars: Optional[Annotated[int, Field(ge=0, le=MAX_SERVERS)]] = None
    temperature: Optional[Annotated[int, Field(ge=0, le=MAX_SERVERS)]] = None
    marshals: Annotated[int, Field(ge=0, le=MAX_SERVERS)] = 0
    breaks: Optional[Breaks] = None
    rota: Annotated[list[StaffShift], Field(max_length=1000)] = []

    @property
    def stage_counts(self) -> dict[str, int]:
        """Staff of plain stages, by the stage's name (its role)."""
        return dict(self.__pydantic_extra__ or {})

    def count(self, name: str) -> Optional[int]:
        """The count of staff field ``name`` (``registrars``, a plain stage's name), None when not given."""
        return getattr(self, name) if name in type(self).model_fields else self.stage_counts.get(name)


class Balking(_Model):
    """A resident who finds more than ``threshold`` people ahead at the point leaves.

    Ahead: everyone at the point not yet at a swab station (in any line, or at
    the entrance check or registration). The threshold is drawn per resident (people). A ``return_share`` of those
    who leave come back once, ``return_after_min`` later, and look again.
    """

    threshold: Duration
    return_share: Share
    return_after_min: Duration = Triangular(dist="triangular", low=30, mode=60, high=120)


class Reneging(_Model):
    """A resident not at the swab station ``patience_min`` after arriving leaves the line."""

    patience_min: Duration


class GreenChannel(_Model):
    """Priority residents (elderly, disabled, pregnant, children): a ``share`` of the roster.

    ``channel: priority`` puts them ahead of others in every line;
    ``channel: dedicated`` also gives them ``stations`` of their own, which
    serve nobody else. Their service at every stage takes ``service_factor``
    times as long (assisted residents).
    """

    share: Share
    channel: Literal["priority", "dedicated"] = "priority"
    stations: Annotated[int, Field(ge=1, le=MAX_SERVERS)] = 1
    service_factor: Annotated[float, Field(ge=1, le=20, allow_inf_nan=False)] = 1.0


class WaitingArea(_Model):
    """The marked waiting area: ``length_m`` of queue line at ``spacing_m`` per person."""

    length_m: Annotated[float, Field(gt=0, le=100_000, allow_inf_nan=False)]
    spacing_m: Annotated[float, Field(gt=0, le=10, allow_inf_nan=False)] = 1.0

    @property
    def capacity(self) -> int:
        """People who fit in the marked area; at most a point's largest population (more never wait, and a
        spacing of a few denormal metres fits more than an integer holds)."""
        return int(min(self.length_m / self.spacing_m + 1e-9, MAX_POPULATION))


class Point(_Model):
    """A sampling point (采样点): tents with stations, a waiting line, its residents."""

    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    name: Annotated[str, Field(max_length=200)] = ""
    town: Optional[Annotated[str, Field(min_length=1, max_length=200)]] = None
    """The town or street the point belongs to: the advice moves stations only between points of a town
    (none given: the point id without its trailing number, ``tsh-07`` -> ``tsh``)."""
    population: Annotated[int, Field(ge=0, le=MAX_POPULATION)]
    tents: Servers
    queue: Literal["shared", "per_tent"] = "shared"
    stages: Stages = Field(default_factory=Stages.standard)
    arrivals: Optional[Arrivals] = None
    setup_min: Optional[Duration] = None
    home: Optional[HomeSampling] = None
    pooling: Optional[Pooling] = None
    lab: Optional[Annotated[str, Field(min_length=1, max_length=64)]] = None
    courier_travel_min: Optional[Duration] = None
    staff: Optional[Staff] = None
    balking: Optional[Balking] = None
    reneging: Optional[Reneging] = None
    green_channel: Optional[GreenChannel] = None
    waiting_area: Optional[WaitingArea] = None

    @property
    def stations(self) -> int:
        """Sampling stations: one per tent unless ``swab.servers`` gives a count."""
        servers = self.stages.swab.servers
        return self.tents if servers == "per_tent" else servers

    @property
    def paired_registration(self) -> bool:
        reg = self.stages.registration
        return reg is not None and reg.servers == "per_tent"

    @property
    def flow(self):
        """The stages a resident walks (``simsampling.stages.Flow``): the main flow, then side stages."""
        return flow_of(self.stages)

    def servers(self, stage: str) -> int:
        """Servers of a stage present at this point: ``per_tent`` is one per station for
        registration and swab (paired with it), one per tent for a plain stage."""
        if stage == "swab":
            return self.stations
        config = self.stages.config(stage)
        if config is None:
            raise KeyError(f"point {self.id} has no {stage} stage")
        if config.servers == "per_tent":
            return self.stations if stage == "registration" else self.tents
        return config.servers


class Shift(_Window):
    """A staffed shift of a laboratory, every day."""


class Lab(_Model):
    """A testing laboratory: instruments running batches of tubes, during staffed shifts.

    An instrument starts a run when ``tubes_per_run`` tubes wait, or when the
    oldest waiting tube has waited ``max_wait_min`` (a part-filled run); runs
    start only during a shift (none given: around the clock). Results of a run
    are released when it ends.
    """

    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    name: Annotated[str, Field(max_length=200)] = ""
    instruments: Annotated[int, Field(ge=1, le=10_000)] = 1
    tubes_per_run: Annotated[int, Field(ge=1, le=100_000)] = 96
    run_min: Annotated[float, Field(gt=0, le=24 * 60, allow_inf_nan=False)] = 240.0
    max_wait_min: Annotated[float, Field(ge=0, le=24 * 60, allow_inf_nan=False)] = 60.0
    shifts: Annotated[list[Shift], Field(max_length=24)] = []


class Couriers(_Model):
    """Couriers who take sealed tubes from points to their laboratory.

    ``per_points: k`` gives one courier to each group of k points (in scenario
    order); ``count: n`` instead shares n couriers out over the points in equal
    groups. A courier visits each of its points every ``pickup_interval_min``
    and when a point has ``box_tubes`` sealed tubes waiting (a full box).
    """

    per_points: Annotated[int, Field(ge=1, le=100_000)] = 1
    count: Optional[Annotated[int, Field(ge=1, le=100_000)]] = None
    pickup_interval_min: Annotated[float, Field(gt=0, le=24 * 60, allow_inf_nan=False)] = 60.0
    box_tubes: Annotated[int, Field(ge=1, le=100_000)] = 50
    travel_min: Duration = Triangular(dist="triangular", low=15, mode=30, high=60)


class Recall(_Model):
    """Members of a positive pool are recalled and swabbed again, one tube each."""

    delay_min: Duration = Triangular(dist="triangular", low=30, mode=60, high=120)


class Chain(_Model):
    """From sealed tube to released result: couriers, laboratories, positive pools."""

    labs: Annotated[list[Lab], Field(min_length=1, max_length=1000)]
    couriers: Couriers = Couriers()
    freshness_limit_h: Annotated[float, Field(gt=0, le=72, allow_inf_nan=False)] = 4.0
    prevalence: Share = 0.0
    recall: Recall = Recall()


class CrossFieldProblems(ValueError):
    """Problems found across sections, each with the path of the field at fault."""

    def __init__(self, problems: list[tuple[tuple, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{'.'.join(map(str, p))}: {m}" for p, m in problems))


class Scenario(_Model):
    name: Annotated[str, Field(min_length=1, max_length=120)]
    description: str = ""
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    replications: Annotated[int, Field(ge=1, le=MAX_REPLICATIONS)] = 10
    clock: Clock = Clock()
    round: Round = Round()
    points: Annotated[list[Point], Field(min_length=1, max_length=100_000)]
    arrivals: Arrivals
    chain: Optional[Chain] = None

    def arrivals_for(self, point: Point) -> Union[SlotArrivals, PoissonArrivals, CallingArrivals]:
        return point.arrivals if point.arrivals is not None else self.arrivals

    def pooling_for(self, point: Point) -> Optional[Pooling]:
        """A point's pooling; with a sample chain, points that say nothing pool by the default ratio."""
        if point.pooling is not None:
            return point.pooling
        return Pooling() if self.chain is not None else None

    @property
    def points_per_courier(self) -> int:
        couriers = self.chain.couriers
        if couriers.count is None:
            return couriers.per_points
        return -(-len(self.points) // min(couriers.count, len(self.points)))

    def lab_for(self, point: Point) -> Optional[Lab]:
        if self.chain is None:
            return None
        wanted = point.lab or self.chain.labs[0].id
        return next(lab for lab in self.chain.labs if lab.id == wanted)

    @property
    def hours(self) -> list[tuple[float, float]]:
        """(open, close) of each day of the round, seconds since midnight of day 0."""
        return self.clock.hours(self.round.days)

    @property
    def deadline_s(self) -> float:
        """The deadline in seconds since midnight of day 0 (default: the last closing)."""
        if self.round.deadline_h is None:
            return self.hours[-1][1]
        return self.clock.open_s + self.round.deadline_h * 3600.0

    @model_validator(mode="after")
    def _cross_checks(self) -> "Scenario":
        problems: list[tuple[tuple, str]] = []
        seen: dict[str, int] = {}
        for index, point in enumerate(self.points):
            if point.id in seen:
                problems.append(
                    (("points", index, "id"), f'"{point.id}" is already used by points[{seen[point.id]}]')
                )
            seen.setdefault(point.id, index)
        days = self.round.days
        problems += _arrival_window_problems(self.arrivals, self.clock, days, ("arrivals",))
        for index, point in enumerate(self.points):
            if point.arrivals is not None:
                problems += _arrival_window_problems(
                    point.arrivals, self.clock, days, ("points", index, "arrivals")
                )
        for index, point in enumerate(self.points):
            pooling = self.pooling_for(point)
            for flag in ("group_entry", "by_household"):
                if pooling is not None and getattr(pooling, flag) and (point.queue != "shared" or point.paired_registration):
                    problems.append((("points", index, "pooling", flag),
                                     "needs `queue: shared` and registration desks (not `servers: per_tent`)"))
            if pooling is not None and pooling.by_household and not isinstance(self.arrivals_for(point), CallingArrivals):
                problems.append((("points", index, "pooling", "by_household"), "needs households: a calling plan (`kind: calling`)"))
        for index, point in enumerate(self.points):
            problems += _point_problems(point, self.pooling_for(point), days, ("points", index))
        if self.chain is not None:
            labs = [lab.id for lab in self.chain.labs]
            for index, lab in enumerate(labs):
                if lab in labs[:index]:
                    problems.append((("chain", "labs", index, "id"), f'"{lab}" is already used by another lab'))
            for index, point in enumerate(self.points):
                if point.lab is not None and point.lab not in labs:
                    problems.append((("points", index, "lab"), f'"{point.lab}" is not a lab of chain.labs ({", ".join(labs)})'))
        if problems:
            raise CrossFieldProblems(problems)
        return self


def _point_problems(point: Point, pooling: Optional[Pooling], days: int, path: tuple) -> list[tuple[tuple, str]]:
    """The flow must make sense, and staff, green channels and reserved stations must fit the point's layout."""
    problems = flow_problems(point.stages, path + ("stages",))
    green = point.green_channel
    dedicated = green.stations if green is not None and green.channel == "dedicated" else 0
    reserved = point.stages.swab.reserved
    kept = dedicated + (reserved.stations if reserved is not None else 0)
    if kept and kept >= point.stations:
        where = path + (("green_channel", "stations") if dedicated else ("stages", "swab", "reserved", "stations"))
        what = " and ".join(f"{n} {name}" for n, name in ((dedicated, "dedicated"), (kept - dedicated, "reserved")) if n)
        problems.append((where, f"{what} station(s) leave none of the point's {point.stations} for other residents"))
    if kept and pooling is not None and (pooling.group_entry or pooling.by_household):
        where = path + (("green_channel", "channel") if dedicated else ("stages", "swab", "reserved"))
        problems.append((where, f"{'dedicated' if dedicated else 'reserved'} stations do not work with group entry to the stations"))
    staff = point.staff
    if staff is None or problems:
        return problems
    stages = point.stages
    if point.paired_registration or stages.registration is None:
        why = "registrars are paired with the stations (they follow `samplers`)" if stages.registration else "the point has no registration stage"
        if staff.registrars is not None:
            problems.append((path + ("staff", "registrars"), why))
        problems += [(path + ("staff", "rota", k, "role"), why) for k, shift in enumerate(staff.rota) if shift.role == "registrar"]
    if stages.temperature is None:
        why = "the point has no temperature stage"
        if staff.temperature is not None:
            problems.append((path + ("staff", "temperature"), why))
        problems += [(path + ("staff", "rota", k, "role"), why) for k, shift in enumerate(staff.rota) if shift.role == "temperature"]
    own = {stage_role(name) for name in stages.names} - set(ROLES)  # plain stages' roles: their names
    for name in staff.stage_counts:
        if name not in own:
            problems.append((path + ("staff", name), "is not a known field (see docs/scenario-format.md): staff are counted as samplers, "
                                                     "relief, registrars, temperature, marshals, or by the name of a plain stage of the point"))
    for k, shift in enumerate(staff.rota):
        if shift.role not in ROLES and shift.role not in own:
            problems.append((path + ("staff", "rota", k, "role"),
                             f"'{shift.role}' is not a role: {', '.join(ROLES + tuple(sorted(own)))}"))
    counts = {"sampler": staff.samplers, "relief": staff.relief or None, "registrar": staff.registrars,
              "temperature": staff.temperature, "marshal": staff.marshals or None, **staff.stage_counts}
    fields = {"sampler": "samplers", "relief": "relief", "registrar": "registrars", "temperature": "temperature", "marshal": "marshals"}
    for role in dict.fromkeys(shift.role for shift in staff.rota):
        if counts.get(role) is not None:
            problems.append((path + ("staff", fields.get(role, role)), f"role {role} is also in the rota: give a role either as a count or in the rota"))
    for k, shift in enumerate(staff.rota):
        if shift.day is not None and shift.day >= days:
            problems.append((path + ("staff", "rota", k, "day"), f"day {shift.day} is outside the round's {days} day(s) (days count from 0)"))
    return problems


def _arrival_window_problems(arrivals, clock: Clock, days: int, path: tuple) -> list[tuple[tuple, str]]:
    """Calling slots, call starts, mop-ups and walk-in windows must lie within opening hours."""
    hours = f"opening hours {clock.open}-{clock.close}"
    round_days = f"the round's {days} day(s) (days count from 0)"
    problems = []

    def window(start: str, end: str, where: tuple, what: str) -> None:
        if clock_seconds(start) < clock.open_s or clock_seconds(end) > clock.close_s:
            span = start if start == end else f"{start}-{end}"
            problems.append((where, f"{what} {span} is outside the {hours}"))

    def day(value: int, where: tuple) -> None:
        if value >= days:
            problems.append((where, f"day {value} is outside {round_days}"))

    if isinstance(arrivals, (SlotArrivals, CallingArrivals)) and arrivals.mop_up is not None:
        window(arrivals.mop_up.start, arrivals.mop_up.end, path + ("mop_up",), "mop-up window")
        day(arrivals.mop_up.day, path + ("mop_up", "day"))
    if isinstance(arrivals, SlotArrivals):
        for index, slot in enumerate(arrivals.slots):
            window(slot.start, slot.end, path + ("slots", index), "slot")
            day(slot.day, path + ("slots", index, "day"))
    elif isinstance(arrivals, CallingArrivals):
        if arrivals.start is not None:
            window(arrivals.start, arrivals.start, path + ("start",), "first call")
        day(arrivals.day, path + ("day",))
    else:
        for key in ("start", "end"):
            value = getattr(arrivals, key)
            if value is not None and not clock.open_s <= clock_seconds(value) <= clock.close_s:
                problems.append((path + (key,), f"{value} is outside the {hours}"))
        start, end = poisson_window(arrivals, clock)
        if end <= start:
            problems.append((path + ("end",), "the walk-in window must end after it starts"))
    return problems


def poisson_window(arrivals: PoissonArrivals, clock: Clock) -> tuple[float, float]:
    """Seconds since midnight between which walk-ins arrive."""
    start = clock_seconds(arrivals.start) if arrivals.start else clock.open_s
    end = clock_seconds(arrivals.end) if arrivals.end else clock.close_s
    return start, end
