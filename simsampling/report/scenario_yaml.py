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

import csv
import gc
import io
import json
import re
from typing import Any, Optional

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


def distinct_fields(points: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[list[int]]]:
    """Each distinct field of the points (name and value) once, as a one-field mapping, and each point as the
    numbers of its fields: points read from a table repeat the same blocks. A field is known by its key and the
    ``repr`` of its value (JSON data: dicts, lists, text, numbers, booleans, None, whose ``repr`` tells apart
    what YAML writes apart; 0.08 s for the Xi'an round's 40,365 fields against 0.12 s by ``json.dumps``)."""
    numbers: dict[tuple[str, str], int] = {}
    fields: list[dict[str, Any]] = []
    layouts: list[list[int]] = []
    for point in points:
        layout = []
        for key, value in point.items():
            number = numbers.setdefault((key, repr(value)), len(fields))
            if number == len(fields):
                fields.append({key: value})
            layout.append(number)
        layouts.append(layout)
    return fields, layouts


def points_text(points: list[dict[str, Any]],
                distinct: Optional[tuple[list[dict[str, Any]], list[list[int]]]] = None) -> str:
    """Non-empty points as the items of a block sequence at column 0, as ``dumped(points)`` writes them;
    ``distinct``: their ``distinct_fields`` when already found."""
    fields, layouts = distinct if distinct is not None else distinct_fields(points)
    texts = ITEM.split(dumped(fields))[1:]  # "key: value\n", the value's further lines indented
    if len(texts) != len(fields):  # never seen: a field whose text had a line at column 0
        return dumped(points)
    # A point: "- " before its first field, two spaces before the others.
    return "".join("- " + "  ".join([texts[number] for number in layout]) for layout in layouts)


def scenario_text(scenario: Scenario, data: Optional[dict[str, Any]] = None,
                  distinct: Optional[tuple[list[dict[str, Any]], list[list[int]]]] = None) -> str:
    """The resolved scenario (every default spelled out) as YAML that loads back; ``data``: its
    ``model_dump(mode="json", exclude_none=True)`` when already made (a city's: 0.2 s), left as it is;
    ``distinct``: its points' ``distinct_fields`` when already found."""
    data = data if data is not None else scenario.model_dump(mode="json", exclude_none=True)
    points = data["points"]
    if not points or not all(points):
        return HEADER + dumped(data)
    text = dumped({**data, "points": []})
    return HEADER + POINTS.sub(lambda _: "points:\n" + points_text(points, distinct), text, count=1)


# ---------------------------------------------------------------- a city: defaults and a points table

POINTS_TABLE = "{stem}-points.csv"
"""The points table written beside a resolved scenario too large for one YAML file."""
TABLE_FROM_POINTS = 10_000
"""From this many points, the points go to a table at once (their YAML would be tens of MB); below, only
when the YAML would break the loader's limits."""


def scenario_files(scenario: Scenario, stem: str = "scenario") -> dict[str, str]:
    """The files of the resolved scenario, by name: ``<stem>.yaml``, and ``<stem>-points.csv`` when one file
    would be refused by the loader (a city of 100,000 points: 55 MB against its 20 MB), so that what a run
    writes can always be run again.

    The table form holds in ``defaults`` each field as most points have it, and writes each point's
    differences: as a row of the table, or as an inline point (which the loader reads first) for the
    points before the last whose differences are not single values (a list of slots, say).
    """
    from ..scenario.loading import MAX_FILE_BYTES, MAX_VALUES

    if len(scenario.points) < TABLE_FROM_POINTS:
        data = scenario.model_dump(mode="json", exclude_none=True)
        distinct = distinct_fields(data["points"])
        text = scenario_text(scenario, data, distinct)
        if len(text.encode("utf-8")) <= MAX_FILE_BYTES // 2 and scenario_values(data, *distinct) <= MAX_VALUES // 2:
            return {f"{stem}.yaml": text}
    return _table_form(scenario, stem)


def _values(node: Any) -> int:
    """YAML nodes of ``node`` (keys count, as in the loader's limit)."""
    if isinstance(node, dict):
        return 1 + sum(1 + _values(value) for value in node.values())
    if isinstance(node, list):
        return 1 + sum(_values(item) for item in node)
    return 1


def scenario_values(data: dict[str, Any], fields: list[dict[str, Any]], layouts: list[list[int]]) -> int:
    """``_values(data)``, each distinct field of its points (``distinct_fields``) counted once: a point is a
    mapping (1) of its fields, each a key and its value (``_values({key: value}) - 1``)."""
    field_values = [_values(field) - 1 for field in fields]
    return (_values({**data, "points": []}) + len(layouts)
            + sum(field_values[number] for layout in layouts for number in layout))


def _tag(node: Any) -> Any:
    return node.get("dist", node.get("kind")) if isinstance(node, dict) else None


