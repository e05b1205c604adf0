"""Whole runs through the command line: the results folder and its contents."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from simsampling.cli import main
from simsampling.experiment import costs, estimate
from simsampling.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "scenarios" / "one-point-demo.yaml"
FILES = ["summary.json", "kpis.csv", "persons.csv", "timeseries.csv", "throughput.csv", "scenario.yaml"]
CHARTS = ["cumulative.png", "throughput.png", "queues.png", "waits.png", "utilization.png"]


def run_cli(*args: str) -> int:
    return main(["run", *map(str, args), "--quiet"])


def summary_of(folder: Path) -> dict:
    data = json.loads((folder / "summary.json").read_text())
    data.pop("elapsed_s")
    data.pop("jobs")
    return data


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "run"
    assert run_cli(DEMO, "--replications", 3, "--out", out) == 0
    return out


def test_demo_writes_every_output(demo_run: Path):
    for name in FILES:
        assert (demo_run / name).stat().st_size > 0, name
    for name in CHARTS:
        assert (demo_run / "charts" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert not [p for p in demo_run.parent.iterdir() if p.name.startswith(".")], "temporary folders left behind"


def test_summary_has_the_documented_shape(demo_run: Path):
    summary = json.loads((demo_run / "summary.json").read_text())
    for key in ("scenario", "seed", "replications", "simsampling_version", "kpis", "points"):
        assert key in summary
    assert summary["scenario"] == "one-point-demo" and summary["seed"] == 20220319 and summary["replications"] == 3
    kpis = summary["kpis"]
    for key in ("arrived", "sampled", "unserved", "completion_min", "overtime_min", "throughput_per_hour"):
        assert set(kpis[key]) == {"mean", "ci95", "n"}
        assert kpis[key]["n"] == 3
    for stat in ("mean", "p50", "p90", "p95", "max"):
        assert kpis["time_in_system_min"][stat]["mean"] >= 0
    for stage in ("temperature", "registration", "swab"):
        leaf = kpis["wait_min"][stage]["p90"]
        assert leaf["ci95"][0] <= leaf["mean"] <= leaf["ci95"][1]
        assert kpis["queue_max"][stage]["mean"] >= 0
        assert 0 <= kpis["utilization"][stage]["mean"] <= 1
    assert kpis["arrived"]["mean"] == kpis["sampled"]["mean"] + kpis["unserved"]["mean"]
    (point,) = summary["points"]
    assert point["id"] == "tjx-01" and point["kpis"]["sampled"] == kpis["sampled"]
    little = summary["checks"]["littles_law"]
    assert little["passed"] and little["stages_checked"] == 3 * 3 and 0 <= little["max_relative_gap"] <= little["tolerance"]


def test_persons_csv_holds_the_first_replication(demo_run: Path):
    with (demo_run / "persons.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    from simsampling.experiment import simulate_task

    first = simulate_task(load_scenario(demo_run / "scenario.yaml"), 0, 0).log
    assert len(rows) == first.arrived
    assert {row["status"] for row in rows} <= {"sampled", "unserved"}
    row = rows[0]
    assert float(row["arrival_s"]) <= float(row["temperature_start_s"]) <= float(row["swab_end_s"])


def test_kpis_and_series_tables_are_consistent(demo_run: Path):
    summary = json.loads((demo_run / "summary.json").read_text())
    with (demo_run / "kpis.csv").open() as handle:
        rows = {(r["scope"], r["kpi"]): r for r in csv.DictReader(handle)}
    assert float(rows[("run", "wait_min.swab.p90")]["mean"]) == pytest.approx(summary["kpis"]["wait_min"]["swab"]["p90"]["mean"], rel=1e-5)
    with (demo_run / "throughput.csv").open() as handle:
        hours = list(csv.DictReader(handle))
    total = sum(float(h["sampled_mean"]) for h in hours)
    assert total == pytest.approx(summary["kpis"]["sampled"]["mean"], rel=1e-6)
    with (demo_run / "timeseries.csv").open() as handle:
        series = list(csv.DictReader(handle))
    assert {r["stage"] for r in series} == {"temperature", "registration", "swab"}
    assert all(float(r["busy_max"]) <= int(r["servers"]) + 1e-9 for r in series)


def test_resolved_scenario_reruns_identically(demo_run: Path, tmp_path: Path):
    again = tmp_path / "again"
    assert run_cli(demo_run / "scenario.yaml", "--out", again) == 0
    assert summary_of(again) == summary_of(demo_run)


def test_same_seed_same_summary_on_any_number_of_jobs(tmp_path: Path):
    one, two = tmp_path / "one", tmp_path / "two"
    assert run_cli(DEMO, "-r", 2, "--out", one, "--jobs", 1) == 0
    assert run_cli(DEMO, "-r", 2, "--out", two, "--jobs", 2) == 0
    assert summary_of(one) == summary_of(two)
    assert (one / "persons.csv").read_bytes() == (two / "persons.csv").read_bytes()
    assert (one / "timeseries.csv").read_bytes() == (two / "timeseries.csv").read_bytes()


def test_another_seed_gives_other_results(tmp_path: Path, demo_run: Path):
    other = tmp_path / "other"
    assert run_cli(DEMO, "-r", 3, "--seed", 7, "--out", other) == 0
    assert summary_of(other)["kpis"] != summary_of(demo_run)["kpis"]
    assert yaml.safe_load((other / "scenario.yaml").read_text())["seed"] == 7


def test_existing_results_are_never_overwritten_without_force(tmp_path: Path, capsys):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    assert run_cli(DEMO, "-r", 1, "--out", out) == 2
    assert "--force" in capsys.readouterr().err
    assert run_cli(DEMO, "-r", 1, "--out", out, "--force") == 2  # --force replaces only results simsampling wrote
    assert "is not a results folder simsampling wrote" in capsys.readouterr().err
    assert (out / "mine.txt").read_text() == "keep me"
    (out / "mine.txt").unlink()
    assert run_cli(DEMO, "-r", 1, "--out", out) == 0
    first = (out / "summary.json").read_text()
    assert run_cli(DEMO, "-r", 1, "--seed", 7, "--out", out, "--force") == 0
    assert (out / "summary.json").read_text() != first


def test_default_folder_is_new_under_results(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_cli(DEMO, "-r", 1) == 0
    assert run_cli(DEMO, "-r", 1) == 0
    folders = sorted((tmp_path / "results").iterdir())
    assert len(folders) == 2 and all(f.name.startswith("one-point-demo-") for f in folders)


@pytest.mark.parametrize("name, slug", [
    ("北碚区 第一轮 ✓", "北碚区-第一轮"),  # a Chinese name was 'run'
    ("e\u0301te\u0301", "été"),  # accents written as combining marks, composed
    ("../../etc/passwd", "etc-passwd"), ("a\u202eb\tc", "a-b-c"), ("...", "run"),
])
def test_a_default_folder_keeps_the_names_letters_in_any_script(name, slug):
    from datetime import datetime

    from simsampling.report import default_folder

    assert default_folder(name, now=datetime(2026, 12, 4, 19, 0, 0)) == Path("results") / f"{slug}-20261204-190000"


def test_commands_started_in_the_same_second_take_two_default_folders(tmp_path: Path, monkeypatch):
    """The second was refused ('already holds results; choose another --out') though no --out was given."""
    from datetime import datetime

    from simsampling.cli_folder import release_targets, results_target
    from simsampling.report import default_folder

    monkeypatch.chdir(tmp_path)
    second = datetime(2026, 12, 4, 19, 0, 0)
    monkeypatch.setattr("simsampling.report.folder.datetime", type("Clock", (), {"now": staticmethod(lambda: second)}))
    first, other = results_target(None, "demo"), results_target(None, "demo")
    assert (first.name, other.name) == ("demo-20261204-190000", "demo-20261204-190000-2")
    assert first.is_dir() and not any(first.iterdir())  # made now, empty: the other command sees it taken
    assert default_folder("demo") == Path("results") / "demo-20261204-190000-3"  # unreserved: the next free name
    (other / "summary.json").write_text("{}")  # as if results had been renamed into it
    release_targets()
    assert not first.exists() and other.is_dir()  # the empty one given back, the written one kept
    assert results_target(tmp_path / "given", "demo") == tmp_path / "given" and not (tmp_path / "given").exists()


def test_a_command_that_stops_before_its_results_leaves_no_default_folder(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["optimise", str(DEMO)]) == 2  # no target given: bad input found after the folder was chosen
    assert list(tmp_path.iterdir()) == []  # not even results/, made for it
    (tmp_path / "results").mkdir()
    assert main(["optimise", str(DEMO)]) == 2
    assert list(tmp_path.iterdir()) == [tmp_path / "results"] and not any((tmp_path / "results").iterdir())


def test_console_script_and_module_entry_point(tmp_path: Path):
    for command in (["simsampling"], [sys.executable, "-m", "simsampling"]):
        done = subprocess.run([*command, "validate", str(DEMO)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert "OK" in done.stdout


def test_the_command_ends_with_the_collector_frozen_and_main_leaves_it_be():
    """``cli.command`` (both entry points) returns main's status with the garbage collector frozen, so that the
    interpreter's last collections have nothing to walk; ``main``, which tests call, leaves it as it was."""
    code = ("import gc, sys; from simsampling import cli; "
            "status = cli.main(['validate', sys.argv[1]]); print(status, gc.get_freeze_count()); "
            "status = cli.command(['validate', sys.argv[1]]); print(status, gc.get_freeze_count() > 0)")
    done = subprocess.run([sys.executable, "-c", code, str(DEMO)], capture_output=True, text=True, check=True)
    assert [line for line in done.stdout.splitlines() if not line.endswith("replications")] == ["0 0", "0 True"]


