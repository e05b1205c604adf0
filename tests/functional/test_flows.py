"""Whole runs of points with flows of their own: outputs keyed by stage name, in flow order."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from simsampling.cli import main

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "scenarios" / "health-code-and-isolation.yaml"


@pytest.fixture(scope="module")
def shipped(tmp_path_factory) -> Path:
    """The shipped health-code scenario, two replications (its outputs, with the engine asked for)."""
    out = tmp_path_factory.mktemp("flow") / "out"
    assert main(["run", str(SHIPPED), "-r", "2", "--out", str(out), "--quiet"]) == 0
    return out


def test_every_output_is_keyed_by_stage_name_in_flow_order(shipped: Path):
    summary = json.loads((shipped / "summary.json").read_text())
    flow = ["health_code", "temperature", "registration", "swab", "isolation"]
    assert summary["schema_version"] == 5 and summary["stages"] == flow and summary["points"][0]["stages"] == flow
    kpis = summary["kpis"]
    assert list(kpis["wait_min"]) == flow + ["total"] and list(kpis["utilization"]) == flow
    assert list(kpis["queue_max"]) == flow + ["total"]
    assert kpis["staff_hours_by_role"]["health_code"]["mean"] > 0 and "health_code" in kpis["idle_share"]
    # Residents diverted to the isolation tent, their count and the tent's peak; the accounting holds.
    assert kpis["diverted"]["mean"] == kpis["diverted_to"]["isolation"]["mean"] > 0
    assert kpis["occupancy_max"]["isolation"]["mean"] >= 1
    assert kpis["arrived"]["mean"] == kpis["sampled"]["mean"] + kpis["unserved"]["mean"]
    with (shipped / "persons.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    header = list(rows[0])
    assert [c for c in header if c.endswith("_start_s")] == [f"{stage}_start_s" for stage in flow]
    diverted = [row for row in rows if row["status"] == "diverted"]
    assert diverted and all(row["left_stage"] == "isolation" and row["isolation_end_s"] == row["left_s"] != ""
                            and row["swab_start_s"] == "" for row in diverted)
    assert all(row["left_stage"] == "" and row["isolation_start_s"] == "" for row in rows if row["status"] == "sampled")
    with (shipped / "timeseries.csv").open() as handle:
        stages = list(dict.fromkeys(row["stage"] for row in csv.DictReader(handle)))
    assert stages == flow
    report = (shipped / "report.html").read_text()
    assert "Health-code check: wait p90" in report and "Isolation: most people there at once" in report


def test_a_district_of_different_flows_reports_each_point_and_the_union(tmp_path: Path):
    scenario = {
        "name": "two-flows", "seed": 3, "replications": 2, "clock": {"open": "07:00", "close": "12:00"},
        "points": [
            {"id": "plain", "population": 300, "tents": 2, "stages": {"temperature": {}, "swab": {}}},
            {"id": "checked", "population": 300, "tents": 2,
             "stages": {"health_code": {}, "temperature": {"divert": {"share": 0.2, "to": "isolation"}}, "swab": {},
                        "isolation": {"servers": 3, "service_s": {"dist": "fixed", "value": 600}}}},
        ],
        "arrivals": {"kind": "poisson", "rate_per_hour": 50},
    }
    path = tmp_path / "two.json"
    path.write_text(json.dumps(scenario))  # JSON is YAML
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet", "--jobs", "1"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stages"] == ["health_code", "temperature", "swab", "isolation"]
    plain, checked = summary["points"]
    assert plain["stages"] == ["temperature", "swab"] and list(plain["kpis"]["utilization"]) == ["temperature", "swab"]
    assert plain["kpis"]["diverted"]["mean"] == 0 and plain["kpis"]["diverted_to"] == {}
    assert checked["stages"] == ["health_code", "temperature", "swab", "isolation"]
    assert list(summary["kpis"]["utilization"]) == summary["stages"]
    assert summary["kpis"]["diverted"]["mean"] == checked["kpis"]["diverted"]["mean"] > 0
    with (out / "timeseries.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    by_scope = {scope: list(dict.fromkeys(r["stage"] for r in rows if r["point"] == scope)) for scope in ("", "plain", "checked")}
    assert by_scope == {"": summary["stages"], "plain": plain["stages"], "checked": checked["stages"]}
    with (out / "persons.csv").open() as handle:
        header = next(csv.reader(handle))
    assert [c.removesuffix("_start_s") for c in header if c.endswith("_start_s")] == summary["stages"]
    with (out / "points.csv").open() as handle:
        assert {row["point"]: float(row["diverted"]) for row in csv.DictReader(handle)}["plain"] == 0
