"""Runs, comparisons and sweeps in a separate, warm process: Cancel stops one at once.

A runner is a process started before it is needed: it imports the package,
loads the compiled engine and draws a tiny run's charts once, then waits for work on a
pipe. A job (a run, a comparison, a sweep) hands it validated scenarios; it answers with
progress, then what the page draws (a :class:`~simsampling.app.views.RunView`, the
comparison's table, the sweep's rows). A run's results folder is written by a forked child
meanwhile (``results`` in the job's folder, renamed into place whole), so the runner is
ready for the next job as soon as the figures are sent.
The page polls the pipe, so it stays live while a district runs.

The runner leads a session and process group of its own, which its worker processes
join, so Cancel kills the whole group with one signal; the job's folder, and whatever
was half written in it, is then removed. A runner whose page went away sees its pipe
close and exits.

:class:`RunnerPool` keeps one warm runner ready per app server: a job takes it and gives
it back when done; a cancelled job's runner is killed and a new one starts warming at once.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Optional

from ..leftovers import wait_for_group

PROGRESS_EVERY_S = 0.1
"""Progress messages at most this often (a district's tasks finish by the thousand)."""


# ---------------------------------------------------------------- the process


def serve_fd(fd: int) -> None:
    """The runner's main loop (in the child process), talking over the socket ``fd``."""
    serve(Connection(fd))


def serve(conn: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the server's terminal stops the server; we follow its pipe
    _warm_up()
    conn.send(("ready",))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            _do(job, conn)
        except Exception as exc:  # noqa: BLE001 - a job's failure is reported on the page, the runner goes on
            from ..scenario import ScenarioError

            if isinstance(exc, ScenarioError):
                conn.send(("problems", [str(problem) for problem in exc.problems]))
            else:
                conn.send(("error", "".join(traceback.format_exception_only(type(exc), exc)).strip(),
                           traceback.format_exc()))
        conn.send(("done",))


def _warm_up() -> None:
    """Import and load the compiled engine, and run one small scenario, before any visitor waits.

    Writing the results folder is not warmed: it comes after the figures are on the page.
    """
    import pickle

    from .. import run_scenario, write_results  # noqa: F401  (write_results: the report's modules loaded before a fork)
    from ..report import charts  # noqa: F401  (matplotlib too: the forked writers draw without importing it each time)
    from ..experiment.warm_up import warm_up
    from ..scenario import validate_scenario
    from .editing import BLANK_POINT
    from .views import run_view

    data = {**BLANK_POINT, "replications": 2, "points": [{**BLANK_POINT["points"][0], "population": 200}]}
    scenario = validate_scenario(data)
    # Right after installing: SimPy while the engine compiles aside; the first jobs say what they do.
    result = run_scenario(scenario, engine=warm_up(scenario, "auto", 1, lambda text: None))
    pickle.dumps(run_view(result))


_writers: list[int] = []
"""Processes writing results folders, reaped when done."""


def _write_aside(write) -> None:
    """Write a results folder in a forked child, so the runner is free for the next job at once.

    The child leaves the runner's process group: cancelling a later run does not stop it.
    The folder appears whole (``write_results`` renames it into place), which is how the page
    knows it is there.
    """
    for pid in list(_writers):
        if os.waitpid(pid, os.WNOHANG)[0]:
            _writers.remove(pid)
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.setsid()
            write()
            status = 0
        finally:
            os._exit(status)
    _writers.append(pid)


def _do(job: dict, conn) -> None:
    from .views import run_view

    last = [0.0]

    def progress(done: int, total: int, label: str = "") -> None:
        now = time.monotonic()
        if done == total or now - last[0] >= PROGRESS_EVERY_S:
            last[0] = now
            conn.send(("progress", done, total, label))

    def ready(scenarios, runs: int = 1) -> str:
        """The engine of the job's runs, compiling first or aside as the command line does; the page shows what it says."""
        from ..experiment.warm_up import warm_up

        return warm_up(scenarios, "auto", job["jobs"], lambda text: conn.send(("note", text)), runs)

    kind = job["kind"]
    if kind == "run":
        from .. import run_scenario, write_results

        result = run_scenario(job["scenario"], jobs=job["jobs"], progress=progress, engine=ready(job["scenario"]))
        conn.send(("view", run_view(result)))
        _write_aside(lambda: write_results(result, Path(job["folder"]) / "results"))
    elif kind == "compare":
        from .. import compare_scenarios

        scenarios = job["scenarios"]

        def compared(index: int, done: int, total: int) -> None:
            progress(index * total + done, len(scenarios) * total, job["names"][index])

        comparison = compare_scenarios(scenarios, jobs=job["jobs"], progress=compared, files=job["names"],
                                       engine=ready(scenarios))
        conn.send(("comparison", {"labels": comparison.labels, "names": job["names"], "table": comparison.table,
                                  "notes": comparison.notes, "seed": comparison.seed,
                                  "replications": comparison.replications}))
    elif kind == "sweep":
        from ..experiment.factorial import sweep

        result = sweep(job["scenario"], {job["path"]: job["values"]}, kpis=[job["kpi"]], jobs=job["jobs"],
                       progress=lambda done, total, _: progress(done, total),
                       engine=ready(job["scenario"], runs=len(job["values"])))
        rows = [{"value": row.factors[job["path"]], **row.leaf(job["kpi"])} for row in result.rows]
        conn.send(("sweep", {"path": job["path"], "kpi": job["kpi"], "rows": rows}))
    else:
        raise ValueError(f"unknown job {kind!r}")


# ---------------------------------------------------------------- the page's side


class Runner:
    """A runner process and the page's end of its socket.

    Started as a plain ``python -c`` process rather than through ``multiprocessing``:
    a spawned child would import the parent's main module again, and under Streamlit
    that is the page itself.
    """

    def __init__(self):
        ours, theirs = socket.socketpair()
        code = f"from simsampling.app.runner import serve_fd; serve_fd({theirs.fileno()})"
        self.process = subprocess.Popen([sys.executable, "-c", code], pass_fds=(theirs.fileno(),),
                                        start_new_session=True, stdin=subprocess.DEVNULL)
        theirs.close()
        self.conn = Connection(ours.detach())
        self.ready = False

    def wait_ready(self, timeout: Optional[float] = None) -> bool:
        if not self.ready and self.conn.poll(timeout):
            message = self.conn.recv()
            self.ready = message == ("ready",)
        return self.ready

    def kill(self) -> None:
        """Stop the runner and every process it started, at once."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            self.process.kill()
        self.process.wait(timeout=5)
        wait_for_group(self.process.pid)  # a worker still handing its memory back is not yet gone
        self.conn.close()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None


class RunnerPool:
    """One warm runner kept waiting per app server; at most ``limit`` jobs at once."""

    def __init__(self, limit: int = 2):
        self.limit = limit
        self.lock = threading.Lock()
        self.idle: Optional[Runner] = None
        self.busy = 0

    def warm(self) -> None:
        """Start the waiting runner now (the first run then does not wait for it to start)."""
        with self.lock:
            if self.idle is None or not self.idle.alive:
                self.idle = Runner()

    def take(self) -> Optional[Runner]:
        """The waiting runner (or a new one) for a job; None when ``limit`` jobs are running."""
        with self.lock:
            if self.busy >= self.limit:
                return None
            runner = self.idle if self.idle is not None and self.idle.alive else Runner()
            self.idle = None
            self.busy += 1
            return runner

    def give_back(self, runner: Runner, reusable: bool) -> None:
        """A finished job's runner waits for the next; a killed one is replaced by a new one, warming now."""
        with self.lock:
            self.busy -= 1
            if reusable and runner.alive and self.idle is None:
                self.idle = runner
                return
            if runner.alive:
                runner.kill()
            if self.idle is None:
                self.idle = Runner()

    def close(self) -> None:
        with self.lock:
            if self.idle is not None:
                self.idle.kill()
                self.idle = None


@dataclass
class Job:
    """One run, comparison or sweep, from the page's side: poll it until ``finished``."""

    kind: str
    runner: Runner
    pool: RunnerPool
    folder: Optional[Path]
    """The run's own folder (removed on cancel); None for comparisons and sweeps."""
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    total: int = 0
    label: str = ""
    output: Any = None
    """The view, comparison or sweep rows, once sent."""
    problems: list[str] = field(default_factory=list)
    error: Optional[str] = None
    finished: bool = False
    cancelled: bool = False
    estimate: str = ""
    """What the page says before the figures come: the command line's estimate of time and memory."""
    context: dict[str, Any] = field(default_factory=dict)
    """What the page needs when the output comes (the scenario and text that ran)."""
    option: Optional[int] = None
    """The option a run became, once its figures came."""
    note: str = ""
    """What the runner said before simulating (the engine compiling, first or aside), shown with the progress."""

    @classmethod
    def start(cls, pool: RunnerPool, kind: str, folder: Optional[Path] = None, **work: Any) -> Optional["Job"]:
        runner = pool.take()
        if runner is None:
            return None
        job = cls(kind=kind, runner=runner, pool=pool, folder=folder)
        runner.conn.send({"kind": kind, "folder": str(folder) if folder else None, **work})
        return job

    def poll(self, wait_s: float = 0.0) -> "Job":
        """Read what the runner has sent (waiting up to ``wait_s`` for the first message)."""
        deadline = time.monotonic() + wait_s
        while not self.finished:
            try:
                if not self.runner.conn.poll(max(0.0, deadline - time.monotonic())):
                    break
                message = self.runner.conn.recv()
            except (EOFError, OSError):
                self.error = self.error or "the runner process stopped unexpectedly"
                self._finish(reusable=False)
                break
            self._read(message)
        return self

    def _read(self, message: tuple) -> None:
        kind = message[0]
        if kind == "ready":
            return
        if kind == "progress":
            self.done, self.total, self.label = message[1], message[2], message[3]
        elif kind in ("view", "comparison", "sweep"):
            self.output = message[1]
        elif kind == "problems":
            self.problems = list(message[1])
        elif kind == "error":
            self.error = message[1]
        elif kind == "note":
            self.note = message[1]
        elif kind == "done":
            self._finish(reusable=True)

    def _finish(self, reusable: bool) -> None:
        self.finished = True
        self.pool.give_back(self.runner, reusable)

    def wait(self, timeout_s: float) -> "Job":
        """Poll until finished or ``timeout_s`` passed (for tests and scripts)."""
        end = time.monotonic() + timeout_s
        while not self.finished and time.monotonic() < end:
            self.poll(wait_s=min(0.2, max(0.0, end - time.monotonic())))
        return self

    def cancel(self) -> None:
        """Kill the runner and its workers now, and remove everything the job wrote."""
        if self.finished:
            return
        self.cancelled = True
        self.finished = True
        self.runner.kill()
        self.pool.give_back(self.runner, reusable=False)
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started
