"""Many points: a ``defaults:`` section deep-merged into every point, and points read from a CSV table.

Scenarios are written to ``tmp_path`` and loaded with :func:`load_scenario`, so
the file names and lines in problems are the ones a planner would see.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from simsampling.scenario import ScenarioError, load_scenario
from simsampling.scenario.distributions import Fixed, Lognormal

ARRIVALS = """\
arrivals:
  kind: poisson
  rate_per_hour: 10
"""


def write(tmp_path: Path, text: str, csv: str | bytes | None = None, csv_name: str = "points.csv") -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    if csv is not None:
        target = tmp_path / csv_name
        if isinstance(csv, bytes):
            target.write_bytes(csv)
        else:
            target.write_text(csv)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    lines = str(caught.value).splitlines()
    assert lines == [str(p) for p in caught.value.problems]
    return lines


def by_id(scenario) -> dict:
    return {point.id: point for point in scenario.points}


# ------------------------------------------------------------------ defaults


DEFAULTS = """\
name: many
defaults:
  tents: 3
  queue: per_tent
  stages:
    temperature: {servers: 2}
    registration: {qr_share: 0.5}
    swab:
      service_s: {dist: lognormal, mean: 25, sd: 8}
  home:
    share: 0.1
    teams: 3
    travel_min: {dist: fixed, value: 6}
  arrivals:
    kind: calling
    batch_households: 5
    gap_min: 10
    lateness_min: {dist: normal, mean: 0, sd: 5}
points:
  - id: plain
    population: 100
  - id: more-tents
    population: 200
    tents: 5
  - id: other-sd
    population: 10
    stages: {swab: {service_s: {sd: 4}}}
  - id: fixed-swab
    population: 10
    stages: {swab: {service_s: {dist: fixed, value: 20}}}
  - id: no-temperature
    population: 10
    stages: {temperature: null}
  - id: one-team
    population: 10
    home: {teams: 1}
  - id: no-home
    population: 10
    home: null
  - id: slower-calls
    population: 10
    arrivals: {kind: calling, gap_min: 20}
  - id: walk-ins
    population: 10
    arrivals: {kind: poisson, rate_per_hour: 50}
""" + ARRIVALS


def test_defaults_reach_every_point(tmp_path: Path):
    points = by_id(load_scenario(write(tmp_path, DEFAULTS)))
    plain = points["plain"]
    assert plain.tents == 3 and plain.queue == "per_tent" and plain.population == 100
    assert plain.stages.temperature.servers == 2
    assert plain.stages.registration.qr_share == 0.5
    assert plain.stages.registration.servers == "per_tent"  # not in the defaults: the schema's default
    assert plain.stages.swab.service_s == Lognormal(dist="lognormal", mean=25, sd=8)
    assert plain.home.share == 0.1 and plain.home.teams == 3 and plain.home.travel_min == Fixed(dist="fixed", value=6)
    assert plain.arrivals.kind == "calling" and plain.arrivals.batch_households == 5 and plain.arrivals.gap_min == 10


def test_a_point_overriding_one_field_keeps_the_rest(tmp_path: Path):
    points = by_id(load_scenario(write(tmp_path, DEFAULTS)))
    assert points["more-tents"].tents == 5 and points["more-tents"].queue == "per_tent"
    assert points["more-tents"].stages == points["plain"].stages
    # A field deep inside a distribution: the other parameters are inherited.
    other = points["other-sd"].stages
    assert other.swab.service_s == Lognormal(dist="lognormal", mean=25, sd=4)
    assert other.temperature == points["plain"].stages.temperature
    assert other.registration == points["plain"].stages.registration
    one_team = points["one-team"].home
    assert one_team.teams == 1 and one_team.share == 0.1 and one_team.travel_min == Fixed(dist="fixed", value=6)
    slower = points["slower-calls"].arrivals
    assert slower.gap_min == 20 and slower.batch_households == 5 and slower.lateness_min.sd == 5
    # Overriding one point never changes the defaults seen by another.
    assert points["plain"].stages.swab.service_s.sd == 8 and points["plain"].home.teams == 3


def test_points_sharing_the_defaults_values_are_those_of_points_given_copies(tmp_path: Path):
    """The defaults' values are shared by the points that inherit them, not copied: validating them changes
    nothing in the data given, and gives the scenario that each point's own copy of the defaults gives."""
    import copy

    import yaml

    from simsampling.scenario import validate_scenario

    data = yaml.safe_load(DEFAULTS)
    given = copy.deepcopy(data)
    shared = validate_scenario(data)
    assert data == given
    copied = {key: value for key, value in given.items() if key != "defaults"}
    copied["points"] = [_merged_by_hand(copy.deepcopy(given["defaults"]), point) for point in given["points"]]
    assert shared == validate_scenario(copied)


