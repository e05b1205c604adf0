"""The scenario being edited: its YAML text is the truth; forms change fields of its data.

A draft is a scenario file in its own folder (``workspace.py``). Every change, from a
form or from the YAML editor, writes the text there and loads it the way the command
line does, so the app shows the loader's own problems (``file:line: field: what is
wrong``) and runs exactly what ``simsampling run`` would run on that file.

The forms are data: :func:`form_fields` lists the common fields of one scope (the
scenario, a point, or every point through ``defaults``), and the stages are looped
over as the point lists them, so a new kind of stage gets its fields without code here.
A form writes into the file's data at the field's path; where the file leaves a section
to its defaults, the resolved section is written out first, so that setting one value
never drops the others (a point without ``stages:`` has all three; writing only
``stages.swab.servers`` would leave it with one).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml

from ..scenario import Problem, Scenario, ScenarioError
from ..scenario.errors import dotted
from ..scenario.loading import read_yaml
from .workspace import load_draft

Path_ = tuple
"""A path into the scenario's data: keys and list indices."""

BLANK_POINT = {
    "name": "my-point",
    "description": "A blank point: one point, three stages, residents called by time slot. Edit it, then Run.",
    "seed": 1,
    "replications": 5,
    "clock": {"open": "07:00", "close": "22:00"},
    "round": {"deadline_h": 15},
    "points": [{"id": "point-1", "name": "My sampling point", "population": 2000, "tents": 3, "queue": "shared",
                "stages": {"temperature": {"servers": 1},
                           "registration": {"servers": "per_tent", "qr_share": 0.8},
                           "swab": {"servers": "per_tent"}}}],
    "arrivals": {"kind": "slots", "show_up": 0.95,
                 "slots": [{"start": "07:00", "end": "12:00", "share": 0.6},
                           {"start": "14:00", "end": "20:00", "share": 0.4}]},
}


def dump(data: Any) -> str:
    """YAML a planner can read: keys in their order, small mappings and lists on one line."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100)


def blank_text() -> str:
    return dump(BLANK_POINT)


@dataclass
class Checked:
    """The outcome of loading a draft: the scenario, or the problems (never both)."""

    scenario: Optional[Scenario]
    problems: list[Problem] = field(default_factory=list)
    data: Any = None
    """The file's data as parsed (None when the YAML itself is broken)."""

    @property
    def valid(self) -> bool:
        return self.scenario is not None


def check(path: Path, text: str) -> Checked:
    """Write ``text`` as the draft's scenario file and load it as the command line would."""
    path.write_text(text, encoding="utf-8")
    try:
        data, _ = read_yaml(path)
    except ScenarioError:
        data = None
    try:
        return Checked(load_draft(path), [], data)
    except ScenarioError as exc:
        return Checked(None, list(exc.problems), data)


# ---------------------------------------------------------------- scopes and fields


@dataclass(frozen=True)
class Scope:
    """Where a form writes: the point at ``path`` (``("points", 0)``) or every point (``("defaults",)``)."""

    label: str
    path: Path_
    resolved_point: int
    """The index of the point of the resolved scenario whose values the form shows."""


def scopes(data: Any, scenario: Optional[Scenario]) -> list[Scope]:
    """The scopes a form can edit: ``defaults`` when the file has them, then each point written in the file."""
    if not isinstance(data, dict):
        return []
    found = []
    if isinstance(data.get("defaults"), dict):
        found.append(Scope("every point (defaults)", ("defaults",), 0))
    points = data.get("points")
    for index, point in enumerate(points if isinstance(points, list) else []):
        if isinstance(point, dict):
            label = str(point.get("id", f"point {index + 1}"))
            found.append(Scope(f"point {label}", ("points", index), index))
    return found


@dataclass(frozen=True)
class FormField:
    """One field of a form: its path in the data, its label, the kind of input, its current value."""

    path: Path_
    label: str
    kind: str
    """``int``, ``float``, ``clock`` (HH:MM), ``choice`` (``options``), ``servers`` (``per_tent`` or a count),
    ``optional_float`` (empty: the default)."""
    value: Any
    options: tuple = ()
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    group: str = ""
    """The heading it goes under (a stage's name, "arrivals", "round")."""

    @property
    def name(self) -> str:
        """The field as the loader names it in problems: ``points[0].stages.swab.servers``."""
        return dotted(self.path)


