"""Stages as data: one description per kind of stage, and the flow of a point.

``catalogue`` lists the known kinds (``temperature``, ``health_code``,
``registration``, ``swab``; any other name is a plain stage, ``plain``); each
kind's module holds everything about it: its scenario fields, label, colour,
staff role, random streams, how it draws, and how it serves (``kind.POOL``,
``REGISTRATION``, ``STATIONS``: the engines' serving modules). ``flow`` reads a
point's ``stages`` mapping into the :class:`Flow` the engines walk.
"""

from .catalogue import KINDS, PLAIN, ROLES, colour, describe, label, lever, role, server, staff_count
from .flow import Flow, Stage, Stages, flow_of, flow_problems, union
from .kind import POOL, REGISTRATION, STATIONS, Divert, PlainStage, StageKind, routes

__all__ = ["KINDS", "PLAIN", "POOL", "ROLES", "REGISTRATION", "STATIONS", "Divert", "Flow", "PlainStage", "Stage", "StageKind", "Stages",
           "colour", "describe", "flow_of", "flow_problems", "label", "lever", "role", "routes", "server", "staff_count", "union"]
