"""A run stopped by SIGTERM or SIGHUP, or by the death of one of its processes: one line, a documented exit
status, no process left running and no scratch left behind.

SIGTERM and SIGHUP stop a run as Ctrl-C does (exit 130); a worker or forked child that
dies (the out-of-memory killer, a ``kill -9``) ends it with exit 1 and one line naming
what died. Deaths in forked children are caused by stand-ins that kill their own
process, so the tests do not depend on timing; the pool's worker and the signals
to the run are sent from outside, as a user or the system would.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from simsampling import report
from simsampling.cli import main
from simsampling.report import charts

pytestmark = pytest.mark.skipif(os.name != "posix", reason="signals and forked children are POSIX")

ROOT = Path(__file__).resolve().parents[2]
DISTRICT = ROOT / "scenarios" / "beibei-district.yaml"
SMALL = (ROOT / "scenarios" / "one-point-demo.yaml").read_text().replace("population: 2600", "population: 300")


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


def hidden(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def said(capsys) -> list[str]:
    return capsys.readouterr().err.strip().splitlines()


def killed_here(*args, **kwargs):
    """A stand-in for work done in a forked child: the child dies as the out-of-memory killer would end it."""
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_chart_drawer_that_dies_is_one_line_and_exit_1(scenario: Path, tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setattr(charts, "write_charts", killed_here)  # the drawer imports it when it draws
    assert main(["run", str(scenario), "-r", "1", "--quiet", "--out", str(tmp_path / "out")]) == 1
    line, = said(capsys)
    assert line.startswith("the process drawing the charts died (killed")
    assert line.endswith("; no results were written")
    assert not (tmp_path / "out").exists() and hidden(tmp_path) == []


def test_a_table_writer_that_dies_is_one_line_and_exit_1(scenario: Path, tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setattr(report, "tables_aside", lambda result: True)  # as for a city: the tables written aside
    monkeypatch.setattr(report, "write_throughput", killed_here)
    assert main(["run", str(scenario), "-r", "1", "--quiet", "--out", str(tmp_path / "out")]) == 1
    line, = said(capsys)
    assert line.startswith("the process writing the tables died (killed")
    assert not (tmp_path / "out").exists() and hidden(tmp_path) == []


def test_a_failure_while_the_charts_are_drawn_waits_for_the_drawer_before_removing(scenario: Path, tmp_path: Path,
                                                                                   capsys, monkeypatch):
    """The chart drawer still writes into the folder being filled when the tables fail: it is ended before the
    folder is removed, or it would leave a hidden folder behind."""
    def drawing(result, folder, *args, **kwargs):
        for index in range(2000):
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{index}.png").write_bytes(b"a chart")
            time.sleep(0.002)
        return []

    def full_disk(result, folder: Path):
        deadline = time.monotonic() + 60
        while not (folder / "charts" / "1.png").exists() and time.monotonic() < deadline:
            time.sleep(0.01)  # until the drawer is busy writing
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(charts, "write_charts", drawing)
    monkeypatch.setattr(report, "write_throughput", full_disk)
    assert main(["run", str(scenario), "-r", "1", "--quiet", "--out", str(tmp_path / "out")]) == 1
    assert said(capsys) == [f"{tmp_path / 'out'}: No space left on device; nothing was written"]
    assert not (tmp_path / "out").exists() and hidden(tmp_path) == []


# ---------------------------------------------------------------- from outside: a user's kill, the system's


def start(tmp_path: Path, *arguments: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "simsampling", "run", *arguments, "--quiet",
                             "--out", str(tmp_path / "out")], cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def children_of(run: subprocess.Popen, count: int, timeout_s: float = 120.0) -> list[psutil.Process]:
    """The run's forked children (workers, the chart drawer) once there are ``count`` (the test fails if there
    never are); not the engine's compilation, which a first run starts aside for the next runs."""
    main_process = psutil.Process(run.pid)
    deadline = time.monotonic() + timeout_s
    children: list[psutil.Process] = []
    while time.monotonic() < deadline and run.poll() is None:
        try:
            children = [p for p in main_process.children(recursive=True) if p.cmdline() == main_process.cmdline()]
        except psutil.NoSuchProcess:
            continue
        if len(children) >= count:
            return children
        time.sleep(0.1)
    raise AssertionError(f"the run started {len(children)} child processes, not {count}")


def running(processes: list[psutil.Process]) -> list[psutil.Process]:
    found = []
    for process in processes:
        try:
            if process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except psutil.NoSuchProcess:
            pass
    return found


def ended(run: subprocess.Popen, children: list[psutil.Process]) -> tuple[int, list[str]]:
    """The run's exit status and what it said, once it and every child of it are gone."""
    _, err = run.communicate(timeout=120)
    gone_by = time.monotonic() + 30
    while running(children) and time.monotonic() < gone_by:
        time.sleep(0.1)
    assert running(children) == [], "child processes outlived the run"
    return run.returncode, err.strip().splitlines()


def test_a_pool_worker_that_dies_is_one_line_and_exit_1(tmp_path: Path):
    run = start(tmp_path, str(DISTRICT), "-r", "6", "--jobs", "2")
    workers = children_of(run, 2)
    time.sleep(1.0)  # the workers are simulating
    workers[-1].send_signal(signal.SIGKILL)
    status, lines = ended(run, workers)
    assert status == 1 and len(lines) == 1, lines
    assert lines[0].startswith("a worker process of the simulation died (") and lines[0].endswith(
        "; no results were written"), lines
    assert not (tmp_path / "out").exists() and hidden(tmp_path) == []


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_run_stopped_by_a_signal_cleans_up_as_after_ctrl_c(stop: signal.Signals, tmp_path: Path):
    run = start(tmp_path, str(DISTRICT), "-r", "6", "--jobs", "2")
    workers = children_of(run, 2)
    time.sleep(1.0)
    assert hidden(tmp_path), "the run has no scratch folder to remove"
    run.send_signal(stop)
    status, lines = ended(run, workers)
    assert status == 130 and lines == [f"interrupted by {stop.name}: no results were written"], (status, lines)
    assert not (tmp_path / "out").exists() and hidden(tmp_path) == []


def test_a_run_stopped_while_its_chart_drawer_waits_ends_the_drawer(tmp_path: Path):
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL.replace("population: 300", "population: 2600"))
    run = start(tmp_path, str(scenario), "-r", "500", "--engine", "simpy", "--no-persons")
    drawer = children_of(run, 1)
    time.sleep(1.0)
    run.send_signal(signal.SIGTERM)
    status, lines = ended(run, drawer)
    assert status == 130 and lines == ["interrupted by SIGTERM: no results were written"], (status, lines)
    assert hidden(tmp_path) == []
