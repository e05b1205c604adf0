"""Levers: the changes a planner can make at a sampling point, each described once.

A *knob* is something a planner sets at a point: its tents (stations, with their staff), the
servers of each stage that has its own (temperature checkers, registration desks, health-code
checkers, any plain stage's servers), the share of residents with a QR code, the span of the
calling plan. A *lever* turns one knob by one step: "one more tent with its staff", "QR share
up by 0.1". A scenario's knobs follow its points' flows (:func:`knobs`): a stage with servers of
its own in any point's main flow has its knob and its two levers (``checker+1``, ``desk-1``,
``id_check+1``), named by the stage kind (``stages/``). Side stages (an isolation tent) have
none: no target of the advice concerns them. The impact view (advice/impact.py) applies every
lever of :func:`levers` and measures it with common random numbers; ``optimise``
(experiment/optimise.py) searches the staffed knobs for the least staff-hours; reports and the
terminal name them from here. Nothing here runs a model.

Staff follow the knob they serve: a tent brings its sampler (and its registrar when
registrars are paired with the stations), a stage's server its staffer. Explicit staff counts
(``staff.samplers``, ``staff.registrars``, ``staff.temperature``, ``staff.<plain stage>``) and
the rota shifts of that role move by the same number, so a rota keeps its shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from ..memo import per_object
from ..scenario import Problem, ScenarioError, validate_scenario
from ..scenario.schema import MAX_SERVERS, Point, PoissonArrivals, Scenario
from ..staffing import staff_plan
from ..stages import POOL, REGISTRATION, describe, lever as lever_stem, role, server, staff_count, union

MIN_CALLING_SPAN_H = 0.5
"""A calling plan is never shortened below this span (hours)."""


def minimum_stations(point: Point) -> int:
    """Fewest stations a point can have: one, or one more than its dedicated green-channel stations."""
    green = point.green_channel
    return green.stations + 1 if green is not None and green.channel == "dedicated" else 1


def _move_staff(data: dict[str, Any], role: str, count_field: str, change: int) -> dict[str, Any]:
    """The point's staff with ``change`` more of ``role``: its explicit count and every rota shift of it."""
    staff = data.get("staff")
    if staff is None or not change:
        return data
    staff = dict(staff)
    if staff.get(count_field) is not None:
        staff[count_field] = max(0, staff[count_field] + change)
    staff["rota"] = [{**shift, "count": max(0, shift["count"] + change)} if shift["role"] == role else shift
                     for shift in staff.get("rota", [])]
    return {**data, "staff": staff}


# ------------------------------------------------------------------ knobs


class Knob:
    """Something a planner sets at a point. Subclasses say how to read it, bound it and set it."""

    name: str
    """Key in files and on the command line (``tents``, ``temperature``, ``registration``...)."""
    unit: str
    units: str
    what: str
    """What it is, in a table: "tents", "QR share"."""
    servers: str = ""
    """What the servers it adds are called in a sentence ("sampling stations"); empty when it adds none."""
    field: str
    """The point's field it writes (``tents``, ``stages.temperature.servers``...)."""
    stage: str
    """The stage whose line it shortens (``arrivals`` for the calling plan)."""
    staffed: bool = True
    """Each unit comes with staff on duty (it costs staff-hours)."""
    step: float = 1.0

    def why_not(self, scenario: Scenario, point: Point) -> Optional[str]:
        """Why the point has no such knob (None: it has)."""
        return None

    def value(self, scenario: Scenario, point: Point) -> float:
        raise NotImplementedError

    def bounds(self, scenario: Scenario, point: Point) -> tuple[float, float]:
        return 1, MAX_SERVERS

    def put(self, data: dict[str, Any], scenario: Scenario, point: Point, value: float) -> dict[str, Any]:
        """The point's data (a ``model_dump``) with the knob at ``value``, staff following."""
        raise NotImplementedError

    def serves(self, point: Point) -> tuple[str, ...]:
        """The stages whose waiting one more unit relieves."""
        return (self.stage,)

    def show(self, value: float) -> str:
        return f"{value:g}" if self.step < 1 else f"{int(value)}"