def test_littles_law_between_timeseries_and_persons(tmp_path: Path):
    """The integral of the line length (timeseries.csv) equals the residents' total wait (persons.csv)."""
    out = tmp_path / "one"
    assert run_cli(DEMO, "-r", 1, "--out", out) == 0
    with (out / "timeseries.csv").open() as handle:
        series = list(csv.DictReader(handle))
    with (out / "persons.csv").open() as handle:
        persons = [r for r in csv.DictReader(handle) if r["status"] == "sampled"]
    enter = {"temperature": "arrival_s", "registration": "temperature_end_s", "swab": "registration_end_s"}
    for stage, previous in enter.items():
        area = sum(float(r["queue_mean"]) for r in series if r["stage"] == stage) * 60.0
        waited = sum(float(p[f"{stage}_start_s"]) - float(p[previous]) for p in persons)
        assert area == pytest.approx(waited, rel=1e-4, abs=1.0), stage


def test_persons_can_be_streamed_or_left_out(tmp_path: Path, demo_run: Path):
    streamed, without = tmp_path / "streamed", tmp_path / "without"
    assert run_cli(DEMO, "-r", 3, "--out", streamed, "--persons") == 0
    assert (streamed / "persons.csv").read_bytes() == (demo_run / "persons.csv").read_bytes()
    assert run_cli(DEMO, "-r", 1, "--out", without, "--no-persons") == 0
    assert not (without / "persons.csv").exists() and (without / "summary.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["streamed", "without"]  # no scratch left behind


def test_a_run_that_will_not_fit_in_memory_is_refused(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setattr(estimate, "available_memory", lambda: 100 * 2**20)
    monkeypatch.setattr(costs, "FAST_RESIDENT_S", 0.001)  # as if a replication took seconds: a batch each, four workers
    monkeypatch.chdir(tmp_path)
    assert run_cli(DEMO, "-r", 4, "--jobs", 4) == 2  # four workers hold more than the rest of the run
    err = capsys.readouterr().err
    (line,) = err.strip().splitlines()
    assert line.startswith(f"{DEMO}: --jobs: estimated ") and "GiB on 4 processes, but only 0.1 GiB of memory is available" in line
    assert "--no-persons" in line and "--no-memory-check" in line and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # not even results/
    assert run_cli(DEMO, "-r", 1, "--out", tmp_path / "anyway", "--no-memory-check") == 0
    assert (tmp_path / "anyway" / "summary.json").exists()


def test_a_long_run_says_so_before_starting(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setattr(costs, "FAST_RESIDENT_S", 0.05)  # as if the demo took over two minutes
    assert main(["run", str(DEMO), "-r", "1", "--out", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().err.startswith("estimated 2 min ")


def test_a_city_round_with_10000_replications_is_refused_in_a_real_process(tmp_path: Path):
    """About 220 GB of KPIs kept: refused at once, naming `replications`, before anything is written."""
    if (estimate.available_memory() or 0) > 200 * 2**30:
        pytest.skip("this machine has room for it")
    done = subprocess.run([sys.executable, "-m", "simsampling", "run", str(ROOT / "scenarios" / "calibration" / "xian-2021-round.yaml"),
                           "--replications", "10000", "--jobs", "2"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"{ROOT / 'scenarios' / 'calibration' / 'xian-2021-round.yaml'}: replications: estimated ")
    assert "--no-memory-check" in done.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("persons", ["--persons", None])
def test_format_parquet_writes_persons_and_timeseries_typed_with_the_csv_figures(demo_run: Path, tmp_path: Path, persons):
    """Kept in memory (the default) or streamed while the run goes on (--persons): the same tables as the CSV run's."""
    import polars as pl

    out = tmp_path / "parquet"
    assert run_cli(DEMO, "--replications", 3, "--out", out, "--format", "parquet", *([persons] if persons else [])) == 0
    assert not (out / "persons.csv").exists() and not (out / "timeseries.csv").exists()
    assert (out / "kpis.csv").read_bytes() == (demo_run / "kpis.csv").read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary folders left behind"
    for name in ("persons", "timeseries"):
        typed = pl.read_parquet(out / f"{name}.parquet")
        text = pl.read_csv(demo_run / f"{name}.csv", infer_schema_length=0)  # every column as written
        assert typed.columns == text.columns and typed.height == text.height > 0
        decimals = 3 if name == "persons" else None
        for column in typed.columns:
            values = typed[column].to_list()
            written = [("" if v is None else f"{v:.3f}" if decimals else f"{v:.10g}") if isinstance(v, float) or v is None
                       else ("true" if v else "false") if isinstance(v, bool) else str(v) for v in values]
            assert written == [v or "" for v in text[column].to_list()], f"{name}.{column}"


def test_validate_loads_no_engine_chart_or_statistics_library():
    """``validate`` answers in a fraction of a second: it imports the scenario layer, not numpy, numba, matplotlib,
    scipy, SimPy or polars, nor what other commands use (process pools, the web app's HTTP client, rich's tables and
    progress bars: together about a tenth of its time)."""
    unused = ('numpy', 'numba', 'matplotlib', 'scipy', 'simpy', 'polars', 'multiprocessing', 'concurrent.futures',
              'urllib.request', 'rich.progress', 'rich.table')
    code = ("import sys; from simsampling.cli import main; status = main(['validate', sys.argv[1]]); "
            f"print(sorted(m for m in {unused!r} if m in sys.modules)); sys.exit(status)")
    done = subprocess.run([sys.executable, "-c", code, str(DEMO)], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout


def test_a_run_loads_no_scipy_module_it_does_not_use(tmp_path: Path):
    """A run's process imports neither scipy.special (t quantiles come from a table) nor scipy.linalg (numba's
    BLAS probe, jit.import_numba), a third of a second of CPU; both still import afterwards for those who need them."""
    code = ("import sys; from simsampling.cli import main; status = main(['run', sys.argv[1], '--out', sys.argv[2], "
            "'--replications', '3', '--engine', 'fast', '--quiet']); "
            "print(sorted(m for m in ('scipy.special', 'scipy.linalg', 'scipy.stats') if m in sys.modules)); "
            "import numba.np.arraymath, scipy.linalg.cython_blas; sys.exit(status)")
    done = subprocess.run([sys.executable, "-c", code, str(DEMO), str(tmp_path / "out")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
