"""Factors of an experimental design: ``PATH=VALUES`` over the fields of a scenario.

A path is dotted, into the scenario's data as validated and dumped
(``model_dump(mode="json", exclude_none=True)``: defaults written out, the
points of a ``points_file`` and the ``defaults`` section merged into every
point). A number is a list index, ``*`` every item of a list::

    points.*.tents            every point's tents
    points.0.staff.samplers   the first point's samplers (``points[0].staff.samplers`` works too)
    arrivals.show_up          the show-up rate

Values are comma-separated YAML scalars, read as in a scenario file: ``2`` is
an integer, ``0.9`` a float, ``true`` a boolean, ``07:00`` text.

Every problem is bad input (:class:`ScenarioError`) naming the ``--vary``
argument and the field, so the command line reports it like a scenario mistake.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Sequence, Union

import yaml

from ..scenario.errors import Problem, ScenarioError, dotted
from ..scenario.loading import ScenarioLoader
from ..scenario.reading import whole_number

Segment = Union[str, int]
"""A key of a mapping, an index of a list, or ``"*"``: every item of a list."""

FIXED_FIELDS = {
    "seed": "every combination shares the seed (common random numbers); use --seed",
    "replications": "every combination runs the same replications; use --replications",
    "defaults": "the resolved scenario has no defaults section (they are merged into every point); use points.*.FIELD",
    "points_file": "the resolved scenario has no points_file (its rows are written out as points); use points.*.FIELD",
}
_INDEX = re.compile(r"\[(\d+|\*)\]")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Factor:
    """One ``--vary`` argument: a field path and the values it takes, in order."""

    path: str
    """As given (normalised: ``points[0].tents`` is written ``points.0.tents``)."""
    segments: tuple[Segment, ...]
    values: tuple[Any, ...]
    argument: str
    """The text it was read from, for messages (``points.*.tents=2,3``)."""

    @property
    def label(self) -> str:
        return f"--vary {self.argument}"


def problem(argument: str, field: str, message: str) -> ScenarioError:
    return ScenarioError([Problem(f"--vary {argument}", None, field, message)])


def parse_path(text: str, argument: str | None = None) -> tuple[Segment, ...]:
    """``points.*.tents`` -> ``("points", "*", "tents")``; ``points[0].tents`` -> ``("points", 0, "tents")``."""
    argument = argument if argument is not None else text
    normal = _INDEX.sub(lambda m: "." + m.group(1), text.strip())
    if not normal or normal.startswith(".") or normal.endswith(".") or ".." in normal:
        raise problem(argument, "", "PATH must be a dotted path of scenario fields, e.g. points.*.tents or arrivals.show_up")
    segments: list[Segment] = []
    for part in normal.split("."):
        if part == "*" or _KEY.match(part):
            segments.append(part)
        elif part.isdigit():
            segments.append(whole_number(part))
        else:
            raise problem(argument, normal, f"{part!r} is not a field name, a list index or *")
    if isinstance(segments[0], int) or segments[0] == "*":
        raise problem(argument, normal, "PATH must start with a field of the scenario (points, arrivals, clock...)")
    if segments[0] in FIXED_FIELDS:
        raise problem(argument, str(segments[0]), f"cannot be varied: {FIXED_FIELDS[segments[0]]}")
    return tuple(segments)


def parse_value(text: str, argument: str) -> Any:
    """A YAML scalar, read as in a scenario file (``07:00`` stays text)."""
    try:
        value = yaml.load(text, Loader=ScenarioLoader)
    except yaml.YAMLError:
        raise problem(argument, "", f"value {text!r} is not a YAML scalar") from None
    if isinstance(value, (dict, list)):
        raise problem(argument, "", f"value {text!r} is not a single value (a number, a word, true or false)")
    return value


def parse_vary(argument: str) -> Factor:
    """Read ``PATH=V1,V2,...`` (the text of one ``--vary``)."""
    path, equals, values = argument.partition("=")
    if not equals:
        raise problem(argument, "", "expected PATH=VALUES, e.g. points.*.tents=2,3,4")
    segments = parse_path(path, argument)
    texts = [v.strip() for v in values.split(",")]
    if not values.strip() or any(t == "" for t in texts):
        raise problem(argument, path_text(segments), "VALUES must be one or more comma-separated values, none empty")
    parsed = [parse_value(t, argument) for t in texts]
    seen: list[Any] = []
    for text, value in zip(texts, parsed):
        if any(type(value) is type(other) and value == other for other in seen):
            raise problem(argument, path_text(segments), f"value {text} is given twice")
        seen.append(value)
    return Factor(path=path_text(segments), segments=segments, values=tuple(parsed), argument=argument)


def make_factor(path: str, values: Sequence[Any]) -> Factor:
    """A factor from Python: ``make_factor("points.*.tents", [2, 3])``."""
    argument = f"{path}={','.join(str(v) for v in values)}"
    segments = parse_path(path, argument)
    if isinstance(values, (str, bytes)) or not len(values):
        raise problem(argument, path_text(segments), "values must be a non-empty list")
    values = list(values)
    for index, value in enumerate(values):
        if any(type(value) is type(other) and value == other for other in values[:index]):
            raise problem(argument, path_text(segments), f"value {value!r} is given twice")
    return Factor(path=path_text(segments), segments=segments, values=tuple(values), argument=argument)


def path_text(segments: Sequence[Segment]) -> str:
    return ".".join(str(s) for s in segments)


def apply(data: dict, factor: Factor, value: Any) -> dict:
    """A copy of scenario ``data`` with the factor's field(s) set to ``value``.

    A missing mapping on the way is created (``points.0.staff.samplers`` on a
    point without a ``staff`` section); validation then judges the field. A
    missing list item, or a path through a value, is refused here.
    """
    data = copy.deepcopy(data)
    _set(data, factor.segments, (), value, factor)
    return data


def _set(node: Any, rest: tuple[Segment, ...], done: tuple, value: Any, factor: Factor) -> None:
    head, tail = rest[0], rest[1:]
    here = dotted(done) or "the scenario"
    if head == "*":
        if not isinstance(node, list):
            raise problem(factor.argument, dotted(done), "* stands for every item of a list, and this is not a list")
        for index, item in enumerate(node):
            if tail:
                _set(item, tail, done + (index,), value, factor)
            else:
                node[index] = copy.deepcopy(value)
        return
    if isinstance(node, list):
        if not isinstance(head, int):
            raise problem(factor.argument, here, f"is a list: use an item number (0 to {len(node) - 1}) or * for every item, not {head!r}")
        if head >= len(node):
            raise problem(factor.argument, here, f"has {len(node)} item(s), numbered from 0: there is no item {head}")
    elif isinstance(node, dict):
        head = str(head)
    else:
        raise problem(factor.argument, here, f"is a single value ({node!r}), not a section with fields")
    if not tail:
        node[head] = copy.deepcopy(value)
        return
    if isinstance(node, dict) and head not in node:
        node[head] = {}
    _set(node[head], tail, done + (head,), value, factor)
