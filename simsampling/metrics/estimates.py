"""Estimates across replications: the mean and its 95% confidence interval (Student's t) of every
KPI, and KPI trees flattened to dotted keys.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from ..plain_json import REPR_BELOW, REPR_FROM, PlainTree
from .t_table import T975


def estimate(values: list[float]) -> dict[str, Any]:
    """Mean over replications with a 95% t confidence interval.

    ``ci95`` is null when fewer than two finite values exist; ``n`` counts the
    replications that gave a finite value (a wait has none when nobody came).
    """
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    n = len(finite)
    if n == 0:
        return {"mean": None, "ci95": None, "n": 0}
    if n == 1:  # a city round's thousands of points, one replication each: no arrays, no t quantile
        return {"mean": finite[0], "ci95": None, "n": 1}
    array = np.asarray(finite)
    mean = float(array.mean())
    half = float(_t975(n - 1) * array.std(ddof=1) / math.sqrt(n))
    return {"mean": mean, "ci95": [mean - half, mean + half], "n": n}


@functools.lru_cache(maxsize=None)
def _t975(df: int) -> float:
    """The 97.5% quantile of Student's t: from t_table.py up to 199 degrees of freedom (scipy's values to
    the bit), beyond from ``scipy.special.stdtrit``, what ``scipy.stats.t.ppf`` computes (the same value to
    the bit, tests/unit/test_metrics.py) without importing scipy.stats (0.3 s of CPU against 1 s).
    Cached: scipy's ppf costs about 0.1 ms a call, and a summary makes thousands."""
    if 1 <= df <= len(T975):
        return T975[df - 1]
    from scipy.special import stdtrit

    return float(stdtrit(df, 0.975))


def summarise(replications: list[dict[str, Any]]) -> dict[str, Any]:
    """Turn per-replication KPI trees into one tree of ``estimate`` leaves."""
    if len(replications) == 1:
        return _summarise_one(replications[0])
    first = replications[0]
    summary: dict[str, Any] = {}
    for key, value in first.items():
        if isinstance(value, dict):
            summary[key] = summarise([rep[key] for rep in replications])
        else:
            summary[key] = estimate([rep[key] for rep in replications])
    return summary


def _summarise_one(tree: dict[str, Any]) -> dict[str, Any]:
    """``summarise([tree])`` without a list per leaf: a city round summarises thousands of points of one replication.
    A tree whose keys are strings and whose means orjson writes as ``json`` does is a ``PlainTree`` (each mean is
    looked at here anyway): summary.json's writing then passes over it (the Xi'an round: 0.14 s less)."""
    summary = PlainTree()
    plain = True
    for key, value in tree.items():
        if isinstance(value, dict):
            branch = summary[key] = _summarise_one(value)
            plain = plain and type(branch) is PlainTree
        elif value is not None and math.isfinite(value):
            mean = float(value)
            summary[key] = {"mean": mean, "ci95": None, "n": 1}
            plain = plain and (REPR_FROM <= abs(mean) < REPR_BELOW or mean == 0.0)  # inline: a call a mean costs more
        else:
            summary[key] = {"mean": None, "ci95": None, "n": 0}
        plain = plain and type(key) is str
    return summary if plain else dict(summary)


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"wait_min": {"swab": {"p90": leaf}}}`` -> ``{"wait_min.swab.p90": leaf}``."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and "mean" in value and "n" in value:
            flat[path] = value
        elif isinstance(value, dict):
            flat.update(flatten(value, path))
        else:
            flat[path] = value
    return flat
