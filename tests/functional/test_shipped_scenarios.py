"""Every scenario shipped in scenarios/ loads and runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simsampling.cli import main

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_shipped_scenario_runs(path: Path, tmp_path: Path):
    assert main(["validate", str(path)]) == 0
    out = tmp_path / "out"
    assert main(["run", str(path), "-r", "2", "--out", str(out), "--quiet"]) == 0
    kpis = json.loads((out / "summary.json").read_text())["kpis"]
    assert kpis["sampled"]["mean"] > 0
    assert kpis["arrived"]["mean"] == kpis["sampled"]["mean"] + kpis["unserved"]["mean"]


def test_morning_rush_queues_at_registration_not_at_the_demo():
    """The two shipped one-point scenarios differ the way their comments say."""
    from simsampling import load_scenario, run_scenario

    root = SCENARIOS[0].parent
    rush = run_scenario(load_scenario(root / "one-point-morning-rush.yaml").model_copy(update={"replications": 2}))
    demo = run_scenario(load_scenario(root / "one-point-demo.yaml").model_copy(update={"replications": 2}))
    rush_wait = rush.summary["kpis"]["wait_min"]["registration"]["p90"]["mean"]
    demo_wait = demo.summary["kpis"]["wait_min"]["registration"]["p90"]["mean"]
    assert rush_wait > 20 > 2 > demo_wait
