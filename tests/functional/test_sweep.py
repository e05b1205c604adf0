"""simsampling sweep: a full factorial design, its folder, bad input, and resuming after an interruption."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from simsampling import load_scenario, run_scenario, sweep
from simsampling.cli import main
from simsampling.experiment import factorial
from simsampling.experiment.factorial import kpi_names
from simsampling.metrics import flatten
from simsampling.report.sweep import sweep_to_folder
from simsampling.scenario import validate_scenario

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "scenarios" / "one-point-demo.yaml"
FACTORS = {"points.*.tents": [2, 3], "arrivals.show_up": [0.9, 1.0]}
VARY = ["--vary", "points.*.tents=2,3", "--vary", "arrivals.show_up=0.9,1.0"]
KPIS = ["finish_h", "wait_min.total.p90", "utilization.swab"]


def sweep_cli(out: Path, *extra: str) -> int:
    args = ["sweep", str(DEMO), *VARY, "-r", "2", "--out", str(out), "--quiet"]
    for kpi in KPIS:
        args += ["--kpi", kpi]
    return main(args + list(extra))


@pytest.fixture(scope="module")
def swept(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sweep") / "out"
    assert sweep_cli(out) == 0
    return out


def test_four_rows_matching_separate_runs(swept: Path):
    with (swept / "sweep.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4
    assert [(r["points.*.tents"], r["arrivals.show_up"]) for r in rows] == [("2", "0.9"), ("2", "1"), ("3", "0.9"), ("3", "1")]
    summary = json.loads((swept / "summary.json").read_text())
    base = load_scenario(DEMO).model_dump(mode="json", exclude_none=True)
    for row, combination in zip(rows, summary["combinations"]):
        data = json.loads(json.dumps(base))
        data["replications"] = 2
        data["points"][0]["tents"] = combination["factors"]["points.*.tents"]
        data["arrivals"]["show_up"] = combination["factors"]["arrivals.show_up"]
        alone = run_scenario(validate_scenario(data)).summary["kpis"]
        flat = flatten(alone)
        for kpi in KPIS:
            assert combination["kpis"][kpi] == flat[kpi]  # exactly: same seed, same residents
            assert float(row[f"{kpi}_mean"]) == pytest.approx(flat[kpi]["mean"], rel=1e-9)
        assert combination["all_kpis"] == json.loads(json.dumps(alone))


def test_the_folder_holds_every_output(swept: Path):
    for name in ("sweep.csv", "summary.json", "report.html", "scenario.yaml", "runs.jsonl",
                 "charts/by_points.all.tents.png", "charts/by_arrivals.show_up.png"):
        assert (swept / name).stat().st_size > 0, name
    assert not [p for p in swept.parent.iterdir() if p.name.startswith(".")], "partial folder left behind"
    summary = json.loads((swept / "summary.json").read_text())
    assert summary["kind"] == "sweep" and summary["kpis"] == KPIS and summary["replications"] == 2
    assert summary["factors"] == [{"path": "points.*.tents", "values": [2, 3]},
                                  {"path": "arrivals.show_up", "values": [0.9, 1.0]}]


@pytest.mark.parametrize("vary, field", [
    ("points.*.tents=2,x", "points[0].tents"),
    ("points.*.tnts=2", "points[0].tnts"),
    ("points.4.tents=2", "points"),
    ("arrivals.show_up=0.9,1.5", "arrivals.show_up"),
    ("seed=1,2", "seed"),
])
def test_bad_vary_is_bad_input(tmp_path, capsys, vary, field):
    code = main(["sweep", str(DEMO), "--vary", vary, "--out", str(tmp_path / "out"), "-r", "2", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"--vary {vary}: {field}: " in err and "Traceback" not in err
    assert not list(tmp_path.iterdir()), "nothing is written on bad input"


def test_bad_kpi_is_bad_input(tmp_path, capsys):
    code = main(["sweep", str(DEMO), "--vary", "points.*.tents=2", "--kpi", "wait.p90", "--out", str(tmp_path / "o"), "--quiet"])
    assert code == 2 and "--kpi: wait.p90: is not a KPI" in capsys.readouterr().err


def test_kpi_names_are_those_of_a_run():
    scenario = load_scenario(DEMO)
    data = scenario.model_dump(mode="json", exclude_none=True)
    data["replications"] = 1
    assert kpi_names(scenario) == list(flatten(run_scenario(validate_scenario(data)).summary["kpis"]))


class Interrupt:
    """run_scenario that counts its calls and raises KeyboardInterrupt on call number ``at``."""

    def __init__(self, at: int | None = None):
        self.at, self.calls = at, 0
        self.run = factorial.run_scenario

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.at is not None and self.calls == self.at:
            raise KeyboardInterrupt
        return self.run(*args, **kwargs)


def test_an_interrupted_sweep_resumes_where_it_stopped(tmp_path, monkeypatch, swept: Path):
    out = tmp_path / "out"
    first = Interrupt(at=3)
    monkeypatch.setattr(factorial, "run_scenario", first)
    with pytest.raises(KeyboardInterrupt):
        sweep_to_folder(DEMO, FACTORS, out, kpis=KPIS, replications=2)
    assert first.calls == 3 and not out.exists()
    journal = (tmp_path / ".out.partial" / "runs.jsonl").read_text().splitlines()
    assert len(journal) == 1 + 2  # header and two finished combinations

    second = Interrupt()
    monkeypatch.setattr(factorial, "run_scenario", second)
    result = sweep_to_folder(DEMO, FACTORS, out, kpis=KPIS, replications=2)
    assert second.calls == 2 and result.ran == 2 and result.resumed == 2
    assert not (tmp_path / ".out.partial").exists()
    assert (out / "sweep.csv").read_text() == (swept / "sweep.csv").read_text()
    summary, whole = (json.loads((folder / "summary.json").read_text()) for folder in (out, swept))
    assert summary["combinations"] == whole["combinations"]
    records = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()[1:]]
    assert sorted(r["index"] for r in records) == [0, 1, 2, 3]  # none lost, none repeated


def test_the_command_resumes_and_says_so(tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    monkeypatch.setattr(factorial, "run_scenario", Interrupt(at=2))
    assert sweep_cli(out) == 130
    assert "1 of 4 combinations are saved" in capsys.readouterr().err
    counting = Interrupt()
    monkeypatch.setattr(factorial, "run_scenario", counting)
    assert sweep_cli(out) == 0
    assert counting.calls == 3 and (out / "sweep.csv").exists()


def test_a_line_cut_short_by_a_crash_is_run_again(tmp_path, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setattr(factorial, "run_scenario", Interrupt(at=2))
    with pytest.raises(KeyboardInterrupt):
        sweep_to_folder(DEMO, {"points.*.tents": [2, 3]}, out, kpis=KPIS, replications=2)
    journal = tmp_path / ".out.partial" / "runs.jsonl"
    text = journal.read_text()
    journal.write_text(text + text.splitlines()[-1][:40])  # a second record, half written
    counting = Interrupt()
    monkeypatch.setattr(factorial, "run_scenario", counting)
    result = sweep_to_folder(DEMO, {"points.*.tents": [2, 3]}, out, kpis=KPIS, replications=2)
    assert counting.calls == 1 and result.resumed == 1 and len(result.rows) == 2


def test_a_partial_folder_of_another_design_is_refused(tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    monkeypatch.setattr(factorial, "run_scenario", Interrupt(at=2))
    assert sweep_cli(out) == 130
    monkeypatch.setattr(factorial, "run_scenario", Interrupt())
    code = main(["sweep", str(DEMO), "--vary", "points.*.tents=2,4", "-r", "2", "--out", str(out), "--quiet"])
    assert code == 2 and "another design" in capsys.readouterr().err
    fresh = Interrupt()
    monkeypatch.setattr(factorial, "run_scenario", fresh)
    assert main(["sweep", str(DEMO), "--vary", "points.*.tents=2,4", "-r", "2", "--out", str(out), "--quiet", "--fresh"]) == 0
    assert fresh.calls == 2


def test_an_existing_results_folder_is_refused_before_running(swept: Path, capsys, monkeypatch):
    counting = Interrupt()
    monkeypatch.setattr(factorial, "run_scenario", counting)
    assert sweep_cli(swept) == 2
    assert "--out" in capsys.readouterr().err and counting.calls == 0


def test_the_table_fits_a_narrow_terminal_and_names_factors_by_their_last_part():
    """80 columns: no number is cut ("14…"); the KPIs go to a second table instead; factors read "tents"."""
    from rich.console import Console

    from simsampling.cli_experiments import factor_legend, sweep_tables

    result = sweep(DEMO, {"points.*.tents": [3, 4], "points.*.stages.temperature.servers": [1]}, replications=1)
    console = Console(width=80, record=True, file=io.StringIO())
    tables = sweep_tables(result, console)
    assert len(tables) >= 2
    for table in tables:
        console.print(table)
    text = console.export_text()
    assert "…" not in text and "tents" in text and "points.*" not in text and "14.31" in text
    assert factor_legend(result) == "tents = points.*.tents; servers = points.*.stages.temperature.servers"


def test_the_report_names_the_scenario_file(swept: Path):
    html = (swept / "report.html").read_text()
    assert "&lt;scenario&gt;" not in html and "one-point-demo.yaml" in html