def get(data: Any, path: Path_, default: Any = None) -> Any:
    for key in path:
        if isinstance(data, dict) and key in data:
            data = data[key]
        elif isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data):
            data = data[key]
        else:
            return default
    return data


def resolved_data(scenario: Optional[Scenario]) -> dict:
    return scenario.model_dump(mode="json", exclude_none=True) if scenario is not None else {}


def scenario_fields(data: dict, resolved: dict) -> list[FormField]:
    """Opening hours, the round, replications and seed: the fields every scenario has."""
    def value(path: Path_) -> Any:
        return get(data, path, get(resolved, path))

    return [
        FormField(("clock", "open"), "opens at (HH:MM)", "clock", value(("clock", "open")), group="opening hours"),
        FormField(("clock", "close"), "closes at (HH:MM)", "clock", value(("clock", "close")), group="opening hours"),
        FormField(("round", "days"), "days", "int", value(("round", "days")), minimum=1, maximum=14, group="round"),
        FormField(("round", "deadline_h"), "deadline (h from the first opening; empty: the last closing)",
                  "optional_float", get(data, ("round", "deadline_h")), minimum=0.0, group="round"),
        FormField(("replications",), "replications", "int", value(("replications",)), minimum=1, maximum=10_000,
                  group="round"),
        FormField(("seed",), "seed", "int", value(("seed",)), minimum=0, group="round"),
    ]


def point_fields(data: dict, resolved: dict, scope: Scope) -> list[FormField]:
    """Tents, the queue layout, and every stage's servers and times, looping over the stages the point has."""
    point = get(data, scope.path, {})
    shown = get(resolved, ("points", scope.resolved_point), {})

    def value(*path) -> Any:
        return get(point, path, get(shown, path))

    fields = []
    if scope.path[0] == "points":
        fields.append(FormField(scope.path + ("population",), "residents", "int", value("population"), minimum=0,
                                group="point"))
    fields += [
        FormField(scope.path + ("tents",), "tents", "int", value("tents"), minimum=1, maximum=10_000, group="point"),
        FormField(scope.path + ("queue",), "queue layout", "choice", value("queue"), options=("shared", "per_tent"),
                  group="point"),
    ]
    stages = get(point, ("stages",)) if isinstance(get(point, ("stages",)), dict) else get(shown, ("stages",), {})
    for stage, config in stages.items():
        resolved_stage = get(shown, ("stages", stage), {})
        written = config if isinstance(config, dict) else {}
        merged = {**resolved_stage, **written}
        fields += _leaf_fields(merged, scope.path + ("stages", stage), stage)
    return fields


def arrival_fields(data: dict, resolved: dict, scope: Optional[Scope]) -> list[FormField]:
    """The calling plan's numbers (show-up, walk-in rate, batches...); slots are edited as a table (``slot_rows``)."""
    path = arrivals_path(data, scope)
    arrivals = get(data, path, {})
    shown = get(resolved, path if path[0] == "arrivals" else ("points", scope.resolved_point, "arrivals"), {})
    merged = {**(shown if isinstance(shown, dict) else {}), **(arrivals if isinstance(arrivals, dict) else {})}
    fields = [FormField(path + ("kind",), "kind", "choice", merged.get("kind"), options=("slots", "poisson", "calling"),
                        group="arrivals")]
    plain = {key: value for key, value in merged.items() if key not in ("kind", "slots", "lateness_min", "mop_up")}
    fields += _leaf_fields(plain, path, "arrivals")
    windows = {"poisson": ("start", "end"), "calling": ("start",)}.get(merged.get("kind"), ())
    for key in windows:
        fields.append(FormField(path + (key,), f"{'first' if key == 'start' else 'last'} arrival (HH:MM; empty: the "
                                f"{'opening' if key == 'start' else 'closing'})", "optional_clock", merged.get(key),
                                group="arrivals"))
    return fields