def _merged_by_hand(base, override):
    """The documented merge (docs/scenario-format.md), written out: mappings key by key, a null drops a key, a
    distribution or plan of another kind replaces the inherited one whole."""
    if not (isinstance(base, dict) and isinstance(override, dict)):
        return override
    tag = lambda value: value.get("dist", value.get("kind"))  # noqa: E731
    if ("dist" in override or "kind" in override) and tag(override) != tag(base):
        return override
    merged = {key: _merged_by_hand(value, override[key]) if key in override else value
              for key, value in base.items() if override.get(key, True) is not None}
    merged.update({key: value for key, value in override.items() if key not in base})
    return merged


def test_a_distribution_or_plan_of_another_kind_replaces_the_inherited_one(tmp_path: Path):
    points = by_id(load_scenario(write(tmp_path, DEFAULTS)))
    assert points["fixed-swab"].stages.swab.service_s == Fixed(dist="fixed", value=20)
    walk_ins = points["walk-ins"].arrivals
    assert walk_ins.kind == "poisson" and walk_ins.rate_per_hour == 50


def test_a_null_drops_an_inherited_field(tmp_path: Path):
    points = by_id(load_scenario(write(tmp_path, DEFAULTS)))
    stages = points["no-temperature"].stages
    assert stages.temperature is None
    assert stages.registration.qr_share == 0.5 and stages.swab.service_s.mean == 25
    assert points["no-home"].home is None


def test_a_null_of_a_field_not_in_the_defaults_is_still_refused(tmp_path: Path):
    text = "name: t\ndefaults:\n  tents: 1\npoints:\n  - id: a\n    population: 1\n    stages: {temperature: null, swab: {}}\n" + ARRIVALS
    (line,) = problems(write(tmp_path, text))
    assert line.startswith(f"{tmp_path / 's.yaml'}:7: points[0].stages: stage 'temperature' is empty")


def test_points_without_defaults_are_unchanged(tmp_path: Path):
    text = "name: t\npoints:\n  - id: a\n    population: 1\n    tents: 1\n" + ARRIVALS
    point = load_scenario(write(tmp_path, text)).points[0]
    assert point.tents == 1 and point.stages.temperature is not None and point.home is None


# ------------------------------------------------------------------ errors in the defaults


def defaults_scenario(defaults: str, points: str = "  - {id: a, population: 1}\n  - {id: b, population: 2}\n  - {id: c, population: 3}\n") -> str:
    return "name: t\ndefaults:\n" + defaults + "points:\n" + points + ARRIVALS


def test_an_error_in_the_defaults_is_reported_once_at_its_line(tmp_path: Path):
    path = write(tmp_path, defaults_scenario("  tents: 0\n"))
    assert problems(path) == [f"{path}:3: defaults.tents: Input should be greater than or equal to 1"]


def test_a_nested_error_in_the_defaults_is_reported_once(tmp_path: Path):
    text = defaults_scenario("  tents: 1\n  stages:\n    swab:\n      service_s:\n        dist: lognormal\n        mean: 30\n        sd: -1\n")
    path = write(tmp_path, text)
    (line,) = problems(path)
    assert line.startswith(f"{path}:9: defaults.stages.swab.service_s.sd: ")
    assert "greater than or equal to 0" in line


def test_a_missing_field_in_the_defaults_is_reported_once(tmp_path: Path):
    text = defaults_scenario("  tents: 1\n  arrivals:\n    kind: slots\n")
    path = write(tmp_path, text)
    assert problems(path) == [f"{path}:4: defaults.arrivals.slots: is required"]


def test_a_cross_section_error_in_the_defaults_is_reported_once(tmp_path: Path):
    text = defaults_scenario(
        "  tents: 1\n  arrivals:\n    kind: slots\n    slots:\n      - {start: '05:00', end: '08:00', share: 1.0}\n"
    )
    path = write(tmp_path, text)
    (line,) = problems(path)
    assert line.startswith(f"{path}:7: defaults.arrivals.slots[0]: slot 05:00-08:00 is outside the opening hours")


def test_defaults_error_once_and_each_point_error_at_its_own_line(tmp_path: Path):
    points = "  - {id: a, population: 1}\n  - {id: b, population: -2}\n  - {id: c, population: 3, tents: 1}\n"
    path = write(tmp_path, defaults_scenario("  tents: 0\n", points))
    assert problems(path) == [
        f"{path}:3: defaults.tents: Input should be greater than or equal to 1",
        f"{path}:6: points[1].population: Input should be greater than or equal to 0",
    ]


