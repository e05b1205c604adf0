"""What the animation reads of one point: its flow, its residents' timestamps and its stations' spells.

From a results folder (flow.json, persons.csv or .parquet, stations.csv, summary.json) or from a
run still in memory (the same tables, before they are written): both give the same
:class:`Scene`, so the web app can show a run's animation without a folder.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

PERSON_COLUMNS = ("resident", "status", "qr", "priority", "station", "arrival_s", "left_s")
"""Columns of persons.csv the animation reads besides each stage's ``<stage>_start_s`` and ``<stage>_end_s``."""
HOME_STATUSES = ("home_sampled", "home_unserved")


class AnimationError(Exception):
    """The results cannot be animated as asked: the message names the file or option at fault."""

    def __init__(self, where: str, message: str):
        self.where = where
        super().__init__(f"{where}: {message}")


@dataclass
class Scene:
    """One point in the first replication.

    ``flow`` is the point's entry of flow.json; ``persons`` the point's rows of
    persons.csv as arrays (residents who came, in arrival order; floats NaN where
    empty); ``spells`` the point's rows of stations.csv (state, station, start, end, reason).
    """

    scenario: str
    replications: int
    flow: dict[str, Any]
    persons: dict[str, np.ndarray]
    spells: list[tuple[str, int, float, float, str]]

    @property
    def point_id(self) -> str:
        return self.flow["id"]

    @property
    def stages(self) -> list[dict[str, Any]]:
        return self.flow["stages"]


def choose_point(points: list[dict[str, Any]], wanted: Optional[str], where: str) -> dict[str, Any]:
    """The point asked for, or the one with the longest line in the first replication (the first of equals)."""
    if wanted is not None:
        for point in points:
            if point["id"] == wanted:
                return point
        known = ", ".join(p["id"] for p in points[:10]) + (", ..." if len(points) > 10 else "")
        raise AnimationError("--point", f'"{wanted}" is not a point of {where} (points: {known})')
    return max(points, key=lambda p: (p.get("queue_peak_first_replication") or 0.0, -points.index(p)))


NOT_OURS = (ValueError, IndexError, KeyError, TypeError, csv.Error)
"""What reading a file that `simsampling run` did not write raises (a UnicodeDecodeError is a ValueError)."""


def _open(path: Path, missing: str):
    """The file opened for reading; AnimationError if it is missing or not a regular file (a FIFO would block)."""
    if not path.exists():
        raise AnimationError(str(path), missing)
    if not path.is_file():
        raise AnimationError(str(path), "is not a regular file: give the results folder that `simsampling run` wrote")
    return path.open(newline="", encoding="utf-8")


def not_ours(where: str, exc: Exception) -> AnimationError:
    return AnimationError(where, f"is not as `simsampling run` writes it ({exc}); run the scenario again")


def _read_json(path: Path) -> Any:
    missing = ("not found: is this a results folder written by `simsampling run`? (flow.json and stations.csv are "
               "written since simsampling 0.1.0 with the animation; run the scenario again)")
    with _open(path, missing) as handle:
        try:
            return json.load(handle)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise AnimationError(str(path), f"not valid JSON ({exc})") from None


def _check_flow(flow: Any, summary: Any, folder: Path) -> None:
    """flow.json a list of points, each with its id and stages; summary.json an object."""
    points = flow.get("points") if isinstance(flow, dict) else None
    if not (isinstance(points, list) and points and all(
            isinstance(p, dict) and isinstance(p.get("id"), str) and isinstance(p.get("stages"), list)
            and all(isinstance(stage, dict) and isinstance(stage.get("name"), str) for stage in p["stages"])
            for p in points)):
        raise AnimationError(str(folder / "flow.json"), "is not as `simsampling run` writes it (a list of points, each "
                             "with its id and stages); run the scenario again")
    if not (isinstance(summary, dict) and isinstance(summary.get("replications", 1), int)):
        raise AnimationError(str(folder / "summary.json"), "is not as `simsampling run` writes it (an object with "
                             "the replications); run the scenario again")


def _floats(values: list[str]) -> np.ndarray:
    return np.array([float(v) if v else math.nan for v in values], dtype=float)


def person_columns(stages: list[dict[str, Any]]) -> list[str]:
    """The persons.csv columns a drawing of a point with these stages needs."""
    return [*PERSON_COLUMNS, *(f"{stage['name']}_{edge}_s" for stage in stages for edge in ("start", "end"))]


def as_arrays(columns: dict[str, list], names: list[str]) -> dict[str, np.ndarray]:
    """Text or values of persons columns as typed arrays (times float, flags bool, station int)."""
    arrays = {}
    for name in names:
        values = columns[name]
        if name == "status":
            arrays[name] = np.asarray(values, dtype=object)
        elif name in ("qr", "priority"):
            arrays[name] = np.array([v is True or v == "true" for v in values], dtype=bool)
        elif name in ("station", "resident"):
            arrays[name] = np.array([int(v) for v in values], dtype=np.int64)
        else:
            arrays[name] = _floats(values) if values and isinstance(values[0], str) else np.asarray(values, dtype=float)
    return arrays


