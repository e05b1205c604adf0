"""The loader names the right file, line and field for each kind of problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from simsampling.scenario import ScenarioError, load_scenario
from simsampling.scenario.loading import read_yaml

BASE = """\
name: t
points:
  - id: a
    population: 100
    tents: 2
    stages:
      swab: {service_s: {dist: lognormal, mean: 25, sd: 8}}
arrivals:
  kind: slots
  show_up: 0.9
  lateness_min: {dist: normal, mean: 0, sd: 10}
  slots:
    - {start: "07:00", end: "09:00", share: 1.0}
"""


def problems(tmp_path: Path, text: str) -> list[tuple[int | None, str, str]]:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert all(p.file == str(path) for p in caught.value.problems)
    return [(p.line, p.field, p.message) for p in caught.value.problems]


def test_base_is_valid(tmp_path: Path):
    path = tmp_path / "s.yaml"
    path.write_text(BASE)
    assert load_scenario(path).points[0].stations == 2


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "words"),
    [
        ("show_up: 0.9", "show_up: 2", 10, "arrivals.show_up", "less than or equal to 1"),
        ("mean: 0, sd: 10", "mean: x, sd: 10", 11, "arrivals.lateness_min.mean", "valid number"),
        ("{dist: lognormal, mean: 25, sd: 8}", "{dist: triangular, low: 5, mode: 2, high: 6}", 7,
         "points[0].stages.swab.service_s", "low <= mode <= high"),
        ("{dist: lognormal, mean: 25, sd: 8}", "{dist: fixed, value: -1}", 7,
         "points[0].stages.swab.service_s", "cannot be negative"),
        ("share: 1.0", "share: 0.5", 12, "arrivals.slots", "sum to 0.5"),
        ('end: "09:00"', 'end: "23:30"', 13, "arrivals.slots[0]", "outside the opening hours"),
        ("tents: 2", "tents: 2.5", 5, "points[0].tents", "valid integer"),
        ("tents: 2", "tents: true", 5, "points[0].tents", "valid integer"),
        ("population: 100", 'population: "100"', 4, "points[0].population", "valid integer"),
        ("population: 100", "population: 100000000000", 4, "points[0].population", "less than or equal"),
        ("swab: {service", "swab:\n      temperature:\n      swab2: {service", 6, "points[0].stages", "is empty"),
        ("kind: slots", "kind: queue", 9, "arrivals.kind", "does not match any of the expected tags"),
    ],
)
def test_problem_is_named_precisely(tmp_path, old, new, line, field, words):
    found = problems(tmp_path, BASE.replace(old, new))
    assert any(l == line and f == field and words in m for l, f, m in found), found


def test_duplicate_point_ids_and_keys(tmp_path: Path):
    text = BASE.replace("arrivals:", "  - {id: a, population: 5, tents: 1}\narrivals:")
    assert (14 - 0, "points[1].id", '"a" is already used by points[0]') in [
        (l, f, m) for l, f, m in problems(tmp_path, text)
    ] or any(f == "points[1].id" for _, f, _ in problems(tmp_path, text))
    twice = BASE.replace("    tents: 2\n", "    tents: 2\n    tents: 3\n")
    assert problems(tmp_path, twice) == [(6, "points[0].tents", "is given twice")]


def test_unquoted_times_read_as_text(tmp_path: Path):
    path = tmp_path / "s.yaml"
    path.write_text(BASE.replace('"07:00"', "07:00").replace('"09:00"', "09:00") + "clock: {open: 07:00, close: 22:00}\n")
    assert load_scenario(path).clock.close == "22:00"


def test_yaml_tags_are_never_run(tmp_path: Path):
    path = tmp_path / "s.yaml"
    path.write_text("!!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(ScenarioError) as caught:
        read_yaml(path)
    assert "YAML" in str(caught.value)


def test_the_days_hours_are_remembered_but_each_caller_gets_its_own_list():
    from simsampling.scenario.schema import Clock

    clock = Clock(open="08:00", close="12:30")
    hours = clock.hours(2)
    hours.append((0.0, 0.0))  # a caller's list is its own
    assert clock.hours(2) == [(28_800.0, 45_000.0), (115_200.0, 131_400.0)]
    assert Clock(open="08:00", close="12:30").hours(1) == [(28_800.0, 45_000.0)]