class Stations(Knob):
    """A point's sampling stations (its ``tents``, or ``stages.swab.servers`` when that is a number)."""

    name, unit, units, what, field, stage = "tents", "tent", "tents", "tents", "tents", "swab"
    servers = "sampling stations"

    def value(self, scenario: Scenario, point: Point) -> float:
        return point.stations

    def bounds(self, scenario: Scenario, point: Point) -> tuple[float, float]:
        return minimum_stations(point), MAX_SERVERS

    def put(self, data: dict[str, Any], scenario: Scenario, point: Point, value: float) -> dict[str, Any]:
        stations = int(value)
        data = dict(data)
        swab = dict(data["stages"]["swab"])
        if swab.get("servers", "per_tent") == "per_tent":
            data["tents"] = stations
        else:
            if point.tents == point.stations:
                data["tents"] = stations
            swab["servers"] = stations
        data["stages"] = {**data["stages"], "swab": swab}
        return _move_staff(data, "sampler", "samplers", stations - point.stations)

    def serves(self, point: Point) -> tuple[str, ...]:
        return ("swab", "registration") if point.paired_registration else ("swab",)


class StageServers(Knob):
    """The servers of a stage that has its own (not paired with the stations): desks, checkers, a plain stage's."""

    def __init__(self, stage: str):
        self.stage = self.name = stage
        self.unit = server(stage)
        self.units = self.what = f"{self.unit}s"
        self.role, self.count_field = role(stage), staff_count(stage)
        # Who serves: a registrar for a registration desk (the person paired with a station), else the server.
        self.person = role(stage) if describe(stage).serving == REGISTRATION else self.unit
        self.field = f"stages.{stage}.servers"
        self.servers = self.units

    def paired_servers(self) -> str:
        """Its servers when they are paired with the stations ("registrars at the stations")."""
        return f"{self.person}s at the stations"

    def why_not(self, scenario: Scenario, point: Point) -> Optional[str]:
        config = point.stages.config(self.stage)
        if config is None:
            return f"the point has no {self.stage} stage"
        if point.flow[self.stage].side:
            return f"{self.stage} is a side stage: no target concerns it"
        if config.servers == "per_tent":
            return (f"its {self.units} are paired with the stations ({self.field}: per_tent): "
                    "they come with the tents")
        return None

    def value(self, scenario: Scenario, point: Point) -> float:
        return point.stages.config(self.stage).servers

    def put(self, data: dict[str, Any], scenario: Scenario, point: Point, value: float) -> dict[str, Any]:
        stage = {**data["stages"][self.stage], "servers": int(value)}
        data = {**data, "stages": {**data["stages"], self.stage: stage}}
        return _move_staff(data, self.role, self.count_field, int(value) - int(self.value(scenario, point)))


class QrShare(Knob):
    """Residents who come with a pre-registered QR code (a scan instead of typing)."""

    name, unit, units, what, field, stage = "qr_share", "QR share", "QR share", "QR share", "stages.registration.qr_share", "registration"
    staffed = False
    step = 0.1

    def why_not(self, scenario: Scenario, point: Point) -> Optional[str]:
        return None if point.stages.registration is not None else "the point has no registration stage"

    def value(self, scenario: Scenario, point: Point) -> float:
        return point.stages.registration.qr_share

    def bounds(self, scenario: Scenario, point: Point) -> tuple[float, float]:
        return 0.0, 1.0

    def put(self, data: dict[str, Any], scenario: Scenario, point: Point, value: float) -> dict[str, Any]:
        registration = {**data["stages"]["registration"], "qr_share": round(float(value), 6)}
        return {**data, "stages": {**data["stages"], "registration": registration}}


class CallingSpan(Knob):
    """How long the calling plan calls residents: opening hours from its first call to its end (the mop-up
    included when it ends last). A shorter span calls the same residents faster (``advice.plans.shorten_plan``)."""

    name, unit, units, what, field, stage = "calling_span", "hour", "hours", "calling span", "arrivals", "arrivals"
    staffed = False
    step = 0.5

    def why_not(self, scenario: Scenario, point: Point) -> Optional[str]:
        if isinstance(scenario.arrivals_for(point), PoissonArrivals):
            return "residents walk in (arrivals kind: poisson): there is no calling plan to shorten"
        if self.value(scenario, point) <= 0:
            return "the calling plan calls everyone at once: there is nothing to shorten"
        return None

    def value(self, scenario: Scenario, point: Point) -> float:
        from .plans import plan_span_h  # here: the command line's parser reads the levers, plans imports numpy

        return plan_span_h(scenario.arrivals_for(point), scenario.hours, point.population)

    def bounds(self, scenario: Scenario, point: Point) -> tuple[float, float]:
        from .plans import shortest_span_h

        span = self.value(scenario, point)
        shortest = shortest_span_h(scenario.arrivals_for(point), scenario.hours, point.population)
        return min(max(MIN_CALLING_SPAN_H, shortest), span), span

    def put(self, data: dict[str, Any], scenario: Scenario, point: Point, value: float) -> dict[str, Any]:
        from .plans import shorten_plan

        arrivals = scenario.arrivals_for(point)
        shorter = shorten_plan(arrivals, scenario.hours, self.value(scenario, point) - value, point.population)
        return {**data, "arrivals": shorter.model_dump(mode="json", exclude_none=True)}

    def show(self, value: float) -> str:
        return f"{round(value, 2):g} h"


