"""Engine selection (--engine auto|simpy|fast): the same results, the engine recorded, out-of-scope points refused."""

from __future__ import annotations

import json
from pathlib import Path

from simsampling.cli import main
from simsampling.experiment.replicate import EnginePlan, plan_engines
from simsampling.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "scenarios" / "one-point-demo.yaml"
WITH_LABS = ROOT / "scenarios" / "beibei-with-labs.yaml"  # the scenario's chain pools every point's swabs


def pooled_point(tmp_path: Path) -> Path:
    path = tmp_path / "pooled.yaml"
    path.write_text(
        "name: pooled\nseed: 3\nreplications: 1\nclock: {open: '07:00', close: '12:00'}\n"
        "points:\n"
        "  - {id: plain, population: 200, tents: 1, stages: {swab: {}}}\n"
        "  - {id: tubes, population: 200, tents: 1, stages: {swab: {}}, pooling: {ratio: 10}}\n"
        "arrivals: {kind: slots, slots: [{start: '07:00', end: '11:00', share: 1.0}]}\n"
    )
    return path


def test_simpy_and_fast_engines_write_the_same_results(tmp_path: Path, capsys):
    for engine in ("simpy", "fast"):
        out = tmp_path / engine
        assert main(["run", str(DEMO), "--replications", "2", "--engine", engine, "--out", str(out), "--quiet"]) == 0
        assert f"engine: {engine} for 1 point" in capsys.readouterr().out
    simpy, fast = (json.loads((tmp_path / e / "summary.json").read_text()) for e in ("simpy", "fast"))
    assert simpy.pop("engine") == {"asked": "simpy", "fast_points": 0, "simpy_points": 1, "reasons": {}}
    assert fast.pop("engine") == {"asked": "fast", "fast_points": 1, "simpy_points": 0, "reasons": {}}
    for summary in (simpy, fast):
        summary.pop("elapsed_s")
    assert simpy == fast
    for name in ("persons.csv", "timeseries.csv", "kpis.csv"):
        assert (tmp_path / "simpy" / name).read_bytes() == (tmp_path / "fast" / name).read_bytes(), name


def test_fast_engine_on_a_point_out_of_its_scope_is_bad_input(tmp_path: Path, capsys):
    path = pooled_point(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(path), "--engine", "fast", "--out", str(out), "--quiet"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [f"{path}: --engine: point tubes: the fast engine cannot simulate pooled tubes (pooling); use --engine auto or simpy"]
    assert not out.exists()


def test_auto_runs_each_point_on_the_engine_that_can(tmp_path: Path):
    scenario = load_scenario(pooled_point(tmp_path))
    plan = plan_engines(scenario, "auto")
    assert plan.engines == ("fast", "simpy")
    assert plan.as_dict() == {"asked": "auto", "fast_points": 1, "simpy_points": 1, "reasons": {"pooled tubes (pooling)": 1}}
    assert plan.describe() == "engine: fast for 1 point; simpy for 1 (pooled tubes (pooling))"


def test_many_points_out_of_scope_are_listed_up_to_ten(tmp_path: Path, capsys):
    assert main(["run", str(WITH_LABS), "--engine", "fast", "--out", str(tmp_path / "out"), "--quiet"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 11 and all("--engine" in line for line in lines)
    assert "pooled tubes" in lines[0] and lines[-1].endswith("and 316 more points out of the fast engine's scope")


def test_the_engine_line_names_reasons_and_counts():
    plan = EnginePlan(asked="auto", engines=("fast",) * 326 + ("simpy",) * 3, reasons=(None,) * 326 + ("pooling", "home; pooling", "home"))
    assert plan.describe() == "engine: fast for 326 points; simpy for 3 (pooling: 2; home: 2)"
    assert EnginePlan(asked="simpy", engines=("simpy",) * 2).describe() == "engine: simpy for 2 points (asked)"
