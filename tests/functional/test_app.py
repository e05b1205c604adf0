"""The web app's logic, driven by Streamlit's AppTest (no browser): load, edit, invalid input, run, cancel, compare.

Every figure the page shows is checked against the Python API run on the same scenario
file, and every refusal against the command line's words for the same input.
"""

from __future__ import annotations

import io
import json
import os
import re
import time
import zipfile
from pathlib import Path

import pytest
import yaml

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

import simsampling  # noqa: E402
from simsampling import cli  # noqa: E402
from simsampling.animation import animation_html  # noqa: E402
from simsampling.app import SCRIPT, WORKDIR_ENV  # noqa: E402
from simsampling.app.views import advice_lines, results_of  # noqa: E402
from simsampling.app.workspace import zip_folder  # noqa: E402
from simsampling.experiment import estimate  # noqa: E402
from simsampling.experiment.compare import MAIN_KPIS  # noqa: E402
from simsampling.leftovers import living_in_group  # noqa: E402
from simsampling.report.html import summary_kpi_rows  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "scenarios" / "one-point-demo.yaml"
LAYOUT = ROOT / "scenarios" / "health-code-and-isolation.yaml"
EVIL = "<script>alert(1)</script> [x](javascript:alert(1)) ![i](http://example.invalid/i.png) :red[b] $x$"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("app-work")
    os.environ[WORKDIR_ENV] = str(folder)
    yield folder
    os.environ.pop(WORKDIR_ENV, None)


@pytest.fixture
def app(workdir) -> AppTest:
    at = AppTest.from_file(str(SCRIPT), default_timeout=120)
    at.run()
    assert not at.exception
    return at


def unescaped(markdown: str) -> str:
    """What a Markdown element shows of text the page escaped (plain())."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("  \n", "\n")


def field(at: AppTest, label: str):
    """The form's input with this label (number or text), or for this field (``points[0].tents``)."""
    for widget in list(at.number_input) + list(at.text_input):
        if widget.label == label or (widget.key or "").endswith(":" + label):
            return widget
    raise AssertionError(f"no input labelled {label!r}")


def set_yaml(at: AppTest, text: str) -> None:
    (area,) = [a for a in at.text_area if a.label == "scenario YAML"]
    area.set_value(text).run()
    assert not at.exception


def run_and_wait(at: AppTest, button: str = "run_button", timeout_s: float = 120) -> None:
    at.button(key=button).click().run()
    end = time.monotonic() + timeout_s
    while at.session_state["job"] is not None and time.monotonic() < end:
        time.sleep(0.2)
        at.run()
    assert at.session_state["job"] is None, "the job did not finish"
    assert not at.exception


def errors(at: AppTest) -> list[str]:
    return [unescaped(e.value) for e in at.error]


def key_figures(at: AppTest) -> list[list[str]]:
    (table,) = [t for t in at.table if "95% CI" in t.value.columns]
    return [[index, *row] for index, row in zip(table.value.index, table.value.values.tolist())]


def test_opens_the_demo_and_shows_it_valid(app):
    assert app.session_state["draft"].name == "one-point-demo.yaml"
    assert field(app, "tents").value == 4
    assert any("Valid: 1 point(s), 2,600 residents, 4 stations" in s.value for s in app.success)
    labels = [n.label for n in app.number_input]
    for stage_field in ("qr share", "service_s (lognormal): mean", "service_s: qr (lognormal): mean"):
        assert stage_field in labels  # every stage present gets its fields, registration's QR share among them


def test_invalid_input_is_shown_next_to_the_field_and_nothing_runs(app):
    field(app, "tents").set_value(0).run()
    line = app.session_state["text"].splitlines().index("  tents: 0") + 1
    assert f"one-point-demo.yaml:{line}: points[0].tents: Input should be greater than or equal to 1" in errors(app)
    assert app.button(key="run_button").disabled
    assert "tents: 0" in app.session_state["text"]
    field(app, "opens at (HH:MM)").set_value("25:00").run()
    assert any(e.endswith('clock.open: "25:00" is not a time of day "HH:MM" between 00:00 and 24:00') for e in errors(app))
    field(app, "tents").set_value(5).run()
    field(app, "opens at (HH:MM)").set_value("07:00").run()
    assert not app.error and not app.button(key="run_button").disabled
    assert yaml.safe_load(app.session_state["text"])["points"][0]["tents"] == 5


