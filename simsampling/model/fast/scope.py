"""What the fast engine can run: every point ``model/point.py`` simulates, except pooled tubes."""

from __future__ import annotations

from typing import Optional

from ...draws import ResidentDraws
from ...scenario.schema import Point, Scenario


def out_of_scope(point: Point, draws: Optional[ResidentDraws] = None) -> Optional[str]:
    """Why the fast engine cannot run this point (None: it can). Every flow, staff plan and
    resident behaviour is in scope.

    ``draws``, when given, are checked too (pooled tubes come with the scenario's chain).
    """
    if point.pooling is not None or (draws is not None and draws.pooling is not None):
        return "pooled tubes (pooling)"
    return None


def fast_scope(point: Point, scenario: Scenario) -> Optional[str]:
    """None if ``simulate_point_fast`` can run ``point`` of ``scenario``, else the reason it cannot."""
    reason = out_of_scope(point)
    if scenario.pooling_for(point) is not None and point.pooling is None:
        reason = "pooled tubes (the scenario's sample chain pools every point)"
    return reason
