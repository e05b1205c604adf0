"""Whole district runs: many points, CSV tables, deadlines, set-up, accounting, parallelism."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from simsampling import run_scenario, write_results
from simsampling.cli import main
from simsampling.scenario import load_scenario, validate_scenario

ONE_PER_MINUTE = {  # one resident called every minute from opening, on time, always showing up
    "kind": "calling", "batch_households": 1, "gap_min": 1, "household_size": 1,
    "show_up": 1.0, "lateness_min": {"dist": "fixed", "value": 0},
}
SWAB_30S = {"swab": {"service_s": {"dist": "fixed", "value": 30}}}


def deterministic(points: list[dict], deadline_h: float, replications: int = 2) -> dict:
    return validate_scenario({
        "name": "hand-checked", "seed": 1, "replications": replications,
        "clock": {"open": "07:00", "close": "12:00"},
        "round": {"days": 1, "deadline_h": deadline_h},
        "defaults": {"tents": 1, "stages": SWAB_30S},
        "points": points,
        "arrivals": ONE_PER_MINUTE,
    })


def test_deadline_kpis_match_a_hand_checked_case():
    """Point a: 60 residents at 07:00..07:59, each swabbed 30 s on arrival: done 07:59:30.
    Point b: 120 residents, done 08:59:30. Deadline 1.5 h (08:30): a finishes, b does not;
    b has swabbed 90 residents by 08:30 (arrivals 07:00 + k min, k <= 89), so 150 of 180."""
    scenario = deterministic([{"id": "a", "population": 60}, {"id": "b", "population": 120}], deadline_h=1.5)
    summary = run_scenario(scenario).summary
    kpis = summary["kpis"]
    assert kpis["finish_h"]["mean"] == pytest.approx(2 - 0.5 / 60)
    assert kpis["points_finished_by_deadline_share"]["mean"] == pytest.approx(0.5)
    assert kpis["sampled_by_deadline"]["mean"] == 150
    assert kpis["sampled_by_deadline_share"]["mean"] == pytest.approx(150 / 180)
    a, b = summary["points"]
    assert a["kpis"]["finish_h"]["mean"] == pytest.approx(1 - 0.5 / 60)
    assert a["kpis"]["points_finished_by_deadline_share"]["mean"] == 1.0
    assert b["kpis"]["points_finished_by_deadline_share"]["mean"] == 0.0
    # One sampler staffed 07:00-12:00 at each point.
    assert a["kpis"]["staff_hours"]["mean"] == pytest.approx(5.0)
    assert kpis["staff_hours"]["mean"] == pytest.approx(10.0)
    assert kpis["wait_min"]["swab"]["max"]["mean"] == 0.0


def test_setup_delay_shifts_the_first_swab():
    """A 10-minute set-up: the residents called at 07:00..07:09 queue, the first swab starts at 07:10."""
    scenario = deterministic([{"id": "a", "population": 30, "setup_min": {"dist": "fixed", "value": 10}}], deadline_h=5)
    result = run_scenario(scenario)
    swab_start = result.persons()["swab_start_s"]
    assert swab_start.min() == 7 * 3600 + 600
    waits = result.summary["kpis"]["wait_min"]["swab"]
    assert waits["max"]["mean"] == pytest.approx(10.0)  # called at 07:00, let in at 07:10


def small_district(tmp_path: Path) -> Path:
    (tmp_path / "points.csv").write_text(
        "id,name,population,tents,stages.swab.servers,queue\n"
        "p1,North,600,2,,\n"
        "p2,South,900,2,3,per_tent\n"
        "p3,East,300,1,,\n"
    )
    (tmp_path / "district.yaml").write_text(
        "name: small-district\nseed: 5\nreplications: 3\n"
        "clock: {open: '07:00', close: '21:00'}\n"
        "round: {days: 2, deadline_h: 14}\n"
        "defaults:\n"
        "  queue: shared\n"
        "  setup_min: {dist: triangular, low: 10, mode: 20, high: 40}\n"
        "  home: {share: 0.05, teams: 1}\n"
        "points_file: points.csv\n"
        "points:\n"
        "  - {id: p0, name: Centre, population: 400, tents: 1, stages: {swab: {}}}\n"
        "arrivals:\n"
        "  kind: calling\n"
        "  batch_households: 10\n"
        "  gap_min: 10\n"
        "  mop_up: {day: 1, start: '09:00', end: '11:00', share: 0.5}\n"
    )
    return tmp_path / "district.yaml"


def test_csv_points_with_overrides_and_defaults(tmp_path: Path):
    scenario = load_scenario(small_district(tmp_path))
    by_id = {p.id: p for p in scenario.points}
    assert list(by_id) == ["p0", "p1", "p2", "p3"]  # inline points first, then the table
    assert by_id["p2"].stations == 3 and by_id["p2"].queue == "per_tent"
    assert by_id["p1"].stations == 2 and by_id["p1"].queue == "shared"
    assert by_id["p0"].stages.temperature is None  # its own stages block
    assert by_id["p1"].stages.temperature is not None  # the standard stages
    assert all(p.home is not None and p.home.share == 0.05 for p in scenario.points)


def test_every_resident_of_every_point_is_accounted_for(tmp_path: Path):
    result = run_scenario(load_scenario(small_district(tmp_path)))
    keys = ["sampled", "unserved", "no_show", "not_called", "home_sampled", "home_unserved"]
    for point in result.scenario.points:
        for kpis in result.point_kpis[point.id]:
            assert sum(kpis[key] for key in keys) == point.population == kpis["population"]
            assert kpis["home_residents"] == kpis["home_sampled"] + kpis["home_unserved"]
    for kpis in result.run_kpis:
        assert sum(kpis[key] for key in keys) == sum(p.population for p in result.scenario.points)
    statuses = {}
    for status in result.persons()["status"]:
        statuses[status] = statuses.get(status, 0) + 1
    first = result.run_kpis[0]
    assert statuses.get("sampled", 0) == first["sampled"]
    assert statuses.get("home_sampled", 0) + statuses.get("home_unserved", 0) == first["home_residents"]


def test_serial_equals_parallel_and_outputs_are_complete(tmp_path: Path):
    path = small_district(tmp_path)
    for jobs in ("1", "2"):
        assert main(["run", str(path), "--jobs", jobs, "--out", str(tmp_path / f"jobs{jobs}"), "--quiet"]) == 0
    one, two = (json.loads((tmp_path / f"jobs{j}" / "summary.json").read_text()) for j in "12")
    for summary in (one, two):
        summary.pop("jobs"), summary.pop("elapsed_s")
    assert one == two
    for name in ("points.csv", "queue_by_point.csv", "persons.csv", "timeseries.csv", "throughput.csv", "kpis.csv"):
        assert (tmp_path / "jobs1" / name).read_bytes() == (tmp_path / "jobs2" / name).read_bytes(), name
    with (tmp_path / "jobs1" / "points.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["point"] for r in rows] == sorted((r["point"] for r in rows), key=lambda p: -float(next(x for x in rows if x["point"] == p)["finish_h"]))
    assert {r["point"] for r in rows} == {"p0", "p1", "p2", "p3"}


def test_persons_of_a_two_day_round_carry_their_day(tmp_path: Path):
    result = run_scenario(load_scenario(small_district(tmp_path)))
    table = result.persons()
    mopped = table["day"][table["status"] == "sampled"]
    assert set(mopped.tolist()) <= {0, 1} and 1 in set(mopped.tolist())  # the mop-up is on day 2
    folder = write_results(result, tmp_path / "out")
    assert (folder / "persons.csv").exists()
