"""A point's flow: the stages a resident walks, in the order the scenario writes them.

``Stages`` is the scenario's ``stages`` mapping, validated: each known name by
its kind's model, any other name as a plain stage, and the written order kept
(a model's fields would forget it). ``flow_of`` turns it into the :class:`Flow`
the engines walk: the main flow, up to and including ``swab``, then the side
stages written after ``swab``, which only a ``divert`` reaches and after which
the resident leaves unswabbed. ``flow_problems`` says what is wrong with a flow,
field by field.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Sequence

from pydantic import BaseModel, ConfigDict, PrivateAttr, create_model, model_serializer, model_validator

from ..memo import per_object
from .catalogue import KINDS, describe, label
from .kind import STAGE_NAME, Divert, PlainStage, StageKind, routes

RESERVED_NAMES = ("total",)
"""Names a stage cannot take: ``total`` is every stage together in the outputs."""
LEGACY = ("temperature", "registration", "swab")
"""The stages of every point before stages were data, in the order they were always walked."""


class _StagesBase(BaseModel):
    """The stages mapping: known kinds as fields, any other name as a plain stage, order kept."""

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)
    __pydantic_extra__: dict[str, PlainStage]
    _order: tuple[str, ...] = PrivateAttr(default=())

    @model_validator(mode="wrap")
    @classmethod
    def _written_order(cls, data: Any, handler):
        if isinstance(data, dict):
            for name, value in data.items():
                if value is None:
                    raise ValueError(f"stage '{name}' is empty: write `{name}: {{}}` for its defaults, or leave it out")
                if isinstance(name, str) and name not in cls.known() and isinstance(value, dict) and "service_s" not in value:
                    close = difflib.get_close_matches(name, list(cls.known()), n=1)
                    if close:
                        raise ValueError(f"'{name}' is not a known stage (did you mean '{close[0]}'?); "
                                         "any other name is a plain stage and needs its `service_s`")
        stages = handler(data)
        if isinstance(data, dict):
            stages._order = tuple(data)
        elif isinstance(data, _StagesBase):
            stages._order = data._order
        stages._order = stages.names  # the walking order itself: two equal flows compare equal
        return stages

    @model_serializer(mode="wrap")
    def _in_written_order(self, handler):
        dumped = handler(self)
        return {name: dumped[name] for name in self.names if name in dumped}

    @classmethod
    @functools.cache
    def known(cls) -> dict[str, None]:
        """The known kinds' names (the model's fields), in the fields' order: asked for at every stage of every
        point of a city, and pydantic's ``model_fields`` costs several times a dict's lookup."""
        return dict.fromkeys(cls.model_fields)

    @property
    def names(self) -> tuple[str, ...]:
        """Every stage, in the order written; stages of the first versions alone (temperature,
        registration, swab) in the order they always had, whatever the order written, so that a
        file written then (or dumped with its keys sorted) walks as it always did."""
        present = [name for name in self.known() if getattr(self, name) is not None] + list(self.__pydantic_extra__ or {})
        if set(present) <= set(LEGACY):
            return tuple(name for name in LEGACY if name in present)
        # The private attribute read from pydantic's own dict: ``self._order`` takes 10 µs (a failed lookup first).
        written = [name for name in self.__pydantic_private__["_order"] if name in present]
        return tuple(written + [name for name in present if name not in written])

    def config(self, name: str):
        """The validated configuration of stage ``name`` (None if the point has none)."""
        if name in self.known():
            return getattr(self, name)
        return (self.__pydantic_extra__ or {}).get(name)

    def __getitem__(self, name: str):
        config = self.config(name)
        if config is None:
            raise KeyError(name)
        return config

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.config(name) is not None

    @classmethod
    def standard(cls) -> "Stages":
        """The three stages of the demo: temperature, registration, swab, with their defaults."""
        return cls.model_validate({"temperature": {}, "registration": {}, "swab": {}})


Stages = create_model(
    "Stages",
    __base__=_StagesBase,
    __doc__="The stages a resident walks, in the order written. A stage left out does not exist.",
    **{kind.name: (Optional[kind.config], None) for kind in KINDS.values() if kind.name != "swab"},
    swab=(KINDS["swab"].config, ...),
)


@dataclass(frozen=True)
class Stage:
    """One stage of a point's flow."""

    name: str
    kind: StageKind
    config: Any
    side: bool
    routes: tuple[Divert, ...]

    @property
    def role(self) -> str:
        """The staff role serving it."""
        return self.kind.role or self.name

    @property
    def label(self) -> str:
        return label(self.name)

    @property
    def serving(self) -> str:
        return self.kind.serving


@dataclass(frozen=True)
class Flow:
    """The stages of a point: the main flow (ending with swab), then the side stages."""

    stages: tuple[Stage, ...]

    @classmethod
    @functools.cache
    def known(cls) -> dict[str, None]:
        """The known kinds' names (the model's fields), in the fields' order: asked for at every stage of every
        point of a city, and pydantic's ``model_fields`` costs several times a dict's lookup."""
        return dict.fromkeys(cls.model_fields)

    @functools.cached_property
    def names(self) -> tuple[str, ...]:
        """The stages' names (made once: a city's points share their flows and ask for it several times each)."""
        return tuple(stage.name for stage in self.stages)

    @property
    def main(self) -> tuple[Stage, ...]:
        return tuple(stage for stage in self.stages if not stage.side)

    @property
    def side(self) -> tuple[Stage, ...]:
        return tuple(stage for stage in self.stages if stage.side)

    def __getitem__(self, name: str) -> Stage:
        return self.stages[self.names.index(name)]

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def sources(self) -> dict[str, tuple[str, ...]]:
        """Per side stage, the stages that divert residents to it, in flow order."""
        found: dict[str, list[str]] = {stage.name: [] for stage in self.side}
        for stage in self.stages:
            for route in stage.routes:
                if route.to in found and stage.name not in found[route.to]:
                    found[route.to].append(stage.name)
        return {name: tuple(names) for name, names in found.items()}

    @property
    def diverts(self) -> bool:
        return any(stage.routes for stage in self.stages)


