"""Operating-system failures are one line and an exit status, and leave nothing half-written.

Exit 1 names the path or address and the cause (a read-only drive, a full disk, a
rename refused, a scheduler that cannot be reached), or what died (a forked child
killed, as by the out-of-memory killer); exit 2 is a results folder that
cannot be used (under a file, a mount point, the current folder, not ours to
replace). Failures are injected where the system would raise them, so the tests
run anywhere (as root a read-only folder is writable, and few may mount a full disk).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import signal
import threading
import time
from pathlib import Path

import pytest

from simsampling import report
from simsampling.cli import main
from simsampling.experiment import executors
from simsampling.report import charts, folder, forked

ROOT = Path(__file__).resolve().parents[2]
SMALL = (ROOT / "scenarios" / "one-point-demo.yaml").read_text().replace("population: 2600", "population: 300")


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    return path


def run(scenario: Path, out: Path, *extra: str) -> int:
    return main(["run", str(scenario), "-r", "1", "--quiet", "--out", str(out), *extra])


def lines(capsys) -> list[str]:
    return capsys.readouterr().err.strip().splitlines()


def hidden(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def no_run(monkeypatch) -> None:
    """Fail the test if anything is simulated: the refusal must come first."""
    def refuse(*args, **kwargs):
        raise AssertionError("the run started")

    monkeypatch.setattr("simsampling.experiment.run_scenario", refuse)  # what the run command imports when it runs


def failing(code: int, after: int = 0, once: bool = False):
    """A stand-in that raises OSError(code) at its call number ``after`` (counting from 0) and, unless
    ``once``, at every later call; other calls go to ``fail.original``."""
    calls = {"n": 0}

    def fail(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > after and not (once and calls["n"] > after + 1):
            raise OSError(code, os.strerror(code))
        return fail.original(*args, **kwargs)

    return fail


def test_out_under_a_file_is_bad_input_before_running(scenario: Path, tmp_path: Path, capsys, monkeypatch):
    (tmp_path / "afile").write_text("")
    no_run(monkeypatch)
    assert run(scenario, tmp_path / "afile" / "sub") == 2
    assert lines(capsys) == [f"{tmp_path / 'afile' / 'sub'}: --out: cannot be made: {tmp_path / 'afile'} is a file, not a folder"]


def test_a_read_only_drive_is_exit_1_before_running(scenario: Path, tmp_path: Path, capsys, monkeypatch):
    no_run(monkeypatch)
    fail = failing(errno.EROFS)
    fail.original = None
    monkeypatch.setattr("simsampling.leftovers.tempfile.mkdtemp", fail)
    assert run(scenario, tmp_path / "out") == 1
    assert lines(capsys) == [f"{tmp_path / 'out'}: Read-only file system; nothing was written"]
    assert not (tmp_path / "out").exists() and hidden(tmp_path) == []


def full_disk_leaves_nothing(where: tuple, scenario: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    """A run whose ``where`` (module, function name) finds the disk full ends in one line, exit 1, nothing left."""
    module, name = where
    fail = failing(errno.ENOSPC)
    fail.original = getattr(module, name)
    monkeypatch.setattr(module, name, fail)
    assert run(scenario, tmp_path / "out") == 1
    assert lines(capsys) == [f"{tmp_path / 'out'}: No space left on device; nothing was written"]
    assert not (tmp_path / "out").exists() and hidden(tmp_path) == []


@pytest.mark.parametrize("where", ["tables", "charts"])
def test_a_full_disk_while_writing_leaves_nothing(where: str, scenario: Path, tmp_path: Path, capsys, monkeypatch):
    # The charts are drawn in a forked child, which takes write_charts from report.charts.
    if where == "tables":
        module, name = report, "write_throughput"
    else:
        module, name = charts, "write_charts"
    full_disk_leaves_nothing((module, name), scenario, tmp_path, capsys, monkeypatch)


def killed_here(*args, **kwargs):
    """A stand-in for work done in a forked child: the child dies as the out-of-memory killer would end it."""
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="without fork the charts and tables are done in this process")
def test_a_chart_drawer_that_dies_is_one_line_and_exit_1(scenario: Path, tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setattr(charts, "write_charts", killed_here)  # the drawer imports it when it draws
    assert run(scenario, tmp_path / "out") == 1
    line, = lines(capsys)
    assert line.startswith("the process drawing the charts died (killed")
    assert line.endswith("; no results were written")
    assert not (tmp_path / "out").exists() and hidden(tmp_path) == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="without fork the charts and tables are done in this process")
def test_a_table_writer_that_dies_is_one_line_and_exit_1(scenario: Path, tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setattr(report, "tables_aside", lambda result: True)  # as for a city: the tables written aside
    monkeypatch.setattr(report, "write_throughput", killed_here)
    assert run(scenario, tmp_path / "out") == 1
    line, = lines(capsys)
    assert line.startswith("the process writing the tables died (killed")
    assert not (tmp_path / "out").exists() and hidden(tmp_path) == []


def stopped_here(*args, **kwargs):
    """A stand-in for work done in a forked child: the child alone is asked to stop (a ``kill`` of its process id)."""
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="without fork the charts and tables are done in this process")
def test_a_table_writer_stopped_alone_is_one_line_and_exit_1(scenario: Path, tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setattr(report, "tables_aside", lambda result: True)
    monkeypatch.setattr(report, "write_throughput", stopped_here)
    assert run(scenario, tmp_path / "out") == 1
    assert lines(capsys) == ["the process writing the tables died (killed by SIGTERM); no results were written"]
    assert not (tmp_path / "out").exists() and hidden(tmp_path) == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="without fork the charts and tables are done in this process")
def test_a_chart_helper_that_dies_is_one_line_and_exit_1(scenario: Path, tmp_path: Path, capsys, monkeypatch):
    """The drawer shares its charts with a helper process of its own: the helper's death is said as the drawer's is."""
    def drawing(result, folder, *args, **kwargs):
        drawer = os.getpid()
        return forked.share([1, 2, 3, 4], lambda item: killed_here() if os.getpid() != drawer else time.sleep(0.2))

    monkeypatch.setattr(charts, "write_charts", drawing)
    assert run(scenario, tmp_path / "out") == 1
    line, = lines(capsys)
    assert line.startswith("a helper process died (killed by SIGKILL")
    assert line.endswith("; no results were written")
    assert not (tmp_path / "out").exists() and hidden(tmp_path) == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="without fork the charts and tables are done in this process")
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
    assert run(scenario, tmp_path / "out") == 1
    assert lines(capsys) == [f"{tmp_path / 'out'}: No space left on device; nothing was written"]
    assert not (tmp_path / "out").exists() and hidden(tmp_path) == []


def test_a_full_disk_during_a_sweep_keeps_what_is_done(scenario: Path, tmp_path: Path, capsys, monkeypatch):
    fail = failing(errno.ENOSPC, after=2)  # the header and the first combination are written
    fail.original = os.fsync
    monkeypatch.setattr("simsampling.experiment.journal.os.fsync", fail)
    out = tmp_path / "sweep"
    assert main(["sweep", str(scenario), "--vary", "points.*.tents=3,4,5", "-r", "1", "--quiet", "--out", str(out)]) == 1
    said = lines(capsys)
    assert said[-1] == f"{tmp_path / '.sweep.partial' / 'runs.jsonl'}: No space left on device"
    assert "1 of 3 combinations are saved" in said[0]
    assert not out.exists() and hidden(tmp_path) == [".sweep.partial"]


def test_a_mount_point_is_refused_before_running(scenario: Path, tmp_path: Path, capsys, monkeypatch):
    target = tmp_path / "mounted"
    target.mkdir()
    monkeypatch.setattr(folder.os.path, "ismount", lambda path: Path(path) == target)
    no_run(monkeypatch)
    assert run(scenario, target) == 2
    assert "is a mount point, which cannot be renamed into place" in lines(capsys)[0]


@pytest.fixture(scope="module")
def previous(tmp_path_factory) -> Path:
    """A results folder written by an earlier run."""
    base = tmp_path_factory.mktemp("previous")
    path = base / "small.yaml"
    path.write_text(SMALL)
    assert run(path, base / "results") == 0
    return base / "results"


def test_out_dot_with_force_is_refused_before_running(previous: Path, scenario: Path, capsys, monkeypatch):
    before = (previous / "summary.json").read_bytes()
    monkeypatch.chdir(previous)
    no_run(monkeypatch)
    assert run(scenario, Path("."), "--force") == 2
    assert "holds the current folder" in lines(capsys)[0]
    assert (previous / "summary.json").read_bytes() == before and hidden(previous.parent) == []


def test_a_refused_rename_keeps_the_previous_results(previous: Path, scenario: Path, tmp_path: Path, capsys, monkeypatch):
    copy = tmp_path / "results"
    os.system(f"cp -r '{previous}' '{copy}'")
    before = (copy / "summary.json").read_bytes()
    fail = failing(errno.EBUSY, after=2, once=True)  # the list written, the old results moved aside: the new cannot take their place
    fail.original = os.replace
    monkeypatch.setattr(folder.os, "replace", fail)
    assert run(scenario, copy, "--force") == 1
    assert lines(capsys) == [f"{copy}: Device or resource busy; nothing was written"]
    assert (copy / "summary.json").read_bytes() == before and hidden(tmp_path) == []


def test_force_replaces_only_a_folder_simsampling_wrote(previous: Path, scenario: Path, tmp_path: Path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert run(scenario, mine, "--force") == 2
    assert "is not a results folder simsampling wrote (no readable summary.json)" in lines(capsys)[0]
    (mine / "summary.json").write_text("{}")
    assert run(scenario, mine, "--force") == 2
    assert "no record of the files simsampling wrote" in lines(capsys)[0]
    copy = tmp_path / "results"
    os.system(f"cp -r '{previous}' '{copy}'")
    (copy / "charts" / "my-notes.txt").write_text("mine")
    assert run(scenario, copy, "--force") == 2
    assert "it holds charts/my-notes.txt, which simsampling did not write" in lines(capsys)[0]
    (copy / "charts" / "my-notes.txt").unlink()
    assert run(scenario, copy, "--force") == 0
    assert (mine / "notes.txt").read_text() == "keep me"
    listed = json.loads((copy / folder.MANIFEST).read_text())["files"]
    assert "summary.json" in listed and "charts/cumulative.png" in listed


def test_animate_force_replaces_only_a_file_simsampling_wrote(previous: Path, scenario: Path, tmp_path: Path, capsys):
    copy = tmp_path / "results"
    shutil.copytree(previous, copy)
    essay = tmp_path / "essay.html"
    essay.write_text("mine")
    assert main(["animate", str(copy), "--out", str(essay), "--force"]) == 2
    assert "was not written by simsampling" in lines(capsys)[0] and essay.read_text() == "mine"
    assert main(["animate", str(copy)]) == 0 and main(["animate", str(copy), "--force"]) == 0
    assert run(scenario, copy, "--force") == 0  # the animation is listed: the folder is still simsampling's


def test_refused_optimise_arguments_leave_no_partial_folder(scenario: Path, tmp_path: Path, capsys):
    assert main(["optimise", str(scenario), "--deadline", "-1", "--out", str(tmp_path / "opt"), "--quiet"]) == 2
    assert "--deadline: -1 must be a positive number of hours" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.yaml"]


# ---------------------------------------------------------------- a Dask scheduler that is not there or not Dask


def serve(kind: str) -> str:
    """A local server that accepts and then stays silent, or answers another protocol; its address."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def accept():
        while True:
            connection, _ = server.accept()
            if kind == "http":
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")

    threading.Thread(target=accept, daemon=True).start()
    return f"tcp://127.0.0.1:{server.getsockname()[1]}"


