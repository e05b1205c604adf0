"""Many points: a ``defaults:`` section merged into every point, and points read from a CSV table.

Both happen on the raw data, before validation, so a point is validated whole.
Each merged field remembers where it was written (a YAML line, a CSV row and
column, or the defaults section), so a problem is reported once, at its source.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from .errors import Problem, ScenarioError, dotted
from .reading import Unreadable, read_input, whole_number
from .schema import Point

MAX_ROWS = 100_000
MAX_TABLE_BYTES = 50_000_000
"""A points table is refused unread beyond this size: 100,000 rows of 500 bytes (the Xi'an table: 46 bytes a row)."""
TEXT_COLUMNS = {"id", "name", "lab"}
REQUIRED_COLUMNS = ("id", "population", "tents")
_INT = re.compile(r"^[-+]?\d+$")
_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


@dataclass(frozen=True)
class Source:
    """Where a field was written: the file, its line, and how to name the field there."""

    file: str
    line: Optional[int]
    field: str


def expand_points(data: dict, file: str, lines: dict[tuple, int], base_dir: Path) -> tuple[dict, Callable[[], dict[tuple, Source]]]:
    """Return scenario data with ``points_file`` read and ``defaults`` merged into each point, and a function that
    maps field paths of the returned data to where they were written (``sources``).

    The map is made when asked for (a problem to report): a city's 4,485 points inherit 130,000 fields from the
    defaults, each remembered for nothing when the scenario is valid (0.03 s of the run's single-core start).
    The defaults' values are shared by the points, not copied: nothing changes the data it validates.
    """
    if "defaults" not in data and "points_file" not in data:
        return data, functools.partial(_sources, file, lines, [], [])
    data = dict(data)
    defaults = data.pop("defaults", None)
    table = data.pop("points_file", None)
    points = data.get("points", [])
    if not isinstance(points, list):
        return data, functools.partial(_sources, file, lines, [], [])  # validation names the problem
    points = list(points)
    read: list[tuple[int, str, int, dict[str, tuple]]] = []  # a table's rows: point index, file, line, columns
    if table is not None:
        if not isinstance(table, str) or not table:
            raise ScenarioError([Problem(file, lines.get(("points_file",)), "points_file", "must be the path of a CSV file")])
        csv_path = base_dir / table
        rows = read_points_csv(csv_path, Source(file, lines.get(("points_file",)), "points_file"))
        for row_line, point, columns in rows:
            read.append((len(points), str(csv_path), row_line, columns))
            points.append(point)
    inherited: list[tuple[tuple, tuple]] = []  # (path in the defaults, path in a point), in the order merged
    if defaults is not None:
        if not isinstance(defaults, dict):
            raise ScenarioError([Problem(file, lines.get(("defaults",)), "defaults", "must be a mapping of point fields")])
        for index, point in enumerate(points):
            if isinstance(point, dict):
                points[index] = _merge(defaults, point, ("defaults",), ("points", index), inherited)
    data["points"] = points
    return data, functools.partial(_sources, file, lines, read, inherited)


def _sources(file: str, lines: dict[tuple, int], read: list[tuple[int, str, int, dict[str, tuple]]],
             inherited: list[tuple[tuple, tuple]]) -> dict[tuple, Source]:
    """Where each field of ``expand_points``' data was written: its line in ``file``, the row and column of the
    points table (``read``), or the defaults for the fields a point inherited (``inherited``)."""
    sources = {path: Source(file, line, dotted(path)) for path, line in lines.items()}
    for index, csv_file, row_line, columns in read:
        sources[("points", index)] = Source(csv_file, row_line, f"row {row_line - 1}")
        for column, path in columns.items():
            sources[("points", index) + path] = Source(csv_file, row_line, f"column '{column}'")
    # Per path in the defaults, the fields written at or under it (relative path, source).
    written: dict[tuple, list[tuple[tuple, Source]]] = {}
    for path, source in sources.items():
        if path[:1] == ("defaults",):
            for size in range(1, len(path) + 1):
                written.setdefault(path[:size], []).append((path[size:], source))
    for from_path, to_path in inherited:  # the fields under ``to_path`` were written under ``from_path``
        for rest, source in written.get(from_path, ()):
            sources[to_path + rest] = source
    return sources


def _tag(value: dict) -> Any:
    return value.get("dist", value.get("kind"))


def _merge(base: Any, override: Any, base_path: tuple, path: tuple, inherited: list[tuple[tuple, tuple]]) -> Any:
    """Deep-merge ``override`` onto ``base``; a null in ``override`` drops the inherited key. Each key taken from
    ``base`` is noted in ``inherited``, as (its path there, its path here).

    Mappings merge key by key, except a distribution or arrival plan of another
    kind (``dist`` / ``kind``), which replaces the inherited one whole.
    """
    if not (isinstance(base, dict) and isinstance(override, dict)):
        return override
    if "dist" in override or "kind" in override:
        if _tag(override) != _tag(base):
            return override
    merged = {}
    for key, value in base.items():  # in the inherited order (a point's stages keep the flow of the defaults)
        if key not in override:
            merged[key] = value
            inherited.append((base_path + (key,), path + (key,)))
        elif override[key] is not None:
            merged[key] = _merge(value, override[key], base_path + (key,), path + (key,), inherited)
    for key, value in override.items():
        if key not in base:
            merged[key] = value
    return merged


def read_points_csv(path: Path, named_by: Source) -> list[tuple[int, dict, dict[str, tuple]]]:
    """Rows of a points table as (line, point data, {column: field path})."""
    name = str(path)
    try:
        raw = read_input(path, MAX_TABLE_BYTES, "points table (CSV)")
    except Unreadable as exc:
        raise ScenarioError([Problem(named_by.file, named_by.line, named_by.field, f"{name}: {exc}")]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError([Problem(name, raw[: exc.start].count(b"\n") + 1, "", "is not UTF-8 text")]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [cell.strip() for cell in next(reader)]
    except StopIteration:
        raise ScenarioError([Problem(name, 1, "", "is empty: it needs a header row (id,name,population,tents,...)")]) from None
    except csv.Error as exc:
        raise ScenarioError([Problem(name, 1, "", f"is not valid CSV ({exc})")]) from None
    problems = [Problem(name, 1, f"column '{c}'", "is required") for c in REQUIRED_COLUMNS if c not in header]
    seen: set[str] = set()
    for column in header:
        if not column or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", column):
            problems.append(Problem(name, 1, f"column '{column}'", "is not a field name (use dotted paths such as stages.swab.servers)"))
        if column in seen:
            problems.append(Problem(name, 1, f"column '{column}'", "is given twice"))
        seen.add(column)
    paths = {column: tuple(column.split(".")) for column in header}
    known = set(Point.model_fields)
    for column, path in paths.items():
        if path[0] not in known:
            problems.append(Problem(name, 1, f"column '{column}'", f"'{path[0]}' is not a point field (see docs/scenario-format.md)"))
    for column, path in paths.items():
        for other, other_path in paths.items():
            if len(other_path) < len(path) and path[: len(other_path)] == other_path:
                problems.append(Problem(name, 1, f"column '{column}'", f"is inside column '{other}': give one or the other"))
    if problems:
        raise ScenarioError(problems)
    rows = []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise ScenarioError([Problem(name, line, "", f"has more than {MAX_ROWS:,} points")])
            if len(cells) != len(header):
                problems.append(Problem(name, line, f"row {line - 1}", f"has {len(cells)} cells, the header has {len(header)}"))
                continue
            point: dict = {}
            given = {}
            for column, cell in zip(header, cells):
                cell = cell.strip()
                if cell == "":
                    continue
                _put(point, paths[column], cell if column in TEXT_COLUMNS else cell_value(cell))
                given[column] = paths[column]
            rows.append((line, point, given))
    except csv.Error as exc:
        problems.append(Problem(name, reader.line_num, "", f"is not valid CSV ({exc})"))
    if problems:
        raise ScenarioError(problems)
    return rows


def cell_value(cell: str) -> Any:
    """A cell as the YAML value it stands for: whole number, number, true/false, or text."""
    if _INT.match(cell):
        return whole_number(cell)
    if _FLOAT.match(cell):
        return float(cell)
    if cell.lower() in ("true", "false"):
        return cell.lower() == "true"
    return cell


def _put(target: dict, path: tuple, value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
        if not isinstance(target, dict):
            return
    target[path[-1]] = value