def test_defaults_error_reached_by_csv_rows_is_reported_once(tmp_path: Path):
    text = "name: t\ndefaults:\n  tents: 1\n  home: {share: 2}\npoints_file: points.csv\n" + ARRIVALS
    path = write(tmp_path, text, "id,population,tents\na,1,\nb,2,\nc,3,\n")  # empty cells: tents from the defaults
    assert problems(path) == [f"{path}:4: defaults.home.share: Input should be less than or equal to 1"]


def test_defaults_must_be_a_mapping(tmp_path: Path):
    path = write(tmp_path, "name: t\ndefaults: [1, 2]\npoints:\n  - {id: a, population: 1, tents: 1}\n" + ARRIVALS)
    assert problems(path) == [f"{path}:2: defaults: must be a mapping of point fields"]


# ------------------------------------------------------------------ points from a CSV table


CSV_SCENARIO = """\
name: table
defaults:
  stages:
    registration: {}
    swab: {service_s: {dist: fixed, value: 30}}
  home: {share: 0.05, teams: 2}
points:
  - {id: yaml-1, population: 50, tents: 1}
points_file: points.csv
""" + ARRIVALS

TABLE = """\
id,name,population,tents,queue,stages.swab.servers,home.share,stages.registration.qr_share
007,123,2460,4,,,,
b-2,"Beta street, gate 3",100,2,per_tent,3,0.25,
c.3,Gamma,0,1,,,,1e-1
"""


def test_csv_points_follow_the_yaml_points_in_row_order(tmp_path: Path):
    scenario = load_scenario(write(tmp_path, CSV_SCENARIO, TABLE))
    assert [p.id for p in scenario.points] == ["yaml-1", "007", "b-2", "c.3"]


def test_csv_text_columns_stay_text_and_numbers_are_typed(tmp_path: Path):
    points = by_id(load_scenario(write(tmp_path, CSV_SCENARIO, TABLE)))
    first = points["007"]
    assert first.id == "007" and first.name == "123"  # not 7 and 123
    assert first.population == 2460 and first.tents == 4
    assert points["b-2"].name == "Beta street, gate 3"
    assert points["b-2"].queue == "per_tent"
    assert points["c.3"].population == 0
    assert points["c.3"].stages.registration.qr_share == pytest.approx(0.1)


def test_csv_dotted_columns_override_and_empty_cells_inherit(tmp_path: Path):
    points = by_id(load_scenario(write(tmp_path, CSV_SCENARIO, TABLE)))
    first, second = points["007"], points["b-2"]
    # Empty cells: the defaults, then the schema's defaults.
    assert first.queue == "shared"
    assert first.stages.swab.servers == "per_tent" and first.stations == 4
    assert first.home.share == 0.05 and first.home.teams == 2
    assert first.stages.swab.service_s == Fixed(dist="fixed", value=30)
    assert first.stages.temperature is None  # left out of the defaults' stages: no such stage
    assert first.stages.registration.qr_share == 0.8
    # Dotted columns reach into the defaults without replacing their other fields.
    assert second.stages.swab.servers == 3 and second.stations == 3
    assert second.stages.swab.service_s == Fixed(dist="fixed", value=30)
    assert second.home.share == 0.25 and second.home.teams == 2
    assert second.stages.registration.qr_share == 0.8
    assert points["c.3"].home.share == 0.05


def test_csv_with_a_byte_order_mark_and_blank_lines(tmp_path: Path):
    table = "\ufeffid,population,tents\r\na,10,1\r\n\r\n,,\r\nb,20,2\r\n"
    path = write(tmp_path, "name: t\npoints_file: points.csv\n" + ARRIVALS, table.encode("utf-8"))
    scenario = load_scenario(path)
    assert [(p.id, p.population, p.tents) for p in scenario.points] == [("a", 10, 1), ("b", 20, 2)]


def test_points_file_is_read_next_to_the_scenario(tmp_path: Path, monkeypatch):
    folder = tmp_path / "district"
    folder.mkdir()
    (folder / "tables").mkdir()
    (folder / "tables" / "pts.csv").write_text("id,population,tents\na,1,1\n")
    (folder / "s.yaml").write_text("name: t\npoints_file: tables/pts.csv\n" + ARRIVALS)
    monkeypatch.chdir(tmp_path)
    assert load_scenario(Path("district") / "s.yaml").points[0].id == "a"


# ------------------------------------------------------------------ CSV problems


def csv_problems(tmp_path: Path, table, scenario: str = "name: t\npoints_file: points.csv\n" + ARRIVALS) -> tuple[str, list[str]]:
    path = write(tmp_path, scenario, table)
    return str(tmp_path / "points.csv"), problems(path)


def test_a_bad_cell_names_the_csv_file_line_and_column(tmp_path: Path):
    csv, found = csv_problems(tmp_path, "id,name,population,tents\na,A,10,1\nb,B,20,2\nc,C,30,0\n")
    assert found == [f"{csv}:4: column 'tents': Input should be greater than or equal to 1"]