def test_a_malformed_scenario_gets_the_command_lines_messages(app, capsys, tmp_path):
    broken = DEMO.read_text().replace("tents: 4", "tents: four").replace("show_up: 0.95", "show_up: [")
    set_yaml(app, broken)
    assert app.button(key="run_button").disabled
    (shown,) = app.error
    (tmp_path / "one-point-demo.yaml").write_text(broken)
    assert cli.main(["validate", str(tmp_path / "one-point-demo.yaml")]) == 2
    expected = capsys.readouterr().err.strip().removeprefix(str(tmp_path) + "/")
    assert expected.startswith("one-point-demo.yaml:") and expected in unescaped(shown.value)


def test_forms_write_into_sections_left_to_their_defaults(app):
    set_yaml(app, "name: bare\npoints:\n  - {id: p, population: 300, tents: 2}\narrivals: {kind: poisson, rate_per_hour: 40}\n")
    field(app, "points[0].stages.swab.servers").set_value("3").run()  # swab servers: a count, typed
    data = yaml.safe_load(app.session_state["text"])
    assert set(data["points"][0]["stages"]) == {"temperature", "registration", "swab"}  # the point keeps its stages
    assert app.session_state["checked"].scenario.points[0].stations == 3
    assert field(app, "rate per hour").value == 40


def test_a_layout_of_its_own_is_edited_stage_by_stage_and_shows_its_side_route(app):
    set_yaml(app, LAYOUT.read_text().replace("replications: 5", "replications: 2"))
    headings = [e.label for e in app.expander]
    stages = ["Health-code check", "Temperature check", "Registration", "Swab", "Isolation"]
    assert [h for h in headings if h in stages] == stages  # a form per stage, in flow order
    field(app, "points[0].stages.temperature.divert.share").set_value(0.05).run()
    data = yaml.safe_load(app.session_state["text"])
    assert data["points"][0]["stages"]["temperature"]["divert"] == {"share": 0.05, "to": "isolation"}
    run_and_wait(app)
    figures = [row[0] for row in key_figures(app)]
    assert "sent to a side stage (isolation...), not swabbed" in figures and "Isolation: most people there at once" in figures
    assert "Health-code check: wait p90 (min)" in figures


def test_run_shows_the_apis_figures_and_keeps_the_results(app, workdir):
    field(app, "tents").set_value(5).run()
    run_and_wait(app)
    view = app.session_state["view"]
    scenario = simsampling.load_scenario(app.session_state["draft"])
    assert scenario.points[0].tents == 5
    expected = simsampling.run_scenario(scenario).summary
    assert view.summary["kpis"] == expected["kpis"]
    rows = summary_kpi_rows(expected, 1)
    assert key_figures(app) == [[row.label.strip(), row.mean, row.ci95, str(row.leaf["n"])] for row in rows]
    assert len(app.get("vega_lite_chart")) == 4  # cumulative, queues, throughput, utilisation
    option = app.session_state["options"][0]
    end = time.monotonic() + 120
    while results_of(option) is None and time.monotonic() < end:
        time.sleep(0.2)
    results = results_of(option)
    assert results.is_relative_to(workdir) and (results / "summary.json").is_file()
    app.run()
    assert "Download the results folder (zip)" in [b.label for b in app.get("download_button")]
    said = json.loads((results / "summary.json").read_text())["advice"]["sentences"]  # the run's diagnosis, shown
    shown = [unescaped(m.value) for m in app.markdown]
    assert said and all(f"- {sentence}" in shown for sentence in said)
    archive = zipfile.ZipFile(io.BytesIO(zip_folder(results)))
    assert "results/summary.json" in archive.namelist() and "results/report.html" in archive.namelist()
    assert [o["name"] for o in app.session_state["options"]] == ["1. one-point-demo"]
    app.button(key="animate").click().run(timeout=60)  # the day at the point, as `simsampling animate` draws it
    page = app.session_state["view"].animations[None]
    assert page == animation_html(results)
    assert [element.proto.srcdoc for element in app.get("iframe")] == [page]


