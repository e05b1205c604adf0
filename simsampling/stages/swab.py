"""The throat swab at a sampling station: the last stage of every flow.

Stations are the point's tents (or ``servers``); one shared line hands the head
of it the station free the longest, or a line per station is joined at the
shortest (``queue``). Pooled tubes, the green channel's dedicated stations and
reserved stations are the stations' business too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal, Optional, Union

from pydantic import Field

from ..scenario.base import MAX_SERVERS, FrozenModel, Servers, Share
from ..scenario.distributions import Duration, Lognormal
from .kind import STATIONS, StageKind, stage_stream

if TYPE_CHECKING:
    import numpy as np


class Reserved(FrozenModel):
    """``stations`` of the point's stations kept for a ``share`` of the residents (a yellow-code
    lane): they serve nobody else, and those residents use no other station. Their line is
    their own (in a shared line, a line of their own; per station, their stations' lines)."""

    share: Share
    stations: Annotated[int, Field(ge=1, le=MAX_SERVERS)] = 1


class SwabStage(FrozenModel):
    """The throat swab at a station. ``per_tent``: one sampling station per tent."""

    servers: Union[Literal["per_tent"], Servers] = "per_tent"
    service_s: Duration = Lognormal(dist="lognormal", mean=30, sd=10)
    disinfection_s: Optional[Duration] = None
    """Hand disinfection or glove change after each resident, station still busy
    (none by default: the default ``service_s`` already includes it)."""
    reserved: Optional[Reserved] = None


def draw(name: str, config: SwabStage, sample, uniform) -> dict[str, np.ndarray]:
    """Swab times (the ``swab`` stream); hand disinfection (``disinfection``); who uses reserved stations."""
    drawn = {"service_s": sample(config.service_s, "swab")}
    if config.disinfection_s is not None:
        drawn["disinfection_s"] = sample(config.disinfection_s, "disinfection")
    if config.reserved is not None:
        drawn["reserved"] = uniform(RESERVED_STREAM) < config.reserved.share
    return drawn


RESERVED_STREAM = stage_stream("swab.reserved")


def lanes(point) -> list[range]:
    """The stations of each lane of a point, lane 0 first: everyone else's, the green channel's
    dedicated stations (numbered first), the reserved stations (numbered next). Lanes a point
    lacks are empty."""
    green = point.green_channel
    dedicated = green.stations if green is not None and green.channel == "dedicated" else 0
    reserved = point.stages.swab.reserved.stations if point.stages.swab.reserved is not None else 0
    return [range(dedicated + reserved, point.stations), range(dedicated), range(dedicated, dedicated + reserved)]


def lane_of(point, draws) -> np.ndarray:
    """Each resident's lane: 2 if drawn for the reserved stations, else 1 if a priority resident
    with dedicated stations, else 0."""
    import numpy as np

    lane = np.zeros(draws.count, dtype=np.int8)
    if lanes(point)[1] and draws.priority is not None:
        lane[draws.priority] = 1
    if draws.reserved is not None:
        lane[draws.reserved] = 2
    return lane

KIND = StageKind(
    name="swab",
    label="Swab",
    colour="#2a9d8f",
    role="sampler",
    serving=STATIONS,
    config=SwabStage,
    streams=("swab", "disinfection", RESERVED_STREAM),
    draw=draw,
    divert=False,
    server="station",
    staff_count="samplers",
    lever="tent",
)