def _atoms(node: dict, prefix: tuple = ()) -> dict[tuple, Any]:
    """The values a point's fields merge by (points_table._merge): leaves, lists, and whole mappings of a tag."""
    found: dict[tuple, Any] = {}
    for key, value in node.items():
        if isinstance(value, dict) and value:
            found[prefix + (key, "<tag>")] = _tag(value)  # a tag that changes replaces the whole mapping
            found.update(_atoms(value, prefix + (key,)))
        else:
            found[prefix + (key,)] = value
    return found


def _common(fields: dict[tuple[str, str], tuple[Any, int]], points: int) -> dict[tuple, Any]:
    """Per atom every point has, the value most points have (the first of the most frequent), if two share it.

    ``fields`` holds each distinct top-level field of the points, (key, its JSON): (value, points having it).
    """
    counts: dict[tuple, dict[Any, list]] = {}
    for (key, _), (value, times) in fields.items():
        for path, atom in _atoms({key: value}).items():
            tally = (type(atom), atom) if isinstance(atom, (str, int, float)) else json.dumps(atom)
            entry = counts.setdefault(path, {}).setdefault(tally, [0, atom])
            entry[0] += times
    common = {}
    for path, values in counts.items():
        count, value = max(values.values(), key=lambda entry: entry[0])
        if sum(entry[0] for entry in values.values()) == points and (count > 1 or points == 1):
            common[path] = value  # a value no two points share (a name) stays with each point
    return common


def _put(target: dict, path: tuple, value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def _differences(point: dict, common: dict[tuple, Any], prefix: tuple = ()) -> dict[tuple, Any]:
    """The point's values that differ from ``common``, as dotted leaves (a mapping of another tag whole)."""
    found: dict[tuple, Any] = {}
    for key, value in point.items():
        path = prefix + (key,)
        if isinstance(value, dict) and value:
            if path + ("<tag>",) in common and common[path + ("<tag>",)] == _tag(value):
                found.update(_differences(value, common, path))
            else:
                found.update({path + rest: leaf for rest, leaf in _leaves(value).items()})
        elif common.get(path, _MISSING) != value or path not in common:
            found[path] = value
    return found


_MISSING = object()


def _leaves(node: dict, prefix: tuple = ()) -> dict[tuple, Any]:
    found: dict[tuple, Any] = {}
    for key, value in node.items():
        if isinstance(value, dict) and value:
            found.update(_leaves(value, prefix + (key,)))
        else:
            found[prefix + (key,)] = value
    return found


def _cell(value: Any) -> Optional[str]:
    """A value as a points-table cell reads it back (points_table.cell_value), or None when a cell cannot hold it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str) and value and value == value.strip() and "\n" not in value and "\r" not in value:
        return value
    return None


def _table_form(scenario: Scenario, stem: str) -> dict[str, str]:
    from ..scenario.points_table import REQUIRED_COLUMNS, TEXT_COLUMNS, cell_value

    data = scenario.model_dump(mode="json", exclude_none=True)
    points = data["points"]
    # Points read from a table repeat the same fields (stages, arrivals...): each distinct one is looked at once.
    fields: dict[tuple[str, str], list] = {}
    layouts = []
    for point in points:
        layout = []
        for key, value in point.items():
            entry = fields.setdefault((key, json.dumps(value)), [value, 0])
            entry[1] += 1
            layout.append(entry)
        layouts.append(layout)
    common = {path: value for path, value in _common({k: tuple(v) for k, v in fields.items()}, len(points)).items()
              if path not in {(c,) for c in REQUIRED_COLUMNS}}
    defaults: dict = {}
    for path, value in common.items():
        if path[-1] != "<tag>":
            _put(defaults, path, value)
    for (key, _), entry in fields.items():
        entry.append(_differences({key: entry[0]}, common))
    rows = [{path: value for entry in layout for path, value in entry[2].items()} for layout in layouts]

    def tabulable(row: dict[tuple, Any]) -> bool:
        cells = {".".join(path): _cell(value) for path, value in row.items()}
        return all(text is not None and (column in TEXT_COLUMNS or cell_value(text) == row[tuple(column.split("."))])
                   for column, text in cells.items())

    inline = max((index + 1 for index, row in enumerate(rows) if not tabulable(row)), default=0)
    table = rows[inline:]
    columns = [(c,) for c in REQUIRED_COLUMNS]
    columns += [path for path in dict.fromkeys(path for row in table for path in row) if path not in columns]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([".".join(path) for path in columns])
    for row in table:
        writer.writerow([_cell(row[path]) if path in row else "" for path in columns])
    table_name = POINTS_TABLE.format(stem=stem)
    ordered: dict[str, Any] = {}
    for key, value in data.items():
        if key != "points":
            ordered[key] = value
            continue
        ordered["defaults"] = defaults
        if inline:
            ordered["points"] = [_inline(row) for row in rows[:inline]]
        if table:
            ordered["points_file"] = table_name
    files = {f"{stem}.yaml": HEADER + dumped(ordered)}
    if table:
        files[table_name] = out.getvalue()
    return files


def _inline(row: dict[tuple, Any]) -> dict:
    point: dict = {}
    for path, value in row.items():
        _put(point, path, value)
    return point