def closed_port() -> str:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"tcp://127.0.0.1:{port}"


@pytest.mark.skipif(not executors.dask_available(), reason="dask.distributed is not installed")
@pytest.mark.parametrize("kind, cause", [("closed", "no answer from a Dask scheduler within 2 s"),
                                         ("silent", "no answer from a Dask scheduler within 2 s"),
                                         ("http", "did not answer as a Dask scheduler")])
def test_a_scheduler_that_cannot_be_used_is_exit_1_naming_it(kind: str, cause: str, scenario: Path, tmp_path: Path,
                                                             capsys, monkeypatch):
    monkeypatch.setattr(executors, "CONNECT_S", 2.0)
    monkeypatch.setattr(executors.scheduler_workers, "__defaults__", (2.0,))
    address = closed_port() if kind == "closed" else serve(kind)
    no_run(monkeypatch)
    assert run(scenario, tmp_path / "out", "--executor", "dask", "--scheduler", address) == 1
    said = lines(capsys)
    assert len(said) == 1 and said[0].startswith(f"{address}: {cause}"), said
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.yaml"]


@pytest.mark.skipif(not executors.dask_available(), reason="dask.distributed is not installed")
def test_a_scheduler_address_of_no_known_kind_is_bad_input(scenario: Path, tmp_path: Path, capsys):
    assert run(scenario, tmp_path / "out", "--executor", "dask", "--scheduler", "nonsense://x") == 2
    assert "--scheduler: 'nonsense://x' is not a scheduler address" in lines(capsys)[0]


CITY_WAY = {  # where a city's files are written: (module, name) of the function failing, in which process
    "the child's tables": (report, "write_throughput"),
    "the child's plain charts": (charts, "write_plain_charts"),
    "the child's advised charts": (charts, "write_advised_charts"),
    "this process's summary": (report, "write_summary"),
    "this process's report": (report, "write_report_html"),
}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="without fork the charts and tables are done in this process")
@pytest.mark.parametrize("where", sorted(CITY_WAY))
def test_a_full_disk_on_a_city_s_way_leaves_nothing(where: str, scenario: Path, tmp_path: Path, capsys, monkeypatch):
    """A city's tables and plain charts are written by a child while this process diagnoses the run, then the
    child is handed the ranking for the advised charts: a full disk anywhere on that way is one line."""
    monkeypatch.setattr(report, "tables_aside", lambda result: True)
    monkeypatch.setattr(report, "plain_charts_aside", lambda result: True)
    module, name = CITY_WAY[where]
    full_disk_leaves_nothing((module, name), scenario, tmp_path, capsys, monkeypatch)
