"""run_scenario folds the points' tallies in groups (replicate.FOLD_EVERY): the figures do not depend on the group size."""

from __future__ import annotations

from simsampling import run_scenario
from simsampling.experiment import replicate
from simsampling.scenario import validate_scenario


def district():
    return validate_scenario({
        "name": "folding", "seed": 5, "replications": 2,
        "clock": {"open": "07:00", "close": "13:00"},
        "defaults": {"tents": 2, "queue": "shared", "stages": {"swab": {}}},
        "points": [{"id": f"p{k}", "population": 150 + 40 * k} for k in range(7)],
        "arrivals": {"kind": "slots", "slots": [{"start": "07:00", "end": "12:00", "share": 1.0}]},
    })


def test_folding_point_by_point_or_all_at_once_gives_the_same_figures(monkeypatch):
    scenario = district()
    at_once = run_scenario(scenario, executor="serial")
    monkeypatch.setattr(replicate, "FOLD_EVERY", 1)
    one_by_one = run_scenario(scenario, executor="serial")
    assert at_once.run_kpis == one_by_one.run_kpis  # exact: the same sums in the same order
    assert at_once.summary["points"] == one_by_one.summary["points"]
    assert at_once.point_summaries == {p: replicate.summarise(k) for p, k in at_once.point_kpis.items()}
