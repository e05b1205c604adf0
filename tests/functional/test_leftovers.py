"""No leftovers after a kill: workers end with their parent, and the next run removes what a killed one left.

A run stopped by SIGTERM or SIGHUP cleans up as after Ctrl-C (exit 130); one whose pool worker
dies ends with exit 1 and one line naming it; either way no process of it goes on and
nothing is left beside its folder. A run killed with SIGKILL cannot clean up. Its worker processes notice their parent
is gone and exit; its scratch folders and the file its workers read the scenario
from carry its process id and host, and the next run into the same place (or the
next that starts workers) removes those of processes that are gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from simsampling import leftovers
from simsampling.cli import main
from simsampling.experiment import executors
from simsampling.report.folder import clean_leftovers

ROOT = Path(__file__).resolve().parents[2]
DISTRICT = ROOT / "scenarios" / "beibei-district.yaml"
SMALL = (ROOT / "scenarios" / "one-point-demo.yaml").read_text().replace("population: 2600", "population: 300")


def dead_pid() -> int:
    """The id of a process that has ended (not reused within a test, in practice)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    found = []
    for process in processes:
        try:
            if process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except psutil.NoSuchProcess:
            pass
    return found


def is_worker(process: psutil.Process, main_process: psutil.Process) -> bool:
    """A spawned worker (multiprocessing's command line) or a forked one (the run's own command line)."""
    line = process.cmdline()
    return "spawn_main" in " ".join(line) or line == main_process.cmdline()


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL and orphaned processes are POSIX")
def test_a_killed_run_leaves_no_worker_and_its_scratch_is_removed_by_the_next(tmp_path: Path, capsys):
    out = tmp_path / "district"
    run = subprocess.Popen([sys.executable, "-m", "simsampling", "run", str(DISTRICT), "-r", "6", "--jobs", "2",
                            "--quiet", "--out", str(out)], cwd=tmp_path, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    main_process = psutil.Process(run.pid)
    deadline = time.monotonic() + 120
    workers: list[psutil.Process] = []
    while time.monotonic() < deadline and run.poll() is None:
        workers = [p for p in main_process.children(recursive=True) if is_worker(p, main_process)]
        if len(workers) == 2:
            break
        time.sleep(0.2)
    assert len(workers) == 2, "the run did not start two workers"
    time.sleep(1.0)  # the workers are importing or simulating
    run.send_signal(signal.SIGKILL)
    run.wait()
    gone_by = time.monotonic() + 60  # imports under load: the orphan check starts once they are done
    while alive(workers) and time.monotonic() < gone_by:
        time.sleep(0.2)
    assert alive(workers) == [], "worker processes outlived the killed run"
    left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("."))
    assert left and all(name.startswith(f".district.persons-{run.pid}@") for name in left), left

    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL)
    assert main(["run", str(scenario), "-r", "1", "--out", str(out), "--no-persons"]) == 0
    assert f"removed 1 folder(s) left beside {out} by an interrupted run: {left[0]}" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


# ---------------------------------------------------------------- stopped by a signal, or by a worker that died


def hidden(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


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
            children = [p for p in main_process.children(recursive=True) if is_worker(p, main_process)]
        except psutil.NoSuchProcess:  # a child that ended meanwhile
            continue
        if len(children) >= count:
            return children
        time.sleep(0.1)
    raise AssertionError(f"the run started {len(children)} child processes, not {count}")


def ended(run: subprocess.Popen, children: list[psutil.Process]) -> tuple[int, list[str]]:
    """The run's exit status and what it said, once it and every child of it are gone."""
    _, err = run.communicate(timeout=120)
    gone_by = time.monotonic() + 30
    while alive(children) and time.monotonic() < gone_by:
        time.sleep(0.1)
    assert alive(children) == [], "child processes outlived the run"
    return run.returncode, err.strip().splitlines()


@pytest.mark.skipif(os.name != "posix", reason="signals and orphaned processes are POSIX")
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


@pytest.mark.skipif(os.name != "posix", reason="signals and orphaned processes are POSIX")
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


@pytest.mark.skipif(os.name != "posix", reason="signals and orphaned processes are POSIX")
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


def test_scratch_of_a_live_run_or_another_host_is_kept(tmp_path: Path, monkeypatch):
    target = tmp_path / "out"
    dead, host = dead_pid(), leftovers._HOST
    names = [f".out.partial-{dead}@{host}-a", f".out.persons-{dead}@{host}-b", f".out.partial-{os.getpid()}@{host}-c",
             f".out.partial-{dead}@{host}x-d", ".out.partial", "other"]
    for name in names:
        (tmp_path / name).mkdir()
    removed = clean_leftovers(target)
    assert sorted(p.name for p in removed) == names[:2]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[2:])


