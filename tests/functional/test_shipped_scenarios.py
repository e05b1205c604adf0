"""Every scenario shipped in scenarios/ (and its folders, the calibration cases included) loads and runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simsampling import load_scenario
from simsampling.cli import main
from simsampling.report.scenario_yaml import scenario_text

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").rglob("*.yaml"))


SLICE_FROM = 40  # points: larger shipped rounds (districts, cities) run whole in benchmarks/, here a slice of them
SLICED_AWAY = {"id", "name", "town", "population", "tents"}
"""What a point of a slice may differ in from the points it stands for: every other setting of a point runs."""


def representative(points: list) -> list:
    """Every tenth point (up to 20) and, for every setting of the points, the first point that has it, in file order:
    each kind of point runs, in a district of the round's own points, on a size CI affords (the Beibei district with
    its laboratories, on SimPy for its pooled tubes, took 4 minutes whole on a loaded machine)."""
    kinds = {repr(point.model_dump(mode="json", exclude=SLICED_AWAY)): index for index, point in reversed(list(enumerate(points)))}
    chosen = set(range(0, len(points), 10)[:20]) | set(kinds.values())
    return [point for index, point in enumerate(points) if index in chosen]


def test_a_slice_keeps_every_kind_of_point():
    beibei = load_scenario(SCENARIOS[0].parent / "beibei-with-labs.yaml")
    kinds = {repr(p.model_dump(mode="json", exclude=SLICED_AWAY)) for p in beibei.points}
    chosen = representative(beibei.points)
    assert len(kinds) > 1 and {repr(p.model_dump(mode="json", exclude=SLICED_AWAY)) for p in chosen} == kinds
    assert len(chosen) < len(beibei.points) / 5


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_shipped_scenario_runs(path: Path, tmp_path: Path):
    assert main(["validate", str(path)]) == 0
    scenario = load_scenario(path)
    if len(scenario.points) > SLICE_FROM:
        scenario = scenario.model_copy(update={"points": representative(scenario.points)})
        path = tmp_path / "slice.yaml"
        path.write_text(scenario_text(scenario))
    out = tmp_path / "out"
    replications = "1" if len(scenario.points) > 1 else "2"
    # In this process (--jobs 1): the suite keeps every core busy already, and the same bytes on any number of
    # worker processes are checked in test_district.py, test_executors.py and test_run_cli.py.
    assert main(["run", str(path), "-r", replications, "--out", str(out), "--quiet"]) == 0
    kpis = json.loads((out / "summary.json").read_text())["kpis"]
    assert kpis["sampled"]["mean"] > 0
    assert kpis["arrived"]["mean"] == kpis["sampled"]["mean"] + kpis["unserved"]["mean"]
    population = kpis["population"]["mean"]
    accounted = ["sampled", "unserved", "no_show", "not_called", "home_sampled", "home_unserved"]
    assert sum(kpis[key]["mean"] for key in accounted) == population


def test_morning_rush_queues_at_registration_not_at_the_demo():
    """The two shipped one-point scenarios differ the way their comments say."""
    from simsampling import run_scenario

    root = SCENARIOS[0].parent
    rush = run_scenario(load_scenario(root / "one-point-morning-rush.yaml").model_copy(update={"replications": 2}))
    demo = run_scenario(load_scenario(root / "one-point-demo.yaml").model_copy(update={"replications": 2}))
    rush_wait = rush.summary["kpis"]["wait_min"]["registration"]["p90"]["mean"]
    demo_wait = demo.summary["kpis"]["wait_min"]["registration"]["p90"]["mean"]
    assert rush_wait > 20 > 2 > demo_wait


GENERATORS = sorted((Path(__file__).resolve().parents[2] / "scenarios").rglob("generate_*.py"))


@pytest.mark.parametrize("script", GENERATORS, ids=[p.stem for p in GENERATORS])
def test_generated_files_are_what_their_scripts_make(script: Path, capsys):
    """The Xi'an points table and the example records are rewritten by their scripts: the shipped copies must match."""
    import runpy

    main = runpy.run_path(str(script))["main"]
    assert main(["--check"]) == 0, capsys.readouterr().out
