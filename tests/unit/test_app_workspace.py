"""The app's working folder: a visitor's files stay in it (traversal, absolute paths, links), names are plain."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

from simsampling.app.editing import BLANK_POINT, dump, resolved_data, set_value
from simsampling.app.workspace import Drafts, Workspace, load_draft, safe_name, zip_folder
from simsampling.scenario import ScenarioError, validate_scenario

TABLE = "id,population,tents\na,300,2\nb,200,1\n"


def district(points_file: str) -> str:
    return f"name: d\npoints_file: {points_file}\narrivals: {{kind: poisson, rate_per_hour: 30}}\n"


@pytest.fixture
def drafts(tmp_path) -> Drafts:
    return Drafts(Workspace(tmp_path / "work").new_session())


def problems(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_draft(path)
    return [str(p) for p in caught.value.problems]


def test_an_uploaded_scenario_reads_the_table_uploaded_with_it(drafts):
    path = drafts.from_upload([("district.yaml", district("points.csv").encode()), ("points.csv", TABLE.encode())])
    assert [p.id for p in load_draft(path).points] == ["a", "b"]


@pytest.mark.parametrize("points_file", ["../points.csv", "../../../../etc/passwd", "/etc/passwd", "sub/../../points.csv"])
def test_a_points_file_outside_the_draft_folder_is_refused(drafts, points_file):
    (drafts.session / "points.csv").write_text(TABLE)  # exists, one folder up
    path = drafts.from_text("district.yaml", district(points_file))
    assert problems(path) == [f"district.yaml:2: points_file: {points_file!r} is outside the app's working folder: "
                              "upload the table with the scenario and name it by its file name"]


def test_a_link_that_leads_out_is_refused(drafts, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text(TABLE)
    path = drafts.from_text("district.yaml", district("points.csv"))
    os.symlink(secret, path.parent / "points.csv")
    assert "is outside the app's working folder" in problems(path)[0]
    os.remove(path.parent / "points.csv")
    (path.parent / "inside.csv").write_text(TABLE)
    os.symlink(path.parent / "inside.csv", path.parent / "points.csv")
    assert problems(path) == ["district.yaml:2: points_file: 'points.csv' is not a regular file of the working folder"]


def test_uploaded_names_cannot_climb_out_or_hide(drafts):
    path = drafts.from_upload([("../../evil.yaml", district("x.csv").encode()), ("..\\..\\x.csv", TABLE.encode())])
    assert path.parent.parent == drafts.session and sorted(p.name for p in path.parent.iterdir()) == ["evil.yaml", "x.csv"]
    assert [safe_name(n) for n in ("a b<script>.yaml", ".hidden.yaml", "", "..")] == ["a_b_script_.yaml", "hidden.yaml",
                                                                                       "scenario.yaml", "scenario.yaml"]


def test_an_upload_must_be_one_scenario_and_its_tables(drafts):
    with pytest.raises(ScenarioError) as caught:
        drafts.from_upload([("a.yaml", b"name: a"), ("b.yml", b"name: b"), ("run.sh", b"rm -rf /")])
    assert [str(p) for p in caught.value.problems] == [
        "run.sh: is neither a scenario (.yaml, .yml) nor a points table (.csv)",
        "upload: give exactly one scenario file (.yaml), with its points tables (.csv) if it names any; got 2"]
    assert not any(drafts.session.iterdir())  # nothing written


def test_a_missing_table_is_named_as_the_visitor_named_it(drafts):
    path = drafts.from_text("district.yaml", district("missing.csv"))
    assert problems(path) == ["district.yaml:2: points_file: missing.csv: no such file"]


def test_the_zip_holds_the_folders_files_and_no_links(tmp_path):
    folder = tmp_path / "results"
    (folder / "charts").mkdir(parents=True)
    (folder / "summary.json").write_text("{}")
    (folder / "charts" / "a.png").write_bytes(b"png")
    os.symlink("/etc/hostname", folder / "link")
    names = zipfile.ZipFile(io.BytesIO(zip_folder(folder))).namelist()
    assert sorted(names) == ["results/charts/a.png", "results/summary.json"]


def test_a_form_value_keeps_the_rest_of_a_section_left_to_its_defaults():
    data = {**BLANK_POINT, "points": [{"id": "p", "population": 100, "tents": 2}]}
    scenario = validate_scenario(data)
    changed = set_value(data, ("points", 0, "stages", "swab", "servers"), 3, resolved_data(scenario))
    point = validate_scenario(changed).points[0]
    assert point.stations == 3 and point.stages.temperature is not None and point.stages.registration is not None
    assert "stages" not in data["points"][0]  # the original is untouched
    assert validate_scenario(set_value(changed, ("round", "deadline_h"), None, {})).round.deadline_h is None
    assert dump(changed).startswith("name: my-point\n")


def test_every_chart_is_a_valid_vega_lite_spec(monkeypatch):
    """The page draws specs unvalidated (for speed): here each one is checked against the Vega-Lite schema."""
    import simsampling
    from simsampling.app import charts
    from simsampling.app.views import CHART_POINTS, run_view

    monkeypatch.setattr(charts, "VALIDATE", True)
    data = {**BLANK_POINT, "replications": 2, "points": [{**BLANK_POINT["points"][0], "id": "a", "population": 300},
                                                         {**BLANK_POINT["points"][0], "id": "b", "population": 200}]}
    view = run_view(simsampling.run_scenario(validate_scenario(data)))
    assert view.hours.size <= CHART_POINTS and view.sampled.mean[-1] == view.summary["kpis"]["sampled_total"]["mean"]
    specs = [charts.cumulative_chart(view), charts.queue_chart(view), charts.throughput_chart(view),
             charts.utilisation_chart(view.summary), charts.queue_chart(view, view.slowest[0]["queues"], "a"),
             charts.sweep_chart([{"value": 1, "mean": 2.0, "ci95": [1.0, 3.0]}], "points.*.tents", "finish_h")]
    for spec in specs:
        assert spec["datasets"] and all(isinstance(rows, list) for rows in spec["datasets"].values())
