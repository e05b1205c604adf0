"""simsampling advise, run --advise, and optimise over every staffed knob, on small runs.

The impact view's signs are checked on the demo (one more tent never lengthens the p90 wait
beyond its paired confidence interval); a district of four walk-in booths in two towns has
one move known by construction; an impossible deadline exits 3 with the reason and writes nothing.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from simsampling.cli import main
from simsampling.experiment.optimise import optimise_staffing
from simsampling.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "scenarios" / "one-point-demo.yaml"
RUSH = ROOT / "scenarios" / "one-point-morning-rush.yaml"


def rows(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def advised(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("advise") / "out"
    assert main(["advise", str(DEMO), "--out", str(out), "--quiet"]) == 0
    return out


def test_the_folder_holds_the_impact_view(advised: Path):
    for name in ("advice.json", "advice.csv", "report.html", "scenario.yaml", "charts/impact.png"):
        assert (advised / name).stat().st_size > 0, name
    assert not (advised / "moves.csv").exists()  # one point: nothing to move
    assert not [p for p in advised.parent.iterdir() if p.name.startswith(".")]
    summary = json.loads((advised / "advice.json").read_text())
    assert summary["kind"] == "advice" and summary["common_random_numbers"] is True
    assert summary["targets"] == {"deadline_h": 15.0, "max_p90_wait_min": 15.0}
    assert summary["rank_by"] == "wait_min.total.p90" and summary["sentences"]
    assert [e["rank"] for e in summary["effects"]] == list(range(1, 9))
    html = (advised / "report.html").read_text()
    assert "What to change" in html and "data:image/png;base64," in html and "one-point-demo.yaml" in html


def test_the_signs_are_right_on_the_demo(advised: Path):
    effects = {e["lever"]: e for e in json.loads((advised / "advice.json").read_text())["effects"]}
    more, fewer = effects["tent+1"]["deltas"], effects["tent-1"]["deltas"]
    assert more["wait_min.total.p90"]["ci95"][0] <= 0  # one more tent never lengthens the p90 wait beyond its CI
    assert more["queue_max.total"]["ci95"][0] <= 0 and more["finish_h"]["ci95"][0] <= 0
    assert fewer["wait_min.total.p90"]["ci95"][1] >= 0 and fewer["queue_max.total"]["ci95"][1] >= 0
    assert more["staff_hours"]["mean"] == pytest.approx(30) and fewer["staff_hours"]["mean"] == pytest.approx(-30)
    # The calling plan sets the demo's finish: an hour shorter is an hour earlier, a tent moves nothing.
    assert effects["calls-1h"]["deltas"]["finish_h"]["mean"] == pytest.approx(-1.0, abs=0.05)
    assert abs(more["finish_h"]["mean"]) < 0.01
    assert effects["desk+1"]["applicable"] is False and "paired" in effects["desk+1"]["reason"]
    table = {r["lever"]: r for r in rows(advised / "advice.csv")}
    assert float(table["tent+1"]["wait_min.total.p90_delta"]) == pytest.approx(more["wait_min.total.p90"]["mean"])


def test_run_advise_adds_the_section(tmp_path: Path):
    out = tmp_path / "run"
    assert main(["run", str(RUSH), "-r", "3", "--advise", "--out", str(out), "--quiet"]) == 0
    for name in ("summary.json", "advice.json", "advice.csv", "charts/impact.png"):
        assert (out / name).exists(), name
    html = (out / "report.html").read_text()
    assert 'id="advice"' in html and "The bottleneck is the registration stage" in html
    effects = {e["lever"]: e for e in json.loads((out / "advice.json").read_text())["effects"]}
    assert effects["desk+1"]["verdict"] == "helps" and effects["desk-1"]["verdict"] == "harms"


def district() -> dict:
    """Two towns of two walk-in booths: a-01 overloaded beside an idle a-02; b-01 overloaded beside a busy b-02."""
    booth = load_scenario(ROOT / "scenarios" / "walk-in-swab-only.yaml").model_dump(mode="json", exclude_none=True)
    point = booth["points"][0]

    def one(point_id: str, tents: int, rate: float, town: str) -> dict:
        return {**point, "id": point_id, "population": 3000, "tents": tents, "town": town,
                "arrivals": {"kind": "poisson", "rate_per_hour": rate}}

    return {**booth, "name": "two-towns", "replications": 4, "clock": {"open": "08:00", "close": "11:00"},
            "round": {"deadline_h": 5}, "points": [one("a-01", 2, 330, "A"), one("a-02", 4, 60, "A"),
                                                   one("b-01", 2, 330, "B"), one("b-02", 2, 200, "B")]}


def test_moves_stay_inside_a_town(tmp_path: Path):
    file = tmp_path / "towns.yaml"
    file.write_text(yaml.safe_dump(district()))
    out = tmp_path / "out"
    assert main(["advise", str(file), "--out", str(out), "--quiet"]) == 0
    moves = rows(out / "moves.csv")
    assert [(m["town"], m["from"], m["to"]) for m in moves] == [("A", "a-02", "a-01")]
    summary = json.loads((out / "advice.json").read_text())
    assert any("move a tent" in s for s in summary["sentences"])
    scopes = {r["scope"] for r in rows(out / "advice.csv")}
    assert scopes == {"point", "district"}
    assert (out / "charts" / "impact_points.png").stat().st_size > 1000


def test_an_impossible_deadline_exits_3_and_writes_nothing(tmp_path: Path, capsys):
    out = tmp_path / "opt"
    assert main(["optimise", str(DEMO), "--deadline", "12", "--out", str(out), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "arrivals.slots[3].end" in err and "after the 19:00 deadline" in err and "18:30" in err
    assert "--deadline" in err and "no results were written" in err
    assert list(tmp_path.iterdir()) == []  # no folder, no optimised.yaml, no .partial journal


def test_a_target_no_staffing_meets_exits_3_with_the_best_found(tmp_path: Path, capsys):
    """Walk-ins until 11:00 against a 10:00 deadline, at a point where residents may leave (no proof up front)."""
    data = district()
    data["points"] = [{**data["points"][1], "id": "late", "tents": 1, "population": 400,
                       "balking": {"threshold": {"dist": "uniform", "low": 50, "high": 100}, "return_share": 0}}]
    file = tmp_path / "late.yaml"
    file.write_text(yaml.safe_dump(data))
    out = tmp_path / "opt"
    assert main(["optimise", str(file), "--deadline", "2", "--out", str(out), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "best found" in err and "deadline in 29" in err
    assert [p.name for p in tmp_path.iterdir()] == ["late.yaml"]


def test_optimise_raises_the_bottleneck_and_every_knob_is_least():
    """Separate registration desks hold the morning rush: the answer adds desks; one fewer of any knob fails."""
    result = optimise_staffing(load_scenario(RUSH), None, 15.0)
    answer = result.staffing["tjx-01"]
    assert answer["registration"] > 4 and result.verified
    tried = {tuple(sorted(e.values.items())): e.passed for e in result.evaluations}
    for knob, value in answer.items():
        lower = dict(answer, **{knob: value - 1})
        if value > 1:
            assert tried[tuple(sorted(lower.items()))] is False, knob
    summary = result.summary()
    assert summary["points"][0]["servers"]["registration"] == answer["registration"]
    assert summary["staff_hours_scheduled_after"] > summary["staff_hours_scheduled_before"]
