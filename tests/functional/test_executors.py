"""The same district run in this process, over local processes and on a Dask cluster: same bytes.

Batches are made small here (``BATCH_S``) so that a small district is split into
several batches and the workers really share it; a cluster of two worker
processes is started once for the module (a few seconds).
"""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from simsampling import run_scenario
from simsampling.cli import main
from simsampling.experiment import executors, replicate
from simsampling.scenario import load_scenario

distributed = pytest.importorskip("distributed")

FILES = ("persons.csv", "points.csv", "queue_by_point.csv", "timeseries.csv", "throughput.csv", "kpis.csv")
PROVENANCE = ("elapsed_s", "jobs", "executor")


def district(tmp_path: Path) -> Path:
    """Four points; p3 pools swabs in tubes of 10 (out of the fast engine's scope): SimPy runs it, the fast engine the others."""
    path = tmp_path / "district.yaml"
    path.write_text(
        "name: executors-district\nseed: 11\nreplications: 2\n"
        "clock: {open: '07:00', close: '19:00'}\n"
        "defaults: {tents: 2, queue: shared, stages: {swab: {}}}\n"
        "points:\n"
        "  - {id: p0, population: 700}\n"
        "  - {id: p1, population: 400, queue: per_tent}\n"
        "  - {id: p2, population: 900, tents: 3}\n"
        "  - {id: p3, population: 500, pooling: {ratio: 10}}\n"
        "arrivals:\n"
        "  kind: slots\n"
        "  show_up: 0.95\n"
        "  slots: [{start: '07:00', end: '10:00', share: 0.6}, {start: '10:00', end: '18:00', share: 0.4}]\n"
    )
    return path


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as local:
        yield local.scheduler_address


@pytest.fixture
def small_batches(monkeypatch):
    """Batches of about 20 ms: the district's 8 tasks make several batches."""
    monkeypatch.setattr(executors, "BATCH_S", 0.02)


def summary_of(folder: Path) -> dict:
    summary = json.loads((folder / "summary.json").read_text())
    for key in PROVENANCE:
        summary.pop(key)
    return summary


def test_serial_processes_and_dask_write_the_same_results(tmp_path: Path, cluster: str, small_batches):
    path = district(tmp_path)
    runs = {
        "serial": ["--executor", "serial"],
        "processes": ["--executor", "processes", "--jobs", "2"],
        "dask": ["--executor", "dask", "--scheduler", cluster],
    }
    for name, options in runs.items():
        assert main(["run", str(path), *options, "--out", str(tmp_path / name), "--quiet"]) == 0
    serial = summary_of(tmp_path / "serial")
    assert serial["engine"] == {"asked": "auto", "fast_points": 3, "simpy_points": 1, "reasons": {"pooled tubes (pooling)": 1}}
    for name in ("processes", "dask"):
        assert json.loads((tmp_path / name / "summary.json").read_text())["executor"] == name
        assert summary_of(tmp_path / name) == serial, name
        for file in FILES:
            assert (tmp_path / name / file).read_bytes() == (tmp_path / "serial" / file).read_bytes(), f"{name}: {file}"


def test_batches_reach_the_workers_and_come_back_in_task_order(tmp_path: Path, cluster: str, small_batches, monkeypatch):
    scenario = load_scenario(district(tmp_path))
    sizes = []
    run_batches = executors.run_batches

    def spy(function, shared, batches, **kwargs):
        sizes.extend(len(batch) for batch in batches)
        yield from run_batches(function, shared, batches, **kwargs)

    monkeypatch.setattr(replicate, "run_batches", spy)
    order = []
    execute = replicate._execute

    def record(*args, **kwargs):
        for run in execute(*args, **kwargs):
            order.append((run.replication, run.point_id))
            yield run

    monkeypatch.setattr(replicate, "_execute", record)
    progress = []
    result = run_scenario(scenario, executor="dask", scheduler=cluster, progress=lambda done, total: progress.append((done, total)))
    assert 1 < len(sizes) < 8 and sum(sizes) == 8  # batched: several tasks per batch, several batches
    assert order == [(rep, f"p{k}") for rep in range(2) for k in range(4)]
    assert progress == [(done, 8) for done in range(1, 9)]
    assert result.summary["executor"] == "dask" and result.replications == 2


def test_a_local_dask_cluster_is_started_and_closed(tmp_path: Path, small_batches):
    """Without a scheduler, --executor dask starts a local cluster of --jobs processes for the run."""
    scenario = load_scenario(district(tmp_path)).model_copy(update={"replications": 1})
    before = set(multiprocessing.active_children())  # the module's cluster, when it runs
    dask = run_scenario(scenario, executor="dask", jobs=1)
    assert set(multiprocessing.active_children()) <= before, "the local cluster's processes outlived the run"
    serial = run_scenario(scenario, executor="serial")
    assert dask.summary["kpis"] == serial.summary["kpis"]
    assert dask.summary["points"] == serial.summary["points"]


def test_dask_without_distributed_installed_is_bad_input(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setattr(executors, "dask_available", lambda: False)
    out = tmp_path / "out"
    assert main(["run", str(district(tmp_path)), "--executor", "dask", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--executor" in err and "distributed" in err and "Traceback" not in err
    assert not out.exists()


def test_a_scheduler_without_dask_is_bad_input(tmp_path: Path, capsys):
    assert main(["run", str(district(tmp_path)), "--scheduler", "tcp://127.0.0.1:1", "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "--scheduler" in capsys.readouterr().err
