"""The first run after installing: compile before the run and say so, or run on SimPy and compile aside.

numba compiles the fast engine's kernel in about 40 s of CPU and the metrics' loops in
about 6 s (``COMPILE_S``), once per install (jit.py: the cache). A run whose points
SimPy simulates sooner than that compilation (the demo: 0.3 s) runs on SimPy, with the
same figures to the bit, its metrics' loops run as Python, while a detached process
compiles the engine and the loops for the next runs; a larger run compiles first,
saying "compiling the simulation engine (once, about N s)", so that its progress bar
does not sit at zero. docs/architecture.md weighs the other ways (ahead of time, at
install).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

from ..jit import PACKAGE, cache_folder, cached
from ..scenario.schema import Scenario
from .costs import task_s
from .estimate import usable_cpus
from .replicate import SIMPY_WHILE_COMPILING, load_engines, plan_engines

COMPILE_S = {"engine": 40.0, "teams": 6.0, "metrics": 6.0}
"""CPU seconds numba takes to compile each part (the fast engine's kernel, its door-to-door teams'
kernel, the metrics' loops), measured on the 2-core development machine while other sessions shared
it (so these err high): the kernel alone 33.7-40.9 s in three cold compilations, the kernel and the
metrics' loops together 45.0 s and the teams' kernel 5.8 s (``compile_kinds`` on each point of
``SMALL``, an empty ``NUMBA_CACHE_DIR``, CPU time of the process); the metrics' loops alone 6.2-6.4 s since
the longest line and the busy period have loops of their own (5.0-5.8 s before, benchmarks/README.md)."""
INTERPRETED_S = 18e-6
"""CPU seconds the metrics' loops take a resident when run as Python (``metrics.interpret_cold_loops``): the demo's
five replications of 2,600 residents on SimPy, 0.80 s with them interpreted against 0.57 s compiled (benchmarks/README.md)."""
BACKGROUND = [sys.executable, "-m", "simsampling.experiment.warm_up"]
"""The detached process that compiles the fast engine while a first run goes on without it."""
WAIT_POLL_S = 0.5
"""How often a run waiting for a compilation under way aside looks whether it has ended."""
WAIT_AT_MOST_S = 300.0
"""How long a run waits for it (six times the compilation's usual time) before compiling itself all the same."""


def marker() -> Path:
    """The file that holds the process id of the detached compilation into this install's cache while it runs, so
    that a run meanwhile starts no other: one per cache folder (another install, or another NUMBA_CACHE_DIR,
    compiles into its own), in the system's temporary folder."""
    place = str(cache_folder() or PACKAGE)
    user = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"simsampling-compiling-{user}-{hashlib.sha1(place.encode()).hexdigest()[:12]}"


def compiling_aside(path: Optional[Path] = None) -> bool:
    """Whether a detached compilation into this install's cache (its marker ``path``, found if not given), started
    by an earlier run, is still going."""
    try:
        os.kill(int((path or marker()).read_text()), 0)
        return True
    except (OSError, ValueError):
        return False


def compile_aside() -> None:
    """Start the detached compilation, unless one into the same cache is under way. The marker is claimed before
    the process starts (made only if missing; a dead process's taken over), holding this process's id until it
    holds the child's: of two first runs started together, one starts it."""
    path = marker()
    for _ in range(2):
        try:
            claim = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            if compiling_aside(path):
                return
            path.unlink(missing_ok=True)  # a compilation that died: taken over
        except OSError:  # no marker can be made: compile all the same
            claim = None
            break
    else:
        return  # another run claimed it in between
    try:
        if claim is not None:
            os.write(claim, str(os.getpid()).encode())
        child = subprocess.Popen(BACKGROUND, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, start_new_session=True)
        if claim is not None:
            os.ftruncate(claim, 0)
            os.pwrite(claim, str(child.pid).encode(), 0)
    finally:
        if claim is not None:
            os.close(claim)


def wait_for_aside(say: Callable[[str], None]) -> None:
    """Wait while a compilation started aside by another run is under way (one compilation at a time is faster
    than two sharing the cores), saying so first."""
    path = marker()  # found once: finding it tries the cache folders (files made and removed)
    if compiling_aside(path):
        say("waiting for the simulation engine, which another run is compiling (once)")
        until = time.monotonic() + WAIT_AT_MOST_S
        while compiling_aside(path) and time.monotonic() < until:
            time.sleep(WAIT_POLL_S)


def cold_parts(fast_engine: bool, home: bool = False) -> list[str]:
    """The parts (``engine``, ``teams``, ``metrics``) a run would compile first; empty when all are cached.

    ``home``: the fast engine's door-to-door teams are used too."""
    from .. import metrics

    parts = [] if all(cached(d) for d in metrics.dispatchers()) else ["metrics"]
    if fast_engine:
        from ..model import fast

        replay, *teams = fast.dispatchers(home)
        if fast.JIT and not cached(replay):
            parts.insert(0, "engine")
        if fast.JIT and teams and not cached(teams[0]):
            parts.insert(0, "teams")
    return parts


def ready_engine(home: bool = False) -> str:
    """The engine a short simulation outside a run's plan (the advice's checks) should use: ``fast`` when its
    code for such a point (``home``: with door-to-door teams) is compiled or cached, else ``simpy``, whose
    figures are the same. Such a simulation never compiles: on a first run the engine compiles aside."""
    return "simpy" if {"engine", "teams"} & set(cold_parts(True, home)) else "fast"


PART_NAMES = {"engine": "the simulation engine", "teams": "the door-to-door teams' engine",
              "metrics": "the results' calculations"}
"""What each compiled part is called in the notice: a SimPy run compiles only the metrics' loops, and
must not be told that the engine it does not use is compiling."""


def compile_notice(parts: list[str]) -> str:
    """What to say before compiling ``parts`` (in the order given: the engine first)."""
    names = [PART_NAMES[p] for p in parts]
    what = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"compiling {what} (once, about {round(sum(COMPILE_S[p] for p in parts))} s{kept_in()})"


def kept_in() -> str:
    """Where the compiled code is kept, for the notices, when not beside the package's sources (a read-only install)."""
    folder = cache_folder()
    return "" if folder is None else f"; kept in {folder}"


def compile_kinds(scenario: Scenario, engines: tuple[str, ...]) -> None:
    """Compile what the run's calls will use (``replicate.load_engines``: a small copy of each kind of point), the
    loops no simulation calls (``metrics.compile_examples``: the advice's fluids), then any loop of the metrics
    still cold (``SMALL`` on SimPy uses them all): a run's own points may not use every one (``peak`` measures
    side stages only), and one left cold would have every later run say it compiles."""
    from .. import metrics

    load_engines(scenario, engines)
    metrics.compile_examples()
    if not all(cached(dispatcher) for dispatcher in metrics.dispatchers()):
        small = small_scenario()
        load_engines(small, ("simpy",) * len(small.points))


def warm_up(scenarios: Union[Scenario, Sequence[Scenario]], engine: str, jobs: int, say: Callable[[str], None],
            runs: Optional[int] = 1) -> str:
    """Get ``runs`` runs of each of ``scenarios`` ready; return the engine they should use.

    Every command that simulates calls it first (run, compare, sweep, optimise, the app's
    runner), so that each says the same thing through ``say``. With everything cached:
    ``engine``. Else, with ``engine`` ``auto`` and runs that SimPy simulates sooner than
    the engine compiles: ``SIMPY_WHILE_COMPILING`` (SimPy for every point, said as such in
    the run's engine line and summary.json), and the engine and the metrics' loops compile in
    a detached process for the next runs, the loops running as Python meanwhile
    (``metrics.interpret_cold_loops``: the same figures). Else (``runs`` None: a search of
    unknown length) says so, then compiles what the runs use.
    """
    from .. import metrics

    scenarios = [scenarios] if isinstance(scenarios, Scenario) else list(scenarios)
    plans = [plan_engines(scenario, engine).engines for scenario in scenarios]
    fast = [(scenario, point) for scenario, engines in zip(scenarios, plans)
            for point, point_engine in zip(scenario.points, engines) if point_engine == "fast"]
    metrics.interpret_cold_loops(False)  # an earlier run of this process may have left them interpreted
    parts = cold_parts(bool(fast), any(point.home is not None for _, point in fast))
    if not parts:
        return engine
    cores = max(1, min(jobs, usable_cpus()))
    simpy_s = sum(scenario.replications * task_s(point.population, "simpy") for scenario, point in fast) / cores
    fast_s = sum(scenario.replications * task_s(point.population, "fast") for scenario, point in fast) / cores
    engine_parts = [part for part in parts if part != "metrics"]
    compile_s = sum(COMPILE_S[part] for part in engine_parts)
    if "metrics" in parts:  # compiled here before a run on the fast engine, interpreted during one on SimPy
        residents = sum(scenario.replications * point.population for scenario in scenarios for point in scenario.points)
        simpy_s += residents * INTERPRETED_S / cores
        compile_s += COMPILE_S["metrics"]
    if engine == "auto" and engine_parts and runs is not None and runs * simpy_s < runs * fast_s + compile_s:
        if not os.environ.get("SIMSAMPLING_NO_ASIDE"):  # the benchmark times a first run alone
            compile_aside()
        say(f"the fast engine is compiling aside for the next runs (once, about {round(compile_s)} s{kept_in()}); "
            "this run uses SimPy, whose figures are the same")
        metrics.interpret_cold_loops(True)  # compiled aside too
        parts = []
        engine, plans = SIMPY_WHILE_COMPILING, [("simpy",) * len(engines) for engines in plans]
    if parts:
        wait_for_aside(say)
        parts = cold_parts(bool(fast), any(point.home is not None for _, point in fast))
    if parts:
        say(compile_notice(parts))
        for scenario, engines in zip(scenarios, plans):
            compile_kinds(scenario, engines)
    return engine


def ready_options(options: dict, scenarios: Union[Scenario, Sequence[Scenario]], say: Callable[[str], None],
                  runs: Optional[int] = 1) -> dict:
    """``options`` (``run_scenario``'s keywords) with the engine the runs should use (``warm_up``); as given
    when they name no engine."""
    if "engine" not in options:
        return options
    return {**options, "engine": warm_up(scenarios, options["engine"], options["jobs"], say, runs)}


SMALL = {
    "name": "compile", "seed": 1, "replications": 1, "clock": {"open": "07:00", "close": "22:00"},
    "points": [{"id": "plain", "population": 60, "tents": 2, "stages": {
                   "temperature": {"servers": 1, "service_s": {"dist": "triangular", "low": 2, "mode": 3, "high": 6},
                                   "divert": {"share": 0.2, "to": "isolation"}},
                   "swab": {"servers": "per_tent", "service_s": {"dist": "lognormal", "mean": 25, "sd": 8}},
                   "isolation": {"servers": 1, "service_s": {"dist": "triangular", "low": 60, "mode": 90, "high": 120}}}},
               {"id": "teams", "population": 60, "tents": 2, "home": {"share": 0.2}}],
    "arrivals": {"kind": "slots", "slots": [{"start": "07:00", "end": "12:00", "share": 1.0}]},
}
"""Two small points, one with a side stage, the other with door-to-door teams: between them every compiled
loop (``compile_engine``)."""


def small_scenario() -> Scenario:
    """``SMALL``, validated."""
    from ..scenario import validate_scenario

    return validate_scenario(SMALL)


def compile_engine() -> None:
    """Compile (or load) the fast engine's kernels and the metrics' loops, on two small points (``SMALL``)."""
    scenario = small_scenario()
    compile_kinds(scenario, plan_engines(scenario, "fast").engines)


if __name__ == "__main__":  # the detached compilation of ``warm_up`` (``compile_aside`` holds the marker for it)
    try:
        compile_engine()
    finally:
        held = marker()
        if compiling_aside(held) and held.read_text() == str(os.getpid()):  # this compilation's, not a later one's
            held.unlink(missing_ok=True)