def test_a_bad_dotted_cell_names_its_column(tmp_path: Path):
    csv, found = csv_problems(tmp_path, "id,population,tents,stages.swab.servers,home.share\na,10,1,0,\nb,10,1,,1.5\n")
    assert found == [
        f"{csv}:2: column 'stages.swab.servers': Input should be 'per_tent' or greater than or equal to 1",
        f"{csv}:3: column 'home.share': Input should be less than or equal to 1",
    ]


def test_text_where_a_number_is_needed(tmp_path: Path):
    csv, found = csv_problems(tmp_path, "id,population,tents\na,ten,1\nb,2.5e3,1\n")
    assert len(found) == 2
    assert found[0].startswith(f"{csv}:2: column 'population': ") and "integer" in found[0]
    assert found[1].startswith(f"{csv}:3: column 'population': ") and "integer" in found[1]


def test_an_unknown_column_is_named_in_the_header_even_when_empty(tmp_path: Path):
    csv, found = csv_problems(tmp_path, "id,population,tents,tent\na,10,1,\nb,10,1,\n")
    assert found == [f"{csv}:1: column 'tent': 'tent' is not a point field (see docs/scenario-format.md)"]


def test_an_unknown_nested_column_is_named_where_a_row_fills_it(tmp_path: Path):
    csv, found = csv_problems(tmp_path, "id,population,tents,stages.swab.colour\na,10,1,red\nb,10,1,\n")
    assert found == [f"{csv}:2: column 'stages.swab.colour': is not a known field (see docs/scenario-format.md)"]


def test_missing_required_columns(tmp_path: Path):
    csv, found = csv_problems(tmp_path, "id,name,tents\na,A,1\n")
    assert found == [f"{csv}:1: column 'population': is required"]
    csv, found = csv_problems(tmp_path, "name\nA\n")
    assert found == [f"{csv}:1: column '{c}': is required" for c in ("id", "population", "tents")]


def test_a_missing_required_cell_names_the_row(tmp_path: Path):
    csv, found = csv_problems(tmp_path, "id,population,tents\na,10,1\n,20,1\n")
    assert found == [f"{csv}:3: row 2.id: is required"]


def test_rows_with_the_wrong_number_of_cells(tmp_path: Path):
    csv, found = csv_problems(tmp_path, "id,name,population,tents\na,A,10\nb,B,20,1\nc,C,30,1,9\n")
    assert found == [
        f"{csv}:2: row 1: has 3 cells, the header has 4",
        f"{csv}:4: row 3: has 5 cells, the header has 4",
    ]


def test_bad_column_names(tmp_path: Path):
    csv, found = csv_problems(tmp_path, "id,population,tents,stages..swab,id\na,1,1,2,b\n")
    assert found == [
        f"{csv}:1: column 'stages..swab': is not a field name (use dotted paths such as stages.swab.servers)",
        f"{csv}:1: column 'id': is given twice",
    ]


def test_csv_that_is_not_utf8_names_the_line(tmp_path: Path):
    csv, found = csv_problems(tmp_path, "id,name,population,tents\na,A,1,1\nb,Caf\xe9,1,1\n".encode("latin-1"))
    assert found == [f"{csv}:3: is not UTF-8 text"]


def test_empty_csv(tmp_path: Path):
    csv, found = csv_problems(tmp_path, "")
    assert found == [f"{csv}:1: is empty: it needs a header row (id,name,population,tents,...)"]


def test_missing_csv_is_named_from_the_points_file_line(tmp_path: Path):
    text = "name: t\ndescription: x\npoints_file: nope.csv\n" + ARRIVALS
    path = write(tmp_path, text)
    assert problems(path) == [f"{path}:3: points_file: {tmp_path / 'nope.csv'}: no such file"]


def test_points_file_must_be_a_path(tmp_path: Path):
    path = write(tmp_path, "name: t\npoints_file: 3\n" + ARRIVALS)
    assert problems(path) == [f"{path}:2: points_file: must be the path of a CSV file"]


def test_an_id_used_in_the_yaml_and_the_csv(tmp_path: Path):
    scenario = "name: t\npoints:\n  - {id: a, population: 1, tents: 1}\npoints_file: points.csv\n" + ARRIVALS
    csv, found = csv_problems(tmp_path, "id,population,tents\nb,1,1\na,1,1\n", scenario)
    assert found == [f"{csv}:3: column 'id': \"a\" is already used by points[0]"]


def test_a_column_under_a_plain_value_column_is_not_silently_ignored(tmp_path: Path):
    path = write(tmp_path, "name: t\npoints_file: points.csv\n" + ARRIVALS, "id,population,tents,tents.extra\na,1,1,7\n")
    with pytest.raises(ScenarioError, match="tents.extra"):
        load_scenario(path)
