"""simsampling optimise and --replications auto, on the walk-in (M/M/c-like) booth.

The walk-in booth: Poisson arrivals at 384/h, exponential swabs of mean 30 s, so
offered load a = 3.2 Erlangs. Erlang C, P(W > t) = C(c, a) exp(-(c mu - lambda) t), gives the
steady-state p90 wait: c = 4: 1.12 min, c = 5: 0.29 min, c = 6: 0.04 min, c = 7: 0.
So the smallest c with p90 wait <= 0.6 min is 5, and with p90 wait <= 0.1 min it is 6.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
import yaml

from simsampling.cli import main
from simsampling.experiment import run_scenario
from simsampling.experiment.optimise import (
    allocate_stations,
    optimise_stations,
    success_lower_bound,
    success_run_size,
)
from simsampling.experiment.sequential import Target, run_sequential, with_replications
from simsampling.scenario import load_scenario, validate_scenario

ROOT = Path(__file__).resolve().parents[2]
WALK_IN = ROOT / "scenarios" / "walk-in-swab-only.yaml"


def erlang_c_p90_min(c: int, rate_per_h: float = 384, service_s: float = 30) -> float:
    lam, mu = rate_per_h / 3600, 1 / service_s
    a = lam / mu
    top = a**c / math.factorial(c) * c / (c - a)
    prob_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return 0.0 if prob_wait <= 0.1 else math.log(prob_wait / 0.1) / (c * mu - lam) / 60


def rows(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_criterion_numbers():
    assert success_run_size(0.9, 0.95) == 29
    assert success_lower_bound(29, 29, 0.95) == pytest.approx(0.05 ** (1 / 29))
    assert success_lower_bound(29, 29, 0.95) >= 0.9 > success_lower_bound(28, 29, 0.95)
    assert success_lower_bound(0, 10, 0.95) == 0.0


@pytest.fixture(scope="module")
def optimised(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("opt") / "out"
    assert main(["optimise", str(WALK_IN), "--deadline", "12.5", "--max-p90-wait", "0.1", "--out", str(out), "--quiet"]) == 0
    return out


def test_answer_matches_erlang_c(optimised):
    limit = 0.1
    expected = min(c for c in range(4, 12) if erlang_c_p90_min(c) <= limit)
    assert expected == 6
    answer = rows(optimised / "answer.csv")
    assert [(r["point"], int(r["stations"]), r["status"]) for r in answer] == [("walk-in-01", expected, "found")]
    search = rows(optimised / "search.csv")
    by_count = {int(r["stations"]): r for r in search if r["phase"] == "search"}
    assert by_count[expected]["passed"] == "true" and by_count[expected - 1]["passed"] == "false"
    # The simulated p90 wait agrees with Erlang C (transient start, finite day: loose tolerance).
    for c in (5, 6):
        if c in by_count:
            assert float(by_count[c]["wait_p90_min_mean"]) == pytest.approx(erlang_c_p90_min(c), abs=0.03)
    assert all(r["seed"] == "1" for r in search if r["phase"] == "search")  # common random numbers


def test_verification_is_reported(optimised):
    summary = json.loads((optimised / "summary.json").read_text())
    assert summary["verify_seed"] == 1 + 1_000_003
    assert summary["verified"] is True
    assert summary["replications"] == 29
    verify = [r for r in rows(optimised / "search.csv") if r["phase"] == "verify"]
    assert len(verify) == 1 and verify[0]["seed"] == str(1 + 1_000_003) and verify[0]["passed"] == "true"
    assert "confidence" in summary["criterion"] and "Clopper-Pearson" in summary["criterion"]["definition"]
    assert (optimised / "charts" / "search.png").stat().st_size > 1000
    html = (optimised / "report.html").read_text()
    assert "<!DOCTYPE html>" in html and "data:image/png;base64," in html


def test_optimised_yaml_runs(optimised, tmp_path):
    data = yaml.safe_load((optimised / "optimised.yaml").read_text())
    assert data["points"][0]["tents"] == 6
    out = tmp_path / "run"
    assert main(["run", str(optimised / "optimised.yaml"), "--replications", "2", "--out", str(out), "--quiet"]) == 0
    assert json.loads((out / "summary.json").read_text())["points"][0]["stations"] == 6


def test_python_api_wider_limit():
    scenario = load_scenario(WALK_IN)
    result = optimise_stations(scenario, 12.5, 0.6)  # Erlang C: c = 5
    assert result.answers == {"walk-in-01": 5}
    assert result.verified
    failing = [e for e in result.evaluations if e.stations == 4]
    assert failing and not failing[0].passed


def two_points(rates=(384, 150)) -> dict:
    data = load_scenario(WALK_IN).model_dump(mode="json", exclude_none=True)
    point = data["points"][0]
    data["points"] = [{**point, "id": f"p{i}", "population": 6000, "arrivals": {"kind": "poisson", "rate_per_hour": r}}
                      for i, r in enumerate(rates)]
    data["replications"] = 3
    return data


def test_allocation_uses_the_total():
    scenario = validate_scenario(two_points())
    result = allocate_stations(scenario, 9)
    assert sum(result.answers.values()) == 9
    assert all(count >= 1 for count in result.answers.values())
    assert result.answers["p0"] > result.answers["p1"]  # the busier point gets more
    steps = result.allocation_steps
    assert [s["stations"] for s in steps] == list(range(2, 10))


def test_allocation_cli(tmp_path):
    file = tmp_path / "two.yaml"
    file.write_text(yaml.safe_dump(two_points()))
    out = tmp_path / "out"
    assert main(["optimise", str(file), "--total-stations", "8", "--out", str(out), "--quiet"]) == 0
    answer = rows(out / "answer.csv")
    assert sum(int(r["stations"]) for r in answer) == 8 and all(int(r["stations"]) >= 1 for r in answer)
    assert validate_scenario(yaml.safe_load((out / "optimised.yaml").read_text())).points[0].stations == int(answer[0]["stations"])


@pytest.mark.parametrize(
    "args, field",
    [
        (["--deadline", "-3", "--max-p90-wait", "1"], "--deadline"),
        (["--deadline", "12", "--max-p90-wait", "-1"], "--max-p90-wait"),
        (["--deadline", "12", "--confidence", "1.5"], "--confidence"),
        (["--total-stations", "0"], "--total-stations"),
        (["--deadline", "12", "--replications", "5"], "--replications"),
    ],
)
def test_bad_input_exits_2(args, field, tmp_path, capsys):
    assert main(["optimise", str(WALK_IN), *args, "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert field in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_unknown_kpi_exits_2(tmp_path, capsys):
    out = tmp_path / "o"
    code = main(["run", str(WALK_IN), "--replications", "auto", "--kpi", "wait_min.nowhere.p90", "--out", str(out), "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--kpi" in err and "wait_min.nowhere.p90" in err
    assert not out.exists()


def test_replications_auto_cli(tmp_path, capsys):
    out = tmp_path / "auto"
    assert main(["run", str(WALK_IN), "--replications", "auto", "--kpi", "wait_min.total.p90=0.08",
                 "--kpi", "finish_h", "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    auto = summary["replications_auto"]
    assert auto["target_met"] is True and auto["replications"] == summary["replications"] > 5
    assert sum(auto["batches"]) == summary["replications"]
    wait = summary["kpis"]["wait_min"]["total"]["p90"]
    half = (wait["ci95"][1] - wait["ci95"][0]) / 2
    assert half <= 0.08 and half == pytest.approx([k for k in auto["kpis"] if k["kpi"] == "wait_min.total.p90"][0]["half_width"])
    finish = summary["kpis"]["finish_h"]
    assert (finish["ci95"][1] - finish["ci95"][0]) / 2 <= 0.05 * finish["mean"]
    assert f"{summary['replications']} replications, target met" in capsys.readouterr().out
    # The same KPIs as a plain run with that many replications.
    plain = tmp_path / "plain"
    assert main(["run", str(WALK_IN), "--replications", str(summary["replications"]), "--out", str(plain), "--quiet"]) == 0
    again = json.loads((plain / "summary.json").read_text())
    assert again["kpis"] == summary["kpis"] and again["points"] == summary["points"]


def test_sequential_batches_equal_one_run():
    scenario = load_scenario(WALK_IN)
    result, report = run_sequential(scenario, [Target("wait_min.total.p90", absolute=0.05)], n0=3, max_replications=12)
    assert report.batches[0] == 3 and report.replications == sum(report.batches) <= 12
    plain = run_scenario(with_replications(scenario, report.replications))
    assert result.run_kpis == plain.run_kpis
    assert result.littles_law.stages_checked == plain.littles_law.stages_checked
    for stage, counts in plain.wait_counts.items():
        assert (result.wait_counts[stage] == counts).all()
    assert result.run_bands.sampled.n == plain.run_bands.sampled.n


def test_an_interrupted_optimisation_resumes_without_repeating_evaluations(tmp_path, monkeypatch):
    import simsampling.experiment.optimise as optimise

    scenario = load_scenario(WALK_IN)
    whole = optimise_stations(scenario, 12.5, 0.6)
    calls = []
    real = optimise.run_scenario

    def interrupted(run_on, **kwargs):
        calls.append(run_on.points[0].stations)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(run_on, **kwargs)

    monkeypatch.setattr(optimise, "run_scenario", interrupted)
    with pytest.raises(KeyboardInterrupt):
        optimise_stations(scenario, 12.5, 0.6, journal_folder=tmp_path)
    calls.clear()
    monkeypatch.setattr(optimise, "run_scenario", lambda run_on, **kwargs: calls.append(run_on.points[0].stations) or real(run_on, **kwargs))
    resumed = optimise_stations(scenario, 12.5, 0.6, journal_folder=tmp_path)
    searched = [e.stations for e in whole.evaluations]
    # The first evaluation came from the journal; the rest ran once each, then the verification.
    assert calls == searched[1:] + [whole.answers["walk-in-01"]]
    assert resumed.answers == whole.answers
    assert [(e.stations, e.successes, e.wait_p90_mean) for e in resumed.evaluations] == \
        [(e.stations, e.successes, e.wait_p90_mean) for e in whole.evaluations]
