"""What the planner must meet, and whether runs meet it: the deadline and a p90 wait limit.

Shared by the impact view (advice/impact.py), its words (advice/words.py) and the moves
between points (advice/moves.py). A target is met *with confidence* when the upper end of
its KPI's 95% confidence interval over replications (or the mean, with one replication) is
within the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

from ..choices import DEFAULT_MAX_P90_WAIT_MIN  # noqa: F401  (named with the command line's choices)
from ..metrics import estimate

IMPACT_KPIS = ("finish_h", "wait_min.total.p90", "queue_max.total", "staff_hours")
"""The KPIs of the impact view: when the last resident is sampled, the p90 wait, the longest line, the staff."""
UNITS = {"finish_h": "h", "wait_min.total.p90": "min", "queue_max.total": "people", "staff_hours": "staff-hours"}
NAMES = {"finish_h": "last sample", "wait_min.total.p90": "p90 wait", "queue_max.total": "longest line",
         "staff_hours": "staff-hours"}


def kpi_values(kpis_list: Sequence[dict[str, Any]], key: str) -> list[Optional[float]]:
    """A dotted KPI's value in each replication (None where a replication lacks it)."""
    out = []
    for kpis in kpis_list:
        node: Any = kpis
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        out.append(node if isinstance(node, (int, float)) and not isinstance(node, bool) else None)
    return out


def leaves(kpis_list: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each impact KPI's mean over the replications, with its 95% CI (``metrics.estimate`` leaves)."""
    return {key: estimate(kpi_values(kpis_list, key)) for key in IMPACT_KPIS}


@dataclass(frozen=True)
class Targets:
    """The deadline (hours from the first opening) and the p90 wait limit (minutes)."""

    deadline_h: float
    max_p90_wait_min: float

    def limits(self) -> dict[str, float]:
        return {"finish_h": self.deadline_h, "wait_min.total.p90": self.max_p90_wait_min}


def meets(leaves_: dict[str, dict[str, Any]], targets: Targets) -> dict[str, bool]:
    """Per target KPI, whether it is met with confidence (the 95% CI's upper end, or the mean, within the limit)."""
    out = {}
    for key, limit in targets.limits().items():
        leaf = leaves_.get(key) or {}
        high = (leaf.get("ci95") or [None, leaf.get("mean")])[1]
        out[key] = high is None or high <= limit + 1e-9
    return out
