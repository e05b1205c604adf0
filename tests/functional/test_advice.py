"""The diagnosis on whole small runs whose answer is known by construction, and where it shows."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from simsampling import run_scenario
from simsampling.advice import run_advice
from simsampling.cli import main
from simsampling.report.html import summary_kpi_rows, verdict
from simsampling.scenario import validate_scenario

MORNING = {"kind": "slots", "show_up": 1.0, "slots": [{"start": "07:00", "end": "09:00", "share": 1.0}]}


def point(**fields) -> dict:
    return {"id": "p", "population": 600, "tents": 4, **fields}


def scenario(points: list[dict], arrivals: dict = MORNING, close: str = "13:00", **fields):
    return validate_scenario({"name": "advice", "seed": 3, "replications": 2, "clock": {"open": "07:00", "close": close},
                              "arrivals": arrivals, "points": points, **fields})


def advice_of(data):
    result = run_scenario(data, executor="serial")
    return result, run_advice(result)


def test_a_single_slow_temperature_checker_is_named():
    # 300 an hour come to one checker who takes 20 s (180 an hour); desks and stations to spare.
    slow = point(stages={"temperature": {"servers": 1, "service_s": {"dist": "fixed", "value": 20}},
                         "registration": {"servers": 6, "qr_share": 1.0}, "swab": {}})
    _, advice = advice_of(scenario([slow]))
    diagnosis = advice.diagnosis.points[0]
    assert diagnosis.limited_by == "capacity" and "p90_wait_over_target" in diagnosis.evidence.rules
    bottleneck = diagnosis.bottleneck
    assert bottleneck.stage == "temperature" and bottleneck.wait_share > 0.9
    assert bottleneck.utilization > 0.95 and bottleneck.busy_period.start_h < 0.2 < 2.0 < bottleneck.busy_period.end_h
    assert advice.sentences[1].startswith("The bottleneck is the temperature check stage: temperature checkers busy")
    assert advice.sentences[1].endswith("; try one more temperature checker.")


def test_registration_desks_without_qr_codes_are_named():
    # Every resident typed in (60 s) at two desks: 120 an hour against 300 coming.
    desks = point(stages={"temperature": {}, "registration": {"servers": 2, "qr_share": 0.0}, "swab": {}})
    _, advice = advice_of(scenario([desks]))
    diagnosis = advice.diagnosis.points[0]
    assert diagnosis.limited_by == "capacity" and diagnosis.bottleneck.stage == "registration"
    assert diagnosis.bottleneck.wait_share > 0.9 and diagnosis.bottleneck.utilization > 0.95
    assert "registration desks busy" in advice.sentences[1]
    assert advice.sentences[1].endswith("; try one more registration desk or QR share up by 0.1.")
    assert diagnosis.headroom.kind == "calling_plan"


def test_too_few_stations_and_a_short_day_run_out_of_hours():
    # One station (120 an hour) for 1,000 called by 10:00 at a point that closes at 11:00.
    crowded = point(population=1000, tents=1, stages={"swab": {}})
    arrivals = {"kind": "slots", "slots": [{"start": "07:00", "end": "10:00", "share": 1.0}]}
    _, advice = advice_of(scenario([crowded], arrivals, close="11:00"))
    diagnosis = advice.diagnosis.points[0]
    assert diagnosis.limited_by == "hours" and "overtime_over_target" in diagnosis.evidence.rules
    assert diagnosis.evidence.waiting_at_closing > 100 and diagnosis.evidence.overtime_min > 60
    assert diagnosis.bottleneck.stage == "swab"
    assert advice.sentences[0].startswith("The opening hours run out:")
    assert "Open longer or try one more tent with its staff." in advice.sentences


def test_walk_ins_fewer_than_the_roster_are_said_to_be_so():
    walk_in = scenario([point(population=3000, stages={"swab": {}})], {"kind": "poisson", "rate_per_hour": 100.0},
                       close="11:00")
    result, advice = advice_of(walk_in)
    diagnosis = advice.diagnosis.points[0]
    assert diagnosis.limited_by == "arrivals" and diagnosis.evidence.never_walked_in > 2000
    assert diagnosis.headroom.kind == "walk_in_rate" and diagnosis.headroom.factor > 2
    summary = advice.summary(result)
    text, on_time = verdict(summary)
    assert on_time is False and "does not finish" in text and "0.0 h" not in text
    assert text.count("never walked in") == 1  # the unreached are said once, with the finish
    labels = [row.label for row in summary_kpi_rows(summary, 1)]
    assert any(label.startswith("never walked in") for label in labels)
    assert not any("calling plan" in label for label in labels)
    assert any("never walked in" in sentence for sentence in advice.sentences)


def test_a_second_day_nobody_is_called_on_is_not_staffed():
    one_day = scenario([point()], close="13:00")
    two_days = scenario([point()], close="13:00", round={"days": 2})
    staff = [run_scenario(data, executor="serial").summary["kpis"]["staff_hours"]["mean"] for data in (one_day, two_days)]
    assert staff[1] == pytest.approx(staff[0])


DISTRICT = {
    "name": "three points", "seed": 4, "replications": 2, "clock": {"open": "07:00", "close": "20:00"},
    "arrivals": {"kind": "slots", "slots": [{"start": "07:00", "end": "12:00", "share": 0.5},
                                            {"start": "14:00", "end": "19:00", "share": 0.5}]},
    "points": [{"id": "a", "population": 900, "tents": 3}, {"id": "b", "population": 1500, "tents": 2},
               {"id": "c", "population": 400, "tents": 3, "waiting_area": {"length_m": 20}}],
}


@pytest.fixture(scope="module")
def district_run(tmp_path_factory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("advice") / "district.yaml"
    path.write_text(json.dumps(DISTRICT))
    out = path.parent / "run"
    return path, out


def test_a_district_run_writes_its_advice_everywhere(district_run, capsys):
    path, out = district_run
    assert main(["run", str(path), "--out", str(out), "--max-p90-wait", "10", "--rota-point", "b"]) == 0
    printed = " ".join(capsys.readouterr().out.split())  # the terminal wraps the sentences
    summary = json.loads((out / "summary.json").read_text())
    assert summary["schema_version"] == 5
    advice = summary["advice"]
    assert advice["target_p90_wait_min"] == 10 and advice["sentences"]
    for sentence in advice["sentences"]:
        assert f"• {sentence}" in printed
    assert advice["run"]["finish_set_by_plan"] is (advice["run"]["points_by_limit"]["arrivals"] == 3)
    entries = {entry["id"]: entry for entry in advice["points"]}
    assert sorted(entry["rank"] for entry in entries.values()) == [1, 2, 3]
    for entry in entries.values():
        assert entry["limited_by"] in ("capacity", "arrivals", "hours")
        assert entry["evidence"]["text"] and entry["sentences"]
        assert {"stage", "wait_share", "utilization", "busy_period"} <= set(entry["bottleneck"])
        assert entry["headroom"]["kind"] == "calling_plan" and entry["headroom"]["method"] in ("estimate", "simulation")
    assert summary["points"][0]["kpis"]["busy_period"]["swab"]["utilization"]["n"] >= 0
    with (out / "points.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {row["point"]: int(row["action_rank"]) for row in rows} == {k: v["rank"] for k, v in entries.items()}
    assert {row["limited_by"] for row in rows} <= {"capacity", "arrivals", "hours"}
    page = (out / "report.html").read_text()
    assert 'id="what-to-do"' in page and page.index('id="what-to-do"') < page.index('id="kpis"')
    assert "--rota-point" in page


@pytest.mark.parametrize("value, message", [("0", "must be more than 0"), ("soon", "is not a number of minutes")])
def test_a_bad_wait_target_is_bad_input(district_run, capsys, value, message):
    path, out = district_run
    with pytest.raises(SystemExit) as stopped:
        main(["run", str(path), "--out", str(out.parent / "never"), "--max-p90-wait", value])
    assert stopped.value.code == 2 and message in capsys.readouterr().err
    assert not (out.parent / "never").exists()


def test_an_unknown_rota_point_is_bad_input(district_run, capsys):
    path, out = district_run
    assert main(["run", str(path), "--out", str(out.parent / "never"), "--rota-point", "zz"]) == 2
    assert "--rota-point: 'zz' is not the id of a point" in capsys.readouterr().err
    assert not (out.parent / "never").exists()