@per_object
def flow_of(stages: Stages) -> Flow:
    """The flow of a validated ``stages`` mapping (``flow_problems`` found nothing wrong with it). A city's points
    share a few flows, each point its own ``stages``: equal ones (frozen models hash and compare by value) share one
    flow, made once (a flow with a list inside, an empirical distribution's values, is made for each)."""
    try:
        return _flow_of_value(stages)
    except TypeError:  # unhashable
        return _made_flow(stages)


@functools.lru_cache(maxsize=256)
def _flow_of_value(stages: Stages) -> Flow:
    return _made_flow(stages)


def _made_flow(stages: Stages) -> Flow:
    names = stages.names
    last = names.index("swab")
    return Flow(tuple(Stage(name, describe(name), stages[name], index > last, routes(stages[name])) for index, name in enumerate(names)))


def flow_problems(stages: Stages, path: tuple) -> list[tuple[tuple, str]]:
    """What is wrong with a point's flow, each with the path of the field at fault (``path`` and then the field's
    within the stages). A city's points share a few flows: each distinct one is checked once (frozen models hash
    and compare by value; a flow with a list inside, an empirical distribution's values, is checked each time)."""
    try:
        found = _problems_of(stages)
    except TypeError:  # unhashable
        found = _problems_of.__wrapped__(stages)
    return [(path + at, message) for at, message in found]


@functools.lru_cache(maxsize=256)
def _problems_of(stages: Stages) -> tuple[tuple[tuple, str], ...]:
    """What is wrong with a flow, each with the path of the field at fault within the stages.

    The main flow is every stage up to ``swab``; stages written after it are side
    stages, each reached by a ``divert``. Refused: a name that is not a name, a
    known stage after swab, a paired registration not right before swab, a divert
    to an unknown stage or into the main flow, routes of one stage whose shares add
    up to more than 1, a side stage no divert reaches, and routes in a cycle.
    """
    problems = []
    names = stages.names
    last = names.index("swab")
    side = set(names[last + 1:])
    for index, name in enumerate(names):
        at = (name,)
        kind = describe(name)
        if not re.match(STAGE_NAME, name) or name in RESERVED_NAMES:
            problems.append((at, f"'{name}' cannot name a stage: use lower-case letters, digits and _ "
                                 f"(starting with a letter; not {', '.join(RESERVED_NAMES)})"))
            continue
        if index > last and not kind.side:
            problems.append((at, f"{name} must come before swab: stages after swab are side stages, reached by a `divert`"))
        config = stages[name]
        if name == "registration" and config.paired and index != last - 1:
            problems.append((at + ("servers",), "a registrar paired with each station (`per_tent`) needs registration right before swab"))
        ways = routes(config)
        where = at + ("divert",)
        for k, route in enumerate(ways):
            here = where + ((k,) if isinstance(config.divert, list) else ()) + ("to",)
            if route.to not in names:
                problems.append((here, f"no stage '{route.to}' at this point (its stages: {', '.join(names)})"))
            elif route.to not in side:
                problems.append((here, f"{route.to} is in the main flow: a divert goes to a side stage, written after swab"))
        if sum(route.share for route in ways) > 1 + 1e-9:
            problems.append((where, f"the shares of the routes from {name} add up to {sum(r.share for r in ways):.6g}, more than 1"))
    reached = {route.to for name in names for route in routes(stages[name])}
    for name in names[last + 1:]:
        if name not in reached and describe(name).side:
            problems.append(((name,), f"no stage diverts to {name}: stages after swab are side stages, reached by a `divert`"))
    cycle = _cycle({name: [r.to for r in routes(stages[name]) if r.to in side] for name in names[last + 1:]})
    if cycle:
        problems.append(((cycle[0], "divert"), f"the routes make a cycle: {' -> '.join(cycle)}"))
    return tuple(problems)


def _cycle(edges: dict[str, list[str]]) -> list[str]:
    """A cycle of the graph, as the names along it and back to the first (none: empty)."""
    state: dict[str, int] = {}
    trail: list[str] = []

    def visit(name: str) -> list[str]:
        state[name] = 1
        trail.append(name)
        for nxt in edges.get(name, ()):
            if state.get(nxt) == 1:
                return trail[trail.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[name] = 2
        trail.pop()
        return []

    for name in edges:
        if name not in state:
            found = visit(name)
            if found:
                return found
    return []


def union(flows: Iterable[Sequence[str]]) -> tuple[str, ...]:
    """Stages of several flows in one order: each stage after the stages before it in any flow
    that has both (a stable topological order; on a conflict, the order first seen)."""
    flows = [tuple(flow) for flow in flows]
    if flows and all(flow == flows[0] for flow in flows) and len(set(flows[0])) == len(flows[0]):
        return flows[0]  # one flow, as a run of a city's points of one flow adds them: its own order
    seen: list[str] = []
    before: dict[str, set[str]] = {}
    for flow in flows:
        for index, name in enumerate(flow):
            if name not in before:
                seen.append(name)
                before[name] = set()
            before[name].update(flow[:index])
    ordered: list[str] = []
    left = list(seen)
    while left:
        ready = next((name for name in left if not (before[name] - set(ordered)) & set(left)), left[0])
        ordered.append(ready)
        left.remove(ready)
    return tuple(ordered)