def test_cancel_stops_the_run_at_once_and_leaves_nothing(app):
    text = DEMO.read_text().replace("population: 2600", "population: 400000").replace("replications: 5", "replications: 60")
    set_yaml(app, text)
    app.button(key="run_button").click().run()
    job = app.session_state["job"]
    assert job is not None and job.estimate.startswith("estimated ")
    end = time.monotonic() + 60
    while job.done == 0 and time.monotonic() < end:
        job.poll(wait_s=0.2)
    assert job.done > 0 and not job.finished, "the run should still be going"
    runner, folder = job.runner, job.folder
    app.button(key="cancel_button").click().run()
    assert app.session_state["job"] is None and not runner.alive
    assert living_in_group(runner.process.pid) == []  # no worker of the run is left either
    assert not folder.exists() and app.session_state["view"] is None
    assert any("Cancelled" in unescaped(i.value) for i in app.info)


def test_compare_two_options_with_the_paired_differences_of_compare(app):
    run_and_wait(app)
    field(app, "tents").set_value(5).run()
    run_and_wait(app)
    assert len(app.session_state["options"]) == 2
    (choice,) = app.multiselect
    assert choice.value == ["1. one-point-demo", "2. one-point-demo"]
    run_and_wait(app, "compare_button")
    comparison = app.session_state["comparison"]
    scenarios = [option["scenario"] for option in app.session_state["options"]]
    expected = simsampling.compare_scenarios(scenarios)
    assert comparison["table"] == expected.table
    assert comparison["table"]["wait_min.total.p90"]["differences"]["B-A"]["mean"] < 0  # a fifth tent: shorter waits
    (table,) = [t for t in app.table if "B - A" in t.value.columns]
    assert list(table.value.index) == [title for key, title, _ in MAIN_KPIS if key in expected.table]


def test_a_huge_population_is_refused_with_the_command_lines_message(app, capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(estimate, "available_memory", lambda: 16 * 2**30)  # the same for the page and the command line
    points = "\n".join(f"  - {{id: p{i}, population: 50000000, tents: 100}}" for i in range(40))
    text = f"name: huge\nreplications: 10000\npoints:\n{points}\narrivals: {{kind: poisson, rate_per_hour: 100}}\n"
    set_yaml(app, text)
    app.button(key="run_button").click().run()
    assert app.session_state["job"] is None
    (shown,) = app.error
    path = tmp_path / app.session_state["draft"].name
    path.write_text(text)
    assert cli.main(["run", str(path), "--jobs", "2"]) == 2
    expected = capsys.readouterr().err.strip()
    assert expected.startswith(str(path) + ": ") and "estimated " in expected
    assert unescaped(shown.value) == expected.removeprefix(str(tmp_path) + "/")


def test_script_in_names_is_shown_as_text(app):
    name = EVIL + " \u202eesrever"
    text = DEMO.read_text().replace("name: one-point-demo", f"name: {json.dumps(name)}")
    set_yaml(app, text)
    run_and_wait(app)
    (heading,) = app.subheader
    assert unescaped(heading.value) == f"Results: {EVIL} \\u202eesrever"  # an override shown, reversing nothing
    assert "<script>" not in heading.value and "](" not in heading.value  # every mark escaped: nothing comes alive


def test_the_advice_panel_reads_the_sentences_of_summary_jsons_advice():
    advice = {"target_p90_wait_min": 30, "sentences": ["The swab stations limit the round.", "Add a tent at p3."],
              "run": {"limited_by": "capacity"}, "points": []}
    assert advice_lines(advice) == advice["sentences"]
    assert advice_lines({"run": {"limited_by": "capacity"}}) == ["run: limited by: capacity"]


def test_sweep_a_field_over_a_range_with_common_random_numbers(app):
    (choice,) = [s for s in app.selectbox if s.label == "field"]
    choice.set_value(next(o for o in choice.options if o.startswith("points[0].tents "))).run()
    (kpi,) = [s for s in app.selectbox if s.label == "KPI"]
    kpi.set_value("wait_min.total.p90").run()
    (span,) = [s for s in app.slider if s.label == "range"]
    span.set_value((4, 5)).run()
    run_and_wait(app, "sweep_button")
    rows = app.session_state["sweep_output"]["rows"]
    expected = simsampling.sweep(simsampling.load_scenario(app.session_state["draft"]), {"points.0.tents": [4, 5]},
                                 kpis=["wait_min.total.p90"])
    assert rows == [{"value": row.factors["points.0.tents"], **row.leaf("wait_min.total.p90")} for row in expected.rows]
