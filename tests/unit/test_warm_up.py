"""experiment.warm_up: what the first run after installing does while the engine is not compiled.

Nothing is compiled here: which parts are cold, the detached process and the
compilation are stand-ins; the decision and what is said are checked.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from simsampling.experiment import replicate, warm_up
from simsampling.scenario import load_scenario

DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "one-point-demo.yaml"


@pytest.fixture
def first_run(monkeypatch):
    from simsampling import metrics

    done = {"aside": [], "compiled": [], "said": [], "interpreted": []}
    monkeypatch.setattr(metrics, "interpret_cold_loops", done["interpreted"].append)
    monkeypatch.setattr(warm_up, "cold_parts", lambda fast_engine, home=False: (["engine"] if fast_engine else []) + ["metrics"])
    monkeypatch.setattr(warm_up, "compile_aside", lambda: done["aside"].append(warm_up.BACKGROUND))
    monkeypatch.setattr(warm_up, "compiling_aside", lambda path=None: False)
    monkeypatch.setattr(warm_up, "compile_kinds", lambda scenario, engines: done["compiled"].append(engines))
    return done


def test_a_small_first_run_uses_simpy_while_the_engine_compiles_aside(first_run):
    demo = load_scenario(DEMO)  # SimPy: 5 x 2,600 residents, well under the engine's compilation
    assert warm_up.warm_up(demo, "auto", 1, first_run["said"].append) == replicate.SIMPY_WHILE_COMPILING
    assert first_run["aside"] == [warm_up.BACKGROUND]
    assert first_run["compiled"] == []  # nothing in the run's process: the metrics' loops run as Python meanwhile
    assert first_run["interpreted"] == [False, True]
    assert first_run["said"] == [f"the fast engine is compiling aside for the next runs (once, about "
                                 f"{round(warm_up.COMPILE_S['engine'] + warm_up.COMPILE_S['metrics'])} s); "
                                 "this run uses SimPy, whose figures are the same"]


def test_a_large_first_run_compiles_first_and_says_so(first_run):
    demo = load_scenario(DEMO)
    big = demo.model_copy(update={"points": [demo.points[0].model_copy(update={"population": 2_000_000})]})
    assert warm_up.warm_up(big, "auto", 1, first_run["said"].append) == "auto"
    assert first_run["aside"] == [] and first_run["compiled"] == [("fast",)]
    seconds = round(warm_up.COMPILE_S["engine"] + warm_up.COMPILE_S["metrics"])
    assert first_run["said"] == [f"compiling the simulation engine and the results' calculations (once, about {seconds} s)"]


def test_an_explicit_fast_engine_is_compiled_not_replaced(first_run):
    assert warm_up.warm_up(load_scenario(DEMO), "fast", 1, first_run["said"].append) == "fast"
    assert first_run["aside"] == [] and first_run["compiled"] == [("fast",)]


def test_nothing_is_said_or_done_once_compiled(monkeypatch, first_run):
    monkeypatch.setattr(warm_up, "cold_parts", lambda fast_engine, home=False: [])
    assert warm_up.warm_up(load_scenario(DEMO), "auto", 2, first_run["said"].append) == "auto"
    assert first_run == {"aside": [], "compiled": [], "said": [], "interpreted": [False]}


def test_a_run_while_the_engine_compiles_aside_starts_no_second_compilation(monkeypatch, tmp_path):
    monkeypatch.setattr(warm_up, "marker", lambda: tmp_path / "compiling")
    assert not warm_up.compiling_aside()
    (tmp_path / "compiling").write_text(str(os.getpid()))  # a live process holds it
    assert warm_up.compiling_aside()
    (tmp_path / "compiling").write_text("not a process id")
    assert not warm_up.compiling_aside()


class Child:
    def __init__(self, pid: int):
        self.pid = pid


def test_the_compilation_aside_is_claimed_before_it_starts_and_a_dead_ones_taken_over(monkeypatch, tmp_path):
    path = tmp_path / "compiling"
    monkeypatch.setattr(warm_up, "marker", lambda: path)
    started = []

    def popen(command, **kwargs):
        assert path.read_text() == str(os.getpid())  # claimed by this process before the child exists
        started.append(command)
        return Child(os.getppid())  # a live process id stands for the child's

    monkeypatch.setattr(warm_up.subprocess, "Popen", popen)
    warm_up.compile_aside()
    assert started == [warm_up.BACKGROUND] and path.read_text() == str(os.getppid())
    warm_up.compile_aside()  # one under way: no second
    assert len(started) == 1
    path.write_text("999999999")  # a compilation that died
    warm_up.compile_aside()
    assert len(started) == 2 and path.read_text() == str(os.getppid())


def test_a_run_that_would_compile_waits_for_the_compilation_under_way(monkeypatch, first_run):
    under_way = iter([True, True, False])  # asked once before saying, then until it ends
    monkeypatch.setattr(warm_up, "compiling_aside", lambda path=None: next(under_way))
    monkeypatch.setattr(warm_up, "WAIT_POLL_S", 0.0)
    cold = iter([["engine", "metrics"], []])  # cold before, cached once the other run's compilation ended
    monkeypatch.setattr(warm_up, "cold_parts", lambda fast_engine, home=False: next(cold))
    assert warm_up.warm_up(load_scenario(DEMO), "fast", 1, first_run["said"].append) == "fast"
    assert first_run["said"] == ["waiting for the simulation engine, which another run is compiling (once)"]
    assert first_run["compiled"] == [] and first_run["aside"] == []


def test_a_run_on_simpy_while_the_engine_compiles_says_so_not_asked():
    demo = load_scenario(DEMO)
    plan = replicate.plan_engines(demo, replicate.SIMPY_WHILE_COMPILING)
    assert plan.engines == ("simpy",)
    assert plan.describe() == "engine: simpy for 1 point (while the fast engine compiles for later runs)"
    assert plan.as_dict() == {"asked": "auto", "fast_points": 0, "simpy_points": 1,
                              "reasons": {"while the fast engine compiles for later runs": 1}}
    assert replicate.plan_engines(demo, "simpy").describe() == "engine: simpy for 1 point (asked)"


def test_several_runs_weigh_against_the_compilation(first_run):
    """A comparison or a sweep adds up its runs: many small runs compile first; a search (runs None) always does."""
    demo = load_scenario(DEMO)
    assert warm_up.warm_up([demo, demo], "auto", 1, first_run["said"].append) == replicate.SIMPY_WHILE_COMPILING
    first_run["said"].clear()
    assert warm_up.warm_up(demo, "auto", 1, first_run["said"].append, runs=1000) == "auto"
    assert warm_up.warm_up(demo, "auto", 1, first_run["said"].append, runs=None) == "auto"
    assert all(text.startswith("compiling the simulation engine") for text in first_run["said"])


class Stop(Exception):
    """Raised by the stand-in warm_up: the command asked it before simulating anything."""


@pytest.mark.parametrize("argv, scenarios, runs", [
    (["run", str(DEMO)], 1, 1),
    (["compare", str(DEMO), str(DEMO)], 2, 1),
    (["sweep", str(DEMO), "--vary", "points.*.tents=3,4,5"], 1, 3),
    (["optimise", str(DEMO), "--deadline", "12"], 1, None),
    (["advise", str(DEMO), "--lever", "tent+1"], 1, 2),
])
def test_every_command_that_simulates_asks_warm_up_first_and_says_what_it_says(monkeypatch, tmp_path, capsys, argv, scenarios, runs):
    from simsampling.cli import main

    asked = []

    def stand_in(given, engine, jobs, say, runs=1):
        asked.append((len(given) if isinstance(given, list) else 1, engine, runs))
        say("compiling the simulation engine (once, about 9 s)")
        raise Stop

    monkeypatch.setattr(warm_up, "warm_up", stand_in)
    with pytest.raises(Stop):
        main([*argv, "--out", str(tmp_path / "out")])
    assert asked == [(scenarios, "auto", runs)]
    assert "compiling the simulation engine (once, about 9 s)" in capsys.readouterr().err


def test_compiling_a_run_compiles_every_metrics_loop_it_left_cold(monkeypatch):
    """The run's own kinds of point first, then, if some loop of the metrics is still cold, the small points on SimPy."""
    loaded = []
    monkeypatch.setattr(warm_up, "load_engines", lambda scenario, engines: loaded.append((scenario.name, engines)))
    demo = load_scenario(DEMO)
    for cold, expected in ((True, [("one-point-demo", ("fast",)), ("compile", ("simpy", "simpy"))]),
                           (False, [("one-point-demo", ("fast",))])):
        loaded.clear()
        monkeypatch.setattr(warm_up, "cached", lambda dispatcher, cold=cold: not cold)
        warm_up.compile_kinds(demo, ("fast",))
        assert loaded == expected


def test_the_advices_checks_never_compile_the_engine_and_find_the_same_headroom(monkeypatch):
    """A first run on SimPy (the engine compiling aside) has its headrooms checked on SimPy: the same figures as
    on the fast engine, without compiling it in the run's own process (about 40 s of CPU)."""
    from simsampling.advice import headroom, run_advice
    from simsampling.experiment import run_scenario

    demo = load_scenario(DEMO).model_copy(update={"replications": 2})
    result = run_scenario(demo, engine="simpy")
    engines = []
    simulate = headroom.point_log
    monkeypatch.setattr(headroom, "point_log", lambda scenario, replication, point, engine: (
        engines.append(engine), simulate(scenario, replication, point, engine))[1])
    advice = {}
    for cold in (False, True):
        monkeypatch.setattr(warm_up, "cold_parts", lambda fast_engine, home=False, cold=cold: ["engine"] * cold)
        engines.clear()
        advice[cold] = run_advice(result).as_dict()
        assert engines and set(engines) == {"simpy" if cold else "fast"}
    assert advice[True] == advice[False]