STATIONS = Stations()
FIXED_KNOBS: tuple[Knob, ...] = (STATIONS, QrShare(), CallingSpan())
KNOB = {knob.name: knob for knob in FIXED_KNOBS}
"""The knobs every scenario has (where they apply), by name."""


@per_object
def own_server_stages(scenario: Scenario) -> tuple[str, ...]:
    """The stages of the points' main flows that have servers of their own (not swab), in flow order."""
    flows = [[stage.name for stage in point.flow.main] for point in scenario.points]
    return tuple(name for name in union(flows) if describe(name).serving in (POOL, REGISTRATION) and name not in KNOB)


def knobs(scenario: Scenario) -> tuple[Knob, ...]:
    """Every knob of the scenario, staffed ones first: stations, each stage's servers in flow order,
    the QR share, the calling span."""
    return (STATIONS, *(StageServers(stage) for stage in own_server_stages(scenario)), *FIXED_KNOBS[1:])


def staffed_knobs(scenario: Scenario) -> tuple[Knob, ...]:
    """The knobs that come with staff (``optimise`` searches these), stations first."""
    return tuple(knob for knob in knobs(scenario) if knob.staffed)


def servers_knob(stage: str) -> Optional[Knob]:
    """The knob that adds servers at ``stage``: the stations at swab, a stage's own servers (checkers,
    desks, a plain stage's); None for a stage without servers to add."""
    if stage == STATIONS.stage:
        return STATIONS
    return StageServers(stage) if describe(stage).serving in (POOL, REGISTRATION) else None


def knob_named(name: str) -> Knob:
    """The knob called ``name``: one every scenario has, else the servers of the stage of that name."""
    return KNOB[name] if name in KNOB else StageServers(name)


# ------------------------------------------------------------------ levers


@dataclass(frozen=True)
class Lever:
    """One step of one knob: what the impact view measures."""

    name: str
    label: str
    knob: Knob
    step: float

    @property
    def stage(self) -> str:
        return self.knob.stage

    def target(self, scenario: Scenario, point: Point) -> tuple[Optional[float], Optional[str]]:
        """The knob's value after the step, or None and why the lever does not apply at the point."""
        why = self.knob.why_not(scenario, point)
        if why is not None:
            return None, why
        now = self.knob.value(scenario, point)
        low, high = self.knob.bounds(scenario, point)
        after = min(high, max(low, now + self.step))
        if abs(after - now) < 1e-9:
            edge = "fewest" if self.step < 0 else "most"
            return None, f"already at the {edge} {self.knob.units} allowed ({self.knob.show(now)})"
        return after, None

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "knob": self.knob.name, "field": self.knob.field,
                "stage": self.stage, "step": self.step, "staffed": self.knob.staffed}


def stage_levers(stage: str) -> tuple[Lever, Lever]:
    """One more and one fewer server at a stage with servers of its own (``checker+1``, ``id_check-1``)."""
    knob = StageServers(stage)
    return (Lever(f"{lever_stem(stage)}+1", f"one more {knob.unit}", knob, +1),
            Lever(f"{lever_stem(stage)}-1", f"one fewer {knob.unit}", knob, -1))


@per_object
def levers(scenario: Scenario) -> tuple[Lever, ...]:
    """Every lever of the impact view for the scenario, in the order tables list them before ranking:
    tents, each stage's servers in flow order, the QR share, the calling span."""
    tents = (Lever("tent+1", "one more tent with its staff", STATIONS, +1), Lever("tent-1", "one fewer tent", STATIONS, -1))
    return (*tents, *(lever for stage in own_server_stages(scenario) for lever in stage_levers(stage)),
            Lever("qr+0.1", "QR share up by 0.1", KNOB["qr_share"], +0.1),
            Lever("calls-1h", "calling plan one hour shorter", KNOB["calling_span"], -1.0))


def levers_adding_capacity(stage: str, scenario: Scenario, point: Point) -> list[Lever]:
    """The levers that relieve ``stage`` at ``point`` by a step up (a server more, a higher QR share), those
    that apply there: what the run's diagnosis proposes at its bottleneck and ``advise`` measures."""
    return [lever for lever in levers(scenario) if lever.step > 0 and stage in lever.knob.serves(point)
            and lever.target(scenario, point)[0] is not None]


