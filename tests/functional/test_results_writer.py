"""A results folder written with the advice-free tables in a forked child is the one written in one process."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

import simsampling.report as report
from simsampling.advice import run_advice
from simsampling.experiment import RunResult, run_scenario
from simsampling.scenario import validate_scenario

POINTS = [
    {"id": "north-1", "name": "North, gate", "population": 300, "tents": 1},
    {"id": "market-2", "population": 200, "tents": 2},
]


@pytest.fixture(scope="module")
def result() -> RunResult:
    return run_scenario(validate_scenario({
        "name": "two points",
        "seed": 5,
        "replications": 2,
        "clock": {"open": "08:00", "close": "12:00"},
        "round": {"days": 1, "deadline_h": 4},
        "points": POINTS,
        "arrivals": {"kind": "calling", "batch_households": 10, "gap_min": 15},
    }))


DRAW_CHARTS = report._draw_charts


@pytest.fixture(autouse=True)
def no_charts(monkeypatch):
    monkeypatch.setattr(report, "_draw_charts", lambda *args: [])  # charts are not what differs here


def files_of(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the tables are written aside only where fork exists")
def test_tables_written_aside_are_those_written_here(result: RunResult, tmp_path: Path, monkeypatch):
    advice = run_advice(result)
    monkeypatch.setattr(report, "tables_aside", lambda result: False)
    here = files_of(report.write_results(result, tmp_path / "here", advice=advice))
    # Forked even if polars is loaded here: a table this small is written by the csv module, not by polars.
    monkeypatch.setattr(report, "tables_aside", lambda result: True)
    with report.results_writer(result, tmp_path / "aside") as finish:
        assert not (tmp_path / "aside").exists()
        finish(advice)
    aside = files_of(tmp_path / "aside")
    assert sorted(aside) == sorted(here) and "kpis.csv" in aside and "scenario.yaml" in aside
    assert [name for name in here if name != "report.html" and here[name] != aside[name]] == []


def without_date(html: bytes) -> bytes:
    return re.sub(rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00:00", b"", html)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the tables and charts are drawn aside only where fork exists")
def test_charts_drawn_beside_the_tables_are_those_drawn_together(result: RunResult, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(report, "_draw_charts", DRAW_CHARTS)
    advice = run_advice(result)
    together = files_of(report.write_results(result, tmp_path / "together", advice=advice))
    # A city's way: the charts that need no advice drawn by the child that writes the tables, the rest after.
    monkeypatch.setattr(report, "tables_aside", lambda result: True)
    monkeypatch.setattr(report, "plain_charts_aside", lambda result: True)
    with report.results_writer(result, tmp_path / "split") as finish:
        finish(advice)
    split = files_of(tmp_path / "split")
    charts = sorted(name for name in together if name.startswith("charts/"))
    assert "charts/cumulative.png" in charts and "charts/queue_heatmap.png" in charts
    assert sorted(split) == sorted(together)
    assert [name for name in together if name != "report.html" and split[name] != together[name]] == []
    # report.html lists the charts in the same order (its date aside).
    assert without_date(split["report.html"]) == without_date(together["report.html"])


def test_plain_charts_are_drawn_aside_for_a_city_only(result: RunResult, monkeypatch):
    monkeypatch.setattr(report, "TABLES_ASIDE_FROM_POINTS", 1)
    if "polars" in sys.modules:
        monkeypatch.delitem(sys.modules, "polars")
    assert report.tables_aside(result) and not report.plain_charts_aside(result)  # two points: a drawer draws them
    monkeypatch.setattr(report, "DRAWER_POINTS", 1)
    assert report.plain_charts_aside(result)
    monkeypatch.setattr(report, "tables_aside", lambda result: False)
    assert not report.plain_charts_aside(result)


def test_a_block_left_without_finish_writes_nothing(result: RunResult, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(report, "tables_aside", lambda result: True)
    with pytest.raises(RuntimeError, match="finish"):
        with report.results_writer(result, tmp_path / "out"):
            pass
    assert list(tmp_path.iterdir()) == []


def test_no_child_writes_tables_once_polars_is_loaded(result: RunResult, monkeypatch):
    monkeypatch.setattr(report, "TABLES_ASIDE_FROM_POINTS", 1)
    monkeypatch.delitem(sys.modules, "polars", raising=False)
    assert report.tables_aside(result)
    monkeypatch.setitem(sys.modules, "polars", object())  # its thread pool would not survive a fork
    assert not report.tables_aside(result)


def test_a_run_of_few_points_and_many_residents_writes_its_tables_aside(result: RunResult, monkeypatch):
    monkeypatch.delitem(sys.modules, "polars", raising=False)
    monkeypatch.setattr(report, "TABLES_ASIDE_FROM_POINTS", 1000)
    monkeypatch.setattr(report, "TABLES_ASIDE_FROM_RESIDENTS", 500)  # the two points' 300 and 200, kept in memory
    assert report.tables_aside(result)
    monkeypatch.setattr(report, "TABLES_ASIDE_FROM_RESIDENTS", 501)
    assert not report.tables_aside(result)


def test_a_results_folder_is_as_open_as_the_umask_lets_a_new_folder_be(result: RunResult, tmp_path: Path):
    """It was made private (a temporary folder's 0700, renamed into place): a colleague could not open report.html."""
    from simsampling.report.folder import FOLDER_MODE

    before = os.umask(0o022)
    os.umask(before)
    assert FOLDER_MODE == 0o777 & ~before
    report.write_results(result, tmp_path / "shared")
    assert (tmp_path / "shared").stat().st_mode & 0o777 == FOLDER_MODE


def test_the_ranking_handed_to_the_chart_drawer_is_the_advice_s(result: RunResult):
    """A city's advised charts are drawn by the child that wrote the tables, handed ``RunAdvice.charted`` pickled:
    what they read of the advice, without the diagnosis (which holds the scenario)."""
    import pickle

    advice = run_advice(result)
    ranking = pickle.loads(pickle.dumps(advice.charted))
    assert ranking.ranked_ids() == advice.ranked_ids() and list(ranking.rows) == advice.ranking
    assert (ranking.target_min, ranking.finish_set_by_plan, ranking.plan_end_s) == (
        advice.target_min, advice.diagnosis.run.finish_set_by_plan, advice.diagnosis.run.plan_end_s)
    for point in advice.diagnosis.points:  # the p90 wait the bars of points_finish.png show
        assert ranking.rank_of(point.id).p90_wait_min == point.evidence.p90_wait_min
    assert b"Diagnosis" not in pickle.dumps(advice.charted)
