"""Outputs of the sample chain: chain.csv, labs.csv and three charts, only for runs that have a chain."""

from __future__ import annotations

import csv
import json
import struct
from pathlib import Path

import numpy as np
import pytest

import simsampling
from simsampling.scenario import validate_scenario

CHAIN_FILES = ["chain.csv", "labs.csv"]
CHAIN_CHARTS = ["results.png", "lab_backlog.png", "specimen_age.png"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def scenario(replications: int = 2, chain: bool = True):
    data = {
        "name": "chain $test$",
        "seed": 7,
        "replications": replications,
        "clock": {"open": "07:00", "close": "17:00"},
        "defaults": {"tents": 1, "pooling": {"ratio": 10}},
        "points": [{"id": "a", "population": 500}, {"id": "b", "population": 700, "lab": "lab-2"}],
        "arrivals": {"kind": "calling"},
    }
    if chain:
        data["chain"] = {
            "prevalence": 0.01,
            "labs": [
                {"id": "lab-1", "instruments": 2, "tubes_per_run": 48, "run_min": 90},
                {"id": "lab-2", "name": "Lab two", "instruments": 1, "tubes_per_run": 48, "run_min": 90,
                 "shifts": [{"start": "08:00", "end": "15:00"}]},
            ],
        }
    return validate_scenario(data)


def written(result, folder: Path) -> Path:
    simsampling.write_results(result, folder)
    return folder


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def pooled_with_result(result) -> int:
    chain = result.first_chain
    return int(np.count_nonzero(~np.isnan(chain.released_s[chain.member_tube])))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    result = simsampling.run_scenario(scenario())
    return result, written(result, tmp_path_factory.mktemp("chain") / "out")


def assert_sensible_png(path: Path) -> None:
    assert path.is_file(), f"{path.name} was not written"
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR", f"{path.name} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    assert 700 <= width <= 2500 and 300 <= height <= 2500, f"{path.name} is {width}x{height}"
    assert path.stat().st_size > 10_000, f"{path.name} looks empty"


def test_files_and_charts_exist(run):
    _, folder = run
    for name in CHAIN_FILES:
        assert (folder / name).is_file(), name
    for name in CHAIN_CHARTS:
        assert_sensible_png(folder / "charts" / name)


def test_chain_csv_window_and_results(run):
    result, folder = run
    rows = read_csv(folder / "chain.csv")
    assert rows and list(rows[0]) == ["minute", "clock", "lab_backlog_mean", "lab_backlog_min", "lab_backlog_max",
                                      "results_mean", "results_min", "results_max"]
    minutes = [int(row["minute"]) for row in rows]
    step = result.step_s / 60
    assert minutes[0] % 60 == 0 and (minutes[-1] + step) % 60 == 0, "the window is in whole hours"
    assert np.allclose(np.diff(minutes), step)
    assert rows[0]["clock"] == f"{minutes[0] // 60:02d}:00"
    first_arrival = np.nanmin(result.first_chain.arrived_s) / 60
    assert minutes[0] <= first_arrival < minutes[0] + 60
    for column in ("results_mean", "results_min", "results_max"):
        values = np.array([float(row[column]) for row in rows])
        assert np.all(np.diff(values) >= 0), f"{column} decreases"
        assert values[0] == 0
    for row in rows:
        assert float(row["lab_backlog_min"]) <= float(row["lab_backlog_mean"]) <= float(row["lab_backlog_max"])
        assert float(row["results_min"]) <= float(row["results_mean"]) <= float(row["results_max"])
    last = rows[-1]
    assert float(last["results_min"]) <= pooled_with_result(result) <= float(last["results_max"])
    assert float(last["lab_backlog_max"]) == 0
    # The window reaches the last result of every replication, recall results included.
    open_min = result.scenario.hours[0][0] / 60
    latest = max(open_min + kpis["chain"]["last_result_h"] * 60 for kpis in result.run_kpis)
    assert minutes[-1] + step - 60 < latest <= minutes[-1] + step


def test_chain_csv_ends_at_the_pooled_residents_with_a_result(tmp_path):
    result = simsampling.run_scenario(scenario(replications=1))
    rows = read_csv(written(result, tmp_path / "out") / "chain.csv")
    final = {float(rows[-1][column]) for column in ("results_mean", "results_min", "results_max")}
    assert final == {float(pooled_with_result(result))}
    assert pooled_with_result(result) == result.first_chain.member_tube.size  # every tube got its result


def test_labs_csv_adds_up(run):
    result, folder = run
    rows = read_csv(folder / "labs.csv")
    assert [row["lab"] for row in rows] == ["lab-1", "lab-2"]
    assert [row["name"] for row in rows] == ["lab-1", "Lab two"]
    chain = result.first_chain
    for row in rows:
        assert int(row["tubes_run"]) + int(row["tubes_without_result"]) == int(row["tubes_delivered"])
        assert int(row["runs"]) > 0 and float(row["busy_instrument_h"]) == pytest.approx(int(row["runs"]) * 1.5)
        assert 0 < float(row["utilization"]) <= 1
        assert float(row["first_run_start_s"]) < float(row["last_release_s"])
        assert row["last_release_clock"].count(":") == 2
    delivered = sum(int(row["tubes_delivered"]) for row in rows)
    assert sum(int(row["tubes_run"]) for row in rows) == delivered
    recalls = sum(int(row["recall_tubes"]) for row in rows)
    assert recalls == chain.recall_swab_s.size > 0, "the scenario should have recalls"
    assert delivered - recalls == chain.sealed_s.size == result.run_kpis[0]["chain"]["tubes"]


def test_summary_has_chain_kpis(run):
    _, folder = run
    summary = json.loads((folder / "summary.json").read_text())
    chain = summary["kpis"]["chain"]

    def leaves(tree):
        for value in tree.values():
            if isinstance(value, dict) and "mean" in value and "n" in value:
                yield value
            else:
                assert isinstance(value, dict), value
                yield from leaves(value)

    found = list(leaves(chain))
    assert len(found) >= 10
    for leaf in found:
        assert set(leaf) == {"mean", "ci95", "n"}
    assert chain["tubes"]["n"] == 2


def test_no_chain_no_chain_outputs(tmp_path):
    folder = written(simsampling.run_scenario(scenario(replications=1, chain=False)), tmp_path / "out")
    for name in CHAIN_FILES:
        assert not (folder / name).exists(), name
    for name in CHAIN_CHARTS:
        assert not (folder / "charts" / name).exists(), name
    assert (folder / "charts" / "cumulative.png").is_file()
    assert "chain" not in json.loads((folder / "summary.json").read_text())["kpis"]
