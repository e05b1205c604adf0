"""experiment.warm_up: what the first run after installing does while the engine is not compiled.

Nothing is compiled here: which parts are cold, the detached process and the
compilation are stand-ins; the decision and what is said are checked.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from simsampling.experiment import warm_up
from simsampling.scenario import load_scenario

DEMO = Path(__file__).resolve().parents[2] / "scenarios" / "one-point-demo.yaml"


@pytest.fixture
def first_run(monkeypatch):
    done = {"aside": [], "compiled": [], "said": []}
    monkeypatch.setattr(warm_up, "cold_parts", lambda fast_engine, home=False: (["engine"] if fast_engine else []) + ["metrics"])
    monkeypatch.setattr(warm_up.subprocess, "Popen", lambda command, **kwargs: done["aside"].append(command))
    monkeypatch.setattr(warm_up, "compiling_aside", lambda: False)
    monkeypatch.setattr(warm_up, "compile_kinds", lambda scenario, engines: done["compiled"].append(engines))
    return done


def test_a_small_first_run_uses_simpy_while_the_engine_compiles_aside(first_run):
    demo = load_scenario(DEMO)  # SimPy: 5 x 2,600 residents, well under the engine's compilation
    assert warm_up.warm_up(demo, "auto", 1, first_run["said"].append) == "simpy"
    assert first_run["aside"] == [warm_up.BACKGROUND]
    assert first_run["compiled"] == [("simpy",)]  # the metrics' loops, which SimPy runs need too
    assert "compiling aside" in first_run["said"][0]
    assert first_run["said"][1] == f"compiling the simulation engine (once, about {round(warm_up.COMPILE_S['metrics'])} s)"


def test_a_large_first_run_compiles_first_and_says_so(first_run):
    demo = load_scenario(DEMO)
    big = demo.model_copy(update={"points": [demo.points[0].model_copy(update={"population": 2_000_000})]})
    assert warm_up.warm_up(big, "auto", 1, first_run["said"].append) == "auto"
    assert first_run["aside"] == [] and first_run["compiled"] == [("fast",)]
    seconds = round(warm_up.COMPILE_S["engine"] + warm_up.COMPILE_S["metrics"])
    assert first_run["said"] == [f"compiling the simulation engine (once, about {seconds} s)"]


def test_an_explicit_fast_engine_is_compiled_not_replaced(first_run):
    assert warm_up.warm_up(load_scenario(DEMO), "fast", 1, first_run["said"].append) == "fast"
    assert first_run["aside"] == [] and first_run["compiled"] == [("fast",)]


def test_nothing_is_said_or_done_once_compiled(monkeypatch, first_run):
    monkeypatch.setattr(warm_up, "cold_parts", lambda fast_engine, home=False: [])
    assert warm_up.warm_up(load_scenario(DEMO), "auto", 2, first_run["said"].append) == "auto"
    assert first_run == {"aside": [], "compiled": [], "said": []}


def test_a_run_while_the_engine_compiles_aside_starts_no_second_compilation(monkeypatch, tmp_path):
    monkeypatch.setattr(warm_up, "MARKER", tmp_path / "compiling")
    assert not warm_up.compiling_aside()
    (tmp_path / "compiling").write_text(str(os.getpid()))  # a live process holds it
    assert warm_up.compiling_aside()
    (tmp_path / "compiling").write_text("not a process id")
    assert not warm_up.compiling_aside()