def test_a_run_removes_the_scratch_of_any_killed_run_in_its_folder_and_nothing_else(tmp_path: Path, capsys):
    """A default results folder is named after its time: no later run goes to the same name, so each run clears
    the scratch that runs killed on this host left in its folder, whatever their results."""
    dead, host = dead_pid(), leftovers._HOST
    gone = [f".beibei-20261204-101010.partial-{dead}@{host}-k3j_x9a2", f".city.persons-{dead}@{host}-0a1b2c3d",
            f".a.b.old-{dead}@{host}-zzzzzzzz"]
    kept = [f".city.partial-{os.getpid()}@{host}-livelive", f".city.partial-{dead}@elsewhere-abcdefgh",
            f".city.partial-{dead}@{host}-not.mkdtemp", f".city.draft-{dead}@{host}-abcdefgh", ".sweep.partial",
            f"city.partial-{dead}@{host}-abcdefgh", "notes"]
    for name in gone + kept:
        (tmp_path / name).mkdir()
    (tmp_path / gone[2] / "a.b").mkdir()  # results a killed run was replacing: put back where they were
    (tmp_path / gone[2] / "a.b" / "summary.json").write_text("{}")
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL)
    assert main(["run", str(scenario), "-r", "1", "--out", str(tmp_path / "out"), "--no-persons"]) == 0
    assert "removed 3 folder(s) left beside" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept + ["a.b", "out", "small.yaml"])
    assert (tmp_path / "a.b" / "summary.json").read_text() == "{}"


def test_old_results_moved_aside_by_a_killed_run_are_put_back(tmp_path: Path):
    aside = tmp_path / f".out.old-{dead_pid()}@{leftovers._HOST}-x"
    (aside / "out").mkdir(parents=True)
    (aside / "out" / "summary.json").write_text("{}")
    clean_leftovers(tmp_path / "out")
    assert (tmp_path / "out" / "summary.json").read_text() == "{}" and not aside.exists()


def test_a_killed_run_s_scenario_file_for_its_workers_is_removed(tmp_path: Path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    stale = tmp_path / f"{executors.SHARED_PREFIX}{dead_pid()}@{leftovers._HOST}-x.pickle"
    stale.write_bytes(b"left by a killed run")
    kept = [tmp_path / f"{executors.SHARED_PREFIX}{dead_pid()}@elsewhere-y.pickle",
            tmp_path / f"{executors.SHARED_PREFIX}{os.getpid()}@{leftovers._HOST}-z.pickle"]
    for path in kept:
        path.write_bytes(b"another host's, or a live run's")
    assert executors.remove_stale_shared() == [stale]  # what every pool does before it starts
    assert not stale.exists() and all(path.exists() for path in kept)


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL and orphaned processes are POSIX")
def test_a_killed_small_run_leaves_no_chart_drawer(tmp_path: Path):
    """A run of a few points starts its chart drawer with it (importing matplotlib while it simulates): killed
    while it simulates, the drawer, waiting for the run, ends too."""
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL.replace("population: 300", "population: 2600"))
    run = subprocess.Popen([sys.executable, "-m", "simsampling", "run", str(scenario), "-r", "500", "--engine", "simpy",
                            "--quiet", "--no-persons", "--out", str(tmp_path / "out")], cwd=tmp_path,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    main_process = psutil.Process(run.pid)
    deadline = time.monotonic() + 120
    children: list[psutil.Process] = []
    while time.monotonic() < deadline and run.poll() is None and not children:
        children = main_process.children(recursive=True)
        time.sleep(0.2)
    assert children, "the run started no chart drawer"
    time.sleep(1.0)  # the drawer imports matplotlib, then waits for the run
    run.send_signal(signal.SIGKILL)
    run.wait()
    gone_by = time.monotonic() + 60
    while alive(children) and time.monotonic() < gone_by:
        time.sleep(0.2)
    assert alive(children) == [], "the chart drawer outlived the killed run"
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process groups are read from /proc")
def test_a_killed_group_is_waited_for_until_none_of_it_runs():
    """The app's cancel kills a run's process group and returns once none of it runs (a worker
    handing back its memory after SIGKILL is still running for a moment)."""
    group = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time; "
                              "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"],
                             start_new_session=True)
    end = time.monotonic() + 30
    while len(leftovers.living_in_group(group.pid)) < 2 and time.monotonic() < end:
        time.sleep(0.05)
    assert len(leftovers.living_in_group(group.pid)) == 2  # the process and its child
    os.killpg(group.pid, signal.SIGKILL)
    group.wait(timeout=5)
    assert leftovers.wait_for_group(group.pid)
    assert leftovers.living_in_group(group.pid) == []
