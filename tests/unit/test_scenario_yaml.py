"""report/scenario_yaml.py: scenario.yaml put together point by point is the text of one yaml.dump."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from simsampling.report import scenario_yaml
from simsampling.report.scenario_yaml import DUMPER, HEADER, scenario_files, scenario_text
from simsampling.scenario import load_scenario, loading, validate_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def whole(scenario) -> str:
    data = scenario.model_dump(mode="json", exclude_none=True)
    return HEADER + yaml.dump(data, Dumper=DUMPER, sort_keys=False, allow_unicode=True)


@pytest.mark.parametrize("name", ["beibei-district.yaml", "beibei-with-labs.yaml", "one-point-demo.yaml", "summer-heat-rota.yaml"])
def test_shipped_scenarios(name):
    scenario = load_scenario(SCENARIOS / name)
    assert scenario_text(scenario) == whole(scenario)
    # The dump made once (scenario_files: the text and the loader's limits) gives the same text and is left as it is.
    data = scenario.model_dump(mode="json", exclude_none=True)
    assert scenario_text(scenario, data) == whole(scenario)
    assert data == scenario.model_dump(mode="json", exclude_none=True)


@pytest.mark.parametrize("name", ["beibei-district.yaml", "beibei-with-labs.yaml", "one-point-demo.yaml", "summer-heat-rota.yaml"])
def test_the_values_counted_by_distinct_fields_are_the_loaders_count(name):
    data = load_scenario(SCENARIOS / name).model_dump(mode="json", exclude_none=True)
    fields, layouts = scenario_yaml.distinct_fields(data["points"])
    assert len(fields) <= sum(map(len, layouts))
    assert scenario_yaml.scenario_values(data, fields, layouts) == yaml_nodes(data)


def yaml_nodes(node) -> int:
    """The loader's count: a node per mapping, sequence, key and scalar."""
    if isinstance(node, dict):
        return 1 + sum(1 + yaml_nodes(value) for value in node.values())
    if isinstance(node, list):
        return 1 + sum(yaml_nodes(item) for item in node)
    return 1


def test_points_with_awkward_text_and_shared_blocks():
    long_name = "Caiyangdian on the corner of a very long street name that wraps: 'quoted' and \"double\" " * 2
    scenario = validate_scenario({
        "name": "awkward", "seed": 3, "replications": 1,
        "clock": {"open": "07:00", "close": "19:00"},
        "defaults": {"tents": 2, "queue": "shared", "stages": {"swab": {}}},
        "points": [
            {"id": "a-1", "name": long_name, "population": 100},
            {"id": "b.2", "name": "- looks like an item\n- on two lines", "population": 200, "tents": 3},
            {"id": "c_3", "name": "点 三: #3", "population": 100, "queue": "per_tent"},
            {"id": "d", "population": 100},
        ],
        "arrivals": {"kind": "slots", "slots": [{"start": "07:00", "end": "19:00", "share": 1.0}]},
    })
    text = scenario_text(scenario)
    assert text == whole(scenario)
    assert validate_scenario(yaml.safe_load(text)) == scenario


# ---------------------------------------------------------------- a city's scenario: defaults and a points table

def written(scenario, tmp_path: Path) -> dict[str, str]:
    files = scenario_files(scenario)
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return files


@pytest.mark.parametrize("name", ["beibei-district.yaml", "beibei-with-labs.yaml", "one-point-demo.yaml", "summer-heat-rota.yaml"])
def test_the_table_form_loads_back_the_same_scenario(name, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(scenario_yaml, "TABLE_FROM_POINTS", 1)
    scenario = load_scenario(SCENARIOS / name)
    files = written(scenario, tmp_path)
    assert sorted(files) == ["scenario-points.csv", "scenario.yaml"]
    assert load_scenario(tmp_path / "scenario.yaml") == scenario


def test_a_scenario_the_loader_would_refuse_whole_is_written_as_a_table(tmp_path: Path, monkeypatch):
    scenario = load_scenario(SCENARIOS / "beibei-district.yaml")
    assert list(scenario_files(scenario)) == ["scenario.yaml"]  # 326 points fit in one file
    monkeypatch.setattr(loading, "MAX_FILE_BYTES", len(scenario_text(scenario)))  # as a city's 55 MB against 20 MB
    files = written(scenario, tmp_path)
    assert sorted(files) == ["scenario-points.csv", "scenario.yaml"]
    header, first = files["scenario-points.csv"].splitlines()[:2]
    assert header.startswith("id,population,tents,") and first.startswith("tsh-01,2460,4,")
    assert load_scenario(tmp_path / "scenario.yaml") == scenario


def test_points_whose_differences_are_not_single_values_stay_inline_and_first(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(scenario_yaml, "TABLE_FROM_POINTS", 1)
    own_slots = {"kind": "slots", "slots": [{"start": "08:00", "end": "10:00", "share": 1.0}]}
    scenario = validate_scenario({
        "name": "mixed", "clock": {"open": "07:00", "close": "19:00"},
        "points": [{"id": "a", "population": 10, "tents": 1, "arrivals": own_slots, "name": ""},
                   {"id": "b", "population": 20, "tents": 2, "name": "B"},
                   {"id": "c", "population": 30, "tents": 2, "name": " padded "},
                   {"id": "d", "population": 40, "tents": 3, "name": "=1+1, \"quoted\""},
                   {"id": "e", "population": 50, "tents": 3, "stages": {"swab": {"service_s": {"dist": "fixed", "value": 20}}}}],
        "arrivals": {"kind": "poisson", "rate_per_hour": 10},
    })
    files = written(scenario, tmp_path)
    data = yaml.safe_load(files["scenario.yaml"])
    assert [p["id"] for p in data["points"]] == ["a", "b", "c"]  # up to the last that a table cannot hold
    assert [line.split(",")[0] for line in files["scenario-points.csv"].splitlines()[1:]] == ["d", "e"]
    assert load_scenario(tmp_path / "scenario.yaml") == scenario
