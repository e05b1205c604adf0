"""A point's flow as data: its stages in walking order, and how residents line up for each.

The model knows that a registrar paired with a station serves the resident who then
waits in its chair for that station, or that a point with a line per tent keeps a line
in front of each station; outputs that draw a point or read persons.csv should not
have to know it again. :func:`point_flow` says it once, as plain data written to
flow.json (schema in docs/outputs.md) and read by the animation.

Each stage says:

* ``servers``: how many serve it (stations, desks, entrance servers);
* ``line``: where its residents wait: ``shared`` (one line for every server),
  ``per_station`` (a line in front of each sampling station, the station chosen on
  joining), or ``at_previous`` (at the server of the stage before, which they keep
  until this stage takes them: the paired registrar);
* ``server_column``: the persons.csv column giving the server of each resident at this
  stage (``station``), or null when the log does not record which server it was;
* ``at_station``: its servers stand at the sampling stations (a registrar paired with
  each), so they are drawn in the stations' tents;
* ``side`` and ``from``: a side stage (an isolation tent) is reached from the stages
  named in ``from`` by a divert, and left unswabbed.

Labels and colours are the stage kinds' (``simsampling/stages``).
"""

from __future__ import annotations

from typing import Any

from .scenario.schema import Point, Scenario
from .stages import colour

FLOW_VERSION = 1
"""Raised when a key of flow.json changes meaning."""


def stage_flow(point: Point) -> list[dict[str, Any]]:
    """The point's stages in walking order, each with its servers and where its residents wait."""
    per_tent_lines = point.queue == "per_tent"
    paired = point.paired_registration
    flow = point.flow
    sources = flow.sources()
    stages = []
    for stage in flow.stages:
        name = stage.name
        line, column, at_station = "shared", None, False
        if name == "registration" and paired:
            # The resident is given its station (shared line) or chooses it (a line per tent) before registering.
            line, column, at_station = ("per_station" if per_tent_lines else "shared"), "station", True
        elif name == "swab":
            column = "station"
            line = "at_previous" if paired else ("per_station" if per_tent_lines else "shared")
        stages.append({"name": name, "label": stage.label, "colour": colour(name), "servers": point.servers(name), "line": line,
                       "server_column": column, "at_station": at_station, "side": stage.side, "from": list(sources.get(name, ()))})
    return stages


def point_flow(point: Point, scenario: Scenario) -> dict[str, Any]:
    """Everything a drawing of the point needs that persons.csv does not hold."""
    green = point.green_channel
    area = point.waiting_area
    return {
        "id": point.id,
        "name": point.name or point.id,
        "tents": point.tents,
        "stations": point.stations,
        "stages": stage_flow(point),
        "waiting_area": None if area is None else {"length_m": area.length_m, "spacing_m": area.spacing_m,
                                                   "capacity": area.capacity},
        "green_channel": None if green is None else {"channel": green.channel,
                                                     "stations": green.stations if green.channel == "dedicated" else 0},
        "hours": [[open_s, close_s] for open_s, close_s in scenario.hours],
    }


def flow_document(scenario: Scenario, extra: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """flow.json: every point's flow in scenario order, each with the ``extra`` keys given for its id."""
    return {"flow_version": FLOW_VERSION, "scenario": scenario.name,
            "points": [{**point_flow(point, scenario), **extra.get(point.id, {})} for point in scenario.points]}
