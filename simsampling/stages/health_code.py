"""The health-code check: a staffer looks at (or scans) each resident's health code, one line."""

from __future__ import annotations

from ..scenario.distributions import Duration, Triangular
from .kind import POOL, PlainStage, StageKind, draw_service


class HealthCodeStage(PlainStage):
    """A plain stage with defaults: one checker, 3-15 s a resident (our guess, docs/defaults.md)."""

    service_s: Duration = Triangular(dist="triangular", low=3, mode=5, high=15)


KIND = StageKind(
    name="health_code",
    label="Health-code check",
    colour="#8d6cab",
    role="health_code",
    serving=POOL,
    config=HealthCodeStage,
    draw=draw_service,
    server="health-code checker",
)
