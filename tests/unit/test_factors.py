"""Sweep factors: PATH=VALUES parsing, applying a path to scenario data, validating a design."""

from __future__ import annotations

from pathlib import Path

import pytest

from simsampling.experiment.factorial import DEFAULT_KPIS, as_factors, check_kpis, design, design_hash, kpi_names
from simsampling.experiment.factors import apply, make_factor, parse_path, parse_vary
from simsampling.scenario import ScenarioError, load_scenario

DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "one-point-demo.yaml"


@pytest.fixture(scope="module")
def demo():
    return load_scenario(DEMO)


def messages(exc: pytest.ExceptionInfo) -> list[str]:
    return [str(p) for p in exc.value.problems]


def test_paths_with_dots_brackets_and_stars():
    assert parse_path("points.*.tents") == ("points", "*", "tents")
    assert parse_path("points.0.staff.samplers") == ("points", 0, "staff", "samplers")
    assert parse_path("points[0].stages.swab.servers") == ("points", 0, "stages", "swab", "servers")
    assert parse_path("arrivals.slots[*].share") == ("arrivals", "slots", "*", "share")


@pytest.mark.parametrize("text", ["", ".tents", "points..tents", "points.*.", "points.t-e", "*.tents", "0.tents"])
def test_malformed_paths_are_refused(text):
    with pytest.raises(ScenarioError):
        parse_path(text)


@pytest.mark.parametrize("field", ["seed", "replications", "defaults.tents", "points_file"])
def test_fields_shared_by_the_design_cannot_vary(field):
    with pytest.raises(ScenarioError) as exc:
        parse_vary(f"{field}=1,2")
    assert messages(exc)[0].startswith(f"--vary {field}=1,2: {field.split('.')[0]}: cannot be varied")


def test_values_are_yaml_scalars():
    factor = parse_vary("clock.open=07:00,7,0.9,true,text")
    assert factor.values == ("07:00", 7, 0.9, True, "text")
    assert [type(v) for v in factor.values] == [str, int, float, bool, str]
    assert parse_vary("points.*.tents = 2, 3").values == (2, 3)


@pytest.mark.parametrize("text, says", [
    ("points.*.tents", "expected PATH=VALUES"),
    ("points.*.tents=", "none empty"),
    ("points.*.tents=2,,3", "none empty"),
    ("points.*.tents=2,2", "given twice"),
    ("points.*.tents=[1, 2]", "not a YAML scalar"),
    ("points.*.tents={a: 1}", "not a single value"),
])
def test_malformed_values_are_refused(text, says):
    with pytest.raises(ScenarioError) as exc:
        parse_vary(text)
    assert says in messages(exc)[0] and messages(exc)[0].startswith(f"--vary {text}")


def test_apply_sets_every_item_and_leaves_the_data_alone(demo):
    data = {"points": [{"tents": 4}, {"tents": 6}], "arrivals": {"show_up": 0.95}}
    assert apply(data, parse_vary("points.*.tents=2"), 2)["points"] == [{"tents": 2}, {"tents": 2}]
    assert apply(data, parse_vary("points.1.tents=3"), 3)["points"] == [{"tents": 4}, {"tents": 3}]
    assert apply(data, parse_vary("arrivals.show_up=0.9"), 0.9)["arrivals"] == {"show_up": 0.9}
    assert data == {"points": [{"tents": 4}, {"tents": 6}], "arrivals": {"show_up": 0.95}}


def test_apply_creates_a_missing_section():
    data = {"points": [{"tents": 4}]}
    assert apply(data, parse_vary("points.0.staff.samplers=4"), 4)["points"][0]["staff"] == {"samplers": 4}


@pytest.mark.parametrize("text, field, says", [
    ("points.3.tents=2", "points", "no item 3"),
    ("points.tents=2", "points", "is a list"),
    ("points.*.tents.x=2", "points[0].tents", "is a single value"),
    ("arrivals.*=2", "arrivals", "not a list"),
])
def test_apply_refuses_paths_that_do_not_fit(text, field, says):
    with pytest.raises(ScenarioError) as exc:
        apply({"points": [{"tents": 4}], "arrivals": {"show_up": 0.9}}, parse_vary(text), 2)
    assert messages(exc) == [m for m in messages(exc) if m.startswith(f"--vary {text}: {field}: ") and says in m]


def test_design_is_the_full_factorial_in_order(demo):
    factors = as_factors({"points.*.tents": [2, 3], "arrivals.show_up": [0.9, 1.0]})
    combinations = design(demo, factors)
    assert [c.values for c in combinations] == [(2, 0.9), (2, 1.0), (3, 0.9), (3, 1.0)]
    assert [(c.scenario.points[0].tents, c.scenario.arrivals.show_up) for c in combinations] == [
        (2, 0.9), (2, 1.0), (3, 0.9), (3, 1.0)]
    assert all(c.scenario.seed == demo.seed for c in combinations)


def test_every_bad_value_is_reported_before_anything_runs(demo):
    factors = [parse_vary("points.*.tents=2,x"), parse_vary("arrivals.show_up=0.9,1.5"), parse_vary("points.*.tnts=1")]
    with pytest.raises(ScenarioError) as exc:
        design(demo, factors)
    found = messages(exc)
    assert any(m.startswith("--vary points.*.tents=2,x: points[0].tents: ") and "'x'" in m for m in found)
    assert any(m.startswith("--vary arrivals.show_up=0.9,1.5: arrivals.show_up: ") and "1.5" in m for m in found)
    assert any(m.startswith("--vary points.*.tnts=1: points[0].tnts: is not a known field") for m in found)


def test_cross_field_checks_name_the_value(demo):
    # Opening at 10:00 leaves the 07:00 slot outside the hours: a check across sections.
    factors = [parse_vary("clock.open=07:00,10:00"), parse_vary("points.*.tents=3")]
    with pytest.raises(ScenarioError) as exc:
        design(demo, factors)
    assert messages(exc)[0].startswith("--vary clock.open=07:00,10:00: arrivals.slots[0]: ")
    assert messages(exc)[0].endswith("(value '10:00')")


def test_overlapping_factors_are_refused():
    with pytest.raises(ScenarioError) as exc:
        as_factors({"points.*.tents": [2], "points.0.tents": [3]})
    assert "sets the same field" in messages(exc)[0]
    as_factors({"points.0.tents": [2], "points.1.tents": [3]})


def test_design_hash_tells_designs_apart(demo):
    one = design_hash(demo, as_factors({"points.*.tents": [2, 3]}))
    assert one == design_hash(demo, as_factors({"points.*.tents": [2, 3]}))
    assert one != design_hash(demo, as_factors({"points.*.tents": [2, 4]}))
    assert one != design_hash(demo, as_factors({"points.*.tents": [3, 2]}))


def test_kpi_names_match_a_run(demo):
    names = kpi_names(demo)
    assert set(DEFAULT_KPIS) <= set(names)
    assert "wait_min.registration.p90" in names and "utilization.temperature" in names
    check_kpis(DEFAULT_KPIS, demo)
    with pytest.raises(ScenarioError) as exc:
        check_kpis(["wait_min.total.p9O"], demo)
    assert "did you mean" in messages(exc)[0] and "wait_min.total.p90" in messages(exc)[0]


def test_make_factor_from_python():
    factor = make_factor("points.*.tents", [2, 3])
    assert factor.segments == ("points", "*", "tents") and factor.values == (2, 3)
    with pytest.raises(ScenarioError):
        make_factor("points.*.tents", [])
