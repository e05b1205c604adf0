"""simsampling compare: common random numbers, paired differences, the results folder."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import yaml

from simsampling import compare_scenarios, load_scenario
from simsampling.cli import main
from simsampling.metrics import flatten
from simsampling.report.compare import compare_header, compare_rows
from simsampling.scenario import validate_scenario

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "scenarios" / "one-point-demo.yaml"


def with_tents(tents: int, name: str):
    data = load_scenario(DEMO).model_dump(mode="json", exclude_none=True)
    data["points"][0]["tents"] = tents
    data["name"] = name
    return validate_scenario(data)


def test_a_scenario_against_itself_differs_by_exactly_zero():
    comparison = compare_scenarios([DEMO, DEMO], replications=2)
    assert comparison.labels == ["A", "B"] and comparison.replications == 2
    checked = 0
    for key, row in comparison.table.items():
        diff = row["differences"]["B-A"]
        if row["A"]["n"] == 0:
            assert diff["mean"] is None
            continue
        assert diff["mean"] == 0.0, key
        if diff["n"] >= 2:
            assert diff["ci95"] == [0.0, 0.0] and diff["significant"] is False, key
            checked += 1
    assert checked > 30


def test_one_more_tent_shortens_the_wait_significantly():
    comparison = compare_scenarios([with_tents(4, "four"), with_tents(5, "five")], replications=3)
    diff = comparison.table["wait_min.total.p90"]["differences"]["B-A"]
    assert diff["mean"] < 0 and diff["ci95"][1] < 0 and diff["significant"] is True
    # The same residents came in both (common random numbers): arrivals are identical.
    arrived = comparison.table["arrived"]["differences"]["B-A"]
    assert arrived["mean"] == 0 and arrived["ci95"] == [0.0, 0.0]
    # The paired difference is the mean of per-replication differences.
    a, b = ([flatten(k)["wait_min.total.p90"] for k in r.run_kpis] for r in comparison.results)
    assert diff["mean"] == pytest.approx(sum(y - x for x, y in zip(a, b)) / 3, rel=1e-12)


def test_seed_and_replications_are_the_first_scenarios_unless_given():
    four, five = with_tents(4, "four"), with_tents(5, "five")
    data = five.model_dump(mode="json", exclude_none=True)
    data.update(seed=99, replications=7)
    comparison = compare_scenarios([four, validate_scenario(data)], replications=2)
    assert [r.scenario.seed for r in comparison.results] == [four.seed, four.seed]
    assert [r.replications for r in comparison.results] == [2, 2]
    assert any("seed 99 -> " in note for note in comparison.notes)
    assert compare_scenarios([four, five], replications=2, seed=3).seed == 3


@pytest.fixture(scope="module")
def compared(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("compare")
    four = folder / "four.yaml"
    five = folder / "five.yaml"
    for path, tents in ((four, 4), (five, 5)):
        data = yaml.safe_load(DEMO.read_text())
        data["points"][0]["tents"] = tents
        data["name"] = path.stem
        path.write_text(yaml.safe_dump(data))
    out = folder / "out"
    assert main(["compare", str(four), str(five), "-r", "3", "--out", str(out), "--quiet"]) == 0
    return out


def test_the_folder_holds_every_output(compared: Path):
    for name in ("compare.csv", "summary.json", "report.html", "charts/cumulative.png", "charts/queues.png",
                 "charts/throughput.png", "A-four/summary.json", "A-four/report.html", "B-five/summary.json"):
        assert (compared / name).stat().st_size > 0, name
    assert not [p for p in compared.parent.iterdir() if p.name.startswith(".")], "temporary folders left behind"
    html = (compared / "report.html").read_text()
    assert "paired 95% CI" in html and 'href="A-four/report.html"' in html


def test_compare_csv_and_summary_agree(compared: Path):
    summary = json.loads((compared / "summary.json").read_text())
    assert summary["kind"] == "compare" and summary["baseline"] == "A" and summary["common_random_numbers"] is True
    assert [s["label"] for s in summary["scenarios"]] == ["A", "B"]
    assert summary["replications"] == 3
    with (compared / "compare.csv").open() as handle:
        rows = {row["kpi"]: row for row in csv.DictReader(handle)}
    leaf = summary["kpis"]["wait_min.total.p90"]
    row = rows["wait_min.total.p90"]
    assert float(row["B_minus_A"]) == pytest.approx(leaf["differences"]["B-A"]["mean"], rel=1e-9)
    assert float(row["B_minus_A_ci95_high"]) < 0 and row["B_minus_A_significant"] == "true"
    assert float(row["A_mean"]) == pytest.approx(leaf["A"]["mean"], rel=1e-9)
    # Each scenario's own folder has the same figures as the comparison.
    own = json.loads((compared / "B-five" / "summary.json").read_text())
    assert own["kpis"]["wait_min"]["total"]["p90"]["mean"] == pytest.approx(leaf["B"]["mean"], rel=1e-12)


def test_an_existing_folder_is_refused_without_force(compared: Path, capsys):
    code = main(["compare", str(DEMO), str(DEMO), "-r", "2", "--out", str(compared), "--quiet"])
    assert code == 2
    assert "--out" in capsys.readouterr().err


def test_a_bad_scenario_is_bad_input(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\npoints: []\n")
    assert main(["compare", str(DEMO), str(bad), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert "bad.yaml" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_three_scenarios_are_each_compared_with_the_first():
    comparison = compare_scenarios([with_tents(4, "four"), with_tents(5, "five"), with_tents(6, "six")], replications=2)
    header = compare_header(comparison)
    assert {"C_mean", "C_minus_A", "C_minus_A_ci95_low", "C_minus_A_significant"} <= set(header)
    assert "C_minus_B" not in header
    rows = {row[0]: dict(zip(header, row)) for row in compare_rows(comparison)}
    assert rows["staff_hours"]["C_minus_A"] > rows["staff_hours"]["B_minus_A"] > 0


def test_the_table_fits_a_narrow_terminal():
    """Three scenarios on 80 columns: one table per comparison with A, no number cut."""
    from rich.console import Console

    from simsampling.cli_experiments import compare_tables

    comparison = compare_scenarios([with_tents(4, "four"), with_tents(5, "five"), with_tents(3, "three")],
                                   replications=2)
    console = Console(width=80, record=True, file=io.StringIO())
    tables = compare_tables(comparison, console)
    assert len(tables) == 2
    for table in tables:
        console.print(table)
    text = console.export_text()
    assert "…" not in text and "B−A" in text and "C−A" in text
    wide = Console(width=250, record=True, file=io.StringIO())
    assert len(compare_tables(comparison, wide)) == 1
