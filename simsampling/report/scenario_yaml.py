"""scenario.yaml: the resolved scenario as YAML that loads back, written fast for a city.

PyYAML builds a node per value in Python (libyaml, when present, only emits them):
about 2 s for the 4,485 points of the Xi'an round, and three times that while
Python's garbage collector walks the growing tree of nodes again and again.
Points read from a table repeat the same blocks (stages, arrivals, home...) with
other ids and sizes, so each distinct field of a point (name and value) is dumped
once, all in one call, and every point is put together from those texts. Each
field is dumped in a one-field mapping that is an item of a top-level sequence,
which puts it at the column it has in the scenario's ``points:`` sequence, so the
text is the same bytes as dumping the whole scenario at once
(tests/unit/test_scenario_yaml.py).
"""

from __future__ import annotations

import gc
import json
import re
from typing import Any

import yaml

from ..scenario.schema import Scenario

HEADER = "# Resolved by simsampling: every default written out; rerun with `simsampling run` on this file.\n"
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
"""libyaml's emitter when PyYAML was built with it: the same text, faster."""

ITEM = re.compile(r"^- ", re.MULTILINE)
"""The start of an item of a top-level block sequence: every other line of an item is indented."""
POINTS = re.compile(r"^points: \[\]\n", re.MULTILINE)


def dumped(data: Any) -> str:
    """``data`` as block YAML, keys in their order; the garbage collector rests meanwhile (nodes hold no cycles)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return yaml.dump(data, Dumper=DUMPER, sort_keys=False, allow_unicode=True)
    finally:
        if collecting:
            gc.enable()


def points_text(points: list[dict[str, Any]]) -> str:
    """Non-empty points as the items of a block sequence at column 0, as ``dumped(points)`` writes them."""
    numbers: dict[tuple[str, str], int] = {}
    fields: list[dict[str, Any]] = []
    layouts: list[list[int]] = []
    for point in points:
        layout = []
        for key, value in point.items():
            number = numbers.setdefault((key, json.dumps(value)), len(fields))
            if number == len(fields):
                fields.append({key: value})
            layout.append(number)
        layouts.append(layout)
    texts = ITEM.split(dumped(fields))[1:]  # "key: value\n", the value's further lines indented
    if len(texts) != len(fields):  # never seen: a field whose text had a line at column 0
        return dumped(points)
    # A point: "- " before its first field, two spaces before the others.
    return "".join("- " + "  ".join([texts[number] for number in layout]) for layout in layouts)


def scenario_text(scenario: Scenario) -> str:
    """The resolved scenario (every default spelled out) as YAML that loads back."""
    data = scenario.model_dump(mode="json", exclude_none=True)
    points = data["points"]
    if not points or not all(points):
        return HEADER + dumped(data)
    data["points"] = []
    text = dumped(data)
    return HEADER + POINTS.sub(lambda _: "points:\n" + points_text(points), text, count=1)
