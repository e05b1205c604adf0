"""report/scenario_yaml.py: scenario.yaml put together point by point is the text of one yaml.dump."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from simsampling.report.scenario_yaml import DUMPER, HEADER, scenario_text
from simsampling.scenario import load_scenario, validate_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def whole(scenario) -> str:
    data = scenario.model_dump(mode="json", exclude_none=True)
    return HEADER + yaml.dump(data, Dumper=DUMPER, sort_keys=False, allow_unicode=True)


@pytest.mark.parametrize("name", ["beibei-district.yaml", "beibei-with-labs.yaml", "one-point-demo.yaml", "summer-heat-rota.yaml"])
def test_shipped_scenarios(name):
    scenario = load_scenario(SCENARIOS / name)
    assert scenario_text(scenario) == whole(scenario)


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