def _read_persons(folder: Path, point_id: str, stages: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """The point's rows of persons.csv, or of persons.parquet (``run --format parquet``): residents who came, home
    rows left out, as arrays."""
    if not (folder / "persons.csv").exists() and (folder / "persons.parquet").exists():
        return _read_persons_parquet(folder / "persons.parquet", point_id, stages)
    path = folder / "persons.csv"
    names = person_columns(stages)
    handle = _open(path, "not found: the run wrote no persons.csv (rounds of over 1,000,000 residents write it only "
                         "with `simsampling run --persons`)")
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, [])
            missing = [name for name in ("point", *names) if name not in header]
            if missing:
                raise AnimationError(str(path), f"has no column {', '.join(missing)}: not the persons.csv of this flow")
            index = [header.index(name) for name in names]
            rows, seen = [], False
            for row in reader:
                if row and row[0] == point_id:
                    seen = True
                    rows.append([row[i] for i in index])
                elif seen:
                    break  # persons.csv lists the points one after another
        except NOT_OURS as exc:
            raise not_ours(f"{path}:{reader.line_num}", exc) from None
    return _point_arrays({name: [row[k] for row in rows] for k, name in enumerate(names)}, names, path)


def _read_persons_parquet(path: Path, point_id: str, stages: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """``_read_persons`` of persons.parquet: only the point's rows and the columns drawn are read."""
    import polars as pl

    if not path.is_file():
        raise AnimationError(str(path), "is not a regular file: give the results folder that `simsampling run` wrote")
    names = person_columns(stages)
    try:
        header = pl.read_parquet_schema(path)
        missing = [name for name in ("point", *names) if name not in header]
        if missing:
            raise AnimationError(str(path), f"has no column {', '.join(missing)}: not the persons.parquet of this flow")
        table = pl.scan_parquet(path).filter(pl.col("point") == point_id).select(names).collect()
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise not_ours(str(path), exc) from None
    return _point_arrays({name: table[name].to_list() for name in names}, names, path)


def _point_arrays(columns: dict[str, list], names: list[str], path: Path) -> dict[str, np.ndarray]:
    """A point's persons columns as arrays (``as_arrays``), the door-to-door rows left out."""
    keep = [status not in HOME_STATUSES for status in columns["status"]]
    try:
        return as_arrays({name: [v for v, kept in zip(values, keep) if kept] for name, values in columns.items()}, names)
    except NOT_OURS as exc:
        raise not_ours(str(path), exc) from None


def _read_spells(path: Path, point_id: str) -> list[tuple[str, int, float, float, str]]:
    handle = _open(path, "not found: results written before the animation existed; run the scenario again")
    with handle:
        reader = csv.DictReader(handle)
        try:
            return [(row["state"], int(row["station"]) if row["station"] else -1, float(row["start_s"]),
                     float(row["end_s"]) if row["end_s"] else math.inf, row["reason"])
                    for row in reader if row["point"] == point_id]
        except NOT_OURS as exc:
            raise not_ours(f"{path}:{reader.line_num}", exc) from None


def read_results(folder: Path, point: Optional[str] = None) -> Scene:
    """The scene of one point (``point``, or the one with the longest line) from a results folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise AnimationError(str(folder), "not found: give the results folder that `simsampling run` wrote")
    flow = _read_json(folder / "flow.json")
    summary = _read_json(folder / "summary.json")
    _check_flow(flow, summary, folder)
    chosen = choose_point(flow["points"], point, str(folder))
    persons = _read_persons(folder, chosen["id"], chosen["stages"])
    spells = _read_spells(folder / "stations.csv", chosen["id"])
    return Scene(scenario=str(summary.get("scenario", flow.get("scenario", ""))), replications=summary.get("replications", 1),
                 flow=chosen, persons=persons, spells=spells)


def scene_of_run(result, point: Optional[str] = None) -> Scene:
    """The scene of one point of a run in memory (``RunResult`` that kept its residents), as its folder would give it."""
    from ..report.files import flow_extra, station_rows
    from ..flow import flow_document

    document = flow_document(result.scenario, flow_extra(result))
    chosen = choose_point(document["points"], point, f"scenario {result.scenario.name}")
    logs = [log for log in result.first_logs if log.point_id == chosen["id"]]
    if not logs:
        raise AnimationError("run", "the run did not keep its residents in memory (run_scenario(..., keep_logs=True))")
    table = logs[0].table()
    came = ~np.isin(table["status"], HOME_STATUSES)
    names = person_columns(chosen["stages"])
    persons = as_arrays({name: table[name][came].tolist() for name in names}, names)
    spells = [(state, -1 if station is None else int(station), float(begin), math.inf if not math.isfinite(end) else float(end),
               reason or "") for point_id, station, state, begin, end, reason in station_rows(result) if point_id == chosen["id"]]
    return Scene(scenario=result.scenario.name, replications=result.replications, flow=chosen, persons=persons, spells=spells)