def arrivals_path(data: dict, scope: Optional[Scope]) -> Path_:
    """The point's own calling plan when the scope has one, else the scenario's."""
    if scope is not None and isinstance(get(data, scope.path + ("arrivals",)), dict):
        return scope.path + ("arrivals",)
    return ("arrivals",)


def _leaf_fields(config: dict, path: Path_, group: str) -> list[FormField]:
    """A number input for each number under ``config`` (distributions' parameters included), servers as servers."""
    fields = []
    for key, value in config.items():
        here = path + (key,)
        if key == "servers":
            fields.append(FormField(here, "servers (per_tent: one per tent)", "servers", value, minimum=1, group=group))
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, (int, float)):
            kind = "int" if isinstance(value, int) and key not in _FLOAT_KEYS else "float"
            fields.append(FormField(here, _label(key), kind, value, minimum=0, group=group))
        elif isinstance(value, dict):
            inner = _leaf_fields({k: v for k, v in value.items() if k != "dist"}, here, group)
            prefix = f"{key} ({value['dist']})" if "dist" in value else key
            fields += [FormField(f.path, f"{prefix}: {f.label}", f.kind, f.value, f.options, f.minimum, f.maximum, group)
                       for f in inner]
    return fields


_FLOAT_KEYS = {"mean", "sd", "low", "mode", "high", "value", "rate_per_hour", "show_up", "qr_share", "share", "gap_min",
               "household_size", "scale", "sigma"}
"""Fields that are numbers with decimals even when a file writes them whole (``mean: 25``)."""


def _label(key: str) -> str:
    return key.replace("_", " ")


def slot_rows(data: dict, scope: Optional[Scope]) -> Optional[list[dict]]:
    """The calling slots as table rows (start, end, share, day), or None when the plan has no slots."""
    slots = get(data, arrivals_path(data, scope) + ("slots",))
    if not isinstance(slots, list):
        return None
    return [{"start": s.get("start"), "end": s.get("end"), "share": s.get("share"), "day": s.get("day", 0)}
            if isinstance(s, dict) else {"start": None, "end": None, "share": None, "day": 0} for s in slots]


# ---------------------------------------------------------------- writing


def set_value(data: Any, path: Path_, value: Any, resolved: dict, scope: Optional[Scope] = None) -> dict:
    """A copy of ``data`` with ``value`` at ``path`` (None removes the key).

    A missing section on the way is first filled with its resolved value (from ``resolved``,
    the valid scenario's dump), so one field set keeps every other value the section had.
    """
    data = copy.deepcopy(data) if isinstance(data, dict) else {}
    node = data
    for depth, key in enumerate(path[:-1]):
        child = node.get(key) if isinstance(node, dict) else node[key]
        if not isinstance(child, (dict, list)):
            child = copy.deepcopy(_resolved_at(resolved, path[: depth + 1], scope))
            if not isinstance(child, (dict, list)):
                child = {}
            node[key] = child
        node = child
    last = path[-1]
    if value is None and isinstance(node, dict):
        node.pop(last, None)
    else:
        node[last] = value
    return data


def _resolved_at(resolved: dict, path: Path_, scope: Optional[Scope]) -> Any:
    """The resolved value of a section of the file: a ``defaults`` section reads the first point's."""
    if path[:1] == ("defaults",):
        path = ("points", scope.resolved_point if scope else 0) + path[1:]
    return get(resolved, path)


def set_slots(data: Any, scope: Optional[Scope], rows: list[dict]) -> dict:
    """The slots replaced by the table's rows (empty cells dropped, day 0 left implicit)."""
    slots = []
    for row in rows:
        slot = {key: row.get(key) for key in ("start", "end", "share", "day") if row.get(key) not in (None, "")}
        if slot.get("day") == 0:
            slot.pop("day")
        if slot:
            slots.append(slot)
    return set_value(data, arrivals_path(data, scope) + ("slots",), slots, {})


def problems_for(problems: list[Problem], name: str) -> list[Problem]:
    """The problems about the field ``name`` (``points[0].tents``) or inside it."""
    return [p for p in problems if p.field == name or p.field.startswith((name + ".", name + "["))]
