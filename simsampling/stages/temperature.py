"""The entrance check: temperature (and, at many points, the health code), one line."""

from __future__ import annotations

from ..scenario.base import Servers
from ..scenario.distributions import Duration, Triangular
from .kind import POOL, PlainStage, StageKind, draw_service


class TemperatureStage(PlainStage):
    """Entrance: temperature and health-code check, one shared line."""

    servers: Servers = 1
    service_s: Duration = Triangular(dist="triangular", low=2, mode=3, high=5)


KIND = StageKind(
    name="temperature",
    label="Temperature check",
    colour="#e07b39",
    role="temperature",
    serving=POOL,
    config=TemperatureStage,
    streams=("temperature",),
    server="temperature checker",
    staff_count="temperature",
    lever="checker",
    draw=lambda name, config, sample, uniform: draw_service(name, config, sample, uniform, "temperature"),
)