@dataclass(frozen=True)
class Change:
    """A lever at one point: the knob's value before and after, or why it does not apply."""

    point_id: str
    lever: Lever
    before: Optional[float]
    after: Optional[float]
    reason: Optional[str] = None

    @property
    def applies(self) -> bool:
        return self.after is not None

    def describe(self) -> str:
        """"tents 4 → 5", or the reason."""
        knob = self.lever.knob
        if not self.applies:
            return self.reason or ""
        return f"{knob.what} {knob.show(self.before)} → {knob.show(self.after)}"


def with_values(scenario: Scenario, values: Mapping[str, Mapping[str, float]], only: Optional[Sequence[str]] = None,
                seed: Optional[int] = None, replications: Optional[int] = None) -> Scenario:
    """The scenario with knobs set per point (``{"tjx-01": {"tents": 5}}``); ``only`` keeps just those points.

    Validated like a scenario file (a ``ScenarioError`` names the field at fault).
    """
    data = scenario.model_dump(mode="json", exclude_none=True)
    keep = None if only is None else set(only)
    points = []
    for point, point_data in zip(scenario.points, data["points"]):
        if keep is not None and point.id not in keep:
            continue
        for name, value in values.get(point.id, {}).items():
            knob = knob_named(name)
            if knob.value(scenario, point) != value:
                point_data = knob.put(point_data, scenario, point, value)
        points.append(point_data)
    data["points"] = points
    if seed is not None:
        data["seed"] = seed
    if replications is not None:
        data["replications"] = replications
    return validate_scenario(data, file=f"<{scenario.name}>")


def apply_lever(scenario: Scenario, lever: Lever, points: Optional[Sequence[str]] = None) -> tuple[Optional[Scenario], list[Change]]:
    """The scenario with ``lever`` at every point asked (default all) where it applies, and each point's change.

    Points where it does not apply keep their values (their change says why). A change the
    scenario's own checks refuse at a point (``ScenarioError``) is dropped at that point with the
    message as its reason. The scenario is None when the lever applies nowhere.
    """
    asked = None if points is None else set(points)
    changes = []
    for point in scenario.points:
        if asked is not None and point.id not in asked:
            continue
        after, why = lever.target(scenario, point)
        before = None if lever.knob.why_not(scenario, point) else lever.knob.value(scenario, point)
        changes.append(Change(point.id, lever, before, after, why))
    index = {point.id: i for i, point in enumerate(scenario.points)}
    for _attempt in range(3):
        values = {c.point_id: {lever.knob.name: c.after} for c in changes if c.applies}
        if not values:
            return None, changes
        try:
            return with_values(scenario, values), changes
        except ScenarioError as exc:
            refused = _refused_points(exc.problems, index)
            if not refused:
                raise
            changes = [Change(c.point_id, lever, c.before, None, f"refused by the scenario's checks: {refused[c.point_id]}")
                       if c.point_id in refused else c for c in changes]
    return None, changes


def _refused_points(problems: Sequence[Problem], index: Mapping[str, int]) -> dict[str, str]:
    by_index = {i: point_id for point_id, i in index.items()}
    refused = {}
    for problem in problems:
        if problem.field.startswith("points["):
            number = int(problem.field[len("points["):problem.field.index("]")])
            refused.setdefault(by_index.get(number, ""), f"{problem.field}: {problem.message}")
    refused.pop("", None)
    return refused


# ------------------------------------------------------------------ staff-hours


def scheduled_staff_hours(point: Point, scenario: Scenario) -> float:
    """Staff-hours a point's staff plan schedules (overtime is the model's), paired registrars included.

    The same count as ``metrics.staff_seconds`` before overtime, without running the model:
    the a priori cost of a change of staffed knobs.
    """
    scheduled = staff_plan(point, scenario.hours).scheduled_s()
    if point.paired_registration and "registrar" not in scheduled:
        scheduled["registrar"] = scheduled.get("sampler", 0.0)
    return sum(scheduled.values()) / 3600.0


def unit_cost_staff_hours(knob: Knob, scenario: Scenario, point: Point) -> float:
    """Scheduled staff-hours of one more unit of a staffed knob at ``point`` (0 for an unstaffed knob)."""
    if not knob.staffed or knob.why_not(scenario, point) is not None:
        return 0.0
    data = point.model_dump(mode="json", exclude_none=True)
    more = Point.model_validate(knob.put(data, scenario, point, knob.value(scenario, point) + 1))
    return scheduled_staff_hours(more, scenario) - scheduled_staff_hours(point, scenario)
